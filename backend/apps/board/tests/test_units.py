"""The board's pure parts: number formats, columns and contract fields, the fit, the chart."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from algorithms.model_registry import model_resolve
from algorithms.serving import vram_needed_gb
from apps.board.chart import price_chart
from apps.board.columns import (
    COLUMNS,
    GFLOP_PER_TFLOP_HOUR,
    next_sort,
    offer_row,
    visible_columns,
)
from apps.board.fit import FitError, fit_estimate, fit_from_params
from apps.board.formatting import TIMES, ago, gigabytes, usd

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
TODAY_FIELDS = {
    "id", "provider", "name", "gpu", "gpu_memory_gb", "price_per_hour", "currency",
    "availability", "region", "tags", "last_updated", "gpu_count", "cpu_cores", "ram_gb",
    "storage_gb", "spot", "cost_per_token", "cost_per_gflop", "stale",
}  # fmt: skip
TODAY_SORTS = {"price", "-price", "gpu_memory", "cost_per_token", "updated"}
CONTRACT_FIELDS = TODAY_FIELDS | {
    "price_as_of", "spot_price_per_hour", "price_per_gpu_hour", "country", "macro_region",
    "city", "state", "provider_region", "cost_basis",
}  # fmt: skip
CONTRACT_SORTS = TODAY_SORTS | {"price_per_gpu", "-price_per_gpu", "spot_price", "price_as_of"}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (float("nan"), "—"),
        (2.49, "$2.49"),
        (1234.5, "$1,234.50"),
        (1.0, "$1.00"),
        (0.349, "$0.349"),
        (0.01, "$0.010"),
        (0.004213, "$0.004213"),
        (0.0000012345, "$0.000001234"),
        (0.0, "$0"),
    ],
)
def test_usd_gives_the_precision_the_size_needs(value, text):
    assert usd(value) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-5, "just now"), (3, "just now"), (45, "45 s ago"), (180, "3 min ago"),
     (7200, "2 h ago"), (5 * 86400, "5 d ago")],
)  # fmt: skip
def test_ago_reads_like_a_person_would_say_it(seconds, text):
    assert ago(NOW - timedelta(seconds=seconds), NOW) == text
    assert ago(None, NOW) == "never"


def test_gigabytes_drops_a_needless_decimal():
    assert (gigabytes(80), gigabytes(92.35), gigabytes(None)) == ("80 GB", "92.3 GB", "—")


def test_today_the_contract_columns_and_sorts_are_absent():
    columns = visible_columns(fields=TODAY_FIELDS, sorts=TODAY_SORTS)
    assert [c.key for c in columns] == [
        "gpu", "gpu_memory_gb", "provider", "region", "price_per_hour",
        "cost_per_million_tokens", "cost_per_tflop_hour", "availability", "price_as_of",
    ]  # fmt: skip
    sorts = {c.key: c.sorts for c in columns}
    assert sorts["price_per_hour"] == ("price", "-price")
    assert sorts["cost_per_million_tokens"] == ("cost_per_token",)
    assert sorts["price_as_of"] == ("updated",)
    assert {c.key: c.label for c in columns}["price_as_of"] == "Updated"


def test_contract_fields_light_up_their_columns_and_sorts():
    columns = visible_columns(fields=CONTRACT_FIELDS, sorts=CONTRACT_SORTS)
    sorts = {c.key: c.sorts for c in columns}
    assert sorts["price_per_gpu_hour"] == ("price_per_gpu", "-price_per_gpu")
    assert sorts["spot_price_per_hour"] == ("spot_price",)
    assert sorts["price_as_of"] == ("price_as_of",)
    assert {c.key: c.label for c in columns}["price_as_of"] == "Price as of"
    with_model = visible_columns(
        fields=CONTRACT_FIELDS,
        sorts=CONTRACT_SORTS | {"cost_per_million_tokens"},
        params={"model": "llama-3-70b"},
    )
    assert {c.key: c.sorts for c in with_model}["cost_per_million_tokens"] == (
        "cost_per_million_tokens",
    )
    assert len(COLUMNS) == len(columns)


def test_a_header_click_cycles_its_orders():
    price = next(c for c in visible_columns(fields=TODAY_FIELDS, sorts=TODAY_SORTS)
                 if c.key == "price_per_hour")  # fmt: skip
    assert next_sort(price, "gpu_memory") == "price"
    assert next_sort(price, "price") == "-price"
    assert next_sort(price, "-price") == "price"


def _item(**fields):
    item = {
        "id": "00000000-0000-0000-0000-000000000001", "provider": "vastai", "gpu": "H100 SXM",
        "gpu_memory_gb": 80, "gpu_count": 8, "price_per_hour": 19.92, "availability": "limited",
        "region": "us-east-1", "spot": True, "cost_per_token": 2e-6, "cost_per_gflop": 1e-8,
        "stale": True, "last_updated": NOW - timedelta(minutes=3),
    }  # fmt: skip
    return {**item, **fields}


def test_a_row_today_shows_derived_figures_and_flags():
    columns = visible_columns(fields=TODAY_FIELDS, sorts=TODAY_SORTS)
    row = offer_row(_item(), columns, NOW)
    cells = {cell.key: cell for cell in row.cells}
    assert (row.availability, row.is_stale) == ("limited", True)
    assert cells["gpu_memory_gb"].text == f"8 {TIMES} 80 GB"
    assert cells["gpu_memory_gb"].value == 640
    assert (cells["price_per_hour"].text, cells["price_per_hour"].note) == ("$19.92", "spot")
    assert cells["cost_per_million_tokens"].value == pytest.approx(2.0)
    assert cells["cost_per_million_tokens"].scales_with_price is True
    assert cells["cost_per_tflop_hour"].value == pytest.approx(1e-8 * GFLOP_PER_TFLOP_HOUR)
    assert (cells["price_as_of"].text, cells["price_as_of"].note) == ("3 min ago", "stale")
    assert cells["price_per_hour"].label == "$/h"


def test_a_row_with_contract_fields_uses_them():
    columns = visible_columns(fields=CONTRACT_FIELDS, sorts=CONTRACT_SORTS)
    item = _item(
        price_as_of=(NOW - timedelta(hours=2)).isoformat(), spot_price_per_hour=9.5,
        price_per_gpu_hour=2.49, country="US", city="Ashburn", state="Virginia",
        macro_region="North America", provider_region="us-east-1", form_factor="SXM5",
        gpu="H100",
    )  # fmt: skip
    cells = {cell.key: cell for cell in offer_row(item, columns, NOW).cells}
    assert cells["price_as_of"].text == "2 h ago"
    assert cells["spot_price_per_hour"].text == "$9.50"
    assert cells["price_per_hour"].note == ""
    assert cells["price_per_gpu_hour"].scales_with_price is True
    assert (cells["region"].text, cells["region"].note) == (
        "Ashburn, Virginia, US",
        "North America",
    )
    assert cells["region"].title == "Provider's region: us-east-1"
    assert cells["gpu"].note == "SXM5"


def test_the_fit_is_the_serving_models_memory_for_one_sequence():
    fit = fit_estimate(model="meta-llama/Meta-Llama-3-70B", precision="fp8", context_length=8192)
    model = model_resolve("meta-llama/Meta-Llama-3-70B")
    # fp8 weights: 1 byte per parameter; fp16 KV cache: 80 layers x 2 x 8 KV heads x 128 x 2 B.
    weights = model.params_billion * 1.0
    kv_cache = 80 * 2 * 8 * 128 * 2 * 8192 / 1e9
    assert fit.model == model.name
    assert fit.weights_gb == pytest.approx(weights)
    assert fit.kv_cache_gb == pytest.approx(kv_cache)
    assert fit.total_gb == pytest.approx(vram_needed_gb(weights + kv_cache))
    assert fit.total_gb == pytest.approx(
        fit.weights_gb + fit.kv_cache_gb + fit.overhead_gb + fit.runtime_gb
    )
    assert fit.min_total_vram_gb == math.ceil(fit.total_gb)
    assert fit.is_estimated is False


def test_the_fit_sizes_an_unknown_model_from_the_size_in_its_name():
    fit = fit_estimate(model="acme-13b-chat", precision="fp16", context_length=4096)
    assert fit.is_estimated is True
    assert fit.params_billion == pytest.approx(13.0)
    with pytest.raises(FitError) as error:
        fit_estimate(model="no size here", precision="fp16", context_length=4096)
    assert error.value.field == "fit_model"


def test_fit_params_default_and_refuse():
    assert fit_from_params({}) is None
    default = fit_from_params({"fit_model": "mistral-7b"})
    assert (default.precision, default.context_length) == ("fp16", 4096)
    with pytest.raises(FitError) as error:
        fit_from_params({"fit_model": "mistral-7b", "fit_context": "0"})
    assert error.value.field == "fit_context"


def test_the_chart_steps_through_points_and_holds_to_now():
    start = NOW - timedelta(hours=24)
    chart = price_chart(
        points=[(start, 2.0), (start + timedelta(hours=12), 2.5)],
        start=start,
        end=NOW,
        references=[("min", 2.0), ("p50", 2.25), ("p95", 2.5), ("none", None)],
    )
    assert chart is not None
    y_of = {ref.name: ref.y for ref in chart.references}
    assert list(y_of) == ["min", "p50", "p95"]
    assert y_of["min"] > y_of["p50"] > y_of["p95"]  # SVG y grows downwards
    left, right = chart.plot_left, chart.plot_right
    middle = round((left + right) / 2, 2)
    assert chart.path == (f"M{left},{y_of['min']}H{middle}V{y_of['p95']}H{right}")
    assert [tick.label for tick in chart.x_ticks] == ["12:00", "00:00", "now"]
    assert chart.y_ticks[0].label == "$2.00"


def test_no_point_no_chart_and_a_flat_price_still_draws():
    assert price_chart(points=[], start=NOW - timedelta(days=1), end=NOW) is None
    flat = price_chart(
        points=[(NOW - timedelta(days=7), 1.5)], start=NOW - timedelta(days=7), end=NOW
    )
    assert flat is not None
    assert flat.path.startswith("M64.0,")
    assert flat.path.endswith("H628.0")
