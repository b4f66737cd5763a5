"""The operators' console as a whole: every registered model's pages, budgets, access, secrets.

Data: two providers synced from their recordings (offers, history, sync runs), a quarantined
offer, and several rows of every other model, so a page that ran a query per row would blow
its budget.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from apps.ai_assistant.models import ChatMessage, ChatSession
from apps.auth_app.admin_audit import AuditedAdmin
from apps.auth_app.audit import audit_append
from apps.auth_app.models import AuditLog, Tenant, User, UserSession
from apps.providers.crypto import secret_encrypt
from apps.providers.models import Booking, GPUOffer, Provider, ProviderIntegration
from apps.providers.services.sync import provider_sync
from apps.recommendations.models import RecommenderModel, UserOfferInteraction

pytestmark = pytest.mark.django_db

PROVIDER_KEY = "sk-live-0123456789abcdefWXYZ"

# Queries per page for a superuser, whatever the number of rows: (changelist, change page).
# Each includes the session and user lookups (2). A new admin gets its budget here (the walk
# fails for a registered model missing from it). A page that ran a query per row would exceed
# its budget by at least 5 with this data.
QUERY_BUDGETS: dict[str, tuple[int, int]] = {
    "ai_assistant.chatsession": (4, 5),
    "auth.group": (5, 6),
    "auth_app.auditlog": (4, 4),
    "auth_app.tenant": (4, 4),
    "auth_app.user": (4, 9),
    "auth_app.usersession": (4, 5),
    "gpus.gpubenchmark": (7, 4),
    "providers.booking": (5, 7),
    "providers.gpuoffer": (5, 6),
    "providers.pricehistory": (4, 5),
    "providers.provider": (8, 6),
    "providers.providerintegration": (7, 6),
    "providers.providersyncrun": (5, 5),
    "providers.quarantinedgpuname": (4, 0),
    "recommendations.recommendermodel": (6, 4),
    "recommendations.userofferinteraction": (4, 6),
}


@pytest.fixture
def console_data(specs) -> dict[str, object]:
    """Several rows of every registered model."""
    for name in ("lambda", "runpod"):
        assert provider_sync(provider_name=name).status == "ok"
    provider = Provider.objects.get(name="lambda")
    GPUOffer.objects.create(
        provider=provider,
        external_id="mystery-1",
        gpu_type="Mystery GPU",
        gpu_name_raw="Mystery Accelerator X9",
        gpu_memory_gb=48,
        price_per_hour=Decimal("1.5"),
        region="us-east-1",
    )
    offers = list(GPUOffer.objects.filter(gpu_model__isnull=False)[:5])
    tenants, users = [], []
    for index in range(5):
        tenant = Tenant.objects.create(name=f"Tenant {index}")
        user = User.objects.create_user(
            f"user{index}@example.com",
            "a long user password",
            full_name=f"U {index}",
            tenant=tenant,
        )
        tenants.append(tenant)
        users.append(user)
        UserSession.objects.create(
            jti=f"jti-{index}",
            user=user,
            refresh_token_hash=f"hash-{index}",
            expires_at=timezone.now() + timezone.timedelta(days=7),
            ip_address="203.0.113.7",
        )
        ProviderIntegration.objects.create(
            tenant=tenant,
            provider=provider,
            api_key_encrypted=secret_encrypt(PROVIDER_KEY),
            message="validated",
        )
        Booking.objects.create(
            tenant=tenant,
            user=user,
            offer=offers[index],
            duration_hours=Decimal("2"),
            price_per_hour=offers[index].price_per_hour,
            status="running",
            external_booking_id=f"ext-{index}",
        )
        UserOfferInteraction.objects.create(user=user, offer=offers[index], kind="view")
        RecommenderModel.objects.create(artefact=b"x" * 1000, user_count=index)
        audit_append(action="auth.register", user_id=user.pk, tenant_id=tenant.pk)
        Group.objects.create(name=f"group {index}")
        session = ChatSession.objects.create(user=user, title=f"Fine-tune a 7B model {index}")
        for turn in range(3):
            ChatMessage.objects.create(session=session, role="user", content=f"question {turn}")
            ChatMessage.objects.create(
                session=session,
                role="assistant",
                content=f"answer {turn}",
                backend="builtin",
                tool_calls=[{"name": "estimate_workload", "outcome": "ok"}],
                recommendations=[{"offer_id": str(offers[index].id)}],
                elapsed_ms=12,
            )
    return {"users": users, "tenants": tenants, "provider": provider}


def _registered() -> list[tuple[str, type, admin.ModelAdmin]]:
    return sorted(
        (
            (model._meta.label_lower, model, model_admin)
            for model, model_admin in admin.site._registry.items()
        ),
        key=lambda entry: entry[0],
    )


def _change_url(model: type) -> str | None:
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"no {model._meta.label} row to open"
    try:
        return reverse(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk]
        )
    except NoReverseMatch:
        return None


def test_every_registered_model_has_a_budget():
    assert {label for label, _, _ in _registered()} == set(QUERY_BUDGETS)


@pytest.mark.parametrize("label", sorted(QUERY_BUDGETS))
def test_each_page_loads_within_its_query_budget(
    label, staff_client, console_data, django_assert_max_num_queries
):
    _, model, _ = {entry[0]: entry for entry in _registered()}[label]
    changelist_budget, change_budget = QUERY_BUDGETS[label]
    changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    ContentType.objects.clear_cache()  # the same count whatever ran before in this process
    with django_assert_max_num_queries(changelist_budget):
        response = staff_client.get(changelist)
    assert response.status_code == 200, changelist
    assert b"errornote" not in response.content
    change = _change_url(model)
    if change is None:
        return
    ContentType.objects.clear_cache()
    with django_assert_max_num_queries(change_budget):
        response = staff_client.get(change)
    assert response.status_code == 200, change
    assert b"errornote" not in response.content


def test_the_index_lists_every_registered_model(staff_client, console_data):
    page = staff_client.get("/admin/").content.decode()
    for label, model, _ in _registered():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert url in page, label


def test_the_index_names_apps_and_models_in_the_fields_terms(staff_client, console_data):
    # A newcomer read "Ai_Assistant", "Gpu offers" and "Price historys" here.
    page = html.unescape(staff_client.get("/admin/").content.decode())
    for label in ("AI assistant", "GPU offers", "GPU benchmarks", "Price history"):
        assert f">{label}<" in page, label
    for wrong in ("Ai_Assistant", "Gpu offers", "Gpu benchmarks", "Price historys"):
        assert wrong not in page, wrong
    offers = html.unescape(staff_client.get("/admin/providers/gpuoffer/").content.decode())
    assert "Gpu " not in offers


# Acronyms a label writes in capitals; a label holding one otherwise ("Api base url", "Gpu")
# is a field name, not its term. Units go in parentheses ("RAM (GB)", "Fetch latency (ms)"):
# one outside them ("Ram gb", "Fetch latency ms") is a field name too.
ACRONYMS = [
    "GPU",
    "GPUS",
    "CPU",
    "CPUS",
    "RAM",
    "API",
    "URL",
    "SLA",
    "MFA",
    "VRAM",
    "ID",
    "IP",
    "HTTP",
    "JSON",
    "LLM",
    "AI",
    "UUID",
    "JTI",
    "JWT",
    "TDP",
    "KV",
    "FP16",
    "FP32",
    "FP8",
    "BF16",
    "INT8",
    "TOPS",
    "TFLOPS",
    "SXM",
    "PCIE",
    "NVLINK",
    "SSH",
    "7B",
    "13B",
    "70B",
]
LOWER_CASED_ACRONYM = re.compile(rf"\b(?!(?:{'|'.join(ACRONYMS)})\b)(?i:{'|'.join(ACRONYMS)})\b")
UNIT_OUTSIDE_PARENTHESES = re.compile(r"\b(?i:gb|gbps|mb|ms|rps|usd|watts|seconds|hours)$")


def _names_a_field(label: str) -> bool:
    """Whether `label` reads as a raw field name rather than the field's term."""
    outside = re.sub(r"\([^)]*\)", "", label).strip()
    return bool(
        LOWER_CASED_ACRONYM.search(outside)
        or UNIT_OUTSIDE_PARENTHESES.search(outside)
        or "_" in label
        or label.startswith("Is ")
    )


# Column headers of a changelist, labels of a change page and the changelist's filter titles.
LABELS = re.compile(
    r'<th scope="col"[^>]*>.*?<(?:a|span)[^>]*>([^<]+)</(?:a|span)>'
    r"|<label[^>]*>([^<]+)</label>"
    r"|<h3>\s*By ([^<]+?)\s*</h3>",
    re.DOTALL,
)


def _labels(page: str) -> set[str]:
    return {
        html.unescape(next(group for group in match.groups() if group)).strip().rstrip(":")
        for match in LABELS.finditer(page)
    }


def test_no_page_labels_a_field_with_a_lower_cased_acronym_or_unit(staff_client, console_data):
    # A newcomer read "Api base url", "Ram gb", "IS SUCCESS" and "TOKENS PER SECOND 7B".
    wrong = {}
    for _, model, _ in _registered():
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        pages = [changelist, _change_url(model)]
        for url in filter(None, pages):
            labels = _labels(staff_client.get(url).content.decode())
            found = sorted(filter(_names_a_field, labels))
            if found:
                wrong[url] = found
    assert wrong == {}


def test_a_user_who_is_not_staff_is_sent_to_the_login_page(console_data):
    client = Client()
    client.force_login(console_data["users"][0])
    for label, model, _ in _registered():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = client.get(url)
        assert response.status_code == 302, label
        assert response["Location"].startswith("/admin/login/"), label
    assert Client().get("/admin/").status_code == 302


def test_every_admin_that_can_write_is_audited(staff_client, console_data, rf):
    superuser = User.objects.get(email="root@example.com")
    request = rf.get("/admin/")
    request.user = superuser
    for label, _, model_admin in _registered():
        writes = (
            model_admin.has_add_permission(request)
            or model_admin.has_change_permission(request)
            or model_admin.has_delete_permission(request)
            or bool(model_admin.get_actions(request))
        )
        if writes:
            assert isinstance(model_admin, AuditedAdmin), label


def test_the_audit_log_refuses_add_change_and_delete_to_a_superuser(staff_client, console_data):
    row = AuditLog.objects.order_by("id").first()
    before = list(AuditLog.objects.order_by("id").values_list("id", "current_hash"))
    assert staff_client.get("/admin/auth_app/auditlog/add/").status_code == 403
    changed = staff_client.post(
        f"/admin/auth_app/auditlog/{row.pk}/change/", {"action": "forged", "resource_id": "x"}
    )
    assert changed.status_code == 403
    assert (
        staff_client.post(f"/admin/auth_app/auditlog/{row.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    bulk = staff_client.post(
        "/admin/auth_app/auditlog/",
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    assert list(AuditLog.objects.order_by("id").values_list("id", "current_hash")) == before


def test_the_integration_pages_never_show_the_key(staff_client, console_data):
    integration = ProviderIntegration.objects.order_by("pk").first()
    token = bytes(integration.api_key_encrypted).decode()
    for url in (
        "/admin/providers/providerintegration/",
        f"/admin/providers/providerintegration/{integration.pk}/change/",
    ):
        page = staff_client.get(url).content.decode()
        assert PROVIDER_KEY not in page
        assert PROVIDER_KEY[:-4] not in page
        assert token not in page
        assert "••••WXYZ" in page


def test_the_user_page_never_shows_the_password_hash(staff_client, console_data):
    user = console_data["users"][0]
    user.refresh_from_db()
    parts = user.password.split("$")
    page = staff_client.get(f"/admin/auth_app/user/{user.pk}/change/").content.decode()
    assert user.password not in page
    for part in parts[-2:]:  # the salt and the hash
        assert part[:6] not in page
    assert "Password set (argon2)" in page
    assert f"/admin/auth_app/user/{user.pk}/password/" in page or "../password/" in page
    assert "mfa_secret" not in page
