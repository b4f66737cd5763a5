"""One offer as the board's drawer shows it: specs, price history chart, the KPI working."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

from django.utils import timezone

from apps.board.chart import Chart, price_chart
from apps.board.columns import Row, offer_row, visible_columns
from apps.board.formatting import TIMES, ago, counted, gigabytes, usd
from apps.gpus.catalogue import gpu_by_model
from apps.gpus.kpis import CostBasis, gpu_fp32_tflops, serving_table
from apps.providers.selectors.history import HISTORY_WINDOWS, HistoryWindow, offer_price_history
from apps.providers.selectors.offers import OfferDetail, offer_get

DEFAULT_WINDOW: HistoryWindow = "24h"


@dataclass(frozen=True)
class KpiStep:
    """One line of the KPI working: what is computed, the formula with the figures, the result."""

    name: str
    formula: str
    result: str


@dataclass(frozen=True)
class HistoryView:
    """The chart of one window with its statistics, as text."""

    window: str
    windows: tuple[str, ...]
    chart: Chart | None
    statistics: list[tuple[str, str]]


@dataclass(frozen=True)
class OfferDrawer:
    """Everything the drawer shows for one offer.

    Attributes:
        offer_id: The offer's id.
        title: "8 x H100 SXM at vastai" (with a multiplication sign).
        row: The offer as a table row (same cells, same formatting as the table).
        item: The listing item (`offer_item`): provider, prices, stale flag.
        specs: (label, value) pairs: the offer's own columns, then the GPU's datasheet figures.
        kpis: The KPI working, step by step.
        history: The price history of the selected window.
        provider_freshness: "synced 3 min ago" for the offer's provider.
    """

    offer_id: str
    title: str
    row: Row
    item: dict[str, Any]
    specs: list[tuple[str, str]]
    kpis: list[KpiStep]
    history: HistoryView
    provider_freshness: str


def _specs(detail: OfferDetail) -> list[tuple[str, str]]:
    offer = detail.offer
    specs: list[tuple[str, Any]] = [
        ("Provider's GPU name", offer.gpu_name_raw),
        ("GPUs", offer.gpu_count or 1),
        ("VRAM per GPU", gigabytes(offer.gpu_memory_gb)),
        ("vCPUs", offer.cpu_cores),
        ("RAM", gigabytes(offer.ram_gb) if offer.ram_gb else None),
        (
            "Storage",
            f"{gigabytes(offer.storage_gb)} {offer.storage_type or ''}".strip()
            if offer.storage_gb
            else None,
        ),
        ("Network", f"{offer.network_speed_gbps:g} Gbit/s" if offer.network_speed_gbps else None),
        ("Interconnect", offer.interconnect),
        ("Region", offer.region),
        ("Country", offer.country),
        (
            "Spot price",
            usd(float(offer.spot_price_per_hour))
            if offer.spot_price_per_hour is not None
            else None,
        ),
        ("Reliability", f"{offer.reliability:.1%}" if offer.reliability is not None else None),
        ("Provider's offer id", offer.external_id),
    ]
    gpu = gpu_by_model(offer.gpu_model or "")
    if gpu is not None:
        specs += [
            ("Architecture", f"{gpu.vendor} {gpu.architecture}"),
            ("Form factor", gpu.form_factor),
            ("Memory", f"{gigabytes(gpu.vram_gb)} {gpu.memory_type}"),
            ("Memory bandwidth", f"{gpu.memory_bandwidth_gbps:,.0f} GB/s"),
            ("FP16 dense", f"{gpu.tflops_fp16:,.1f} TFLOPS" if gpu.tflops_fp16 else None),
            ("FP32", f"{gpu.tflops_fp32:,.1f} TFLOPS" if gpu.tflops_fp32 else None),
            ("TDP", f"{gpu.tdp_watts:,.0f} W" if gpu.tdp_watts else None),
        ]
    return [(label, str(value)) for label, value in specs if value not in (None, "")]


def _kpi_working(detail: OfferDetail) -> list[KpiStep]:
    """The figures behind $/M tokens and $/TFLOP-h (`apps.gpus.kpis.offer_kpis`).

    Throughput is the serving model's at the offer's cost basis: the layout `offer_kpis` picks
    for the offer's GPU count (GPUs per replica, serving batch) times the replicas it holds.
    """
    offer, kpis = detail.offer, detail.kpis
    count = offer.gpu_count or 1
    price = float(offer.price_per_hour)
    basis = kpis.cost_basis
    steps = []
    layouts = serving_table(
        CostBasis(
            model=basis["model"],
            precision=basis["precision"],
            prompt_tokens=basis["prompt_tokens"],
            output_tokens=basis["output_tokens"],
        )
    ).get(offer.gpu_model or "")
    best = None if layouts is None else layouts.best_for(count)
    if best is not None and kpis.tokens_per_second and kpis.cost_per_million_tokens:
        layout, replicas = best
        steps.append(
            KpiStep(
                "Serving throughput",
                f"{counted(replicas, 'replica')} {TIMES} {layout.output_tokens_per_second:,.1f}"
                f" tokens/s ({basis['model']}, {basis['precision']},"
                f" {counted(layout.gpus_per_replica, 'GPU')} per replica,"
                f" batch {layout.serving_batch}, {basis['prompt_tokens']} prompt +"
                f" {basis['output_tokens']} output tokens per request, full load)",
                f"{kpis.tokens_per_second:,.1f} tokens/s",
            )
        )
        steps.append(
            KpiStep(
                "$/M tokens",
                f"{usd(price)}/h ÷ ({kpis.tokens_per_second:,.1f} tokens/s {TIMES} 3,600 s/h) "
                f"{TIMES} 1,000,000",
                usd(kpis.cost_per_million_tokens),
            )
        )
    tflops = gpu_fp32_tflops().get(offer.gpu_model or "")
    if tflops and kpis.cost_per_tflop_hour:
        steps.append(
            KpiStep(
                "$/TFLOP·h",
                f"{usd(price)}/h ÷ ({count} GPU {TIMES} {tflops:,.1f} TFLOPS fp32 peak)",
                usd(kpis.cost_per_tflop_hour),
            )
        )
    return steps


def history_view(*, offer_id: uuid.UUID, window: str) -> HistoryView:
    """The price history chart and statistics of `window` (24h, 7d or 30d; else 24h).

    Raises:
        OfferNotFound: the id is unknown or the offer is not listed.
    """
    chosen = cast(HistoryWindow, window) if window in HISTORY_WINDOWS else DEFAULT_WINDOW
    history = offer_price_history(offer_id=offer_id, window=chosen)
    stats = history.statistics
    chart = price_chart(
        points=[(p.timestamp, float(p.price_per_hour)) for p in history.points],
        start=history.start,
        end=history.end,
        references=[("min", stats.min), ("p50", stats.p50), ("p95", stats.p95)],
    )
    volatility = f"{stats.volatility:.1%}" if stats.volatility is not None else "—"
    return HistoryView(
        window=chosen,
        windows=tuple(HISTORY_WINDOWS),
        chart=chart,
        statistics=[
            ("min", usd(stats.min)),
            ("p50", usd(stats.p50)),
            ("p95", usd(stats.p95)),
            ("max", usd(stats.max)),
            ("volatility", volatility),
            ("changes", str(max(stats.count - 1, 0))),
        ],
    )


def offer_drawer(*, offer_id: uuid.UUID, window: str) -> OfferDrawer:
    """The drawer of a listed offer with the history of `window`.

    Raises:
        OfferNotFound: the id is unknown or the offer is not listed (quarantined GPU).
    """
    detail = offer_get(offer_id=offer_id)
    item = detail.item
    row = offer_row(item, visible_columns(), timezone.now())
    count = item.get("gpu_count") or 1
    title = f"{count} {TIMES} {item['gpu']}" if count > 1 else str(item["gpu"])
    freshness = detail.provider
    return OfferDrawer(
        offer_id=str(offer_id),
        title=f"{title} at {item['provider']}",
        row=row,
        item=item,
        specs=_specs(detail),
        kpis=_kpi_working(detail),
        history=history_view(offer_id=offer_id, window=window),
        provider_freshness=(
            f"{freshness.display_name or freshness.name} synced "
            f"{ago(freshness.last_success_at, timezone.now())}"
        ),
    )
