"""The token attack list of test_token_attacks.py, sent to a real server process over HTTP.

Through daphne (gpubroker.httpserver) a token is a header line like any other: a forged or
broken one is a 401 envelope from the application, and one too large for the server (the
16 KiB padded token) is a 431 envelope from the server itself, never a dropped connection.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from apps.auth_app.models import AuditLog, User, UserSession
from apps.auth_app.tests.test_token_attacks import (
    ATTACKS,
    MALFORMED_HEADERS,
    ME,
    _claims,
    _sign,
    attack_tokens,
)
from gpubroker.httpserver import MAX_HEADER_BYTES
from gpubroker.testing.processes import daphne_server


def _snapshot() -> tuple[int, int, int]:
    return User.objects.count(), UserSession.objects.count(), AuditLog.objects.count()


def _expected_status(authorization: str) -> int:
    return 431 if len(authorization) + len(ME) > MAX_HEADER_BYTES else 401


def _assert_envelope(response: httpx.Response, status: int, label: str) -> None:
    assert response.status_code == status, (label, response.status_code, response.text[:200])
    body = response.json()
    assert body["error"]["code"] == ("HEADERS_TOO_LARGE" if status == 431 else "UNAUTHORIZED")
    assert body["detail"] == body["error"]["message"]
    assert body["error"]["trace_id"] == response.headers["X-Trace-Id"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_attack_tokens_and_malformed_headers_through_a_live_server(
    tmp_path: Path, make_user
) -> None:
    user = make_user()
    tokens = attack_tokens(user)
    assert sorted(tokens) == sorted(ATTACKS)
    # httpx refuses to send a NUL or trailing whitespace in a header value; the in-process test
    # covers those.
    headers = [h for h in MALFORMED_HEADERS if "\x00" not in h and h == h.rstrip()]
    before = _snapshot()
    with (
        daphne_server(tmp_path) as server,
        httpx.Client(base_url=server.base_url, timeout=10) as client,
    ):
        valid = client.get(ME, headers={"Authorization": f"Bearer {_sign(_claims(user))}"})
        assert valid.status_code == 200
        assert valid.json()["email"] == user.email
        for attack in ATTACKS:
            authorization = f"Bearer {tokens[attack]}"
            response = client.get(ME, headers={"Authorization": authorization})
            _assert_envelope(response, _expected_status(authorization), attack)
        for header in headers:
            response = client.get(ME, headers={"Authorization": header})
            _assert_envelope(response, _expected_status(header), repr(header[:20]))
    assert _expected_status(f"Bearer {tokens['huge_token']}") == 431
    assert _snapshot() == before
