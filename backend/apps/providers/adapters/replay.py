"""Recorded provider responses: captured from the live APIs, replayed through the real adapters.

The same recordings serve the test suite and the offline demo market
(``GPUBROKER_PROVIDER_MODE=replay``): :func:`replay_transport` routes every adapter request by
method, host and path (``ROUTES``) to a file under ``<recordings_dir>/<provider>/``, so the
adapters run end to end without network. ``GPUBROKER_PROVIDER_MODE=record`` calls the live APIs
and :func:`recording_transport` writes each answered request to the file replay would read,
with credentials, account ids and e-mail addresses stripped (:func:`sanitise`), so a user can
capture their own account's view and replay it. :func:`build_client` returns an
``httpx.AsyncClient`` with explicit timeouts for each mode; :func:`replay_credentials` gives
placeholder credentials for the providers that insist on a key, since replay checks none.
The layout is documented in docs/providers.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import httpx

from apps.providers.adapters.contract import Credentials
from apps.providers.adapters.http import DEFAULT_TIMEOUT

ProviderMode = Literal["replay", "live", "record"]
PROVIDER_MODES: Final = ("replay", "live", "record")

#: Where the recordings live in the repository (tests and the demo market share them).
RECORDINGS_DIR: Final = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "providers"


@dataclass(frozen=True, slots=True)
class Route:
    """One recorded endpoint: requests matching method, host and path get ``provider/file``."""

    method: str
    host: str
    path: re.Pattern[str]
    provider: str
    file: str
    #: Extra condition on the request (GraphQL queries and mutations share one path).
    when: Callable[[httpx.Request], bool] | None = None


def _is_mutation(request: httpx.Request) -> bool:
    return b"mutation" in request.content


def _is_query(request: httpx.Request) -> bool:
    return not _is_mutation(request) and b"myself" not in request.content


def _is_datacenters(request: httpx.Request) -> bool:
    return not _is_mutation(request) and b"datacenters" in request.content


def _is_myself(request: httpx.Request) -> bool:
    return b"myself" in request.content and not _is_datacenters(request)


def _route(method: str, host: str, path: str, provider: str, file: str, **kw: object) -> Route:
    return Route(method, host, re.compile(f"^{path}$"), provider, file, **kw)  # type: ignore[arg-type]


ROUTES: Final[tuple[Route, ...]] = (
    _route("POST", "console.vast.ai", "/api/v0/bundles/", "vastai", "offers.json"),
    _route("GET", "console.vast.ai", "/api/v0/users/current/", "vastai", "user.json"),
    _route("PUT", "console.vast.ai", r"/api/v0/asks/\d+/", "vastai", "book.json"),
    _route("POST", "api.runpod.io", "/graphql", "runpod", "offers.json", when=_is_query),
    _route("POST", "api.runpod.io", "/graphql", "runpod", "myself.json", when=_is_myself),
    _route("POST", "api.runpod.io", "/graphql", "runpod", "datacenters.json", when=_is_datacenters),
    _route("POST", "api.runpod.io", "/graphql", "runpod", "book.json", when=_is_mutation),
    _route("GET", "cloud.lambda.ai", "/api/v1/instance-types", "lambda", "offers.json"),
    _route("POST", "cloud.lambda.ai", "/api/v1/instance-operations/launch", "lambda", "book.json"),
    _route("POST", "api.datacrunch.io", "/v1/oauth2/token", "verda", "token.json"),
    _route("GET", "api.datacrunch.io", "/v1/instance-types", "verda", "instance_types.json"),
    _route("GET", "api.datacrunch.io", "/v1/instance-availability", "verda", "availability.json"),
    _route("GET", "api.vultr.com", "/v2/plans", "vultr", "offers.json"),
    _route("POST", "api.cloudrift.ai", "/api/v1/instance-types/list", "cloudrift", "offers.json"),
    _route(
        "GET",
        "marketplace.tensordock.com",
        "/api/v0/client/deploy/hostnodes",
        "tensordock",
        "offers.json",
    ),
    _route("GET", "api.shadeform.ai", "/v1/instances/types", "shadeform", "offers.json"),
)

#: Providers whose adapters refuse to run without credentials.
_REPLAY_CREDENTIALS: Final[dict[str, Credentials]] = {
    "runpod": Credentials(api_key="replay-runpod-key"),
    "lambda": Credentials(api_key="replay-lambda-key"),
    "shadeform": Credentials(api_key="replay-shadeform-key"),
    # Placeholder, not a secret: replay never checks it.
    "verda": Credentials(client_id="replay-client", client_secret="replay-secret"),  # noqa: S106
}


def replay_credentials(provider: str) -> Credentials | None:
    """Placeholder credentials that let an adapter run against the recordings."""
    return _REPLAY_CREDENTIALS.get(provider)


def find_route(request: httpx.Request) -> Route | None:
    """The recorded route answering this request (method, host, path pattern), or None."""
    for route in ROUTES:
        if (
            route.method == request.method
            and route.host == request.url.host
            and route.path.match(request.url.path)
            and (route.when is None or route.when(request))
        ):
            return route
    return None


def replay_transport(fixtures_dir: Path) -> httpx.MockTransport:
    """A transport answering each known provider request with its recorded JSON file.

    Files are read on every request (the demo can swap a recording without a restart). An
    unknown request gets a 404 JSON body naming the request, which the adapters report as a
    non-retryable ``client`` error.
    """

    def handler(request: httpx.Request) -> httpx.Response:
        route = find_route(request)
        if route is None:
            return httpx.Response(
                404,
                json={
                    "error": f"no recording for {request.method} {request.url.host}"
                    f"{request.url.path}"
                },
            )
        path = fixtures_dir / route.provider / route.file
        try:
            body = path.read_bytes()
        except FileNotFoundError:
            return httpx.Response(
                404, json={"error": f"recording {route.provider}/{route.file} is missing"}
            )
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    return httpx.MockTransport(handler)


#: Keys whose values are secrets or identify the account, wherever they appear in a body.
_SECRET_KEY: Final = re.compile(
    r"(api_?key|token|secret|password|passwd|e_?mail|ssh_?key|credential|billing|balance)",
    re.IGNORECASE,
)
#: Objects that describe the account itself: their ids and names are the account's.
_ACCOUNT_OBJECTS: Final = frozenset({"myself", "user", "account", "owner", "team", "org"})
_ACCOUNT_FIELDS: Final = frozenset({"id", "username", "name", "fullname", "full_name"})
_EMAIL: Final = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
REDACTED: Final = "redacted"


def sanitise(document: Any, secrets: Iterable[str] = (), *, in_account: bool = False) -> Any:
    """A JSON document with credentials, account ids and e-mail addresses replaced.

    Replaced by "redacted": values of keys that name secrets (api_key, access_token,
    client_secret, password, email, ...), ids and names inside account objects (``myself``,
    ``user``, ``account``, ...), every e-mail address inside any string, and every string in
    `secrets` (the request's own credentials) wherever it appears. Market data (offers, host
    and machine ids, prices) is left as it is.
    """
    known = tuple(secret for secret in secrets if secret and len(secret) >= 6)
    if isinstance(document, dict):
        cleaned: dict[str, Any] = {}
        for key, value in document.items():
            if _SECRET_KEY.search(str(key)) and not isinstance(value, dict | list):
                cleaned[key] = None if value is None else REDACTED
            elif in_account and str(key).lower() in _ACCOUNT_FIELDS:
                cleaned[key] = REDACTED
            else:
                nested = str(key).lower() in _ACCOUNT_OBJECTS
                cleaned[key] = sanitise(value, known, in_account=nested)
        return cleaned
    if isinstance(document, list):
        return [sanitise(item, known, in_account=in_account) for item in document]
    if isinstance(document, str):
        text = _EMAIL.sub(REDACTED, document)
        for secret in known:
            text = text.replace(secret, REDACTED)
        return text
    return document


def _request_secrets(request: httpx.Request) -> list[str]:
    """Credentials a request carries: auth headers, key query parameters, secrets in its body."""
    found = []
    for name, value in request.headers.items():
        if name.lower() in ("authorization", "x-api-key", "api-key"):
            found.append(value.split(" ", 1)[-1])
    for name, value in request.url.params.items():
        if _SECRET_KEY.search(name):
            found.append(value)
    try:
        body = json.loads(request.content) if request.content else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        found.extend(str(v) for k, v in body.items() if _SECRET_KEY.search(str(k)) and v)
    return found


class RecordingTransport(httpx.AsyncBaseTransport):
    """Sends each request through `inner` and records every JSON answer ``ROUTES`` knows.

    A 2xx JSON body is written, sanitised, to ``<recordings_dir>/<provider>/<file>`` (the file
    replay reads for the same request); other answers are passed on unrecorded. The caller
    gets the live response unchanged.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, recordings_dir: Path) -> None:
        self.inner = inner
        self.recordings_dir = recordings_dir

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Forward, then record the answer when a route knows the request."""
        response = await self.inner.handle_async_request(request)
        route = find_route(request)
        if route is None or not 200 <= response.status_code < 300:
            return response
        body = await response.aread()
        try:
            document = json.loads(body)
        except ValueError:
            return httpx.Response(
                response.status_code, headers=response.headers, content=body, request=request
            )
        target = self.recordings_dir / route.provider / route.file
        target.parent.mkdir(parents=True, exist_ok=True)
        cleaned = sanitise(document, _request_secrets(request))
        target.write_text(json.dumps(cleaned, indent=1) + "\n", encoding="utf-8")
        return httpx.Response(
            response.status_code, headers=response.headers, content=body, request=request
        )

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self.inner.aclose()


def build_client(
    mode: ProviderMode | str,
    recordings_dir: Path | None = None,
    *,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient for the adapters in one of PROVIDER_MODES.

    ``live``: the real network. ``replay``: the recordings under `recordings_dir`.
    ``record``: the real network (or `transport`, which tests use to stand in for it), each
    answer also written to `recordings_dir`. The caller owns the client and closes it
    (``async with build_client(...) as client``). Raises ValueError for an unknown mode or a
    missing `recordings_dir`.
    """
    headers = {"User-Agent": "gpubroker/2 (+https://github.com/gpubroker)"}
    if mode == "live":
        return httpx.AsyncClient(
            timeout=timeout, headers=headers, follow_redirects=False, transport=transport
        )
    if mode not in PROVIDER_MODES:
        raise ValueError(f"unknown provider mode {mode!r}; expected one of {PROVIDER_MODES}")
    if recordings_dir is None:
        raise ValueError(f"{mode} mode needs a recordings directory")
    if mode == "replay":
        return httpx.AsyncClient(
            timeout=timeout, headers=headers, transport=replay_transport(recordings_dir)
        )
    return httpx.AsyncClient(
        timeout=timeout,
        headers=headers,
        follow_redirects=False,
        transport=RecordingTransport(transport or httpx.AsyncHTTPTransport(), recordings_dir),
    )


def load_recording(fixtures_dir: Path, provider: str, file: str) -> object:
    """A recorded body as parsed JSON (tests use it to derive expectations)."""
    return json.loads((fixtures_dir / provider / file).read_text(encoding="utf-8"))
