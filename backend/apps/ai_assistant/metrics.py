"""Prometheus series of the assistant (names fixed by the metrics contract).

- `gpubroker_ai_chat_requests_total{backend, outcome}`: outcome ok | error | timeout |
  rate_limited, one per `POST /ai/chat` or `/ai/chat/stream` that reached the assistant.
- `gpubroker_ai_chat_duration_seconds{backend}`: time from the request to the stored reply.
- `gpubroker_ai_tool_calls_total{tool, outcome}`: outcome ok | error; a tool name that is not
  one of ours is counted as `unknown`, so a model cannot grow the label set.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

CHAT_REQUESTS = Counter(
    "gpubroker_ai_chat_requests",
    "AI chat requests by backend and outcome (ok, error, timeout, rate_limited).",
    ["backend", "outcome"],
)
CHAT_DURATION = Histogram(
    "gpubroker_ai_chat_duration_seconds",
    "Seconds from an AI chat request to its stored reply.",
    ["backend"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0),
)
TOOL_CALLS = Counter(
    "gpubroker_ai_tool_calls",
    "Assistant tool calls by tool and outcome (ok, error).",
    ["tool", "outcome"],
)
