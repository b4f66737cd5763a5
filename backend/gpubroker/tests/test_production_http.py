"""Production settings as a browser meets them: a real server process under
gpubroker.settings.production, spoken to over HTTP the way nginx forwards it.

HTTPS redirect (probes exempt), HSTS, nosniff, Referrer-Policy, the pages' Content-Security-
Policy, Secure/HttpOnly cookies and CSRF on the admin's forms. `manage.py check --deploy` is in
test_settings.py.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest

from apps.auth_app.models import User
from gpubroker.testing.processes import daphne_server
from gpubroker.tests.test_settings import _production_env

HOST = "gpubroker.example.com"
HTTPS = {"Host": HOST, "X-Forwarded-Proto": "https"}
OPERATOR_PASSWORD = "operator passphrase for tests"


def _cookies(response: httpx.Response) -> dict[str, SimpleCookie]:
    jar: dict[str, SimpleCookie] = {}
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        for name in cookie:
            jar[name] = cookie
    return jar


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_production_headers_cookies_and_csrf(tmp_path: Path) -> None:
    User.objects.create_superuser("operator@example.com", OPERATOR_PASSWORD)
    # The server must use this test's database: without DATABASE_URL in `env`, daphne_server
    # gives it the database this process is connected to (not the environment's).
    env = {**_production_env(), "ALLOWED_HOSTS": f"{HOST},127.0.0.1"}
    env.pop("DATABASE_URL", None)
    with (
        daphne_server(tmp_path, env=env, settings_module="gpubroker.settings.production") as server,
        httpx.Client(base_url=server.base_url, timeout=30) as client,
    ):
        # Plain HTTP is redirected to HTTPS (the API and the pages alike); the orchestrator's
        # probes are not.
        for path in ("/api/v2/ai/tools", "/"):
            redirect = client.get(path, headers={"Host": HOST})
            assert redirect.status_code == 301
            assert redirect.headers["Location"] == f"https://{HOST}{path}"
        # (/health may say 503 on a loaded machine: its probes have an 80 ms deadline.)
        assert client.get("/health", headers={"Host": HOST}).status_code in (200, 503)
        assert client.get("/api/v2/ping", headers={"Host": HOST}).status_code == 200

        api = client.get("/api/v2/ping", headers=HTTPS)
        assert api.status_code == 200
        assert api.headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains; preload"
        )
        assert api.headers["X-Content-Type-Options"] == "nosniff"
        assert api.headers["Referrer-Policy"] == "same-origin"
        assert api.headers["X-Frame-Options"] == "DENY"

        page = client.get("/", headers=HTTPS)
        assert page.status_code == 200
        assert page.headers["Content-Type"].startswith("text/html")
        policy = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")

        # The admin's login form carries a CSRF token; its cookie is Secure.
        form = client.get("/admin/login/", headers=HTTPS)
        assert form.status_code == 200
        csrf_cookie = _cookies(form)["csrftoken"]["csrftoken"]
        assert csrf_cookie["secure"] is True
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token is not None
        login = {"username": "operator@example.com", "password": OPERATOR_PASSWORD}
        origin = {**HTTPS, "Origin": f"https://{HOST}", "Referer": f"https://{HOST}/admin/login/"}

        # Without the token (or without the cookie) the form is refused: a 403 envelope.
        forged = client.post(
            "/admin/login/",
            data=login,
            headers={**origin, "Cookie": f"csrftoken={csrf_cookie.value}"},
        )
        assert forged.status_code == 403
        assert forged.json()["error"]["code"] == "FORBIDDEN"
        assert "sessionid" not in _cookies(forged)

        accepted = client.post(
            "/admin/login/",
            data={**login, "csrfmiddlewaretoken": token.group(1)},
            headers={**origin, "Cookie": f"csrftoken={csrf_cookie.value}"},
        )
        assert accepted.status_code == 302, re.findall(r'class="errornote">(.*?)<', accepted.text)
        session = _cookies(accepted)["sessionid"]["sessionid"]
        assert session["secure"] is True
        assert session["httponly"] is True
        assert session["samesite"] == "Lax"
