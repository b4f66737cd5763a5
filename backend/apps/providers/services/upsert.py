"""Set-based writes for ingestion: a binary COPY in, then one statement per step.

Each function takes an open cursor inside the caller's transaction. A sync's normalised rows
are COPYed (binary) into a temporary table `offers_in` (`offers_stage`); one
`INSERT … SELECT … ON CONFLICT` upserts them all and, in the same statement, notes and
returns the offers whose price, spot price or availability changed (`offers_upsert_changes`);
one `UPDATE` marks the provider's offers missing from the batch as gone
(`offers_gone_changes`); one `INSERT` writes the history of all those changes
(`price_history_write`). 50,000 offers cost a handful of round trips and no per-row SQL.
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple
from uuid import UUID

import psycopg
from django.db import connection

from apps.providers.events import PLACE_KEYS
from apps.providers.services.normalise import OFFER_COLUMNS, OfferRow

#: The columns ingestion writes per offer, in OfferRow's order (the COPY's and the upsert's).
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(OfferRow) if f.name in OFFER_COLUMNS)
#: OfferRow → the tuple COPYed for it (attrgetter builds it in C).
row_values = operator.attrgetter(*COLUMNS)
_UPDATED_ON_CONFLICT = [name for name in COLUMNS if name != "external_id"]
_PLACE = ", ".join(PLACE_KEYS)

# Built from the constant column lists above; no value ever reaches the SQL text.
_COLUMN_LIST = ", ".join(COLUMNS)
STAGE_SQL = f"""
CREATE TEMP TABLE offers_in ON COMMIT DROP AS SELECT {_COLUMN_LIST} FROM gpu_offers WITH NO DATA
"""  # noqa: S608
STAGE_TYPES_SQL = """
SELECT atttypid FROM pg_attribute
WHERE attrelid = 'pg_temp.offers_in'::regclass AND attnum > 0 AND NOT attisdropped
ORDER BY attnum
"""
COPY_SQL = f"COPY offers_in ({_COLUMN_LIST}) FROM STDIN (FORMAT BINARY)"
# Built after the COPY (one sort, not 50,000 inserts). GONE_SQL's anti-join probes it: without
# it, a planner that thinks the provider has one offer (statistics taken before its first big
# batch) scans the whole staged table once per offer, 10,000 x 10,000 rows (over 15 s).
STAGE_INDEX_SQL = "CREATE UNIQUE INDEX offers_in_external_id ON pg_temp.offers_in (external_id)"
# The observations the batch makes (new, changed and gone offers), written to price_history
# in one statement once the offers are written (price_history is not touched before then).
HISTORY_STAGE_SQL = """
CREATE TEMP TABLE history_in (offer_id uuid, price_per_hour numeric, availability_status text,
                              spot_price_per_hour numeric) ON COMMIT DROP
"""


def _upsert_sql() -> str:
    updates = ",\n        ".join(f"{name} = EXCLUDED.{name}" for name in _UPDATED_ON_CONFLICT)
    up_place = ", ".join(f"up.{key}" for key in PLACE_KEYS)
    return f"""
WITH up AS (
    INSERT INTO gpu_offers ({_COLUMN_LIST}, id, provider_id, compliance_tags, is_stale,
                            created_at, updated_at, last_seen_at)
    SELECT {_COLUMN_LIST}, gen_random_uuid(), %(provider_id)s, %(tags)s::text[], false,
           %(now)s, %(now)s, %(now)s
    FROM offers_in
    ON CONFLICT (provider_id, external_id) DO UPDATE SET
        {updates},
        compliance_tags = EXCLUDED.compliance_tags,
        is_stale = false,
        updated_at = EXCLUDED.updated_at,
        last_seen_at = EXCLUDED.last_seen_at
    RETURNING id, external_id, gpu_type, region, price_per_hour, availability_status,
              spot_price_per_hour, price_as_of, gpu_count, {_PLACE}
),
changed AS (
    -- gpu_offers as the statement's snapshot sees it: the rows before this upsert.
    SELECT up.*, old.price_per_hour AS old_price, old.id IS NULL AS inserted
    FROM up LEFT JOIN gpu_offers old ON old.id = up.id AND old.provider_id = %(provider_id)s
    WHERE old.id IS NULL
       OR (old.price_per_hour, old.availability_status, old.spot_price_per_hour)
          IS DISTINCT FROM (up.price_per_hour, up.availability_status, up.spot_price_per_hour)
),
noted AS (
    INSERT INTO history_in SELECT id, price_per_hour, availability_status, spot_price_per_hour
    FROM changed
)
SELECT up.id::text, up.external_id, up.gpu_type, up.region, up.old_price::float8,
       up.price_per_hour::float8, up.availability_status, up.spot_price_per_hour::float8,
       up.price_as_of, up.gpu_count, {up_place}, up.inserted
FROM changed AS up
"""  # noqa: S608


UPSERT_SQL = _upsert_sql()

GONE_SQL = f"""
WITH gone AS (
    UPDATE gpu_offers AS g
    SET availability_status = 'unavailable', is_stale = true, updated_at = %(now)s
    FROM gpu_offers AS old
    WHERE old.id = g.id
      AND g.provider_id = %(provider_id)s
      AND NOT (g.availability_status = 'unavailable' AND g.is_stale)
      AND NOT EXISTS (SELECT 1 FROM offers_in AS i WHERE i.external_id = g.external_id)
    RETURNING g.id, g.gpu_type, g.region, old.price_per_hour,
              old.availability_status AS old_availability, old.spot_price_per_hour,
              {", ".join(f"g.{key}" for key in PLACE_KEYS)}
),
noted AS (
    INSERT INTO history_in SELECT id, price_per_hour, 'unavailable', spot_price_per_hour
    FROM gone WHERE old_availability <> 'unavailable'
)
SELECT id::text, gpu_type, region, price_per_hour::float8, spot_price_per_hour::float8,
       old_availability <> 'unavailable', {_PLACE}
FROM gone
"""  # noqa: S608

HISTORY_SQL = """
INSERT INTO price_history (id, offer_id, price_per_hour, availability_status, recorded_at,
                           spot_price_per_hour)
SELECT gen_random_uuid(), offer_id, price_per_hour, availability_status, %(now)s,
       spot_price_per_hour
FROM history_in
"""

BACKFILL_SQL = """
INSERT INTO price_history (id, offer_id, price_per_hour, availability_status, recorded_at)
SELECT gen_random_uuid(), t.offer_id, t.price, t.availability, t.recorded_at
FROM unnest(%(offer_id)s::uuid[], %(price)s::numeric[], %(availability)s::text[],
            %(recorded_at)s::timestamptz[])
     AS t(offer_id, price, availability, recorded_at)
"""


class OfferChange(NamedTuple):
    """An upserted offer that is new or whose price, spot price or availability changed.

    Prices are USD/hour as stored (DECIMAL(8,4), read as float); `old_price` is None for a new
    offer (`inserted`). The place fields are PLACE_KEYS, in that order.
    """

    offer_id: str
    external_id: str
    gpu_type: str
    region: str
    old_price: float | None
    new_price: float
    availability: str
    spot_price: float | None
    price_as_of: datetime | None
    gpu_count: int
    provider_region: str | None
    country: str | None
    state: str | None
    city: str | None
    macro_region: str | None
    inserted: bool


class GoneOffer(NamedTuple):
    """A provider's offer missing from the batch, now unavailable and stale.

    `price`/`spot_price` are its last stored prices (USD/hour); `was_available` says whether it
    was listed as available or limited before, i.e. whether this is a change (history, event).
    The place fields are PLACE_KEYS, in that order.
    """

    offer_id: str
    gpu_type: str
    region: str
    price: float
    spot_price: float | None
    was_available: bool
    provider_region: str | None
    country: str | None
    state: str | None
    city: str | None
    macro_region: str | None


if OfferChange._fields[10:15] != PLACE_KEYS or GoneOffer._fields[6:] != PLACE_KEYS:
    raise RuntimeError("OfferChange and GoneOffer must list PLACE_KEYS in order")


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


def offers_stage(cursor: Any, *, rows: Iterable[OfferRow]) -> None:
    """COPY `rows` (binary) into a new temporary table `offers_in`, dropped at commit.

    Also creates the (empty) temporary table `history_in` the next steps note changes in. Any
    such tables left by an earlier sync in the same (still open) transaction are replaced.
    The rows' external ids must be distinct (the upsert cannot touch a row twice; a unique
    index on them, which `offers_gone_changes` probes, raises psycopg's UniqueViolation).
    """
    cursor.execute("DROP TABLE IF EXISTS pg_temp.offers_in, pg_temp.history_in")
    cursor.execute(STAGE_SQL)
    cursor.execute(HISTORY_STAGE_SQL)
    types = [oid for (oid,) in cursor.execute(STAGE_TYPES_SQL).fetchall()]
    with cursor.copy(COPY_SQL) as copy:
        copy.set_types(types)
        write_row = copy.write_row
        for row in rows:
            write_row(row_values(row))
    cursor.execute(STAGE_INDEX_SQL)


def offers_upsert_changes(
    cursor: Any, *, provider_id: UUID, compliance_tags: list[str], now: datetime
) -> list[OfferChange]:
    """Upsert the staged rows for `provider_id`; note and return the changes.

    Every staged row is inserted (new id) or updates the provider's offer with its external
    id (not stale any more, `updated_at`/`last_seen_at` = `now`, the provider's compliance
    tags). A new offer, or one whose price, spot price or availability differs from the stored
    one, is noted for `price_history_write` and returned. Call `offers_stage` first.
    """
    cursor.execute(UPSERT_SQL, {"provider_id": provider_id, "tags": compliance_tags, "now": now})
    return list(map(OfferChange._make, cursor.fetchall()))


def offers_gone_changes(cursor: Any, *, provider_id: UUID, now: datetime) -> list[GoneOffer]:
    """Mark the provider's offers that are not staged unavailable and stale; never deleted.

    Offers already unavailable and stale are left alone. An offer that was available or
    limited is noted for `price_history_write` (unavailable, its last prices). Returns every
    offer marked. Call after `offers_upsert_changes`, in the same transaction.
    """
    cursor.execute(GONE_SQL, {"provider_id": provider_id, "now": now})
    return list(map(GoneOffer._make, cursor.fetchall()))


def price_history_write(cursor: Any, *, now: datetime) -> None:
    """One price_history row at `now` per change noted by the two steps above, in one INSERT."""
    cursor.execute(HISTORY_SQL, {"now": now})


def price_history_backfill_insert(
    cursor: Any,
    *,
    entries: Sequence[tuple[UUID | str, datetime, Decimal, str]],
) -> None:
    """One price_history row per (offer_id, recorded_at, price, availability).

    Each at its own time: the demo market's simulated past (live observations are written by
    `price_history_write`).
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
