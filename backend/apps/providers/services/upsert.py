"""Set-based writes for ingestion: one statement per step, whatever the batch size.

Each function takes an open cursor inside the caller's transaction. Arrays are passed whole and
expanded server-side with `unnest`, so 50,000 offers cost one round trip, not 50,000.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from django.db import connection

from apps.providers.models import GPUOffer
from apps.providers.services.normalise import OFFER_COLUMNS, OfferRow

# The per-row columns of the upsert: the offer's id and every column of OfferRow (the one list
# of what ingestion writes), each with the PostgreSQL type of its model field for the
# unnest(...) arrays. Assignment to the varchar columns still checks their lengths.
_ARRAY_TYPES: Mapping[str, str] = {
    "UUIDField": "uuid",
    "CharField": "text",
    "TextField": "text",
    "IntegerField": "int",
    "PositiveIntegerField": "int",
    "DecimalField": "numeric",
    "BooleanField": "bool",
    "DateTimeField": "timestamptz",
}
_ROW_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (name, _ARRAY_TYPES[GPUOffer._meta.get_field(name).get_internal_type()])
    for name in ("id", *(field.name for field in fields(OfferRow) if field.name in OFFER_COLUMNS))
)
_UPDATED_ON_CONFLICT = [name for name, _ in _ROW_COLUMNS if name not in ("id", "external_id")]


def _upsert_sql() -> str:
    names = [name for name, _ in _ROW_COLUMNS]
    arrays = ", ".join(f"%({name})s::{pg_type}[]" for name, pg_type in _ROW_COLUMNS)
    updates = ",\n    ".join(f"{name} = EXCLUDED.{name}" for name in _UPDATED_ON_CONFLICT)
    columns = ", ".join(names)
    selected = ", ".join(f"t.{name}" for name in names)
    # Built from the constant column table above; no value ever reaches the SQL text.
    return f"""
INSERT INTO gpu_offers ({columns}, provider_id, compliance_tags, is_stale,
                        created_at, updated_at, last_seen_at)
SELECT {selected}, %(provider_id)s, %(tags)s::text[], false, %(now)s, %(now)s, %(now)s
FROM unnest({arrays}) AS t({columns})
ON CONFLICT (provider_id, external_id) DO UPDATE SET
    {updates},
    compliance_tags = EXCLUDED.compliance_tags,
    is_stale = false,
    updated_at = EXCLUDED.updated_at,
    last_seen_at = EXCLUDED.last_seen_at
"""  # noqa: S608


UPSERT_SQL = _upsert_sql()

HISTORY_SQL = """
INSERT INTO price_history (id, offer_id, price_per_hour, availability_status, recorded_at,
                           spot_price_per_hour)
SELECT gen_random_uuid(), t.offer_id, t.price, t.availability, %(now)s, t.spot
FROM unnest(%(offer_id)s::uuid[], %(price)s::numeric[], %(availability)s::text[],
            %(spot)s::numeric[])
     AS t(offer_id, price, availability, spot)
"""

BACKFILL_SQL = """
INSERT INTO price_history (id, offer_id, price_per_hour, availability_status, recorded_at)
SELECT gen_random_uuid(), t.offer_id, t.price, t.availability, t.recorded_at
FROM unnest(%(offer_id)s::uuid[], %(price)s::numeric[], %(availability)s::text[],
            %(recorded_at)s::timestamptz[])
     AS t(offer_id, price, availability, recorded_at)
"""

MARK_GONE_SQL = """
UPDATE gpu_offers SET availability_status = 'unavailable', is_stale = true, updated_at = %(now)s
WHERE id = ANY(%(ids)s::uuid[])
"""


@contextlib.contextmanager
def bulk_cursor() -> Iterator[psycopg.Cursor[Any]]:
    """A server-side-binding cursor on Django's connection (same transaction).

    Django's psycopg backend binds parameters client-side, which renders a 50,000-element array
    as SQL text in Python; server-side binding ships the arrays as parameters instead (about
    twice as fast for the whole sync, see docs/benchmarks.md).
    """
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def offers_bulk_upsert(
    cursor: Any,
    *,
    rows: Sequence[tuple[UUID, OfferRow]],
    provider_id: UUID,
    compliance_tags: list[str],
    now: datetime,
) -> None:
    """INSERT … ON CONFLICT (provider_id, external_id) DO UPDATE for every row at once.

    `rows` are (offer id, normalised row): the id of the existing offer, or a new one. The
    provider, its compliance tags and `now` (created/updated/last seen) apply to every row.
    """
    if not rows:
        return
    params: dict[str, Any] = {"id": [offer_id for offer_id, _ in rows]}
    for name, _ in _ROW_COLUMNS[1:]:
        params[name] = [getattr(row, name) for _, row in rows]
    params.update({"provider_id": provider_id, "tags": compliance_tags, "now": now})
    cursor.execute(UPSERT_SQL, params)


def price_history_bulk_insert(
    cursor: Any,
    *,
    entries: Sequence[tuple[UUID, Decimal, str, Decimal | None]],
    now: datetime,
) -> None:
    """One price_history row per (offer_id, price, availability, spot price or None)."""
    if not entries:
        return
    cursor.execute(
        HISTORY_SQL,
        {
            "offer_id": [entry[0] for entry in entries],
            "price": [entry[1] for entry in entries],
            "availability": [entry[2] for entry in entries],
            "spot": [entry[3] for entry in entries],
            "now": now,
        },
    )


def price_history_backfill_insert(
    cursor: Any,
    *,
    entries: Sequence[tuple[UUID, datetime, Decimal, str]],
) -> None:
    """One price_history row per (offer_id, recorded_at, price, availability).

    Each at its own time: the demo market's simulated past (live observations use
    `price_history_bulk_insert`).
    """
    if not entries:
        return
    cursor.execute(
        BACKFILL_SQL,
        {
            "offer_id": [entry[0] for entry in entries],
            "recorded_at": [entry[1] for entry in entries],
            "price": [entry[2] for entry in entries],
            "availability": [entry[3] for entry in entries],
        },
    )


def offers_mark_gone(cursor: Any, *, offer_ids: Sequence[UUID], now: datetime) -> None:
    """Offers absent from a successful sync: unavailable and stale, never deleted."""
    if offer_ids:
        cursor.execute(MARK_GONE_SQL, {"ids": list(offer_ids), "now": now})
