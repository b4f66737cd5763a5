"""Implicit-feedback ALS in numpy, with a popularity fallback.

The method of Hu, Koren & Volinsky 2008, "Collaborative Filtering for Implicit Feedback
Datasets".

An interaction weight r_ui >= 0 (e.g. 1 per view, 5 per booking) becomes a preference
p_ui = 1 if r_ui > 0 and a confidence c_ui = 1 + alpha * r_ui. ALS alternates the closed forms
  x_u = (Y'Y + Y'(C_u - I)Y + lambda I)^-1 Y' C_u p_u      (and symmetrically for items),
touching only the observed pairs of each user/item, as in section 4 of the paper.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from algorithms._validation import (
    FloatArray,
    int_in_range,
    non_negative_float,
    positive_float,
    read_only,
)
from algorithms.errors import AlgorithmInputError

Interaction = tuple[str, str, float]
DEFAULT_FACTORS = 16
DEFAULT_REGULARIZATION = 0.1
DEFAULT_ALPHA = 40.0  # the paper's best value on its TV-viewing data
DEFAULT_ITERATIONS = 15  # the loss settles within ~10 sweeps at this size
INITIAL_SCALE = 0.01  # small random start so early solves are dominated by the data
_FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class AlsModel:
    """Trained factors. Keys are strings (stringify UUIDs before training)."""

    user_keys: tuple[str, ...]
    item_keys: tuple[str, ...]
    user_factors: FloatArray
    item_factors: FloatArray

    def score(self, user_key: str, item_keys: Sequence[str]) -> FloatArray | None:
        """Predicted preference x_u . y_i per requested item.

        Items unseen in training score 0; None when the user has no training history.
        """
        try:
            user_row = self.user_keys.index(user_key)
        except ValueError:
            return None
        item_index = {key: row for row, key in enumerate(self.item_keys)}
        scores = np.zeros(len(item_keys))
        rows = [item_index.get(key, -1) for key in item_keys]
        known = np.array([row >= 0 for row in rows], dtype=bool)
        if known.any():
            picked = self.item_factors[[row for row in rows if row >= 0]]
            scores[known] = picked @ self.user_factors[user_row]
        return scores

    def to_bytes(self) -> bytes:
        """Serialise with np.savez (no pickle) for storage in a database or file."""
        buffer = io.BytesIO()
        np.savez(
            buffer,
            version=np.array(_FORMAT_VERSION),
            user_keys=np.array(self.user_keys, dtype=str),
            item_keys=np.array(self.item_keys, dtype=str),
            user_factors=self.user_factors,
            item_factors=self.item_factors,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> AlsModel:
        """Inverse of to_bytes; AlgorithmInputError(field="model") for foreign or corrupt data."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
            version = int(arrays["version"])
            model = cls(
                user_keys=tuple(str(key) for key in arrays["user_keys"]),
                item_keys=tuple(str(key) for key in arrays["item_keys"]),
                user_factors=read_only(np.array(arrays["user_factors"], dtype=np.float64)),
                item_factors=read_only(np.array(arrays["item_factors"], dtype=np.float64)),
            )
        except (OSError, ValueError, KeyError) as exc:
            raise AlgorithmInputError("model", "is not a saved ALS model") from exc
        if version != _FORMAT_VERSION:
            raise AlgorithmInputError("model", "was saved by an incompatible version")
        return model


def train_als(
    interactions: Sequence[Interaction],
    *,
    factors: int = DEFAULT_FACTORS,
    regularization: float = DEFAULT_REGULARIZATION,
    alpha: float = DEFAULT_ALPHA,
    iterations: int = DEFAULT_ITERATIONS,
    seed: int = 0,
) -> AlsModel:
    """Fit user and item factors; deterministic for a given ``seed`` and input order.

    Repeated (user, item) pairs add their weights. Raises AlgorithmInputError for no interactions,
    negative or non-finite weights, or hyper-parameters out of range.
    """
    rank = int_in_range(factors, "factors", minimum=1, maximum=256)
    penalty = positive_float(regularization, "regularization")
    scale = positive_float(alpha, "alpha")
    sweeps = int_in_range(iterations, "iterations", minimum=1, maximum=100)
    users, items, user_rows, item_rows, weights = _encode(interactions)

    rng = np.random.default_rng(seed)
    user_factors = rng.normal(scale=INITIAL_SCALE, size=(len(users), rank))
    item_factors = rng.normal(scale=INITIAL_SCALE, size=(len(items), rank))
    confidence = 1.0 + scale * weights
    by_user = _group(user_rows, len(users))
    by_item = _group(item_rows, len(items))
    for _ in range(sweeps):
        user_factors = _solve(item_factors, by_user, item_rows, confidence, penalty)
        item_factors = _solve(user_factors, by_item, user_rows, confidence, penalty)
    return AlsModel(
        user_keys=users,
        item_keys=items,
        user_factors=read_only(user_factors),
        item_factors=read_only(item_factors),
    )


def popularity_scores(interactions: Sequence[Interaction], item_keys: Sequence[str]) -> FloatArray:
    """Total interaction weight per requested item divided by the largest total (0..1).

    Items nobody interacted with score 0. The fallback for users without history.
    """
    totals: dict[str, float] = {}
    for _, item_key, weight in _validated(interactions, allow_empty=True):
        totals[item_key] = totals.get(item_key, 0.0) + weight
    scores = np.array([totals.get(key, 0.0) for key in item_keys], dtype=np.float64)
    peak = max(totals.values(), default=0.0)
    return scores / peak if peak > 0 else scores


def _validated(interactions: Sequence[Interaction], *, allow_empty: bool) -> list[Interaction]:
    if not allow_empty and len(interactions) == 0:
        raise AlgorithmInputError("interactions", "must not be empty")
    checked: list[Interaction] = []
    for entry in interactions:
        if not isinstance(entry, Sequence) or len(entry) != 3:
            raise AlgorithmInputError("interactions", "each entry must be (user, item, weight)")
        user_key, item_key, weight = entry
        if not isinstance(user_key, str) or not isinstance(item_key, str):
            raise AlgorithmInputError("interactions", "user and item keys must be strings")
        checked.append((user_key, item_key, non_negative_float(weight, "interactions")))
    return checked


def _encode(
    interactions: Sequence[Interaction],
) -> tuple[tuple[str, ...], tuple[str, ...], NDArray[np.intp], NDArray[np.intp], FloatArray]:
    """Keys in first-seen order plus one row per distinct (user, item) pair with summed weight."""
    users: dict[str, int] = {}
    items: dict[str, int] = {}
    summed: dict[tuple[int, int], float] = {}
    for user_key, item_key, weight in _validated(interactions, allow_empty=False):
        pair = (users.setdefault(user_key, len(users)), items.setdefault(item_key, len(items)))
        summed[pair] = summed.get(pair, 0.0) + weight
    pairs = [pair for pair, weight in summed.items() if weight > 0]
    if not pairs:
        raise AlgorithmInputError("interactions", "needs at least one positive weight")
    user_rows = np.array([user for user, _ in pairs], dtype=np.intp)
    item_rows = np.array([item for _, item in pairs], dtype=np.intp)
    weights = np.array([summed[pair] for pair in pairs], dtype=np.float64)
    return tuple(users), tuple(items), user_rows, item_rows, weights


def _group(rows: NDArray[np.intp], count: int) -> list[NDArray[np.intp]]:
    """For each row id, the positions of its observed pairs."""
    order = np.argsort(rows, kind="stable")
    boundaries = np.searchsorted(rows[order], np.arange(count + 1))
    return [order[boundaries[row] : boundaries[row + 1]] for row in range(count)]


def _solve(
    fixed: FloatArray,
    groups: list[NDArray[np.intp]],
    other_rows: NDArray[np.intp],
    confidence: FloatArray,
    penalty: float,
) -> FloatArray:
    """One half-sweep: the closed-form factors for every row given the other side's factors."""
    rank = fixed.shape[1]
    gram = fixed.T @ fixed + penalty * np.eye(rank)
    solved = np.zeros((len(groups), rank))
    for row, positions in enumerate(groups):
        if positions.size == 0:
            continue  # a row with only zero weights keeps a zero vector
        observed = fixed[other_rows[positions]]
        weights = confidence[positions]
        # Y'C_uY = Y'Y + Y'(C_u - I)Y and Y'C_u p_u sums c_ui y_i over observed items (p_ui = 1).
        lhs = gram + (observed.T * (weights - 1.0)) @ observed
        solved[row] = np.linalg.solve(lhs, observed.T @ weights)
    return solved
