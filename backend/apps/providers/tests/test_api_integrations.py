"""`/api/v2/config/integrations` and `/api/v2/providers/offers/{id}/book` end to end."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from django.db import connection
from django.test import Client

from apps.auth_app.models import AuditLog, Tenant, User
from apps.auth_app.tokens import issue_access_token
from apps.providers.models import Booking, GPUOffer, ProviderIntegration
from apps.providers.services import booking as booking_service
from apps.providers.services import integrations as integrations_service
from apps.providers.services.simulation import REPLAY_BOOKING_MESSAGE, REPLAY_VALIDATION_MESSAGE
from apps.providers.services.sync import provider_sync
from apps.providers.tests.conftest import FakeProviders
from apps.recommendations.models import UserOfferInteraction

pytestmark = pytest.mark.django_db

SECRET_KEY = "vast-secret-key-0123456789"


@pytest.fixture
def live_mode(settings) -> None:
    """Live mode: the services believe they talk to providers (fake_http still answers)."""
    settings.GPUBROKER_PROVIDER_MODE = "live"


@pytest.fixture
def account() -> tuple[User, dict[str, str]]:
    tenant = Tenant.objects.create(name="Acme")
    user = User.objects.create_user(
        "ops@acme.test", "a long enough password", tenant=tenant, full_name="Ops"
    )
    token = issue_access_token(
        email=user.email, user_id=user.pk, roles=["user"], tenant_id=tenant.pk
    ).token
    return user, {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def fake_http(monkeypatch) -> FakeProviders:
    """Provider HTTP is the one boundary replaced: services get the recording-backed client."""
    fake = FakeProviders()
    monkeypatch.setattr(integrations_service, "provider_http_client", fake.client)
    monkeypatch.setattr(booking_service, "provider_http_client", fake.client)
    return fake


def _save(client: Client, headers, **body):
    return client.post(
        "/api/v2/config/integrations", json.dumps(body), content_type="application/json", **headers
    )


def test_saving_a_key_validates_it_and_stores_it_encrypted(client, account, fake_http, json_logs):
    user, headers = account
    response = _save(client, headers, provider="vastai", api_key=SECRET_KEY)
    assert response.status_code == 200
    # The suite runs in replay mode: the answer came from a recording and says so.
    assert response.json() == {
        "status": "saved",
        "provider": "vastai",
        "simulated": True,
        "message": REPLAY_VALIDATION_MESSAGE,
    }
    checks = [r for r in fake_http.requests if r.url.path == "/api/v0/users/current/"]
    assert len(checks) == 1
    assert checks[0].headers["Authorization"] == f"Bearer {SECRET_KEY}"
    integration = ProviderIntegration.objects.get(tenant=user.tenant, provider__name="vastai")
    assert integration.status == "active"
    assert SECRET_KEY.encode() not in bytes(integration.api_key_encrypted)
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key_encrypted::text FROM provider_integrations")
        assert SECRET_KEY not in cursor.fetchone()[0]
    assert integration.message == REPLAY_VALIDATION_MESSAGE
    audit = AuditLog.objects.get(action="integration.saved")
    assert audit.details["provider"] == "vastai"
    assert audit.details["simulated"] is True
    assert SECRET_KEY not in json.dumps(audit.details)
    assert SECRET_KEY not in json_logs.text
    assert SECRET_KEY not in response.content.decode()


def test_listing_integrations_shows_every_provider(client, account, fake_http):
    _, headers = account
    _save(client, headers, provider="vastai", api_key=SECRET_KEY)
    response = client.get("/api/v2/config/integrations", **headers)
    assert response.status_code == 200
    rows = {row["provider"]: row for row in response.json()}
    assert rows["vastai"]["status"] == "active"
    assert rows["vastai"]["simulated"] is True
    assert rows["vastai"]["message"] == REPLAY_VALIDATION_MESSAGE
    assert rows["lambda"]["status"] == "not_configured"
    assert rows["lambda"]["last_checked"] is None
    assert rows["lambda"]["simulated"] is False
    assert SECRET_KEY not in response.content.decode()


def test_a_live_check_is_not_simulated(client, account, fake_http, live_mode):
    _, headers = account
    response = _save(client, headers, provider="vastai", api_key=SECRET_KEY)
    assert response.json() == {
        "status": "saved",
        "provider": "vastai",
        "simulated": False,
        "message": "Key accepted by the provider",
    }
    rows = {r["provider"]: r for r in client.get("/api/v2/config/integrations", **headers).json()}
    assert (rows["vastai"]["simulated"], rows["vastai"]["message"]) == (
        False,
        "Key accepted by the provider",
    )
    assert AuditLog.objects.get(action="integration.saved").details["simulated"] is False


def test_a_key_saved_in_replay_stays_marked_simulated_in_live_mode(
    client, account, fake_http, settings
):
    _, headers = account
    _save(client, headers, provider="vastai", api_key=SECRET_KEY)
    settings.GPUBROKER_PROVIDER_MODE = "live"
    rows = {r["provider"]: r for r in client.get("/api/v2/config/integrations", **headers).json()}
    assert rows["vastai"]["simulated"] is True


def test_a_manual_provider_key_is_stored_unchecked(client, account, fake_http, live_mode):
    _, headers = account
    response = _save(client, headers, provider="paperspace", api_key="ps-key")
    assert response.status_code == 200
    body = response.json()
    assert body["simulated"] is False
    assert (
        body["message"]
        == "Paperspace has no API to check keys against; the key was stored unchecked"
    )
    assert fake_http.requests == []


def test_rejected_key_is_not_stored(client, account, fake_http):
    _, headers = account
    fake_http.override("lambda", lambda request: httpx.Response(401, json={"error": "bad key"}))
    response = _save(client, headers, provider="lambda", api_key="wrong")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Lambda Cloud rejected the API key"
    # A recording said no: the error says it was simulated too.
    assert response.json()["error"]["details"] == {"field": "api_key", "simulated": True}
    assert ProviderIntegration.objects.count() == 0
    assert AuditLog.objects.filter(action="integration.saved").count() == 0


def test_a_live_rejection_is_not_marked_simulated(client, account, fake_http, live_mode):
    _, headers = account
    fake_http.override("lambda", lambda request: httpx.Response(401, json={"error": "bad key"}))
    response = _save(client, headers, provider="lambda", api_key="wrong")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"field": "api_key"}


def test_provider_down_during_validation_is_502_and_nothing_stored(client, account, fake_http):
    _, headers = account
    fake_http.override("lambda", lambda request: httpx.Response(503, text="down"))
    response = _save(client, headers, provider="lambda", api_key="whatever")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "BAD_GATEWAY"
    assert ProviderIntegration.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"provider": "nope", "api_key": "k"}, 422, "provider"),
        ({"provider": "vastai"}, 422, "api_key"),
        ({"provider": "vastai", "api_key": "k", "api_url": "http://api.vast.ai"}, 422, "api_url"),
        ({"provider": "vastai", "api_key": "k", "api_url": "https://127.0.0.1/x"}, 422, "api_url"),
        (
            {"provider": "vastai", "api_key": "k", "api_url": "https://metadata.internal"},
            422,
            "api_url",
        ),
        ({"provider": "verda", "api_key": "no-colon"}, 422, "api_key"),
        ({"provider": "vastai", "api_key": "x" * 5000}, 422, "api_key"),
        ({"provider": 42, "api_key": "k"}, 422, "provider"),
    ],
)
def test_bad_integration_input_changes_nothing(client, account, fake_http, body, status, field):
    _, headers = account
    response = _save(client, headers, **body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in json.dumps(error["details"])
    assert ProviderIntegration.objects.count() == 0
    assert fake_http.requests == []


def test_integrations_need_a_token(client):
    assert client.get("/api/v2/config/integrations").status_code == 401
    assert (
        client.post(
            "/api/v2/config/integrations", "{}", content_type="application/json"
        ).status_code
        == 401
    )


@pytest.fixture
def vast_offer(fake_http) -> GPUOffer:
    provider_sync(provider_name="vastai", client=fake_http.client())
    fake_http.requests.clear()
    return (
        GPUOffer.objects.filter(provider__name="vastai", availability_status="available")
        .order_by("external_id")
        .first()
    )


def _book(client, headers, offer_id, hours="3"):
    return client.post(
        f"/api/v2/providers/offers/{offer_id}/book",
        json.dumps({"duration_hours": hours}),
        content_type="application/json",
        **headers,
    )


def test_booking_uses_the_tenant_key_and_snapshots_the_price(
    client, account, fake_http, vast_offer
):
    _, headers = account
    _save(client, headers, provider="vastai", api_key=SECRET_KEY)
    fake_http.requests.clear()
    response = _book(client, headers, vast_offer.pk)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["offer_id"] == str(vast_offer.pk)
    assert body["provider"] == "vastai"
    assert body["price_per_hour"] == float(vast_offer.price_per_hour)
    assert body["estimated_cost"] == float(
        (vast_offer.price_per_hour * 3).quantize(Decimal("0.0001"))
    )
    launch = [r for r in fake_http.requests if r.method == "PUT"]
    assert len(launch) == 1
    assert launch[0].url.path == f"/api/v0/asks/{vast_offer.external_id}/"
    assert launch[0].headers["Authorization"] == f"Bearer {SECRET_KEY}"
    # Replay mode: the launch was answered by a recording and nothing was launched.
    assert body["simulated"] is True
    assert body["message"] == REPLAY_BOOKING_MESSAGE
    assert body["external_booking_id"] == "replay-7835610"
    booking = Booking.objects.get()
    assert booking.price_per_hour == vast_offer.price_per_hour
    assert booking.external_booking_id == body["external_booking_id"]
    interaction = UserOfferInteraction.objects.get()
    assert (interaction.kind, interaction.weight, interaction.offer_id) == (
        "book",
        10.0,
        vast_offer.pk,
    )
    audit = AuditLog.objects.get(action="booking.created")
    assert audit.details["simulated"] is True


def test_a_live_booking_is_not_simulated(client, account, fake_http, vast_offer, live_mode):
    _, headers = account
    _save(client, headers, provider="vastai", api_key=SECRET_KEY)
    body = _book(client, headers, vast_offer.pk).json()
    assert body["simulated"] is False
    assert body["message"] == "Vast.ai accepted the booking"
    assert body["external_booking_id"] == "7835610"
    assert AuditLog.objects.get(action="booking.created").details["simulated"] is False


def test_booking_without_a_saved_key_is_refused(client, account, fake_http, vast_offer):
    _, headers = account
    response = _book(client, headers, vast_offer.pk)
    assert response.status_code == 400
    assert "POST /api/v2/config/integrations" in response.json()["error"]["message"]
    assert Booking.objects.count() == 0
    assert fake_http.requests == []


def test_booking_unsupported_provider_is_400(client, account, fake_http):
    _, headers = account
    provider_sync(provider_name="paperspace", client=fake_http.client())
    offer = GPUOffer.objects.filter(provider__name="paperspace").first()
    response = _book(client, headers, offer.pk)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Booking is not supported by Paperspace")
    assert Booking.objects.count() == 0


def test_booking_provider_failure_records_nothing(client, account, fake_http, vast_offer):
    _, headers = account
    _save(client, headers, provider="vastai", api_key=SECRET_KEY)

    def handle(request, original=fake_http.handle):
        if request.method == "PUT":
            return httpx.Response(500, text="boom")
        return original(request)

    fake_http.handle = handle  # type: ignore[method-assign]
    response = _book(client, headers, vast_offer.pk)
    assert response.status_code == 502
    assert response.json()["error"]["details"] == {"provider": "vastai", "simulated": True}
    assert Booking.objects.count() == 0
    assert UserOfferInteraction.objects.count() == 0


@pytest.mark.parametrize(
    ("path_id", "hours", "status"),
    [
        ("not-a-uuid", "1", 422),
        ("00000000-0000-4000-8000-000000000000", "1", 404),
    ],
)
def test_booking_bad_offer_ids(client, account, fake_http, path_id, hours, status):
    _, headers = account
    response = _book(client, headers, path_id, hours)
    assert response.status_code == status
    assert Booking.objects.count() == 0


@pytest.mark.parametrize(
    ("hours", "says"),
    [
        ("0", "greater than 0"),
        ("-1", "greater than 0"),
        ("9999999", "less than or equal to 8760"),
        ("1e9", "less than or equal to 8760"),
        ("1.005", "decimal places"),
        ("abc", "valid decimal"),
    ],
)
def test_booking_bad_durations_are_422(client, account, fake_http, vast_offer, hours, says):
    _, headers = account
    response = _book(client, headers, vast_offer.pk, hours)
    assert response.status_code == 422
    fields = response.json()["error"]["details"]["fields"]
    assert fields.keys() == {"duration_hours"}
    assert says in fields["duration_hours"]
    assert Booking.objects.count() == 0


def test_unavailable_offer_cannot_be_booked(client, account, fake_http, vast_offer):
    _, headers = account
    _save(client, headers, provider="vastai", api_key=SECRET_KEY)
    GPUOffer.objects.filter(pk=vast_offer.pk).update(availability_status="unavailable")
    response = _book(client, headers, vast_offer.pk)
    assert response.status_code == 409
    assert Booking.objects.count() == 0


def test_a_recorded_key_refusal_during_booking_is_marked_simulated(
    client, account, fake_http, vast_offer
):
    _, headers = account
    _save(client, headers, provider="vastai", api_key=SECRET_KEY)

    def handle(request, original=fake_http.handle):
        if request.method == "PUT":
            return httpx.Response(401, json={"error": "invalid api key"})
        return original(request)

    fake_http.handle = handle  # type: ignore[method-assign]
    response = _book(client, headers, vast_offer.pk)
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"provider": "vastai", "simulated": True}
    rows = {r["provider"]: r for r in client.get("/api/v2/config/integrations", **headers).json()}
    assert rows["vastai"]["status"] == "error"
    assert rows["vastai"]["simulated"] is True
    assert rows["vastai"]["message"].startswith("Replay mode: no request reached the provider")
    assert Booking.objects.count() == 0


def test_booking_an_offer_of_a_disabled_provider_is_refused(client, account, fake_http, vast_offer):
    from apps.providers.services.providers import providers_disable

    _, headers = account
    _save(client, headers, provider="vastai", api_key=SECRET_KEY)
    providers_disable(providers=[vast_offer.provider])
    fake_http.requests.clear()
    response = _book(client, headers, vast_offer.pk)
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        "vastai is disabled by an operator; its offers cannot be booked"
    )
    assert Booking.objects.count() == 0
    assert fake_http.requests == []
