"""Django app config of the recommender (above providers: reads offers, records bookings)."""

from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    """The `recommendations` app: interactions, trained ALS models, offer recommendations."""

    name = "apps.recommendations"
    label = "recommendations"
    verbose_name = "Recommendations"

    def ready(self) -> None:
        """Record every booking as implicit feedback (providers cannot import this app)."""
        from apps.providers.signals import offer_booked
        from apps.recommendations.services import interaction_record_booking

        offer_booked.connect(interaction_record_booking, dispatch_uid="recommendations.booking")
