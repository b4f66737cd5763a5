"""Admin for trained recommender models (read-only; old ones may be deleted)."""

from __future__ import annotations

from django.contrib import admin

from apps.recommendations.models import RecommenderModel
from gpubroker.core.admin import ReadOnlyAdmin


@admin.register(RecommenderModel)
class RecommenderModelAdmin(ReadOnlyAdmin):
    """Old models may be deleted; the newest one serves collaborative scores."""

    list_display = (
        "id",
        "algorithm",
        "trained_at",
        "user_count",
        "item_count",
        "interaction_count",
    )
    exclude = ("artefact",)
