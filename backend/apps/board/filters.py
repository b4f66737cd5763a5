"""The board's filter controls: one per listing query parameter, in one place.

A control is shown only when the listing accepts its parameter (`OfferFilterIn`), so the ones
for parameters another change adds (e.g. `price_per_gpu_max`) appear once the API has them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from apps.providers.schemas import LISTING_PARAMS


@dataclass(frozen=True)
class FilterControl:
    """One form control.

    Attributes:
        name: The query parameter.
        label: The visible label.
        kind: "text", "number" or "select".
        options: (value, label) pairs of a select ("" first: no filter).
        suggestions: Name of the datalist a text input offers ("gpus", "locations").
        step: Step of a number input.
        unit: Unit shown after the label.
        advanced: Shown under "More filters".
    """

    name: str
    label: str
    kind: str = "text"
    options: Sequence[tuple[str, str]] = ()
    suggestions: str = ""
    step: str = "1"
    unit: str = ""
    advanced: bool = False


ANY = ("", "Any")

CONTROLS: tuple[FilterControl, ...] = (
    FilterControl("gpu", "GPU", suggestions="gpus"),
    FilterControl("max_price", "Max price", "number", step="0.01", unit="$/h"),
    FilterControl("price_per_gpu_max", "Max price per GPU", "number", step="0.01", unit="$/GPU·h"),
    FilterControl("gpu_memory_min", "Min VRAM per GPU", "number", unit="GB"),
    FilterControl("gpu_memory_total_min", "Min VRAM in total", "number", unit="GB"),
    FilterControl(
        "gpu_count_min",
        "GPUs",
        "select",
        options=(ANY, ("2", "2 or more"), ("4", "4 or more"), ("8", "8 or more")),
    ),
    FilterControl("region", "Region or country", suggestions="locations"),
    FilterControl("provider", "Provider", "select"),
    # Every offer can be rented on-demand at its price_per_hour; `spot=false` would mean "no
    # spot option" and hide every offer that can also run as spot, so on-demand is no filter.
    FilterControl("spot", "Pricing", "select", options=(("", "On-demand"), ("true", "Spot"))),
    FilterControl(
        "availability",
        "Availability",
        "select",
        options=(
            ANY,
            ("available", "Available"),
            ("limited", "Limited"),
            ("unavailable", "Sold out"),
        ),
    ),
    FilterControl("price_min", "Min price", "number", step="0.01", unit="$/h", advanced=True),
    FilterControl(
        "price_per_gpu_min",
        "Min price per GPU",
        "number",
        step="0.01",
        unit="$/GPU·h",
        advanced=True,
    ),
    FilterControl("gpu_memory_max", "Max VRAM per GPU", "number", unit="GB", advanced=True),
    FilterControl("compliance_tag", "Compliance tag", advanced=True),
)


def filter_controls(provider_options: Sequence[tuple[str, str]]) -> list[FilterControl]:
    """The controls for the parameters the listing accepts; `provider` gets the providers."""
    controls = []
    for control in CONTROLS:
        if control.name not in LISTING_PARAMS:
            continue
        if control.name == "provider":
            control = FilterControl(
                control.name, control.label, "select", options=(ANY, *provider_options)
            )
        controls.append(control)
    return controls
