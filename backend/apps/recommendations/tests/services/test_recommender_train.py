"""recommender_train and `manage.py train_recommender`: implicit ALS on weighted interactions."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from algorithms.collaborative import AlsModel, train_als
from apps.recommendations.models import RecommenderModel, UserOfferInteraction
from apps.recommendations.services import RECOMMENDER_MODELS_KEPT, recommender_train

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(make_offer, make_user):
    first, second = make_offer("RTX 4090", "1.0000"), make_offer("H100 SXM", "3.0000")
    alice, bob = make_user(), make_user()
    UserOfferInteraction.objects.create(user=alice, offer=first, kind="view")
    UserOfferInteraction.objects.create(user=alice, offer=second, kind="book")
    UserOfferInteraction.objects.create(user=bob, offer=first, kind="select", weight=2.0)
    return alice, bob, first, second


def test_trains_on_kind_weights_times_stored_weight(history):
    alice, bob, first, second = history

    result = recommender_train(factors=3, iterations=4, seed=7)

    row = RecommenderModel.objects.get()
    assert (result.model_id, result.interaction_count, result.skipped_count) == (row.id, 3, 0)
    assert (result.user_count, result.item_count) == (2, 2)
    assert (row.user_count, row.item_count, row.interaction_count) == (2, 2, 3)
    assert row.algorithm == "implicit_als"
    assert row.parameters == {
        "factors": 3,
        "iterations": 4,
        "regularization": 0.1,
        "alpha": 40.0,
        "seed": 7,
        "kind_weights": {"view": 1.0, "select": 3.0, "book": 10.0},
    }
    # view 1 x 1, book 10 x 1, select 3 x 2: the same model as training on those weights directly.
    expected = train_als(
        [
            (str(alice.id), str(first.id), 1.0),
            (str(alice.id), str(second.id), 10.0),
            (str(bob.id), str(first.id), 6.0),
        ],
        factors=3,
        iterations=4,
        seed=7,
    )
    stored = AlsModel.from_bytes(bytes(row.artefact))
    assert stored.user_keys == expected.user_keys
    assert stored.item_keys == expected.item_keys
    np.testing.assert_array_equal(stored.user_factors, expected.user_factors)
    np.testing.assert_array_equal(stored.item_factors, expected.item_factors)


def test_skips_unknown_kinds_and_non_positive_weights(history):
    alice, _, first, _ = history
    UserOfferInteraction.objects.create(user=alice, offer=first, kind="hover")
    UserOfferInteraction.objects.create(user=alice, offer=first, kind="view", weight=-1.0)
    UserOfferInteraction.objects.create(user=alice, offer=first, kind="view", weight=0.0)

    result = recommender_train(factors=2, iterations=2)

    assert (result.interaction_count, result.skipped_count) == (3, 3)


def test_no_interactions_stores_nothing(db):
    result = recommender_train()

    assert (result.model_id, result.interaction_count) == (None, 0)
    assert RecommenderModel.objects.count() == 0


def test_keeps_only_the_newest_models(history):
    ids = [recommender_train(factors=2, iterations=1).model_id for _ in range(7)]

    assert sorted(RecommenderModel.objects.values_list("id", flat=True)) == sorted(
        ids[-RECOMMENDER_MODELS_KEPT:]
    )


def test_command_prints_counts(history):
    out = io.StringIO()

    call_command("train_recommender", "--factors", "2", "--iterations", "2", stdout=out)

    model_id = RecommenderModel.objects.get().id
    assert out.getvalue() == (
        f"Trained recommender model #{model_id}: 3 interactions, 2 users, 2 offers, 0 skipped\n"
    )


def test_command_with_no_interactions(db):
    out = io.StringIO()

    call_command("train_recommender", stdout=out)

    assert out.getvalue() == "No usable interactions (0 skipped); nothing trained.\n"


def test_command_rejects_bad_hyper_parameters_and_stores_nothing(history):
    with pytest.raises(CommandError, match="--factors: must be between 1 and 256"):
        call_command("train_recommender", "--factors", "0", stdout=io.StringIO())

    assert RecommenderModel.objects.count() == 0
