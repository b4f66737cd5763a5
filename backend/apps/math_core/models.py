"""Trained recommender artefacts (`recommender_models`)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone


class RecommenderModel(models.Model):
    """A serialised collaborative-filtering model written by `manage.py train_recommender`."""

    id = models.BigAutoField(primary_key=True)
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
