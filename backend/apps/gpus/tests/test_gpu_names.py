"""The catalogue against real provider GPU strings and user spellings (data/gpu_names.json).

Every provider string is resolved as ingestion resolves it (all the names the provider gives
the card, its memory and its form-factor field); every query is read as the listing, the KPIs
and the price stream read `gpu=`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from apps.gpus.catalogue import all_gpus
from apps.gpus.identity import GpuFacts, resolve_facts
from apps.gpus.query import gpu_query

DATA = json.loads((Path(__file__).parent / "data" / "gpu_names.json").read_text("utf-8"))
PROVIDER_STRINGS: list[dict[str, Any]] = DATA["provider_strings"]
QUERIES: list[dict[str, Any]] = DATA["queries"]


def test_the_table_is_large_enough_and_names_only_catalogue_models() -> None:
    known = {gpu.gpu_model for gpu in all_gpus()}
    assert len(PROVIDER_STRINGS) >= 150
    assert len({entry["provider"] for entry in PROVIDER_STRINGS}) >= 10
    assert len(QUERIES) >= 40
    for entry in PROVIDER_STRINGS:
        assert entry["expected"] == "unknown" or entry["expected"] in known, entry
    for entry in QUERIES:
        assert entry["expected_models"] is None or set(entry["expected_models"]) <= known, entry


@pytest.mark.parametrize(
    "entry",
    PROVIDER_STRINGS,
    ids=[
        f"{e['provider']}:{e['name']}:{e['memory_gb']}:{e['form_factor']}" for e in PROVIDER_STRINGS
    ],
)
def test_provider_string_resolves_to_its_model(entry: dict[str, Any]) -> None:
    facts = GpuFacts(
        names=(entry["name"], *entry["other_names"]),
        memory_gb=entry["memory_gb"],
        form_factor=entry["form_factor"],
    )

    result = resolve_facts(facts)

    assert (result.gpu.gpu_model if result.gpu else "unknown") == entry["expected"], result.reason
    assert (result.reason is None) == (result.gpu is not None)


@pytest.mark.parametrize("entry", QUERIES, ids=[e["text"] for e in QUERIES])
def test_query_spelling_means_its_models(entry: dict[str, Any]) -> None:
    query = gpu_query(entry["text"])

    expected = entry["expected_models"]
    assert (None if query.models is None else sorted(query.models)) == (
        None if expected is None else sorted(expected)
    ), entry["why"]
    assert query.count == entry["count"]
