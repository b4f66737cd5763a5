"""The demo market: seeded, bounded price and availability drift over replayed offers.

Replay serves the same recorded responses every round, so without this the demo never changes:
every sync reports `changed=0` and the price stream, history and trend stay empty. With
`GPUBROKER_DEMO_MARKET=true` (on in `make run`, off by default and in tests) and replay mode,
`offers_apply` passes each round's normalised offers through `demo_rows_drift` before the upsert,
in one place for every provider, and backfills simulated history for offers seen for the first
time. Everything produced here is simulation, never a provider's price: the log lines say
`demo_market: true` and the docs and `make run` banner say so. In live mode it never runs.

The walk. Each offer is anchored to its recorded price P. Its state is the deviation
d = price / P - 1 of the price stored by the previous round. In a round, with probability
`change_fraction`, the offer moves: d' = d * (1 - reversion) + step * z with z standard normal,
then clamped to +-max_deviation (a mean-reverting walk, so prices wander near the recording and
never away from it). Spot prices move by the same factor as on-demand. Availability flips away
from the recorded value with probability `availability_flip` per round and returns with
probability `availability_return`. All randomness comes from a hash of (seed, provider, offer,
round, purpose): the same inputs always give the same prices, whatever the process or order.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from statistics import NormalDist
from typing import Final

from django.conf import settings

from apps.providers.services.normalise import OfferRow

_STANDARD_NORMAL: Final = NormalDist()
_ONE_PERCENT: Final = Decimal("0.01")
#: Prices are stored with 4 decimals (gpu_offers.price_per_hour is DECIMAL(8,4)).
_FINEST_PLACES: Final = 4
_COARSEST_PLACES: Final = 2
#: Where an offer at its recorded availability goes when it flips, by weight.
_FLIPS: Final[Mapping[str, tuple[tuple[str, float], ...]]] = {
    "available": (("limited", 0.7), ("unavailable", 0.3)),
    "limited": (("available", 0.6), ("unavailable", 0.4)),
    "unavailable": (("limited", 0.5), ("available", 0.5)),
}


@dataclass(frozen=True, slots=True)
class DemoMarket:
    """Parameters of the simulated drift; fractions are per offer per round.

    Defaults: about 5 % of offers move per round, one move is 3 % of the recorded price (one
    standard deviation), a move removes a quarter of the current deviation, prices stay within
    +-12 % of the recording, and about 1 in 100 offers flips availability per round.
    """

    seed: int
    change_fraction: float = 0.05
    step: float = 0.03
    reversion: float = 0.25
    max_deviation: float = 0.12
    availability_flip: float = 0.01
    availability_return: float = 0.3
    #: Simulated history written for an offer's first sighting: this many days back, one
    #: round every `backfill_step`, with more offers moving per step than per live round.
    backfill_days: int = 7
    backfill_step: timedelta = timedelta(hours=4)
    backfill_change_fraction: float = 0.35


@dataclass(frozen=True, slots=True)
class PreviousState:
    """What the previous round stored for an offer (stale offers have none)."""

    price_per_hour: Decimal
    availability_status: str


def demo_market_from_settings() -> DemoMarket | None:
    """The demo market when `GPUBROKER_DEMO_MARKET` is on and providers are replayed, else None.

    Live mode never drifts: a live price is the provider's, whatever the setting says.
    """
    if not settings.GPUBROKER_DEMO_MARKET or settings.GPUBROKER_PROVIDER_MODE != "replay":
        return None
    return DemoMarket(seed=settings.GPUBROKER_DEMO_MARKET_SEED)


def _uniform(
    market: DemoMarket, provider: str, external_id: str, round_number: int, purpose: str
) -> float:
    """A number in (0, 1) determined by its arguments only (53 bits of a BLAKE2b digest)."""
    key = f"{market.seed}\x1f{provider}\x1f{external_id}\x1f{round_number}\x1f{purpose}"
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return ((int.from_bytes(digest, "big") >> 11) + 0.5) / 2.0**53


def price_quantum(recorded: Decimal) -> Decimal:
    """The step prices of this size are quoted in, in USD.

    As precise as the recorded price (at least cents, at most the 4 stored decimals), and finer
    when a step would exceed 1 % of the price: $2.49 → 0.01, $0.34 → 0.001, $0.0784 → 0.0001.
    """
    exponent = recorded.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) else _FINEST_PLACES
    places = min(_FINEST_PLACES, max(_COARSEST_PLACES, places))
    while places < _FINEST_PLACES and Decimal(1).scaleb(-places) > recorded * _ONE_PERCENT:
        places += 1
    return Decimal(1).scaleb(-places)


def _price_bounds(
    recorded: Decimal, market: DemoMarket, quantum: Decimal
) -> tuple[Decimal, Decimal]:
    deviation = Decimal(str(market.max_deviation))
    low = (recorded * (1 - deviation)).quantize(quantum, rounding=ROUND_CEILING)
    high = (recorded * (1 + deviation)).quantize(quantum, rounding=ROUND_FLOOR)
    return max(low, quantum), high


def _drifted_price(
    recorded: Decimal,
    previous: Decimal | None,
    *,
    market: DemoMarket,
    move: bool,
    z: float,
) -> Decimal:
    quantum = price_quantum(recorded)
    low, high = _price_bounds(recorded, market, quantum)
    start = recorded if previous is None else min(max(previous, low), high)
    if not move:
        return start
    deviation = float(start / recorded) - 1.0
    deviation = deviation * (1.0 - market.reversion) + market.step * z
    deviation = max(-market.max_deviation, min(market.max_deviation, deviation))
    price = (recorded * Decimal(str(1.0 + deviation))).quantize(quantum, rounding=ROUND_HALF_UP)
    if price == start:
        # A move smaller than the quoting step still moves by one step, so an offer chosen to
        # move always changes (the share of changed offers is the configured fraction).
        price = start + quantum if z >= 0 else start - quantum
        if not low <= price <= high:
            price = start - quantum if z >= 0 else start + quantum
    return min(max(price, low), high)


def _drifted_availability(
    recorded: str,
    previous: str | None,
    *,
    market: DemoMarket,
    draw: float,
    choice: float,
) -> str:
    if previous is None or recorded not in _FLIPS:
        return recorded
    if previous != recorded:
        return recorded if draw < market.availability_return else previous
    if draw >= market.availability_flip:
        return recorded
    total = 0.0
    for status, weight in _FLIPS[recorded]:
        total += weight
        if choice < total:
            return status
    return _FLIPS[recorded][-1][0]


def offer_drift(
    row: OfferRow,
    *,
    previous: PreviousState | None,
    round_number: int,
    market: DemoMarket,
    provider: str,
) -> OfferRow:
    """One offer's simulated state in a round (see the module docstring for the walk).

    `row` holds the recorded offer; `previous` what the last round stored (None for a first
    sighting, which keeps the recorded values). Prices are USD/hour, rounded to
    `price_quantum(recorded)` and kept within +-`max_deviation` of the recorded price.
    Deterministic: the same arguments always return the same row.
    """
    if previous is None or row.price_per_hour <= 0:
        return row

    def uniform(purpose: str) -> float:
        return _uniform(market, provider, row.external_id, round_number, purpose)

    move = uniform("move") < market.change_fraction
    price = _drifted_price(
        row.price_per_hour,
        previous.price_per_hour,
        market=market,
        move=move,
        z=_STANDARD_NORMAL.inv_cdf(uniform("step")),
    )
    spot = row.spot_price_per_hour
    if spot is not None and spot > 0:
        factor = price / row.price_per_hour
        spot = max(
            (spot * factor).quantize(price_quantum(spot), rounding=ROUND_HALF_UP),
            price_quantum(spot),
        )
    availability = _drifted_availability(
        row.availability_status,
        previous.availability_status,
        market=market,
        draw=uniform("availability"),
        choice=uniform("availability-to"),
    )
    return dataclasses.replace(
        row, price_per_hour=price, spot_price_per_hour=spot, availability_status=availability
    )


def demo_rows_drift(
    rows: Mapping[str, OfferRow],
    *,
    previous: Mapping[str, PreviousState],
    round_number: int,
    market: DemoMarket,
    provider: str,
) -> dict[str, OfferRow]:
    """`offer_drift` over a provider's normalised offers, keyed by external id as given."""
    return {
        external_id: offer_drift(
            row,
            previous=previous.get(external_id),
            round_number=round_number,
            market=market,
            provider=provider,
        )
        for external_id, row in rows.items()
    }


def demo_history_backfill(
    row: OfferRow, *, market: DemoMarket, provider: str, now: datetime
) -> list[tuple[datetime, Decimal, str]]:
    """Simulated price observations of a new offer over the past `backfill_days`.

    Returns (recorded_at, price in USD/hour, availability) for the walk's start (the recorded
    price, `backfill_days` before `now`) and for every step at which the price changed, all
    strictly before `now`; the caller records the offer's real first observation at `now`.
    Backfill rounds are numbered below zero so they never repeat a live round's draws.
    """
    if row.price_per_hour <= 0:
        return []
    steps = math.ceil(timedelta(days=market.backfill_days) / market.backfill_step)
    start = now - market.backfill_step * steps
    walk = dataclasses.replace(
        market, change_fraction=market.backfill_change_fraction, availability_flip=0.0
    )
    state = PreviousState(row.price_per_hour, row.availability_status)
    points = [(start, row.price_per_hour, row.availability_status)]
    for step in range(1, steps):
        moved = offer_drift(
            row, previous=state, round_number=step - steps, market=walk, provider=provider
        )
        if moved.price_per_hour != state.price_per_hour:
            at = start + market.backfill_step * step
            points.append((at, moved.price_per_hour, row.availability_status))
            state = PreviousState(moved.price_per_hour, moved.availability_status)
    return points
