"""`manage.py adopt_v1`: list the offers of an adopted v1 database (docs/migration.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.providers.services.adopt import v1_offers_adopt


class Command(BaseCommand):
    """Give v1's offers their canonical GPU (run by migration providers.0007)."""

    help = (
        "Resolve the GPU of every offer adopted from v1 through the catalogue, as ingestion "
        "would; unknown names are quarantined. `migrate` runs it; running it again is harmless."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run `v1_offers_adopt` and print what it listed and quarantined."""
        report = v1_offers_adopt()
        if not report.offers_adopted:
            self.stdout.write("adopt_v1: no v1 offers left to adopt")
            return
        self.stdout.write(
            f"adopt_v1: {report.offers_adopted} v1 offers adopted: {report.offers_listed} "
            f"listed, {report.offers_quarantined} quarantined (unknown GPU, not listed)"
        )
        for provider, names in report.quarantined_names.items():
            self.stdout.write(f"adopt_v1: quarantined on {provider}: {', '.join(names)}")
