"""Admin for the recommender's state: trained models (old ones deletable) and interactions."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.db.models.functions import Length
from django.http import HttpRequest

from apps.auth_app.admin_audit import AuditedAdmin
from apps.recommendations.models import RecommenderModel, UserOfferInteraction
from gpubroker.core.admin import LargeTableAdmin, ReadOnlyAdmin, ViewOnlyAdmin


@admin.register(RecommenderModel)
class RecommenderModelAdmin(ReadOnlyAdmin, AuditedAdmin):
    """Trained models, newest first; the newest serves collaborative scores. Deletions audited."""

    list_display = (
        "id",
        "algorithm",
        "trained_at",
        "user_count",
        "item_count",
        "interaction_count",
        "artefact_size",
    )
    list_filter = ("algorithm",)
    ordering = ("-trained_at",)
    fields = (
        "id",
        "algorithm",
        "trained_at",
        "parameters",
        "user_count",
        "item_count",
        "interaction_count",
        "artefact_size",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[RecommenderModel]:
        """Models without their artefacts (megabytes each), with the artefact's size."""
        return (
            super()
            .get_queryset(request)
            .defer("artefact")
            .annotate(artefact_bytes=Length("artefact"))
        )

    @admin.display(description="artefact (bytes)", ordering="artefact_bytes")
    def artefact_size(self, model: RecommenderModel) -> int:
        """Size of the serialised model, in bytes; the bytes themselves are never loaded."""
        return int(getattr(model, "artefact_bytes", 0) or 0)


@admin.register(UserOfferInteraction)
class UserOfferInteractionAdmin(ViewOnlyAdmin, LargeTableAdmin):
    """Implicit feedback (views, selections, bookings) the recommender learns from; view only.

    Deleting a user deletes theirs.
    """

    list_display = ("created_at", "user", "kind", "weight", "offer", "offer_provider")
    list_select_related = ("user", "offer__provider")
    list_filter = ("kind",)
    search_fields = ("=user__email",)
    ordering = ("-id",)

    @admin.display(description="provider")
    def offer_provider(self, interaction: UserOfferInteraction) -> str:
        """The offer's provider."""
        return interaction.offer.provider.name
