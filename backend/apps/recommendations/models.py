"""Implicit feedback on offers and trained recommender artefacts.

Tables: `user_offer_interactions` (views, selections, bookings) and `recommender_models`.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone


class RecommenderModel(models.Model):
    """A serialised collaborative-filtering model written by `manage.py train_recommender`."""

    id = models.BigAutoField("ID", primary_key=True)
    trained_at = models.DateTimeField(default=timezone.now)
    algorithm = models.CharField(max_length=32, default="implicit_als")
    parameters = models.JSONField(default=dict)
    user_count = models.PositiveIntegerField(default=0)
    item_count = models.PositiveIntegerField(default=0)
    interaction_count = models.PositiveIntegerField(default=0)
    artefact = models.BinaryField()

    class Meta:
        db_table = "recommender_models"
        ordering: ClassVar = ["-trained_at"]

    def __str__(self) -> str:
        return f"{self.algorithm} trained {self.trained_at:%Y-%m-%d %H:%M}"


class InteractionKind(models.TextChoices):
    """What a user did with an offer; `INTERACTION_KIND_WEIGHTS` says how much it counts."""

    VIEW = "view", "View"
    SELECT = "select", "Select"
    BOOK = "book", "Book"


class UserOfferInteraction(models.Model):
    """Implicit feedback for the collaborative recommender (views, selections, bookings)."""

    id = models.BigAutoField("ID", primary_key=True)
    user = models.ForeignKey(
        "auth_app.User", on_delete=models.CASCADE, related_name="offer_interactions"
    )
    offer = models.ForeignKey(
        "providers.GPUOffer", on_delete=models.CASCADE, related_name="interactions"
    )
    kind = models.CharField(max_length=16, choices=InteractionKind.choices)
    weight = models.FloatField(default=1.0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "user_offer_interactions"
        indexes: ClassVar = [
            models.Index(fields=["user", "offer"], name="interactions_user_offer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.offer_id}"
