"""Tenants' provider credentials: validated with the provider's adapter, stored encrypted.

The plaintext key exists only in memory during validation and booking: never in the database,
logs, audit details or responses. In replay mode the "validation" is answered by a recording, so
the stored message, the responses and the audit row say it was simulated (`simulation`).
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils import timezone

from apps.auth_app.audit import audit_append
from apps.auth_app.models import Tenant, User
from apps.providers.adapters.base import ProviderAdapter
from apps.providers.adapters.contract import AdapterError, Credentials
from apps.providers.adapters.registry import default_registry
from apps.providers.crypto import secret_decrypt, secret_encrypt
from apps.providers.errors import ProviderUnavailable
from apps.providers.models import ProviderIntegration
from apps.providers.services.simulation import (
    REPLAY_NOTICE,
    REPLAY_VALIDATION_MESSAGE,
    error_details,
    is_simulated_message,
    provider_calls_simulated,
)
from apps.providers.services.sync import provider_ensure, provider_http_client
from gpubroker.core.errors import BadRequest, ValidationFailed

logger = logging.getLogger(__name__)

INTEGRATION_SAVED = "integration.saved"


LIVE_VALIDATION_MESSAGE = "Key accepted by the provider"


@dataclass(frozen=True)
class IntegrationStatus:
    """One provider's row of `GET /config/integrations`.

    `simulated` is true when the stored check was answered by a recording (replay mode).
    """

    provider: str
    status: str
    message: str
    last_checked: datetime | None
    simulated: bool = False


@dataclass(frozen=True)
class IntegrationSaved:
    """What `POST /config/integrations` answers: how the key was checked."""

    provider: str
    message: str
    simulated: bool
    status: str = "saved"


def validation_message(adapter_class: type[ProviderAdapter]) -> str:
    """The stored message of a key that passed `credentials_validate` in the current mode."""
    if provider_calls_simulated():
        return REPLAY_VALIDATION_MESSAGE
    if adapter_class.price_source == "manual":
        return (
            f"{adapter_class.display_name} has no API to check keys against; the key was"
            " stored unchecked"
        )
    return LIVE_VALIDATION_MESSAGE


def _adapter_class(provider_name: str) -> type[ProviderAdapter]:
    if provider_name not in default_registry:
        raise ValidationFailed(
            f"Unknown provider {provider_name!r}",
            details={"field": "provider", "known": default_registry.list_adapters()},
        )
    return default_registry.get_adapter(provider_name)


def api_url_check(api_url: str) -> str:
    """Only public https endpoints: the server calls this URL with the tenant's key (SSRF)."""
    parts = urlsplit(api_url)
    host = parts.hostname or ""
    if parts.scheme != "https" or not host or parts.username or parts.password:
        raise ValidationFailed(
            "api_url must be an https:// URL without credentials", details={"field": "api_url"}
        )
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if (
        host == "localhost"
        or host.endswith((".localhost", ".local", ".internal"))
        or (address is not None and not address.is_global)
    ):
        raise ValidationFailed("api_url must point to a public host", details={"field": "api_url"})
    return api_url


def credentials_from(provider_name: str, api_key: str | None, api_url: str | None) -> Credentials:
    """Adapter credentials from a saved key (Verda's is client_id:client_secret).

    Raises:
        ValidationFailed: (422, field api_key) for a Verda key without both parts.
    """
    if provider_name == "verda" and api_key:
        client_id, _, client_secret = api_key.partition(":")
        if not client_id or not client_secret:
            raise ValidationFailed(
                "Verda keys are given as client_id:client_secret", details={"field": "api_key"}
            )
        return Credentials(client_id=client_id, client_secret=client_secret, api_url=api_url)
    return Credentials(api_key=api_key, api_url=api_url)


async def credentials_validate(
    *,
    adapter_class: type[ProviderAdapter],
    credentials: Credentials,
    client: httpx.AsyncClient | None = None,
) -> None:
    """Ask the provider whether it accepts the credentials; raise the API error if not."""
    http = client or provider_http_client()
    try:
        adapter = adapter_class(http, base_url=credentials.api_url)
        accepted = await adapter.validate_credentials(credentials)
    except AdapterError as exc:
        if exc.retryable:
            raise ProviderUnavailable(
                f"{adapter_class.display_name} could not be reached to check the key; try again",
                details=error_details(),
            ) from exc
        raise BadRequest(
            f"{adapter_class.display_name} refused the request: {exc.message}",
            details=error_details({"field": "api_key"}),
        ) from exc
    finally:
        if client is None:
            await http.aclose()
    if not accepted:
        raise BadRequest(
            f"{adapter_class.display_name} rejected the API key",
            details=error_details({"field": "api_key"}),
        )


def _integration_store(
    *,
    tenant: Tenant,
    user: User,
    adapter_class: type[ProviderAdapter],
    api_key: str | None,
    api_url: str | None,
    ip_address: str | None,
    message: str,
) -> None:
    provider = provider_ensure(adapter_class=adapter_class)
    now = timezone.now()
    with transaction.atomic():
        integration, created = ProviderIntegration.objects.select_for_update().get_or_create(
            tenant=tenant, provider=provider
        )
        integration.api_key_encrypted = secret_encrypt(api_key) if api_key else None
        integration.api_url = api_url
        integration.status = "active"
        integration.message = message
        integration.last_checked = now
        integration.save()
        audit_append(
            action=INTEGRATION_SAVED,
            user_id=user.pk,
            tenant_id=tenant.pk,
            resource_type="provider_integration",
            resource_id=str(integration.pk),
            details={
                "provider": provider.name,
                "created": created,
                "has_api_key": bool(api_key),
                "api_url": api_url,
                "simulated": is_simulated_message(message),
            },
            ip_address=ip_address,
        )


async def integration_save(
    *,
    tenant: Tenant,
    user: User,
    provider_name: str,
    api_key: str | None,
    api_url: str | None,
    ip_address: str | None = None,
    client: httpx.AsyncClient | None = None,
) -> IntegrationSaved:
    """Validate the credentials with the provider, then store them encrypted (and audit).

    In replay mode the validation is answered by a recording: the result, the stored message
    and the audit row say `simulated`.
    """
    adapter_class = _adapter_class(provider_name)
    if api_url is not None:
        api_url_check(api_url)
    if not api_key and not api_url:
        raise ValidationFailed("Give api_key, api_url or both", details={"field": "api_key"})
    credentials = credentials_from(provider_name, api_key, api_url)
    await credentials_validate(adapter_class=adapter_class, credentials=credentials, client=client)
    message = validation_message(adapter_class)
    await sync_to_async(_integration_store)(
        tenant=tenant,
        user=user,
        adapter_class=adapter_class,
        api_key=api_key,
        api_url=api_url,
        ip_address=ip_address,
        message=message,
    )
    return IntegrationSaved(
        provider=adapter_class.name, message=message, simulated=is_simulated_message(message)
    )


def integration_list(*, tenant: Tenant) -> list[IntegrationStatus]:
    """Every known provider with this tenant's integration status."""
    saved = {
        integration.provider.name: integration
        for integration in ProviderIntegration.objects.filter(tenant=tenant).select_related(
            "provider"
        )
    }
    statuses = []
    for name in default_registry.list_adapters():
        integration = saved.get(name)
        if integration is None:
            adapter_class = default_registry.get_adapter(name)
            message = (
                "No key saved; listing works without one"
                if not adapter_class.requires_credentials
                else "No key saved"
            )
            statuses.append(IntegrationStatus(name, "not_configured", message, None))
        else:
            statuses.append(
                IntegrationStatus(
                    name,
                    integration.status,
                    integration.message,
                    integration.last_checked,
                    simulated=is_simulated_message(integration.message),
                )
            )
    return statuses


def integration_credentials(*, tenant: Tenant, provider_name: str) -> Credentials | None:
    """Decrypted credentials of a tenant for one provider, or None when none usable is saved."""
    integration = (
        ProviderIntegration.objects.filter(tenant=tenant, provider__name=provider_name)
        .only("api_key_encrypted", "api_url")
        .first()
    )
    if integration is None:
        return None
    api_key = None
    if integration.api_key_encrypted:
        api_key = secret_decrypt(integration.api_key_encrypted)
        if api_key is None:
            logger.warning(
                "stored provider key cannot be decrypted with the configured keys",
                extra={"provider": provider_name, "tenant_id": str(tenant.pk)},
            )
            return None
    return credentials_from(provider_name, api_key, integration.api_url)


# Keys shorter than this show no characters at all: four would be too much of them.
KEY_HINT_MIN_LENGTH = 12


def integration_key_hint(*, integration: ProviderIntegration) -> str:
    """What an operator may see of a saved key: whether there is one and its last 4 characters.

    "no key saved", "cannot be decrypted with the configured keys" (its key was rotated
    away), "•••• (short key)" below KEY_HINT_MIN_LENGTH characters, else "••••" and the last
    four characters. Never more of the key.
    """
    if not integration.api_key_encrypted:
        return "no key saved"
    api_key = secret_decrypt(integration.api_key_encrypted)
    if api_key is None:
        return "cannot be decrypted with the configured keys"
    if len(api_key) < KEY_HINT_MIN_LENGTH:
        return "•••• (short key)"
    return f"••••{api_key[-4:]}"


def integration_mark_error(*, tenant: Tenant, provider_name: str, message: str) -> None:
    """Mark a tenant's saved key as refused (the provider answered a call with an auth error)."""
    if provider_calls_simulated():
        message = f"{REPLAY_NOTICE}; the recorded answer refused the key: {message}"
    ProviderIntegration.objects.filter(tenant=tenant, provider__name=provider_name).update(
        status="error", message=message[:500], last_checked=timezone.now()
    )
