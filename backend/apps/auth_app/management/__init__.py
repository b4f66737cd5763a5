"""Management commands of the auth app."""
