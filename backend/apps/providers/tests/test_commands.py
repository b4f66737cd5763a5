"""`manage.py sync_providers` as an operator runs it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.providers.models import GPUOffer, Provider


@pytest.mark.django_db
def test_sync_providers_reports_each_provider() -> None:
    out = StringIO()
    call_command("sync_providers", "--provider", "lambda", "--provider", "vultr", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["lambda", "vultr"]
    assert all(": ok seen=" in line for line in lines)
    assert set(Provider.objects.values_list("name", flat=True)) == {"lambda", "vultr"}
    assert GPUOffer.objects.count() > 0


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
def test_one_provider_crashing_does_not_stop_the_others(monkeypatch) -> None:
    from apps.providers.adapters.vultr import VultrAdapter

    async def explode(self, credentials):
        raise RuntimeError("bug in an adapter")

    monkeypatch.setattr(VultrAdapter, "fetch_offers", explode)
    out, err = StringIO(), StringIO()
    call_command(
        "sync_providers", "--provider", "vultr", "--provider", "lambda", stdout=out, stderr=err
    )
    assert err.getvalue().strip() == "vultr: crashed (see the log)"
    assert out.getvalue().startswith("lambda: ok seen=")
    assert GPUOffer.objects.filter(provider__name="lambda").count() > 0
    assert GPUOffer.objects.filter(provider__name="vultr").count() == 0
