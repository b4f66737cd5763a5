"""`sync_providers` and `adopt_v1`."""
