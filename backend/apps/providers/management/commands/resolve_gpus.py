"""`manage.py resolve_gpus`: re-resolve every stored offer's GPU with the current catalogue."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.providers.services.gpu_resolve import offers_gpu_resolve


class Command(BaseCommand):
    """Give stored offers the GPU today's catalogue gives them (run by providers.0010)."""

    help = (
        "Re-resolve the GPU of every ingested offer from its provider name, memory and "
        "form-factor field with the current catalogue (after editing apps/gpus/data/gpus.json "
        "or upgrading). Prices and history are untouched; running it again is harmless."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run `offers_gpu_resolve` and print what moved where."""
        report = offers_gpu_resolve()
        self.stdout.write(
            f"resolve_gpus: {report.offers_changed} of {report.offers_examined} offers changed GPU"
        )
        for (old, new), count in report.changes.items():
            before = old or "quarantined"
            after = new or "quarantined"
            self.stdout.write(f"resolve_gpus: {count} offers {before} -> {after}")
