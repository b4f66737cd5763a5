"""Admin pages of the recommender: listable trained models."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.auth_app.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(specs) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root@example.com", "pw-for-tests-only"))
    return client


def test_recommender_model_list_renders(staff_client):
    assert staff_client.get("/admin/recommendations/recommendermodel/").status_code == 200
