"""Admin pages of the recommender: listable trained models."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_recommender_model_list_renders(staff_client):
    assert staff_client.get("/admin/recommendations/recommendermodel/").status_code == 200
