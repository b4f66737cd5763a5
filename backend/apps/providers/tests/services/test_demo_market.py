"""The demo market's drift as a pure function: deterministic, bounded, a few offers per round."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.providers.services.demo_market import (
    DemoMarket,
    PreviousState,
    demo_history_backfill,
    demo_market_from_settings,
    demo_rows_drift,
    offer_drift,
    price_quantum,
)
from apps.providers.services.normalise import OfferRow

MARKET = DemoMarket(seed=7)
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
# Recorded prices of the kinds the recordings hold: marketplace prices with 4 decimals, cheap
# cents, list prices in cents, big multi-GPU instances.
RECORDED_PRICES = ("0.0784", "0.2678", "0.34", "0.5", "1.29", "2.49", "5.2", "14.32", "39.92")


def offer(external_id: str, price: str, *, spot: str | None = None, availability="available"):
    return OfferRow(
        external_id=external_id,
        gpu_type="H100 SXM",
        gpu_memory_gb=80,
        cpu_cores=16,
        ram_gb=128,
        storage_gb=500,
        storage_type="nvme",
        price_per_hour=Decimal(price),
        currency="USD",
        region="us-east",
        availability_status=availability,
        min_rental_time=None,
        spot_pricing=False,
        preemptible=False,
        network_speed_gbps=None,
        gpu_count=1,
        gpu_model="H100 SXM",
        gpu_name_raw="H100 SXM5 80GB",
        spot_price_per_hour=None if spot is None else Decimal(spot),
        country="US",
        interconnect=None,
        reliability=None,
        quarantine_reason=None,
    )


def market_rows(count: int) -> dict[str, OfferRow]:
    return {
        f"offer-{i}": offer(f"offer-{i}", RECORDED_PRICES[i % len(RECORDED_PRICES)])
        for i in range(count)
    }


def as_previous(rows: dict[str, OfferRow]) -> dict[str, PreviousState]:
    return {
        key: PreviousState(row.price_per_hour, row.availability_status) for key, row in rows.items()
    }


def walk(rows: dict[str, OfferRow], rounds: int, market: DemoMarket = MARKET):
    """Every round's rows, each round starting from the previous one's stored state."""
    state = as_previous(rows)
    for round_number in range(1, rounds + 1):
        drifted = demo_rows_drift(
            rows, previous=state, round_number=round_number, market=market, provider="vastai"
        )
        yield round_number, drifted
        state = as_previous(drifted)


@pytest.mark.parametrize(
    ("recorded", "quantum"),
    [
        ("2.49", "0.01"),
        ("39.92", "0.01"),
        ("5.2", "0.01"),
        ("100", "0.01"),
        ("0.34", "0.001"),
        ("0.162", "0.001"),
        ("0.2678", "0.0001"),
        ("0.0784", "0.0001"),
        ("0.5000", "0.001"),  # a cent would be 2 % of it
    ],
)
def test_prices_are_quoted_like_the_recorded_price(recorded, quantum):
    assert price_quantum(Decimal(recorded)) == Decimal(quantum)


def test_same_seed_round_and_offer_give_the_same_prices():
    rows = market_rows(300)
    previous = as_previous(rows)
    first = demo_rows_drift(rows, previous=previous, round_number=5, market=MARKET, provider="x")
    again = demo_rows_drift(rows, previous=previous, round_number=5, market=MARKET, provider="x")
    assert first == again
    # Order does not matter: each offer's draw depends on its own key only.
    reversed_rows = dict(reversed(list(rows.items())))
    assert (
        demo_rows_drift(
            reversed_rows, previous=previous, round_number=5, market=MARKET, provider="x"
        )
        == first
    )


def test_another_seed_round_or_provider_moves_other_offers():
    rows = market_rows(300)
    previous = as_previous(rows)

    def moved(**kw) -> set[str]:
        args = {"round_number": 5, "market": MARKET, "provider": "x", **kw}
        drifted = demo_rows_drift(rows, previous=previous, **args)
        return {k for k in rows if drifted[k].price_per_hour != rows[k].price_per_hour}

    base = moved()
    assert base
    assert moved(market=DemoMarket(seed=8)) != base
    assert moved(round_number=6) != base
    assert moved(provider="y") != base


def test_a_first_sighting_keeps_the_recorded_offer():
    row = offer("new", "2.49", spot="1.25")
    assert offer_drift(row, previous=None, round_number=3, market=MARKET, provider="x") == row


def test_about_the_configured_fraction_of_offers_changes_per_round():
    rows = market_rows(4000)
    for _, drifted in walk(rows, 3):
        prices = sum(1 for k in rows if drifted[k].price_per_hour != rows[k].price_per_hour)
        # A deterministic draw: about 5 % of 4,000 (binomial stdev ~14 offers).
        assert 150 <= prices <= 250
        break
    changed_per_round = []
    state = as_previous(rows)
    for _, drifted in walk(rows, 20):
        changed_per_round.append(
            sum(
                1
                for k in rows
                if drifted[k].price_per_hour != state[k].price_per_hour
                or drifted[k].availability_status != state[k].availability_status
            )
        )
        state = as_previous(drifted)
    # Prices (~5 %) plus availability flips and returns (~1 % of the offers and back).
    assert all(150 <= changed <= 400 for changed in changed_per_round)


def test_prices_stay_within_the_bound_and_are_rounded_like_the_recording():
    rows = market_rows(200)
    seen_low = seen_high = False
    for _, drifted in walk(rows, 400):
        for key, row in drifted.items():
            recorded = rows[key].price_per_hour
            quantum = price_quantum(recorded)
            assert row.price_per_hour > 0
            assert row.price_per_hour == row.price_per_hour.quantize(quantum)
            deviation = row.price_per_hour / recorded - 1
            assert abs(deviation) <= Decimal("0.12")
            seen_low = seen_low or deviation < Decimal("-0.05")
            seen_high = seen_high or deviation > Decimal("0.05")
    # The walk really moves: it reaches both sides of the recording over 400 rounds.
    assert seen_low
    assert seen_high


def test_the_walk_reverts_towards_the_recorded_price():
    rows = market_rows(500)
    deviations = []
    for round_number, drifted in walk(rows, 300):
        if round_number > 100:
            deviations.extend(
                float(drifted[k].price_per_hour / rows[k].price_per_hour - 1) for k in rows
            )
    mean = sum(deviations) / len(deviations)
    pinned = sum(1 for d in deviations if abs(d) > 0.115) / len(deviations)
    assert abs(mean) < 0.01
    # Mean reversion keeps most of the mass off the clamp.
    assert pinned < 0.1


def test_spot_prices_move_with_on_demand():
    rows = {f"o{i}": offer(f"o{i}", "2.4000", spot="1.2000") for i in range(300)}
    for _, drifted in walk(rows, 30):
        for row in drifted.values():
            factor = row.price_per_hour / Decimal("2.40")
            assert row.spot_price_per_hour is not None
            assert abs(row.spot_price_per_hour - Decimal("1.20") * factor) <= Decimal("0.005")
            assert row.spot_price_per_hour < row.price_per_hour


def test_availability_flips_are_rare_and_return_to_the_recorded_value():
    rows = market_rows(1000)
    flipped_rounds = []
    ever_flipped: set[str] = set()
    for _, drifted in walk(rows, 50):
        flipped = {k for k in rows if drifted[k].availability_status != "available"}
        flipped_rounds.append(len(flipped))
        ever_flipped |= flipped
        assert {drifted[k].availability_status for k in flipped} <= {"limited", "unavailable"}
    # ~1 % flip per round and ~30 % return: a small, steady share is away from "available".
    assert max(flipped_rounds) < 60
    assert min(flipped_rounds[10:]) > 0
    assert len(ever_flipped) > max(flipped_rounds)


def test_no_availability_flips_when_disabled():
    rows = market_rows(500)
    quiet = dataclasses.replace(MARKET, availability_flip=0.0)
    for _, drifted in walk(rows, 20, market=quiet):
        assert {row.availability_status for row in drifted.values()} == {"available"}


def test_backfill_is_a_bounded_week_of_points_before_now():
    row = offer("o1", "2.49")
    points = demo_history_backfill(row, market=MARKET, provider="x", now=NOW)
    times = [at for at, _, _ in points]
    assert times == sorted(times)
    assert times[0] == NOW - timedelta(days=7)
    assert times[-1] < NOW
    assert points[0][1] == Decimal("2.49")
    assert len(points) > 5
    assert all(Decimal("2.19") <= price <= Decimal("2.78") for _, price, _ in points)
    assert all(a[1] != b[1] for a, b in itertools.pairwise(points))
    assert {availability for _, _, availability in points} == {"available"}
    assert demo_history_backfill(row, market=MARKET, provider="x", now=NOW) == points


def test_demo_market_is_on_only_when_asked_and_only_in_replay(settings):
    settings.GPUBROKER_DEMO_MARKET = False
    assert demo_market_from_settings() is None
    settings.GPUBROKER_DEMO_MARKET = True
    settings.GPUBROKER_DEMO_MARKET_SEED = 42
    settings.GPUBROKER_PROVIDER_MODE = "replay"
    assert demo_market_from_settings() == DemoMarket(seed=42)
    settings.GPUBROKER_PROVIDER_MODE = "live"
    assert demo_market_from_settings() is None
