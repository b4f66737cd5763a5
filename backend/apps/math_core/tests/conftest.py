"""Fixtures for the math endpoints: a JSON client, plus the recommender's offers and users."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from apps.recommendations.tests.conftest import make_offer, make_user, provider

__all__ = ["JsonClient", "api", "assert_error", "make_offer", "make_user", "provider"]


class JsonClient:
    """POST/GET against /api/v2/math with JSON bodies; raw strings are sent verbatim."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def post(self, path: str, body: Any, **headers: str) -> Any:
        data = body if isinstance(body, str) else json.dumps(body)
        return self.client.post(
            f"/api/v2/math{path}", data, content_type="application/json", headers=headers
        )

    def get(self, path: str, **headers: str) -> Any:
        return self.client.get(f"/api/v2/math{path}", headers=headers)


@pytest.fixture
def api() -> JsonClient:
    return JsonClient(Client())


def assert_error(response: Any, status: int, field: str) -> dict[str, Any]:
    """The SPEC envelope with ``status``, naming ``field`` (400: details.field and the message's
    first word; 422: a key of details.fields)."""
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    error = body["error"]
    assert body["detail"] == error["message"]
    if status == 422:
        assert error["code"] == "VALIDATION_ERROR"
        assert field in error["details"]["fields"], error["details"]
    else:
        assert error["details"]["field"] == field
        assert error["message"].startswith(f"{field}: ")
    return body
