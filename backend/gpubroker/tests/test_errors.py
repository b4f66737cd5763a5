"""The SPEC error envelope on every error path, and trace ids."""

from __future__ import annotations

from uuid import UUID

import pytest
from django.db import OperationalError, connection
from django.http import HttpRequest
from django.test import Client, override_settings
from django.urls import path
from ninja import NinjaAPI, Schema
from ninja.security import HttpBearer
from psycopg_pool import PoolTimeout
from pydantic import field_validator

from apps.providers.models import Provider
from gpubroker.core.errors import Conflict, RateLimited
from gpubroker.core.exception_handlers import install_exception_handlers

# A private API wired exactly like the real one, with routes that fail on purpose.
probe_api = NinjaAPI(urls_namespace="probe")
install_exception_handlers(probe_api)


class EchoIn(Schema):
    count: int
    name: str


class PartIn(Schema):
    price: float


class ShapedIn(Schema):
    size: int
    parts: list[UUID | PartIn]

    @field_validator("size")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise ValueError("must be even")
        return value


class SevenIn(Schema):
    a: int
    b: int
    c: int
    d: int
    e: int
    f: int
    g: int


class RejectAll(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> None:
        return None


@probe_api.post("/echo")
def echo(request: HttpRequest, payload: EchoIn) -> dict[str, object]:
    return {"count": payload.count, "name": payload.name}


@probe_api.post("/shaped")
def shaped(request: HttpRequest, payload: ShapedIn) -> dict[str, object]:
    return {"size": payload.size}


@probe_api.post("/seven")
def seven(request: HttpRequest, payload: SevenIn) -> dict[str, object]:
    return {}


@probe_api.get("/crash")
def crash(request: HttpRequest) -> None:
    raise RuntimeError("secret internals: password=hunter2 at /srv/app.py line 3")


@probe_api.get("/db-down")
def db_down(request: HttpRequest) -> None:
    raise OperationalError("connection to server at 127.0.0.1 failed")


@probe_api.get("/count")
def count(request: HttpRequest) -> dict[str, int]:
    return {"providers": Provider.objects.count()}


@probe_api.get("/conflict")
def conflict(request: HttpRequest) -> None:
    raise Conflict("Email already registered", details={"field": "email"})


@probe_api.get("/limited")
def limited(request: HttpRequest) -> None:
    raise RateLimited(retry_after=3)


@probe_api.get("/private", auth=RejectAll())
def private(request: HttpRequest) -> dict[str, str]:
    return {"ok": "yes"}


def assert_envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["error"]["code"] == code
    assert body["detail"] == body["error"]["message"]
    assert body["error"]["trace_id"] == response["X-Trace-Id"]
    assert len(body["error"]["trace_id"]) == 32
    return body


@pytest.fixture
def probe_client(settings) -> Client:
    settings.ROOT_URLCONF = __name__
    return Client(raise_request_exception=False)


def test_unknown_api_route_is_enveloped_404(client: Client) -> None:
    body = assert_envelope(client.get("/api/v2/no-such-thing"), 404, "NOT_FOUND")
    assert body["error"]["message"] == "No route for GET /api/v2/no-such-thing"


@pytest.mark.parametrize(
    ("path", "hint"),
    [
        ("/api/v2/providers/", "; did you mean /api/v2/providers?"),
        ("/api/v2/kpi/overview/", "; did you mean /api/v2/kpi/overview?"),
        ("/api/v2/no-such-thing/", ""),
    ],
)
def test_a_trailing_slash_404_names_the_route_without_it(client: Client, path, hint) -> None:
    body = assert_envelope(client.get(path), 404, "NOT_FOUND")
    assert body["error"]["message"] == f"No route for GET {path}{hint}"


def test_unknown_top_level_route_is_enveloped_404(client: Client) -> None:
    assert_envelope(client.get("/nowhere"), 404, "NOT_FOUND")


def test_ping_answers(client: Client) -> None:
    response = client.get("/api/v2/ping")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_validation_error_names_fields_without_echoing_input(probe_client: Client) -> None:
    response = probe_client.post(
        "/probe/echo", {"count": "many", "name": "x"}, content_type="application/json"
    )
    body = assert_envelope(response, 422, "VALIDATION_ERROR")
    assert body["error"]["message"] == (
        "Invalid input: count: Input should be a valid integer, "
        "unable to parse string as an integer"
    )
    assert list(body["error"]["details"]["fields"]) == ["count"]
    assert "many" not in response.content.decode()


def test_validation_error_speaks_of_the_request_not_of_pydantic(probe_client: Client) -> None:
    response = probe_client.post(
        "/probe/shaped", {"size": 3, "parts": [1]}, content_type="application/json"
    )
    body = assert_envelope(response, 422, "VALIDATION_ERROR")

    assert body["error"]["details"]["fields"] == {
        "size": "must be even",
        "parts.0.uuid": "UUID input should be a string, bytes or UUID object",
        "parts.0.price": "Field required",
    }
    assert body["error"]["message"].startswith("Invalid input: size: must be even; parts.0.")
    assert body["detail"] == body["error"]["message"]
    for internal in ("Value error", "function-wrap", "_run_root_validator"):
        assert internal not in response.content.decode()


def test_validation_message_names_five_fields_and_counts_the_rest(probe_client: Client) -> None:
    response = probe_client.post("/probe/seven", {}, content_type="application/json")
    body = assert_envelope(response, 422, "VALIDATION_ERROR")

    assert body["error"]["message"] == (
        "Invalid input: a: Field required; b: Field required; c: Field required; "
        "d: Field required; e: Field required; and 2 more"
    )
    assert sorted(body["error"]["details"]["fields"]) == list("abcdefg")


def test_missing_field_is_422(probe_client: Client) -> None:
    response = probe_client.post("/probe/echo", {"count": 1}, content_type="application/json")
    body = assert_envelope(response, 422, "VALIDATION_ERROR")
    assert list(body["error"]["details"]["fields"]) == ["name"]


def test_malformed_json_is_400(probe_client: Client) -> None:
    response = probe_client.post("/probe/echo", "{not json", content_type="application/json")
    body = assert_envelope(response, 400, "BAD_REQUEST")
    assert body["error"]["message"] == (
        "body: not valid JSON (Expecting property name enclosed in double quotes at line 1"
        " column 2); send a JSON object with Content-Type: application/json"
    )
    assert body["error"]["details"] == {"field": "body"}


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "message"),
    [
        (
            "[1, 2]",
            "application/json",
            422,
            "Invalid input: body: must be a JSON object, not an array",
        ),
        (
            '"x"',
            "application/json",
            422,
            "Invalid input: body: must be a JSON object, not a string",
        ),
        ("null", "application/json", 422, "Invalid input: body: must be a JSON object, not null"),
        ("count=1&name=x", "application/x-www-form-urlencoded", 400, "body: not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "application/json", 400, "body: JSON nested too deeply"),
        (b'{"name": "\xff"}', "application/json", 400, "body: not UTF-8 text"),
        ("", "application/json", 422, "Invalid input: body: required: send a JSON object"),
    ],
    ids=["array", "string", "null", "form", "deep", "latin1", "empty"],
)
def test_a_body_that_is_no_json_object_says_what_to_send(
    probe_client: Client, settings, raw, content_type, status, message
) -> None:
    # Under DEBUG (make run) Ninja added its parser's exception text ("maximum recursion depth
    # exceeded while decoding ..."); a JSON array got "Field required" for every field.
    settings.DEBUG = True
    response = probe_client.post("/probe/echo", raw, content_type=content_type)
    body = assert_envelope(response, status, "VALIDATION_ERROR" if status == 422 else "BAD_REQUEST")
    assert body["error"]["message"].startswith(message)
    assert "recursion" not in body["error"]["message"]
    assert "payload" not in response.content.decode()


def test_unhandled_exception_is_500_without_internals(probe_client: Client, json_logs) -> None:
    response = probe_client.get("/probe/crash")
    body = assert_envelope(response, 500, "INTERNAL_ERROR")
    assert body["error"]["message"] == "Internal server error"
    text = response.content.decode()
    assert "secret internals" not in text
    assert "Traceback" not in text
    crash_logs = [r for r in json_logs.records if r["message"] == "unhandled exception"]
    assert len(crash_logs) == 1
    assert "hunter2" not in json_logs.text


def test_database_errors_become_503(probe_client: Client) -> None:
    body = assert_envelope(probe_client.get("/probe/db-down"), 503, "SERVICE_UNAVAILABLE")
    assert body["error"]["message"] == "Database not available"


def test_domain_error_keeps_code_and_details(probe_client: Client) -> None:
    body = assert_envelope(probe_client.get("/probe/conflict"), 409, "CONFLICT")
    assert body["error"]["details"] == {"field": "email"}


def test_rate_limited_carries_retry_after(probe_client: Client) -> None:
    response = probe_client.get("/probe/limited")
    assert_envelope(response, 429, "RATE_LIMITED")
    assert response["Retry-After"] == "3"


def test_missing_credentials_are_401(probe_client: Client) -> None:
    response = probe_client.get("/probe/private")
    assert_envelope(response, 401, "UNAUTHORIZED")
    assert response["WWW-Authenticate"] == "Bearer"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_oversized_body_is_refused_before_parsing(probe_client: Client) -> None:
    payload = '{"count": 1, "name": "' + "x" * 2048 + '"}'
    response = probe_client.post("/probe/echo", payload, content_type="application/json")
    body = assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")
    assert body["error"]["details"] == {"max_bytes": 1024}


def test_traceparent_trace_id_is_reused(client: Client) -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = client.get(
        "/api/v2/nope", headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"}
    )
    assert response["X-Trace-Id"] == trace
    assert response.json()["error"]["trace_id"] == trace


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-" + "a" * 200,
    ],
)
def test_invalid_traceparent_gets_a_fresh_trace_id(client: Client, header: str) -> None:
    response = client.get("/api/v2/ping", headers={"traceparent": header})
    trace_id = response["X-Trace-Id"]
    assert len(trace_id) == 32
    assert trace_id not in header.lower()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # A later version may append fields; its trace id still counts (W3C Trace Context).
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", True),
        # Version ff is invalid, and version 00 has exactly four fields.
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", False),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", False),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", False),
    ],
)
def test_traceparent_versions_follow_w3c(client: Client, header: str, expected: bool) -> None:
    response = client.get("/api/v2/ping", headers={"traceparent": header})
    assert (response["X-Trace-Id"] == "4bf92f3577b34da6a3ce929d0e0e4736") is expected


def test_each_request_gets_its_own_trace_id(client: Client) -> None:
    first = client.get("/api/v2/ping")["X-Trace-Id"]
    second = client.get("/api/v2/ping")["X-Trace-Id"]
    assert first != second


def test_openapi_and_docs_are_served(client: Client) -> None:
    schema = client.get("/api/v2/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "GPUBROKER API"
    assert "/api/v2/ping" in schema.json()["paths"]
    docs = client.get("/api/v2/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    # Served from our own static files, not a CDN: the docs work without internet.
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn.jsdelivr.net" not in html


@pytest.mark.django_db(transaction=True)
def test_real_query_against_stopped_postgres_is_503_then_recovers(
    probe_client: Client, monkeypatch, closed_port: int
) -> None:
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(connection.settings_dict, "PORT", str(closed_port))
    body = assert_envelope(probe_client.get("/probe/count"), 503, "SERVICE_UNAVAILABLE")
    assert body["error"]["message"] == "Database not available"
    connection.close()
    monkeypatch.undo()
    response = probe_client.get("/probe/count")
    assert response.status_code == 200
    assert response.json() == {"providers": 0}


@probe_api.get("/pool-exhausted")
def pool_exhausted(request: HttpRequest) -> None:
    raise PoolTimeout("couldn't get a connection after 2.00 sec")


def test_an_exhausted_or_unreachable_pool_is_503(probe_client: Client) -> None:
    body = assert_envelope(probe_client.get("/probe/pool-exhausted"), 503, "SERVICE_UNAVAILABLE")
    assert body["error"]["message"] == "Database not available"


urlpatterns = [path("probe/", probe_api.urls)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v2/providers?region=%00eu", None),
        ("get", "/api/v2/providers?compliance_tag=%00", None),
        ("get", "/api/v2/kpi/provider/%00", None),
        ("get", "/api/v2/kpi/gpu/H100?provider=%00", None),
        ("post", "/api/v2/auth/login", {"email": "a\u0000@example.com", "password": "x\u0000y"}),
        (
            "post",
            "/api/v2/auth/register",
            {"email": "nul@example.com", "password": "long enough 123", "full_name": "N\u0000"},
        ),
        ("get", "/offers/not-a-uuid%00", None),
    ],
)
def test_a_nul_character_anywhere_is_a_422_envelope_and_changes_nothing(method, path, body):
    # PostgreSQL cannot hold U+0000 in text: before, each of these reached it as a 500.
    from apps.auth_app.models import User

    client = Client()
    if body is None:
        response = getattr(client, method)(path)
    else:
        response = client.post(path, body, content_type="application/json")
    assert response.status_code == 422, response.content[:300]
    payload = response.json()
    assert payload["error"]["code"] == "VALIDATION_ERROR"
    assert "U+0000" in str(payload["error"]["details"])
    assert not User.objects.filter(email="nul@example.com").exists()


@pytest.mark.django_db
def test_json_text_with_percent_zero_zero_is_not_a_nul(client) -> None:
    response = client.post(
        "/api/v2/auth/login",
        {"email": "nobody@example.com", "password": "100%00 sure"},
        content_type="application/json",
    )
    assert response.status_code == 401
