"""`manage.py train_recommender`: fit implicit ALS on user-offer interactions and store it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from algorithms.collaborative import (
    DEFAULT_ALPHA,
    DEFAULT_FACTORS,
    DEFAULT_ITERATIONS,
    DEFAULT_REGULARIZATION,
)
from algorithms.errors import AlgorithmInputError
from apps.recommendations.services import recommender_train


class Command(BaseCommand):
    """Fit implicit ALS on the recorded interactions and store the model."""

    help = (
        "Train the collaborative recommender (implicit ALS) on user_offer_interactions with "
        "weights view 1, select 3, book 10, and store it in recommender_models."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """ALS hyper-parameters (factors, iterations, regularization, alpha) and the random seed."""
        parser.add_argument("--factors", type=int, default=DEFAULT_FACTORS)
        parser.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS)
        parser.add_argument("--regularization", type=float, default=DEFAULT_REGULARIZATION)
        parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA)
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args: Any, **options: Any) -> None:
        """Run `recommender_train`; CommandError for a rejected hyper-parameter (nothing stored)."""
        try:
            result = recommender_train(
                factors=options["factors"],
                iterations=options["iterations"],
                regularization=options["regularization"],
                alpha=options["alpha"],
                seed=options["seed"],
            )
        except AlgorithmInputError as exc:
            raise CommandError(f"--{exc.field}: {exc.message}") from exc
        if result.model_id is None:
            self.stdout.write(
                f"No usable interactions ({result.skipped_count} skipped); nothing trained."
            )
            return
        self.stdout.write(
            f"Trained recommender model #{result.model_id}: {result.interaction_count} "
            f"interactions, {result.user_count} users, {result.item_count} offers, "
            f"{result.skipped_count} skipped"
        )
