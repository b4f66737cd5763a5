"""The price history chart as plain SVG geometry (no library): a step line, reference lines, axes.

History rows are written on change only, so the price holds until the next point: the line is
drawn as steps and carried to the window's end. Reference lines mark the window's min, p50
and p95 (from `algorithms.price_analytics` via the history selector).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from apps.board.formatting import usd

WIDTH = 640
HEIGHT = 220
MARGIN_LEFT = 64
MARGIN_RIGHT = 12
MARGIN_TOP = 12
MARGIN_BOTTOM = 28


@dataclass(frozen=True)
class Tick:
    """An axis tick: its position (SVG units) and label."""

    position: float
    label: str


@dataclass(frozen=True)
class ReferenceLine:
    """A horizontal line at a statistic: its name (min/p50/p95), y, and the price label."""

    name: str
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    """Everything the template draws; coordinates are in a WIDTH x HEIGHT viewBox."""

    width: int
    height: int
    path: str
    points: int
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    references: list[ReferenceLine]
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float


def _nice_step(span: float) -> float:
    """A 1/2/5 x 10^n step giving about four intervals over `span`."""
    raw = span / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _time_label(moment: datetime, span_seconds: float) -> str:
    return moment.strftime("%H:%M" if span_seconds <= 2 * 86400 else "%b %d")


def price_chart(
    *,
    points: Sequence[tuple[datetime, float]],
    start: datetime,
    end: datetime,
    references: Sequence[tuple[str, float | None]] = (),
) -> Chart | None:
    """The chart of `points` (time, USD/hour) between `start` and `end`; None with no point.

    `references` are (name, price) pairs drawn as horizontal lines when not None.
    """
    if not points:
        return None
    prices = [price for _, price in points]
    marks = [value for _, value in references if value is not None]
    low, high = min(prices + marks), max(prices + marks)
    if math.isclose(low, high):
        low, high = low * 0.95, high * 1.05 if high else 1.0
    step = _nice_step(high - low)
    axis_low = math.floor(low / step) * step
    axis_high = math.ceil(high / step) * step
    left, right = float(MARGIN_LEFT), float(WIDTH - MARGIN_RIGHT)
    top, bottom = float(MARGIN_TOP), float(HEIGHT - MARGIN_BOTTOM)
    span = max((end - start).total_seconds(), 1.0)

    def x(moment: datetime) -> float:
        offset = min(max((moment - start).total_seconds(), 0.0), span)
        return round(left + (right - left) * offset / span, 2)

    def y(price: float) -> float:
        return round(bottom - (bottom - top) * (price - axis_low) / (axis_high - axis_low), 2)

    first_time, first_price = points[0]
    commands = [f"M{x(first_time)},{y(first_price)}"]
    for moment, price in points[1:]:
        commands.append(f"H{x(moment)}V{y(price)}")
    commands.append(f"H{x(end)}")

    y_ticks = []
    value = axis_low
    while value <= axis_high + step / 2:
        y_ticks.append(Tick(y(value), usd(value)))
        value += step
    x_ticks = [
        Tick(x(moment), _time_label(moment, span)) for moment in (start, start + (end - start) / 2)
    ]
    x_ticks.append(Tick(right, "now"))
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        path="".join(commands),
        points=len(points),
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        references=[
            ReferenceLine(name, y(price), f"{name} {usd(price)}")
            for name, price in references
            if price is not None
        ],
        plot_left=left,
        plot_right=right,
        plot_top=top,
        plot_bottom=bottom,
    )
