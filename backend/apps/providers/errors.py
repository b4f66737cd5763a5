"""Errors of the marketplace, named for the domain; each is a generic API error's subclass.

They carry the `code` and `http_status` of the error they refine (`gpubroker.core.errors`), so
the envelope and the status table need nothing of their own.
"""

from __future__ import annotations

from gpubroker.core.errors import BadGateway, NotFound


class OfferNotFound(NotFound):
    """404: no offer has this id, or it is not listed (its GPU is quarantined)."""

    default_message = "Offer not found"


class ProviderNotFound(NotFound):
    """404: no provider has this name."""

    default_message = "Provider not found"


class ProviderUnavailable(BadGateway):
    """502: the provider could not be reached or failed; nothing was changed on our side."""

    default_message = "The provider could not be reached; try again"
