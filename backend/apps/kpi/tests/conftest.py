"""Fixtures shared with the listing's cache tests: a test client and one listed H100 offer."""

from apps.providers.tests.test_api_listing_cache import api, offer  # noqa: F401 (fixtures)
