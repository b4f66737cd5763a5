"""Optional authentication on the math routes and who may ask for whose recommendations."""

from __future__ import annotations

import pytest

from apps.auth_app.tokens import issue_access_token
from apps.math_core.tests.conftest import assert_error
from apps.recommendations.models import UserOfferInteraction
from apps.recommendations.services import recommender_train

pytestmark = pytest.mark.django_db


def bearer(user):
    token = issue_access_token(
        email=user.email, user_id=user.id, roles=[user.role], tenant_id=user.tenant_id
    ).token
    return {"Authorization": f"Bearer {token}"}


def test_anonymous_and_authenticated_callers_are_both_served(api, make_user):
    payload = {"price_per_hour": 1.0, "gpu_type": "L4"}

    assert api.post("/cost-per-token", payload).status_code == 200
    assert api.post("/cost-per-token", payload, **bearer(make_user())).status_code == 200


def test_a_bad_token_is_401_not_anonymous(api, db):
    response = api.post(
        "/cost-per-token",
        {"price_per_hour": 1.0, "gpu_type": "L4"},
        Authorization="Bearer not-a-token",
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_authenticated_user_gets_their_own_als_scores_without_user_id(api, make_offer, make_user):
    offers = [make_offer("RTX 4090", "1.0000"), make_offer("RTX 4090", "2.0000")]
    alice = make_user()
    UserOfferInteraction.objects.create(user=alice, offer=offers[1], kind="book")
    recommender_train(factors=2, iterations=3)

    response = api.post(
        "/ensemble-recommend",
        {"candidate_offers": [str(offer.id) for offer in offers]},
        **bearer(alice),
    )

    assert response.status_code == 200
    assert response.json()["collaborative_source"] == "als"


def test_asking_for_another_users_recommendations_is_403(api, make_offer, make_user):
    alice, bob = make_user(), make_user()
    offer = make_offer()

    response = api.post(
        "/ensemble-recommend",
        {"user_id": str(bob.id), "candidate_offers": [str(offer.id)]},
        **bearer(alice),
    )

    assert_error(response, 403, "user_id")


def test_staff_may_ask_for_another_user(api, make_offer, make_user):
    operator, bob = make_user(is_staff=True), make_user()
    offer = make_offer()

    response = api.post(
        "/ensemble-recommend",
        {"user_id": str(bob.id), "candidate_offers": [str(offer.id)]},
        **bearer(operator),
    )

    assert response.status_code == 200
