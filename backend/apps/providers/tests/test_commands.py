"""`manage.py sync_providers` as an operator runs it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.providers.models import GPUOffer, Provider


@pytest.mark.django_db
def test_each_sync_is_one_json_log_line_and_nothing_else(json_logs) -> None:
    out, err = StringIO(), StringIO()
    call_command(
        "sync_providers", "--provider", "lambda", "--provider", "vultr", stdout=out, stderr=err
    )
    assert out.getvalue() == ""
    assert err.getvalue() == ""
    synced = [r for r in json_logs.records if r["message"] == "provider synced"]
    assert [(r["provider"], r["status"]) for r in synced] == [("lambda", "ok"), ("vultr", "ok")]
    assert synced[0]["offers_seen"] == GPUOffer.objects.filter(provider__name="lambda").count()
    assert {"offers_inserted", "offers_changed", "offers_gone", "fetch_latency_ms"} <= set(
        synced[0]
    )
    assert set(Provider.objects.values_list("name", flat=True)) == {"lambda", "vultr"}


@pytest.mark.django_db
def test_verbosity_2_adds_a_plain_summary_per_provider() -> None:
    out = StringIO()
    call_command(
        "sync_providers", "--provider", "lambda", "--provider", "vultr", "-v", "2", stdout=out
    )
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["lambda", "vultr"]
    assert all(": ok seen=" in line for line in lines)
    assert GPUOffer.objects.count() > 0


@pytest.mark.django_db
def test_a_failed_sync_is_one_warning_line(settings, json_logs) -> None:
    settings.GPUBROKER_PROVIDER_MODE = "live"
    settings.PROVIDER_API_KEYS = {}
    out = StringIO()
    call_command("sync_providers", "--provider", "lambda", stdout=out)
    assert out.getvalue() == ""
    lines = [r for r in json_logs.records if r.get("provider") == "lambda"]
    assert [(r["message"], r["level"], r["status"]) for r in lines[-1:]] == [
        ("provider sync failed", "WARNING", "not_configured")
    ]
    assert "no platform credentials" in lines[-1]["error"]


@pytest.mark.django_db
def test_unknown_provider_is_refused_before_any_work() -> None:
    with pytest.raises(CommandError, match="unknown provider 'nope'; known providers: cloudrift"):
        call_command("sync_providers", "--provider", "nope")
    assert Provider.objects.count() == 0


@pytest.mark.django_db
def test_interval_must_be_positive() -> None:
    with pytest.raises(CommandError, match="--interval must be at least 1 second"):
        call_command("sync_providers", "--loop", "--interval", "0")


@pytest.mark.django_db
def test_concurrency_must_be_positive() -> None:
    with pytest.raises(CommandError, match="--concurrency must be at least 1"):
        call_command("sync_providers", "--loop", "--concurrency", "0")
    assert Provider.objects.count() == 0


@pytest.mark.django_db
def test_one_provider_crashing_does_not_stop_the_others(monkeypatch, json_logs) -> None:
    from apps.providers.adapters.vultr import VultrAdapter

    async def explode(self, credentials):
        raise RuntimeError("bug in an adapter")

    monkeypatch.setattr(VultrAdapter, "fetch_offers", explode)
    out, err = StringIO(), StringIO()
    call_command(
        "sync_providers", "--provider", "vultr", "--provider", "lambda", stdout=out, stderr=err
    )
    assert err.getvalue() == ""
    crashed = [r for r in json_logs.records if r["message"] == "sync of vultr crashed"]
    assert len(crashed) == 1
    assert crashed[0]["level"] == "ERROR"
    assert crashed[0]["provider"] == "vultr"
    assert GPUOffer.objects.filter(provider__name="lambda").count() > 0
    assert GPUOffer.objects.filter(provider__name="vultr").count() == 0

    call_command("sync_providers", "--provider", "vultr", "-v", "2", stdout=out, stderr=err)
    assert err.getvalue().strip() == "vultr: crashed (see the log)"


@pytest.mark.django_db
def test_the_ingestion_command_skips_a_disabled_provider(json_logs) -> None:
    Provider.objects.create(name="lambda", display_name="Lambda", status="disabled")
    out = StringIO()
    call_command(
        "sync_providers", "--provider", "lambda", "--provider", "vultr", "-v", "2", stdout=out
    )
    assert out.getvalue().splitlines()[0] == (
        "lambda: disabled seen=0 new=0 changed=0 gone=0 skipped=0 quarantined=0"
        " elements_skipped=0 error=lambda: disabled by an operator"
    )
    assert GPUOffer.objects.filter(provider__name="lambda").count() == 0
    assert GPUOffer.objects.filter(provider__name="vultr").count() > 0
    lambda_lines = [r for r in json_logs.records if r.get("provider") == "lambda"]
    assert [(r["message"], r["status"]) for r in lambda_lines] == [
        ("provider sync skipped: disabled by an operator", "disabled")
    ]
    assert Provider.objects.get(name="lambda").status == "disabled"
