"""Recorded provider responses replayed through the real adapters.

The same recordings serve the test suite and the offline demo market
(``GPUBROKER_PROVIDER_MODE=replay``): :func:`replay_transport` routes every adapter request by
method, host and path to a file under ``<fixtures_dir>/<provider>/``, so the adapters run end to
end without network. :func:`build_client` returns an ``httpx.AsyncClient`` with explicit
timeouts for either mode; :func:`replay_credentials` gives placeholder credentials for the
providers that insist on a key, since replay checks none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import httpx

from apps.providers.adapters.contract import Credentials
from apps.providers.adapters.http import DEFAULT_TIMEOUT

ProviderMode = Literal["replay", "live"]

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


def _is_myself(request: httpx.Request) -> bool:
    return b"myself" in request.content


def _route(method: str, host: str, path: str, provider: str, file: str, **kw: object) -> Route:
    return Route(method, host, re.compile(f"^{path}$"), provider, file, **kw)  # type: ignore[arg-type]


ROUTES: Final[tuple[Route, ...]] = (
    _route("POST", "console.vast.ai", "/api/v0/bundles/", "vastai", "offers.json"),
    _route("GET", "console.vast.ai", "/api/v0/users/current/", "vastai", "user.json"),
    _route("PUT", "console.vast.ai", r"/api/v0/asks/\d+/", "vastai", "book.json"),
    _route("POST", "api.runpod.io", "/graphql", "runpod", "offers.json", when=_is_query),
    _route("POST", "api.runpod.io", "/graphql", "runpod", "myself.json", when=_is_myself),
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


def build_client(
    mode: ProviderMode,
    fixtures_dir: Path | None = None,
    *,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> httpx.AsyncClient:
    """An AsyncClient for the adapters: real network in ``live`` mode, recordings in ``replay``.

    The caller owns the client and closes it (``async with build_client(...) as client``).
    """
    headers = {"User-Agent": "gpubroker/2 (+https://github.com/gpubroker)"}
    if mode == "live":
        return httpx.AsyncClient(timeout=timeout, headers=headers, follow_redirects=False)
    if mode == "replay":
        if fixtures_dir is None:
            raise ValueError("replay mode needs fixtures_dir")
        return httpx.AsyncClient(
            timeout=timeout, headers=headers, transport=replay_transport(fixtures_dir)
        )
    raise ValueError(f"unknown provider mode {mode!r}; expected 'replay' or 'live'")


def load_recording(fixtures_dir: Path, provider: str, file: str) -> object:
    """A recorded body as parsed JSON (tests use it to derive expectations)."""
    return json.loads((fixtures_dir / provider / file).read_text(encoding="utf-8"))
