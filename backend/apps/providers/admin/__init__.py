"""The operators' console for the marketplace: providers, offers, history, runs, keys, bookings.

One module per subject; importing them registers their admins (Django's autodiscovery imports
this package).
"""

from apps.providers.admin import offers, providers, quarantine

__all__ = ["offers", "providers", "quarantine"]
