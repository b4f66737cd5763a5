"""The base class of every provider adapter: the contract's methods plus JSON over HTTP.

The contract itself (values, AdapterError) is in `contract`; see its docstring.
Framework-free.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import httpx

from apps.providers.adapters.contract import (
    AdapterError,
    BookingResult,
    Credentials,
    FetchResult,
    PriceSource,
    ProviderOffer,
)
from apps.providers.adapters.http import DEFAULT_TIMEOUT, body_excerpt, redact, status_failure


class ProviderAdapter(ABC):
    """Base class of every provider adapter.

    Subclasses set the class attributes and implement :meth:`fetch_offers`. HTTP goes through
    :meth:`request_json`, which applies the timeout and maps failures to :class:`AdapterError`,
    so no adapter handles ``httpx`` exceptions itself.
    """

    name: ClassVar[str]
    display_name: ClassVar[str]
    website_url: ClassVar[str]
    api_base_url: ClassVar[str]
    documentation_url: ClassVar[str]
    requires_credentials: ClassVar[bool] = False
    supports_booking: ClassVar[bool] = False
    price_source: ClassVar[PriceSource] = "api"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.client = client
        self.base_url = (base_url or self.api_base_url).rstrip("/")
        self.timeout = timeout

    # ---- the contract -----------------------------------------------------------------------

    @abstractmethod
    async def fetch_offers(self, credentials: Credentials | None) -> FetchResult:
        """Fetch and parse the provider's current offers (see the module docstring)."""

    async def get_offers(self, credentials: Credentials | None) -> list[ProviderOffer]:
        """The parsed offers only; skipped records are dropped silently."""
        return list((await self.fetch_offers(credentials)).offers)

    async def validate_credentials(self, credentials: Credentials | None) -> bool:
        """True when the provider accepts ``credentials``.

        The default performs one offer fetch: an auth failure means False, any other
        non-retryable failure or a network failure propagates as AdapterError so the caller
        can tell "bad key" from "provider down".
        """
        try:
            await self.fetch_offers(credentials)
        except AdapterError as exc:
            if exc.kind in ("auth", "config"):
                return False
            raise
        return True

    async def book_instance(
        self,
        offer: ProviderOffer,
        duration_hours: float,
        credentials: Credentials | None,
    ) -> BookingResult:
        """Launch ``offer``. Providers without a launch API raise kind="unsupported"."""
        raise AdapterError(
            f"booking not supported by {self.name}",
            retryable=False,
            kind="unsupported",
            provider=self.name,
        )

    # ---- helpers for subclasses -------------------------------------------------------------

    def error(
        self,
        message: str,
        *,
        kind: str,
        retryable: bool = False,
        status_code: int | None = None,
        secrets: Iterable[str] = (),
    ) -> AdapterError:
        """An AdapterError prefixed with the provider's name, every secret in `secrets` redacted."""
        return AdapterError(
            redact(f"{self.name}: {message}", secrets),
            retryable=retryable,
            kind=kind,
            status_code=status_code,
            provider=self.name,
        )

    def require_api_key(self, credentials: Credentials | None) -> str:
        """The API key of `credentials`; AdapterError(kind="config") when there is none."""
        if credentials is None or not credentials.api_key:
            raise self.error("an API key is required", kind="config")
        return credentials.api_key

    def url_for(self, path: str, credentials: Credentials | None = None) -> str:
        """`path` under the credentials' api_url when set, else under the adapter's base URL."""
        base = credentials.api_url if credentials and credentials.api_url else self.base_url
        return f"{base.rstrip('/')}/{path.lstrip('/')}"

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        credentials: Credentials | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        secrets: Iterable[str] = (),
    ) -> Any:
        """Send one request and return the decoded JSON body.

        Failures become AdapterError: timeouts and transport errors, 5xx and 429 are
        retryable; 401/403 are ``auth``; other 4xx are ``client``; an HTML or non-JSON body is
        ``bad_payload``. Every secret in ``credentials`` and ``secrets`` is redacted from the
        message, which names the path but never the query string (keys may travel there).
        """
        all_secrets = (*(credentials.secrets() if credentials else ()), *secrets)
        url = self.url_for(path, credentials)
        where = f"{method} {httpx.URL(url).path}"
        try:
            response = await self.client.request(
                method,
                url,
                headers=dict(headers or {}),
                params=params,
                json=json_body,
                timeout=self.timeout,
            )
        except httpx.TimeoutException as exc:
            raise self.error(
                f"{where} timed out ({type(exc).__name__})", kind="timeout", retryable=True
            ) from None
        except httpx.TransportError as exc:
            raise self.error(
                f"{where} failed: {type(exc).__name__}",
                kind="network",
                retryable=True,
                secrets=all_secrets,
            ) from None

        status = response.status_code
        if status >= 400:
            excerpt = body_excerpt(response)
            kind, retryable = status_failure(status)
            raise self.error(
                f"{where} returned HTTP {status}: {excerpt}",
                kind=kind,
                retryable=retryable,
                status_code=status,
                secrets=all_secrets,
            )
        return self.decode_json(response, where, all_secrets)

    async def probe_auth(
        self,
        method: str,
        path: str,
        *,
        credentials: Credentials | None,
        headers: Mapping[str, str],
        json_body: Any = None,
    ) -> bool:
        """Call an authenticated endpoint: whether the provider accepts the credentials.

        False when the provider rejects them, True when it answers; other failures propagate
        (AdapterError) so "provider down" is not "bad key".
        """
        try:
            await self.request_json(
                method, path, credentials=credentials, headers=headers, json_body=json_body
            )
        except AdapterError as exc:
            if exc.kind == "auth":
                return False
            raise
        return True

    def decode_json(self, response: httpx.Response, where: str, secrets: Iterable[str]) -> Any:
        """The JSON body; AdapterError(kind="bad_payload") for HTML or invalid JSON."""
        content_type = response.headers.get("content-type", "")
        body = response.content
        if "html" in content_type or body.lstrip()[:1] == b"<":
            raise self.error(
                f"{where} returned HTML instead of JSON",
                kind="bad_payload",
                status_code=response.status_code,
            )
        try:
            return json.loads(body)
        except ValueError:
            raise self.error(
                f"{where} returned invalid JSON ({len(body)} bytes): {body_excerpt(response)}",
                kind="bad_payload",
                status_code=response.status_code,
                secrets=secrets,
            ) from None

    def top_level(self, payload: Any, *path: str) -> Any:
        """Walk ``payload`` along ``path``; a missing step means the schema changed."""
        current = payload
        walked: list[str] = []
        for key in path:
            walked.append(key)
            if not isinstance(current, Mapping) or current.get(key) is None:
                raise self.error(
                    f"response has no {'.'.join(walked)!r}: the API schema changed",
                    kind="bad_payload",
                )
            current = current[key]
        return current

    def expect_list(self, value: Any, label: str) -> list[Any]:
        """`value` when it is a list; AdapterError(kind="bad_payload") naming `label` otherwise."""
        if not isinstance(value, list):
            raise self.error(
                f"{label} should be a list, got {type(value).__name__}", kind="bad_payload"
            )
        return value

    def expect_mapping(self, value: Any, label: str) -> Mapping[str, Any]:
        """`value` when it is an object; AdapterError(kind="bad_payload") naming `label` if not."""
        if not isinstance(value, Mapping):
            raise self.error(
                f"{label} should be an object, got {type(value).__name__}", kind="bad_payload"
            )
        return value
