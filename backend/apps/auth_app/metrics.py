"""Prometheus series of identity (names fixed by the metrics contract, docs/operations.md).

- `gpubroker_login_failures_total{reason}`: refused logins in this process, reason
  unknown_email | wrong_password | inactive (the client sees one message for all three).
"""

from __future__ import annotations

from prometheus_client import Counter

LOGIN_FAILURE_REASONS = ("unknown_email", "wrong_password", "inactive")

LOGIN_FAILURES = Counter(
    "gpubroker_login_failures",
    "Refused logins by reason (unknown_email, wrong_password, inactive).",
    ["reason"],
)
for _reason in LOGIN_FAILURE_REASONS:
    LOGIN_FAILURES.labels(reason=_reason)
