"""Schemas of the stream's HTTP endpoints."""

from __future__ import annotations

from ninja import Schema


class RelayStatusOut(Schema):
    """This process's relay: state, channel, subscribers and message counters since start."""

    state: str
    channel: str
    subscribers: int
    subscribed_since: float | None
    received: int
    malformed: int
    delivered: int
    reconnects: int
    last_error: str


class StreamStatusOut(Schema):
    """This process's view of the stream (each daphne process answers for itself)."""

    connected_clients: int
    accepted_total: int
    refused_limit_total: int
    refused_token_total: int
    closed_slow_total: int
    relay: RelayStatusOut | None
