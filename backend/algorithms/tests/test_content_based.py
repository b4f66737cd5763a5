import math

import pytest

from algorithms.content_based import (
    OfferFeatures,
    WorkloadProfile,
    content_similarity,
)
from algorithms.errors import AlgorithmInputError


def offer(price, vram, tflops=100.0, bandwidth=1000.0, reliability=0.99):
    return OfferFeatures(price, vram, tflops, bandwidth, reliability)


OFFERS = [offer(2.0, 80.0), offer(1.0, 24.0), offer(4.0, 48.0)]


def test_cosine_after_min_max_scaling_with_price_flipped():
    # Price over offers + workload [2, 1, 4, 1] -> scaled [1/3, 0, 1, 0] -> flipped [2/3, 1, 0, 1];
    # VRAM [80, 24, 48, 80] -> [1, 0, 3/7, 1]. Workload vector (1, 1).
    similarity = content_similarity(OFFERS, WorkloadProfile(price_per_hour=1.0, vram_gb=80.0))

    assert similarity.tolist() == pytest.approx(
        [5 / math.sqrt(26), 1 / math.sqrt(2), 1 / math.sqrt(2)], abs=1e-12
    )


def test_unspecified_and_constant_features_are_ignored():
    # tflops is constant (100) across offers and workload: it carries no information.
    similarity = content_similarity(OFFERS, WorkloadProfile(vram_gb=80.0, tflops=100.0))

    assert similarity.tolist() == pytest.approx([1.0, 0.0, 1.0], abs=1e-12)


def test_no_specified_feature_means_no_signal():
    assert content_similarity(OFFERS, WorkloadProfile()) is None


@pytest.mark.parametrize(
    ("offers", "workload", "field"),
    [
        ([], WorkloadProfile(vram_gb=1.0), "offers"),
        ([offer(0.0, 24.0)], WorkloadProfile(vram_gb=1.0), "offers.price_per_hour"),
        ([offer(1.0, -1.0)], WorkloadProfile(vram_gb=1.0), "offers.vram_gb"),
        ([offer(1.0, 24.0, reliability=1.5)], WorkloadProfile(), "offers.reliability"),
        ([offer(1.0, 24.0)], WorkloadProfile(vram_gb=float("nan")), "workload_profile.vram_gb"),
    ],
)
def test_rejects_bad_input(offers, workload, field):
    with pytest.raises(AlgorithmInputError) as error:
        content_similarity(offers, workload)

    assert error.value.field == field
