import numpy as np
import pytest

from algorithms.content_based import OfferFeatures, WorkloadProfile
from algorithms.ensemble import ensemble_recommend
from algorithms.errors import AlgorithmInputError
from algorithms.topsis import topsis

OFFERS = [
    OfferFeatures(2.0, 80.0, 989.0, 3350.0, 0.99),
    OfferFeatures(1.0, 24.0, 125.0, 600.0, 0.95),
    OfferFeatures(4.0, 48.0, 362.0, 864.0, 0.90),
]
WORKLOAD = WorkloadProfile(price_per_hour=1.0, vram_gb=80.0)
# Same geometry as test_content_based: cosine similarities 5/sqrt(26), 1/sqrt(2), 1/sqrt(2).
CONTENT = np.array([5 / np.sqrt(26), 1 / np.sqrt(2), 1 / np.sqrt(2)])


def reference_topsis():
    matrix = [
        [o.price_per_hour, o.vram_gb, o.tflops, o.memory_bandwidth_gbps, o.reliability]
        for o in OFFERS
    ]
    types = ["cost", "benefit", "benefit", "benefit", "benefit"]
    return np.array(topsis(matrix, [0.35, 0.2, 0.2, 0.1, 0.15], types).scores)


def test_combines_all_three_signals_with_default_weights():
    result = ensemble_recommend(
        offers=OFFERS, workload=WORKLOAD, user_scores=[1.0, 3.0, 2.0], top_k=3
    )

    collaborative = np.array([0.0, 1.0, 0.5])  # min-max scaled user scores
    expected = 0.4 * reference_topsis() + 0.3 * collaborative + 0.3 * CONTENT
    order = np.argsort(-expected, kind="stable").tolist()
    assert [r.index for r in result.recommendations] == order
    assert [r.ensemble_score for r in result.recommendations] == pytest.approx(
        expected[order].tolist(), abs=1e-12
    )
    first = result.recommendations[0].score_breakdown
    assert first.collaborative == collaborative[order[0]]
    assert first.content_based == pytest.approx(CONTENT[order[0]], abs=1e-12)
    assert dict(result.algorithm_contributions) == {
        "topsis": 0.4,
        "collaborative": 0.3,
        "content_based": 0.3,
    }
    assert result.used_fallback is None
    assert result.confidence == 0.9


def test_missing_collaborative_weight_is_redistributed_proportionally():
    result = ensemble_recommend(
        offers=OFFERS, workload=WORKLOAD, user_scores=None, weights=(0.2, 0.4, 0.4), top_k=3
    )

    assert dict(result.algorithm_contributions) == pytest.approx(
        {"topsis": 1 / 3, "collaborative": 0.0, "content_based": 2 / 3}, abs=1e-12
    )
    expected = reference_topsis() / 3 + CONTENT * 2 / 3
    assert sorted(r.ensemble_score for r in result.recommendations) == pytest.approx(
        sorted(expected.tolist()), abs=1e-12
    )
    assert result.recommendations[0].score_breakdown.collaborative is None
    assert result.used_fallback == "collaborative_unavailable"
    assert result.confidence == 0.74  # 0.5 + 0.4 x (0.2 + 0.4)


def test_popularity_scores_are_reported_as_a_fallback():
    result = ensemble_recommend(
        offers=OFFERS,
        workload=WORKLOAD,
        user_scores=[0.2, 1.0, 0.0],
        collaborative_source="popularity",
    )

    assert result.used_fallback == "popularity"
    assert result.confidence == 0.84  # 0.5 + 0.4 x (0.4 + 0.3 x 0.5 + 0.3)


def test_only_topsis_left_takes_all_the_weight():
    result = ensemble_recommend(
        offers=OFFERS, workload=WorkloadProfile(), user_scores=None, weights=(0.0, 0.5, 0.5)
    )

    assert dict(result.algorithm_contributions) == {
        "topsis": 1.0,
        "collaborative": 0.0,
        "content_based": 0.0,
    }
    topsis_scores = reference_topsis()
    assert [r.index for r in result.recommendations] == np.argsort(
        -topsis_scores, kind="stable"
    ).tolist()
    assert result.confidence == 0.5


def test_top_k_truncates_and_constant_user_scores_are_neutral():
    result = ensemble_recommend(
        offers=OFFERS, workload=WORKLOAD, user_scores=[7.0, 7.0, 7.0], top_k=1
    )

    assert len(result.recommendations) == 1
    assert result.recommendations[0].score_breakdown.collaborative == 0.5


def test_single_offer_and_all_zero_feature():
    lone = [OfferFeatures(1.0, 24.0, 125.0, 600.0, 0.0)]
    pair = [*lone, OfferFeatures(2.0, 48.0, 250.0, 900.0, 0.0)]

    single = ensemble_recommend(offers=lone, workload=WorkloadProfile(), user_scores=None)
    double = ensemble_recommend(offers=pair, workload=WorkloadProfile(), user_scores=None)

    assert single.recommendations[0].score_breakdown.topsis == 1.0
    assert len(double.recommendations) == 2  # the all-zero reliability column is dropped


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"top_k": 0}, "top_k"),
        ({"top_k": 101}, "top_k"),
        ({"offers": []}, "offers"),
        ({"user_scores": [1.0, 2.0]}, "user_scores"),
        ({"user_scores": [1.0, float("nan"), 2.0]}, "user_scores"),
        ({"weights": (0.5, 0.5, 0.5)}, "weights"),
        ({"weights": (0.5, 0.5)}, "weights"),
        ({"collaborative_source": "magic"}, "collaborative_source"),
    ],
)
def test_rejects_bad_input(overrides, field):
    arguments = {"offers": OFFERS, "workload": WORKLOAD, "user_scores": None, **overrides}

    with pytest.raises(AlgorithmInputError) as error:
        ensemble_recommend(**arguments)

    assert error.value.field == field
