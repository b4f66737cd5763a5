"""Signals the marketplace sends to the apps above it, which providers must not import.

`offer_booked` is sent inside the booking's transaction (kwargs `user`, `offer`), so whatever
a receiver writes commits or rolls back with the booking; apps.recommendations records the
booking as implicit feedback through it.
"""

from __future__ import annotations

from django.dispatch import Signal

offer_booked = Signal()
