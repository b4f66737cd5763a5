"""Statistics, trend, anomalies and a linear forecast over a price series.

A series is a sequence of (timestamp in Unix seconds, price) pairs in any order; it is sorted by
timestamp. Prices must be finite and non-negative. Where a figure is undefined (empty series, one
point, zero time span, zero mean) it is None rather than NaN, so JSON responses stay valid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from algorithms._validation import FloatArray, float_array, positive_float, read_only
from algorithms.errors import AlgorithmInputError

PricePoint = tuple[float, float]
SECONDS_PER_DAY = 86_400.0
SECONDS_PER_HOUR = 3_600.0
# A fitted change under 1% over the window is noise for hourly GPU prices, so the trend is "flat".
FLAT_TREND_THRESHOLD_PCT = 1.0
# |z| >= 3 marks a price more than three standard deviations from the mean (~0.3% of a normal).
ANOMALY_Z_THRESHOLD = 3.0
MAX_FORECAST_HORIZON_HOURS = 24.0 * 365


@dataclass(frozen=True)
class PriceStatistics:
    """Summary of the prices.

    ``stdev`` is the sample standard deviation (n - 1); ``volatility`` is the coefficient of
    variation stdev / mean. Percentiles interpolate linearly between points.
    """

    count: int
    min: float | None
    max: float | None
    mean: float | None
    p50: float | None
    p95: float | None
    stdev: float | None
    volatility: float | None


@dataclass(frozen=True)
class PriceTrend:
    """Least-squares line through the series.

    ``slope_per_day``: price change per day; ``percent_change``: change of the fitted line from the
    first to the last timestamp relative to its value at the first; ``direction``: "up"/"down" when
    |percent_change| >= FLAT_TREND_THRESHOLD_PCT, else "flat"; None when fewer than 2 distinct
    timestamps.
    """

    slope_per_day: float | None
    percent_change: float | None
    direction: str | None


@dataclass(frozen=True)
class PriceForecast:
    """Fitted line extended ``horizon_hours`` past the last point, floored at 0.

    ``price`` is None when the series has fewer than 2 distinct timestamps.
    """

    timestamp: float | None
    price: float | None


def price_statistics(points: Sequence[PricePoint]) -> PriceStatistics:
    """Count, min, max, mean, p50, p95, sample stdev and volatility of the prices."""
    if len(points) == 0:
        return PriceStatistics(0, None, None, None, None, None, None, None)
    _, prices = _series(points)
    mean = float(prices.mean())
    stdev = float(prices.std(ddof=1)) if prices.size > 1 else None
    p50, p95 = (float(value) for value in np.percentile(prices, [50, 95]))
    return PriceStatistics(
        count=int(prices.size),
        min=float(prices.min()),
        max=float(prices.max()),
        mean=mean,
        p50=p50,
        p95=p95,
        stdev=stdev,
        volatility=stdev / mean if stdev is not None and mean > 0 else None,
    )


def price_trend(points: Sequence[PricePoint]) -> PriceTrend:
    """Least-squares trend of price over time (see PriceTrend)."""
    fit = _linear_fit(points)
    if fit is None:
        return PriceTrend(None, None, None)
    slope, intercept, first, last = fit
    start, end = intercept + slope * first, intercept + slope * last
    percent = (end - start) / start * 100 if start > 0 else None
    # Without a positive starting level a percentage means nothing; fall back to the slope's sign.
    is_flat = slope == 0 if percent is None else abs(percent) < FLAT_TREND_THRESHOLD_PCT
    direction = "flat" if is_flat else ("up" if slope > 0 else "down")
    return PriceTrend(slope * SECONDS_PER_DAY, percent, direction)


def anomaly_zscores(points: Sequence[PricePoint]) -> FloatArray:
    """Z = (price - mean) / sample stdev per point, in timestamp order (read-only array).

    All zeros when there are fewer than 2 points or every price is equal (nothing stands out).
    Note that with n points |z| cannot exceed (n - 1) / sqrt(n), so ANOMALY_Z_THRESHOLD is only
    reachable from 11 points on.
    """
    if len(points) == 0:
        return read_only(np.zeros(0))
    _, prices = _series(points)
    stdev = float(prices.std(ddof=1)) if prices.size > 1 else 0.0
    if stdev == 0:
        return read_only(np.zeros(prices.size))
    return read_only((prices - prices.mean()) / stdev)


def anomaly_indices(
    points: Sequence[PricePoint], *, threshold: float = ANOMALY_Z_THRESHOLD
) -> list[int]:
    """Positions (in timestamp order) whose |z| is at least ``threshold``."""
    limit = positive_float(threshold, "threshold")
    return [int(index) for index in np.flatnonzero(np.abs(anomaly_zscores(points)) >= limit)]


def forecast_linear(points: Sequence[PricePoint], *, horizon_hours: float) -> PriceForecast:
    """Extend the least-squares line ``horizon_hours`` (0 < h <= one year) past the last point."""
    horizon = positive_float(horizon_hours, "horizon_hours")
    if horizon > MAX_FORECAST_HORIZON_HOURS:
        raise AlgorithmInputError(
            "horizon_hours", f"must be at most {MAX_FORECAST_HORIZON_HOURS:g} hours"
        )
    if len(points) == 0:
        return PriceForecast(None, None)
    timestamps, _ = _series(points)
    target = float(timestamps[-1]) + horizon * SECONDS_PER_HOUR
    fit = _linear_fit(points)
    if fit is None:
        return PriceForecast(target, None)
    slope, intercept, _, _ = fit
    return PriceForecast(target, max(0.0, intercept + slope * target))


def _series(points: Sequence[PricePoint]) -> tuple[FloatArray, FloatArray]:
    """Validated (timestamps, prices), sorted by timestamp (stable for equal timestamps)."""
    array = float_array(points, "points", ndim=2)
    if array.shape[1] != 2:
        raise AlgorithmInputError("points", "each point must be a (timestamp, price) pair")
    if np.any(array[:, 1] < 0):
        raise AlgorithmInputError("points", "prices must not be negative")
    order = np.argsort(array[:, 0], kind="stable")
    return array[order, 0], array[order, 1]


def _linear_fit(points: Sequence[PricePoint]) -> tuple[float, float, float, float] | None:
    """(slope per second, intercept, first timestamp, last timestamp) or None if undefined."""
    if len(points) < 2:
        if len(points) == 1:
            _series(points)  # still validate the single point
        return None
    timestamps, prices = _series(points)
    # Centre time before fitting: raw Unix seconds (~1.7e9) squared lose precision.
    centre = timestamps.mean()
    offsets = timestamps - centre
    spread = float(np.dot(offsets, offsets))
    if spread == 0:
        return None
    slope = float(np.dot(offsets, prices - prices.mean()) / spread)
    intercept = float(prices.mean() - slope * centre)
    return slope, intercept, float(timestamps[0]), float(timestamps[-1])
