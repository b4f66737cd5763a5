"""The audit chain: canonical form of a row, its hash, appending and verification.

`current_hash = sha256(previous_hash + canonical_json(row))`, where the canonical JSON has sorted
keys, no whitespace, the row id, UTC timestamps with microseconds (`2025-01-31T12:00:00.000001Z`),
UUIDs and IPs in their canonical text form, and every number inside `details` as a fixed-point
decimal string (floats would not survive a jsonb round trip bit for bit). The first row's
`previous_hash` is 64 zeros. The id is part of the hash, so a row cannot be moved, and every row
names its predecessor's hash, so a deleted or swapped row breaks the chain at the next row.

Appends take a PostgreSQL transaction-level advisory lock, so concurrent writers (threads,
processes, hosts) are serialized and the chain never forks. Rows are never updated or deleted by
the application; the admin shows them read-only.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from apps.auth_app.models import AuditLog

GENESIS_HASH = "0" * 64
# Arbitrary constant naming the lock; only audit appends take it.
AUDIT_ADVISORY_LOCK_KEY = 0x6175646974  # "audit"


class AuditAction:
    """The `action` values of the auth events written to the audit chain."""

    REGISTER = "auth.register"
    LOGIN_SUCCEEDED = "auth.login_succeeded"
    LOGIN_FAILED = "auth.login_failed"
    TOKEN_REFRESHED = "auth.token_refreshed"  # noqa: S105 - an action name
    REFRESH_REUSE_DETECTED = "auth.refresh_reuse_detected"
    LOGOUT = "auth.logout"


def _fixed_decimal(value: Decimal) -> str:
    if not value.is_finite():
        return str(value)
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")


def normalize_details(value: Any) -> Any:
    """JSON-safe details whose canonical form survives storage in jsonb unchanged."""
    if isinstance(value, Mapping):
        return {str(k): normalize_details(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [normalize_details(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value.replace("\x00", "") if isinstance(value, str) else value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return str(value) if not math.isfinite(value) else _fixed_decimal(Decimal(repr(value)))
    if isinstance(value, Decimal):
        return _fixed_decimal(value)
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def utc_text(moment: datetime) -> str:
    """A moment as UTC ISO 8601 with microseconds and "Z" (the hashed form of created_at)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _uuid_text(value: Any) -> str | None:
    return str(uuid.UUID(str(value))) if value else None


def _ip_text(value: Any) -> str | None:
    return str(ipaddress.ip_address(str(value))) if value else None


def canonical_json(row: AuditLog) -> str:
    """The row's hashed content: sorted-key compact JSON, normalised (UUIDs, IPs, UTC)."""
    body = {
        "id": row.id,
        "tenant_id": _uuid_text(row.tenant_id),
        "user_id": _uuid_text(row.user_id),
        "action": row.action,
        "resource_type": row.resource_type,
        "resource_id": row.resource_id,
        "details": row.details,
        "ip_address": _ip_text(row.ip_address),
        "created_at": utc_text(row.created_at),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(previous_hash: str, row: AuditLog) -> str:
    """sha256 hex of the previous row's hash followed by this row's canonical JSON."""
    return hashlib.sha256((previous_hash + canonical_json(row)).encode()).hexdigest()


def audit_append(
    *,
    action: str,
    user_id: uuid.UUID | str | None = None,
    tenant_id: uuid.UUID | str | None = None,
    resource_type: str = "",
    resource_id: str = "",
    details: Mapping[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditLog:
    """Append one row to the chain (in the caller's transaction if there is one)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_ADVISORY_LOCK_KEY])
            cursor.execute("SELECT nextval(pg_get_serial_sequence('audit_logs', 'id'))")
            (row_id,) = cursor.fetchone()
        previous = (
            AuditLog.objects.order_by("-id").values_list("current_hash", flat=True).first()
            or GENESIS_HASH
        )
        row = AuditLog(
            id=row_id,
            tenant_id=_uuid_text(tenant_id),
            user_id=_uuid_text(user_id),
            action=action,
            resource_type=resource_type[:64],
            resource_id=str(resource_id)[:255],
            details=normalize_details(dict(details or {})),
            ip_address=_ip_text(ip_address),
            previous_hash=previous,
            created_at=timezone.now(),
        )
        row.current_hash = row_hash(previous, row)
        row.save(force_insert=True)
        return row


@dataclass(frozen=True)
class ChainReport:
    """What `audit_chain_verify` found: rows checked, and the first broken row with the reason."""

    rows_checked: int
    broken_row_id: int | None = None
    reason: str = ""

    @property
    def is_intact(self) -> bool:
        """True when no row broke the chain."""
        return self.broken_row_id is None


def _rows() -> Iterator[AuditLog]:
    return AuditLog.objects.order_by("id").iterator(chunk_size=2000)


def audit_chain_verify() -> ChainReport:
    """Walk the chain in id order; report the first row whose link or content does not hold."""
    expected_previous = GENESIS_HASH
    checked = 0
    for row in _rows():
        if row.previous_hash != expected_previous:
            return ChainReport(
                checked,
                row.id,
                "previous_hash does not match the preceding row (row deleted, "
                "inserted or reordered)",
            )
        if row_hash(row.previous_hash, row) != row.current_hash:
            return ChainReport(checked, row.id, "current_hash does not match the row's content")
        expected_previous = row.current_hash
        checked += 1
    return ChainReport(checked)
