"""`manage.py verify_audit_chain`: OK, or the first broken row (exit status 1)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.auth_app.audit import audit_chain_verify


class Command(BaseCommand):
    """Check the audit log's hash chain; exit non-zero at the first broken row."""

    help = "Verify the hash chain of audit_logs; report OK or the first broken row."

    def handle(self, *args: Any, **options: Any) -> None:
        """Print how many rows were checked, or raise CommandError naming the broken row."""
        report = audit_chain_verify()
        if not report.is_intact:
            raise CommandError(
                f"BROKEN at audit row {report.broken_row_id}: {report.reason} "
                f"({report.rows_checked} rows verified before it)"
            )
        self.stdout.write(f"OK: {report.rows_checked} audit rows verified")
