"""POST /api/v2/math/ensemble-recommend.

Golden cases use two offers that differ only in price, so every TOPSIS column but price is
constant (zero distance): the cheaper offer is the ideal (closeness 1), the dearer the anti-ideal
(closeness 0). Default weights 0.4 / 0.3 / 0.3.
"""

from __future__ import annotations

import uuid

import pytest

from apps.math_core.tests.conftest import assert_error
from apps.recommendations.models import RecommenderModel, UserOfferInteraction
from apps.recommendations.services import recommender_train

pytestmark = pytest.mark.django_db


def inline(price, **fields):
    return {"gpu_type": "RTX 4090", "price_per_hour": price, "reliability": 0.9, **fields}


def test_inline_offers_golden_without_collaborative_signal(api):
    # Content: only price is wanted (1.0); scaled over [1, 2, 1] and flipped -> [1, 0 | 1];
    # cosine 1 for the cheap offer, 0 for the dear one. No interactions anywhere, so the
    # collaborative weight is shared out: 0.4/0.7 and 0.3/0.7.
    response = api.post(
        "/ensemble-recommend",
        {
            "workload_profile": {"price_per_hour": 1.0},
            "candidate_offers": [inline(2.0, offer_id="dear"), inline(1.0, offer_id="cheap")],
            "top_k": 5,
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert body["recommendations"] == [
        {
            "offer_id": "cheap",
            "candidate_index": 1,
            "gpu_model": "RTX 4090",
            "gpu_count": 1,
            "price_per_hour": 1.0,
            "ensemble_score": pytest.approx(1.0, abs=1e-12),
            "score_breakdown": {"topsis": 1.0, "collaborative": None, "content_based": 1.0},
        },
        {
            "offer_id": "dear",
            "candidate_index": 0,
            "gpu_model": "RTX 4090",
            "gpu_count": 1,
            "price_per_hour": 2.0,
            "ensemble_score": 0.0,
            "score_breakdown": {"topsis": 0.0, "collaborative": None, "content_based": 0.0},
        },
    ]
    assert body["algorithm_contributions"] == {
        "topsis": pytest.approx(4 / 7),
        "collaborative": 0.0,
        "content_based": pytest.approx(3 / 7),
    }
    assert body["confidence"] == 0.78  # 0.5 + 0.4 x (0.4 + 0.3)
    assert (body["collaborative_source"], body["fallback"]) == (None, "collaborative_unavailable")
    assert "No candidate has recorded interactions" in body["notes"][-1]


def test_stored_offers_with_popularity_fallback_golden(api, make_offer, make_user):
    cheap = make_offer("RTX 4090", "1.0000")
    dear = make_offer("RTX 4090", "2.0000")
    someone = make_user()
    UserOfferInteraction.objects.create(user=someone, offer=dear, kind="book")  # 10
    UserOfferInteraction.objects.create(user=someone, offer=cheap, kind="view")  # 1

    response = api.post(
        "/ensemble-recommend",
        {"candidate_offers": [str(cheap.id), str(dear.id)], "top_k": 2},
    )

    assert response.status_code == 200
    body = response.json()
    # Popularity 0.1 and 1.0, min-max scaled to 0 and 1; no workload feature, so content is
    # unused: weights 0.4/0.7 and 0.3/0.7.
    scores = {item["offer_id"]: item for item in body["recommendations"]}
    assert scores[str(cheap.id)]["ensemble_score"] == pytest.approx(4 / 7, abs=1e-12)
    assert scores[str(dear.id)]["ensemble_score"] == pytest.approx(3 / 7, abs=1e-12)
    assert scores[str(dear.id)]["score_breakdown"] == {
        "topsis": 0.0,
        "collaborative": 1.0,
        "content_based": None,
    }
    assert [item["offer_id"] for item in body["recommendations"]] == [str(cheap.id), str(dear.id)]
    assert (body["collaborative_source"], body["fallback"]) == ("popularity", "popularity")
    assert body["confidence"] == 0.72  # 0.5 + 0.4 x (0.4 + 0.3 x 0.5)


def test_user_with_history_gets_als_scores(api, make_offer, make_user):
    offers = [make_offer("RTX 4090", f"{price}.0000") for price in (1, 2, 3)]
    alice, bob = make_user(), make_user()
    for user in (alice, bob):
        UserOfferInteraction.objects.create(user=user, offer=offers[2], kind="book")
    UserOfferInteraction.objects.create(user=bob, offer=offers[1], kind="select")
    recommender_train(factors=2, iterations=5)

    response = api.post(
        "/ensemble-recommend",
        {
            "user_id": str(alice.id),
            "workload_profile": {"vram_gb": 24},
            "candidate_offers": [str(offer.id) for offer in offers],
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["collaborative_source"], body["fallback"]) == ("als", None)
    assert body["algorithm_contributions"] == {
        "topsis": pytest.approx(0.4),
        "collaborative": pytest.approx(0.3),
        "content_based": pytest.approx(0.3),
    }
    assert body["confidence"] == 0.9
    collaborative = {
        item["offer_id"]: item["score_breakdown"]["collaborative"]
        for item in body["recommendations"]
    }
    assert collaborative[str(offers[2].id)] == 1.0  # the booked offer scores highest
    assert body["notes"][0].startswith("Collaborative scores from ALS model #")


def test_user_without_history_falls_back_to_popularity_and_says_so(api, make_offer, make_user):
    first, second = make_offer("RTX 4090", "1.0000"), make_offer("RTX 4090", "2.0000")
    UserOfferInteraction.objects.create(user=make_user(), offer=second, kind="book")
    recommender_train(factors=2, iterations=3)

    response = api.post(
        "/ensemble-recommend",
        {"user_id": str(uuid.uuid4()), "candidate_offers": [str(first.id), str(second.id)]},
    )

    body = response.json()
    assert body["fallback"] == "popularity"
    assert body["notes"][0] == "The user has no interaction history; using popularity."


def test_missing_inline_figures_come_from_gpu_specs_not_zeros(api):
    filled = {"gpu_type": "A100 SXM 80GB", "gpu_count": 2, "price_per_hour": 3.0}
    # The same offer with the catalogue figures x 2 written out.
    explicit = {**filled, "vram_gb": 160, "tflops": 624.0, "memory_bandwidth_gbps": 4078.0}
    other = inline(1.0)

    def scores(first):
        response = api.post(
            "/ensemble-recommend",
            {
                "workload_profile": {"vram_gb": 80, "tflops": 300},
                "candidate_offers": [first, other],
            },
        )
        assert response.status_code == 200
        return [item["ensemble_score"] for item in response.json()["recommendations"]]

    assert scores(filled) == scores(explicit)
    assert scores(filled) != scores({**filled, "tflops": 0, "vram_gb": 0})


def test_top_k_limits_the_list(api):
    offers = [inline(float(price)) for price in range(1, 6)]

    response = api.post("/ensemble-recommend", {"candidate_offers": offers, "top_k": 2})

    assert [item["candidate_index"] for item in response.json()["recommendations"]] == [0, 1]


def test_custom_weights(api):
    response = api.post(
        "/ensemble-recommend",
        {
            "candidate_offers": [inline(1.0), inline(2.0)],
            "weights": {"topsis": 1.0, "collaborative": 0.0, "content_based": 0.0},
        },
    )

    assert response.json()["algorithm_contributions"] == {
        "topsis": 1.0,
        "collaborative": 0.0,
        "content_based": 0.0,
    }


def test_unknown_offer_id_is_400_naming_the_candidate(api, make_offer):
    known = make_offer()

    body = assert_error(
        api.post("/ensemble-recommend", {"candidate_offers": [str(known.id), str(uuid.uuid4())]}),
        400,
        "candidate_offers[1]",
    )
    assert "unknown offer id" in body["error"]["message"]


def test_quarantined_offer_is_400(api, make_offer):
    quarantined = make_offer(None)

    assert_error(
        api.post("/ensemble-recommend", {"candidate_offers": [str(quarantined.id)]}),
        400,
        "candidate_offers[0]",
    )


def test_inline_offer_without_gpu_or_figures_is_400(api):
    assert_error(
        api.post("/ensemble-recommend", {"candidate_offers": [{"price_per_hour": 1.0}]}),
        400,
        "candidate_offers[0].vram_gb",
    )


def test_inline_offer_with_unknown_gpu_is_400(api):
    assert_error(
        api.post(
            "/ensemble-recommend",
            {"candidate_offers": [inline(1.0), {"gpu_type": "Voodoo 5", "price_per_hour": 1.0}]},
        ),
        400,
        "candidate_offers[1].gpu_type",
    )


def test_weights_not_summing_to_one_is_400(api):
    payload = {
        "candidate_offers": [inline(1.0)],
        "weights": {"topsis": 0.5, "collaborative": 0.5, "content_based": 0.5},
    }

    assert_error(api.post("/ensemble-recommend", payload), 400, "weights")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"top_k": 0}, "top_k"),
        ({"top_k": 101}, "top_k"),
        ({"top_k": 10**12}, "top_k"),
        ({"top_k": "5"}, "top_k"),
        ({"candidate_offers": []}, "candidate_offers"),
        ({"candidate_offers": [inline(1.0)] * 1001}, "candidate_offers"),
        ({"candidate_offers": "all"}, "candidate_offers"),
        ({"user_id": "alice"}, "user_id"),
        ({"workload_profile": {"reliability": 1.5}}, "workload_profile.reliability"),
        ({"workload_profile": {"price_per_hour": -1}}, "workload_profile.price_per_hour"),
    ],
)
def test_schema_errors_are_422(api, change, field):
    payload = {"candidate_offers": [inline(1.0), inline(2.0)], **change}

    assert_error(api.post("/ensemble-recommend", payload), 422, field)


@pytest.mark.parametrize("price", [0, -1, "1.0"])
def test_bad_inline_price_is_422(api, price):
    response = api.post(
        "/ensemble-recommend", {"candidate_offers": [{"gpu_type": "L4", "price_per_hour": price}]}
    )

    assert response.status_code == 422
    assert any("price_per_hour" in name for name in response.json()["error"]["details"]["fields"])


def test_recommending_writes_nothing(api, make_offer):
    offer = make_offer()

    api.post("/ensemble-recommend", {"candidate_offers": [str(offer.id)]})

    assert UserOfferInteraction.objects.count() == 0
    assert RecommenderModel.objects.count() == 0
