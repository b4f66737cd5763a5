import numpy as np
import pytest

from algorithms.collaborative import AlsModel, popularity_scores, train_als
from algorithms.errors import AlgorithmInputError

CLUSTER_A = [f"a{i}" for i in range(5)]
CLUSTER_B = [f"b{i}" for i in range(5)]


def two_clusters():
    """Users u* book three of the five a* offers, users v* three of the b* offers; u0 never
    touched a3 or a4."""
    interactions = []
    for user in range(6):
        seen = [(user + shift) % 5 for shift in range(3)]
        interactions += [(f"u{user}", CLUSTER_A[item], 1.0) for item in seen]
        interactions += [(f"v{user}", CLUSTER_B[item], 1.0) for item in seen]
    return interactions


def test_recommendations_favour_the_users_cluster():
    # Two latent factors for two clusters: the unseen a3/a4 inherit their cluster's preference.
    model = train_als(two_clusters(), factors=2, seed=0)

    scores = model.score("u0", CLUSTER_A + CLUSTER_B)

    assert scores[[3, 4]].min() > 0.9
    assert np.abs(scores[5:]).max() < 0.01


def test_training_is_deterministic_for_a_seed():
    first = train_als(two_clusters(), seed=3)
    second = train_als(two_clusters(), seed=3)

    assert np.array_equal(first.user_factors, second.user_factors)
    assert np.array_equal(first.item_factors, second.item_factors)


def test_unknown_user_gets_none_and_unknown_items_score_zero():
    model = train_als(two_clusters(), factors=4)

    assert model.score("stranger", CLUSTER_A) is None
    assert model.score("u0", ["never-seen", "a0"])[0] == 0.0


def test_model_round_trips_through_bytes():
    model = train_als(two_clusters(), factors=4)

    restored = AlsModel.from_bytes(model.to_bytes())

    assert restored.user_keys == model.user_keys
    assert restored.item_keys == model.item_keys
    assert np.array_equal(restored.user_factors, model.user_factors)
    assert np.array_equal(restored.item_factors, model.item_factors)
    assert np.array_equal(restored.score("v1", CLUSTER_B), model.score("v1", CLUSTER_B))


def test_from_bytes_rejects_foreign_data():
    with pytest.raises(AlgorithmInputError) as error:
        AlsModel.from_bytes(b"not a model")

    assert error.value.field == "model"


def test_repeated_pairs_add_up_and_zero_weights_are_ignored():
    model = train_als([("u", "x", 1.0), ("u", "x", 2.0), ("u", "y", 0.0), ("w", "y", 1.0)])

    assert model.user_keys == ("u", "w")
    assert model.item_keys == ("x", "y")
    assert model.score("u", ["x"])[0] > model.score("u", ["y"])[0]


def test_popularity_scores_are_relative_to_the_most_popular_item():
    interactions = [("u", "x", 4.0), ("v", "x", 4.0), ("u", "y", 2.0)]

    scores = popularity_scores(interactions, ["y", "x", "z"])

    assert scores.tolist() == [0.25, 1.0, 0.0]
    assert popularity_scores([], ["x"]).tolist() == [0.0]


@pytest.mark.parametrize(
    ("interactions", "overrides", "field"),
    [
        ([], {}, "interactions"),
        ([("u", "x", 0.0)], {}, "interactions"),
        ([("u", "x", -1.0)], {}, "interactions"),
        ([("u", "x")], {}, "interactions"),
        ([("u", 5, 1.0)], {}, "interactions"),
        ([("u", "x", 1.0)], {"factors": 0}, "factors"),
        ([("u", "x", 1.0)], {"regularization": 0.0}, "regularization"),
        ([("u", "x", 1.0)], {"alpha": float("inf")}, "alpha"),
        ([("u", "x", 1.0)], {"iterations": 1000}, "iterations"),
    ],
)
def test_train_als_rejects_bad_input(interactions, overrides, field):
    with pytest.raises(AlgorithmInputError) as error:
        train_als(interactions, **overrides)

    assert error.value.field == field
