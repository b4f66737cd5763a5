"""Structured JSON logs: one object per line, request lines, and no secrets."""

from __future__ import annotations

import json
import logging

import structlog
from django.test import Client

from gpubroker.core.context import trace_id_var
from gpubroker.core.logging import REDACTED, JsonFormatter, redact, redact_text


def test_request_line_has_the_contract_fields(client: Client, json_logs) -> None:
    response = client.get("/api/v2/ping")
    lines = [r for r in json_logs.records if r["logger"] == "gpubroker.request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["message"] == "request"
    assert line["method"] == "GET"
    assert line["path"] == "/api/v2/ping"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["user_id"] is None
    assert line["trace_id"] == response["X-Trace-Id"]
    assert line["level"] == "INFO"
    assert line["timestamp"].endswith("+00:00")


def test_every_line_of_a_request_carries_its_trace_id(client: Client, json_logs) -> None:
    trace = "0af7651916cd43dd8448eb211c80319c"
    client.get("/nowhere", headers={"traceparent": f"00-{trace}-b7ad6b7169203331-01"})
    assert json_logs.records
    assert {r["trace_id"] for r in json_logs.records} == {trace}


def test_secrets_never_reach_the_logs(client: Client, json_logs) -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhQGIuYyJ9.c2lnbmF0dXJlLXZhbHVl"
    client.get(
        "/api/v2/ping?api_key=sk-live-123456",
        headers={"authorization": f"Bearer {jwt}", "x-api-key": "sk-live-123456"},
    )
    logger = logging.getLogger("gpubroker.test")
    logger.info("login attempt password=hunter2hunter2 token: %s", jwt)
    logger.info("structured", extra={"api_key": "sk-live-123456", "payload": {"password": "p4ss"}})
    text = json_logs.text
    for secret in (jwt, "hunter2hunter2", "sk-live-123456", "p4ss"):
        assert secret not in text
    assert REDACTED in text


def test_redact_masks_nested_secret_keys() -> None:
    cleaned = redact({"user": "a@b.c", "auth": {"refresh_token": "r", "Authorization": "x"}})
    assert cleaned == {
        "user": "a@b.c",
        "auth": {"refresh_token": REDACTED, "Authorization": REDACTED},
    }


def test_redact_text_masks_bearer_and_key_values() -> None:
    assert redact_text("Authorization: Bearer abc.def") == f"Authorization: Bearer {REDACTED}"
    assert redact_text('{"api_key": "k-1"}') == f'{{"api_key": "{REDACTED}"}}'


def test_formatter_emits_one_json_object_per_record() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "multi\nline", None, None)
    rendered = JsonFormatter().format(record)
    assert "\n" not in rendered
    assert json.loads(rendered)["message"] == "multi\nline"


def test_structlog_loggers_write_the_same_lines(json_logs) -> None:
    token = trace_id_var.set("4bf92f3577b34da6a3ce929d0e0e4736")
    try:
        structlog.get_logger("gpubroker.test").info("priced", offer_id="o-1", api_key="k-1")
    finally:
        trace_id_var.reset(token)
    [line] = [r for r in json_logs.records if r["logger"] == "gpubroker.test"]
    assert line["message"] == "priced"
    assert line["level"] == "INFO"
    assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert (line["offer_id"], line["api_key"]) == ("o-1", REDACTED)
    assert line["timestamp"].endswith("+00:00")


def test_tracebacks_are_one_redacted_field(json_logs) -> None:
    try:
        raise ValueError("password=hunter2hunter2")
    except ValueError:
        logging.getLogger("gpubroker.test").exception("failed")
    [line] = [r for r in json_logs.records if r["message"] == "failed"]
    assert line["level"] == "ERROR"
    assert line["exc_info"].startswith("Traceback (most recent call last):")
    assert "ValueError: password=[REDACTED]" in line["exc_info"]
    assert "hunter2hunter2" not in json_logs.text


def request_lines(json_logs) -> list[dict]:
    return [r for r in json_logs.records if r["logger"] == "gpubroker.request"]


def test_sampled_request_log_keeps_every_error_and_slow_answer(
    client: Client, json_logs, settings
) -> None:
    settings.REQUEST_LOG_SAMPLE_RATE = 0.0
    for _ in range(5):
        assert client.get("/api/v2/ping").status_code == 200
    missing = client.get("/api/v2/providers/offers/not-a-uuid")
    assert missing.status_code == 422
    assert [(r["path"], r["status"]) for r in request_lines(json_logs)] == [
        ("/api/v2/providers/offers/not-a-uuid", 422)
    ]
    settings.REQUEST_LOG_SLOW_MS = 0.0  # every answer is "slow" now
    client.get("/api/v2/ping")
    assert [r["status"] for r in request_lines(json_logs)] == [422, 200]


def test_a_sample_rate_logs_about_that_share_of_successes(
    client: Client, json_logs, settings
) -> None:
    import random

    settings.REQUEST_LOG_SAMPLE_RATE = 0.25
    random.seed(2026)
    for _ in range(200):
        client.get("/api/v2/ping")
    logged = len(request_lines(json_logs))
    # Binomial(200, 0.25): mean 50, sd 6.1; the seed makes it one fixed draw.
    assert 25 <= logged <= 75


def test_an_authorization_header_of_another_scheme_is_masked() -> None:
    # Ninja's HttpBearer logs such a header whole at ERROR when DEBUG is on (`make run`).
    text = redact_text("Unexpected auth - 'Token s3cr3t-api-key'")
    assert "s3cr3t" not in text
    assert text.startswith("Unexpected auth -")
    assert REDACTED in text


def test_another_auth_scheme_is_a_client_mistake_not_an_error(
    client: Client, json_logs, settings
) -> None:
    settings.DEBUG = True  # Ninja logs the line only under DEBUG (`make run`)
    response = client.get("/api/v2/auth/me", HTTP_AUTHORIZATION="Basic Zm9vOmJhcg==")
    assert response.status_code == 401
    lines = [r for r in json_logs.records if r["message"].startswith("Unexpected auth")]
    assert [line["level"] for line in lines] == ["INFO"]
    assert "Zm9v" not in json_logs.text
