"""GPU text through raw provider names: names that add no offer are left out of the filter.

Each case compares the filter `gpu_text_match` builds with the filter that keeps every matching
raw name, and with the rule itself (`GpuQuery.matches`) applied offer by offer.
"""

from __future__ import annotations

import copy
import uuid

import pytest
from django.db.models import Q

from apps.gpus.matching import gpu_text_fold, gpu_text_matches
from apps.gpus.query import gpu_query
from apps.providers.cache import listing_cache_get
from apps.providers.models import GPUOffer
from apps.providers.selectors.offer_terms import (
    RAW_NAME_MODELS_CACHE_KEY,
    gpu_names_matching,
    gpu_text_match,
)
from apps.providers.selectors.offers import offers_listed
from apps.providers.services.sync import provider_sync
from apps.providers.tests.conftest import recorded
from apps.providers.tests.selectors.market import offer_make, provider_make

pytestmark = pytest.mark.django_db


def _matched_ids(match: Q) -> set[uuid.UUID]:
    return set(offers_listed().filter(match).values_list("id", flat=True))


def _unpruned_match(needle: str) -> Q:
    """The filter before raw names were pruned: every raw name the text matches."""
    models, _ = gpu_names_matching(needle)
    folded = gpu_text_fold(gpu_query(needle).text)
    names = GPUOffer.objects.values_list("gpu_name_raw", flat=True).distinct()
    raw_names = [name for name in names if gpu_text_matches(folded, [name])]
    return Q(gpu_model__in=models) | Q(gpu_name_raw__in=raw_names)


def _meant_ids(needle: str) -> set[uuid.UUID]:
    """The rule offer by offer, as live WebSocket updates apply it."""
    query = gpu_query(needle)
    return {o.id for o in offers_listed() if query.matches(o.gpu_model, o.gpu_name_raw)}


def _assert_same_offers(needle: str) -> set[uuid.UUID]:
    pruned = _matched_ids(gpu_text_match(needle))
    assert pruned == _matched_ids(_unpruned_match(needle))
    assert pruned == _meant_ids(needle)
    return pruned


@pytest.fixture
def rtx4090_names() -> list[GPUOffer]:
    """RTX 4090s under three provider names, an H100, a quarantined "RTX 4090 48GB"."""
    alpha, beta = provider_make("alpha"), provider_make("beta")
    return [
        offer_make(alpha, "RTX 4090", "0.4000", gpu_name_raw="RTX 4090"),
        offer_make(beta, "RTX 4090", "0.4500", gpu_name_raw="NVIDIA GeForce RTX 4090"),
        offer_make(beta, "RTX 4090", "0.5000", gpu_name_raw="RTX-4090"),
        offer_make(alpha, "H100 SXM", "2.0000"),
        offer_make(alpha, None, "0.3000", gpu_name_raw="RTX 4090 48GB"),
    ]


def test_raw_names_whose_offers_have_a_matched_model_are_left_out(rtx4090_names):
    assert gpu_names_matching("4090") == (["RTX 4090"], [])
    assert gpu_names_matching("geforce") == ([], ["NVIDIA GeForce RTX 4090"])
    assert _assert_same_offers("4090") == {o.id for o in rtx4090_names[:3]}
    assert _assert_same_offers("geforce") == {rtx4090_names[1].id}


def test_a_raw_name_with_an_offer_of_another_model_stays(rtx4090_names):
    beta = rtx4090_names[1].provider
    other = offer_make(beta, "RTX 4080 SUPER", "0.3500", gpu_name_raw="RTX 4090")
    own = offer_make(beta, "RTX 4080", "0.3000", gpu_name_raw="RTX 4090 D")
    assert gpu_names_matching("4090") == (["RTX 4090"], ["RTX 4090", "RTX 4090 D"])
    assert _assert_same_offers("4090") == {o.id for o in rtx4090_names[:3]} | {other.id, own.id}


def test_a_sync_bringing_a_new_model_for_a_left_out_name_brings_it_back(
    providers_http, breakers, django_capture_on_commit_callbacks
):
    # "tesla" names no catalogue GPU: the substring matches the model "Tesla P40" and the
    # provider name "Tesla V100", whose offers are only P40s until vastai's sync brings V100s.
    p40 = offer_make(provider_make("alpha"), "Tesla P40", "0.2000", gpu_name_raw="Tesla V100")
    body = copy.deepcopy(recorded("vastai"))
    v100s = [o for o in body["offers"] if o["gpu_name"] == "Tesla V100"]
    body["offers"] = [o for o in body["offers"] if o["gpu_name"] != "Tesla V100"]
    providers_http.body("vastai", body)

    def sync() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            result = provider_sync(
                provider_name="vastai", client=providers_http.client(), breaker_registry=breakers
            )
        assert result.status == "ok"

    sync()
    assert gpu_names_matching("tesla") == (["Tesla P40"], [])
    assert listing_cache_get(RAW_NAME_MODELS_CACHE_KEY)["Tesla V100"] == ["Tesla P40"]
    assert _assert_same_offers("tesla") == {p40.id}

    body["offers"] += v100s
    sync()
    assert listing_cache_get(RAW_NAME_MODELS_CACHE_KEY) is None  # dropped with the pages
    assert gpu_names_matching("tesla") == (["Tesla P40"], ["Tesla V100"])
    matched = _assert_same_offers("tesla")
    assert len(matched) == 1 + len(v100s)
    assert GPUOffer.objects.filter(id__in=matched, gpu_model="Tesla P40").count() == 1
