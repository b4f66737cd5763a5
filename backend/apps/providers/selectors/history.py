"""Reads of one offer's price history over a window, with statistics over it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from django.utils import timezone

from algorithms.price_analytics import PriceStatistics, price_statistics
from apps.providers.errors import OfferNotFound
from apps.providers.models import PriceHistory
from apps.providers.selectors.offers import offers_listed

HistoryWindow = Literal["24h", "7d", "30d"]

HISTORY_WINDOWS: Mapping[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}


@dataclass(frozen=True)
class PriceHistoryPoint:
    """One price observation: when, the price (USD/hour) and availability then."""

    timestamp: datetime
    price_per_hour: Decimal
    availability: str | None
    spot_price_per_hour: Decimal | None = None


@dataclass(frozen=True)
class OfferPriceHistory:
    """An offer's observations in a window and the statistics over them."""

    offer_id: uuid.UUID
    window: str
    start: datetime
    end: datetime
    points: list[PriceHistoryPoint]
    statistics: PriceStatistics
    spot_statistics: PriceStatistics


def offer_price_history(*, offer_id: uuid.UUID, window: HistoryWindow) -> OfferPriceHistory:
    """Price observations of a listed offer in the window, with statistics over them.

    History rows are written on change only, so the price in force when the window opened (the
    last observation before it) is carried in as a point at the window's start; without it an
    offer whose price never changed would have no points at all. `window` is one of
    HISTORY_WINDOWS; prices are USD/hour for the instance.

    Raises:
        OfferNotFound: the id is unknown or the offer is not listed.
    """
    if not offers_listed().filter(id=offer_id).exists():
        raise OfferNotFound(details={"offer_id": str(offer_id)})
    end = timezone.now()
    start = end - HISTORY_WINDOWS[window]
    history = PriceHistory.objects.filter(offer_id=offer_id)
    columns = ("recorded_at", "price_per_hour", "availability_status", "spot_price_per_hour")
    inside = list(
        history.filter(recorded_at__gte=start, recorded_at__lte=end)
        .order_by("recorded_at", "id")
        .values_list(*columns)
    )
    before = history.filter(recorded_at__lt=start).order_by("-recorded_at", "-id")
    carried = before.values_list(*columns).first()
    points = [PriceHistoryPoint(*row) for row in inside]
    if carried is not None:
        points.insert(0, PriceHistoryPoint(start, *carried[1:]))
    statistics = price_statistics(
        [(p.timestamp.timestamp(), float(p.price_per_hour)) for p in points]
    )
    spot_statistics = price_statistics(
        [
            (p.timestamp.timestamp(), float(p.spot_price_per_hour))
            for p in points
            if p.spot_price_per_hour is not None
        ]
    )
    return OfferPriceHistory(
        offer_id=offer_id,
        window=window,
        start=start,
        end=end,
        points=points,
        statistics=statistics,
        spot_statistics=spot_statistics,
    )
