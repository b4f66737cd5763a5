"""Reads of the marketplace, one module per subject: offers, history, status."""
