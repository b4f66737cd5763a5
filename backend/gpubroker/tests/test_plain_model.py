"""`plain_model`: a Ninja schema's fields without its per-field getter, rendering the same JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client
from ninja import Schema
from pydantic import field_validator

from apps.providers import schemas
from apps.providers.selectors.offers import OfferQuery, offer_list
from apps.providers.tests.selectors.market import benchmarks_load, offer_make, provider_make
from gpubroker.core.schemas import plain_model


class _Inner(Schema):
    name: str
    size: int | None = None


class _Outer(Schema):
    when: datetime
    price: float
    inner: _Inner
    inners: list[_Inner]
    maybe: _Inner | None = None


@dataclass
class _InnerObject:
    name: str
    size: int | None


def test_nested_lists_and_unions_are_converted_and_render_alike() -> None:
    value = {
        "when": datetime(2026, 11, 29, 12, 0, tzinfo=UTC),
        "price": Decimal("2.5000"),
        "inner": _InnerObject("a", 1),
        "inners": [{"name": "b"}, _InnerObject("c", None)],
        "maybe": None,
    }
    plain = plain_model(_Outer)
    assert plain is plain_model(_Outer)
    inner = plain_model(_Inner)
    assert plain.model_fields["inners"].annotation == list[inner]  # type: ignore[valid-type]
    assert (
        plain.model_validate(value).model_dump_json()
        == _Outer.model_validate(value).model_dump_json()
    )
    assert (
        plain.model_json_schema()["properties"].keys()
        == _Outer.model_json_schema()["properties"].keys()
    )


def test_a_schema_with_its_own_validator_is_refused() -> None:
    class Checked(Schema):
        size: int

        @field_validator("size")
        @classmethod
        def positive(cls, value: int) -> int:
            return abs(value)

    with pytest.raises(TypeError, match="Checked has validators"):
        plain_model(Checked)
    with pytest.raises(TypeError, match="OfferFilterIn"):
        plain_model(schemas.OfferFilterIn)


@pytest.mark.django_db
def test_a_listing_page_renders_byte_for_byte_as_through_ninjas_schema() -> None:
    benchmarks_load()
    alpha, beta = provider_make("alpha"), provider_make("beta")
    offer_make(alpha, "H100 SXM", "2.0000", gpu_count=8, spot_price_per_hour=Decimal("1.1000"))
    offer_make(alpha, "RTX 4090", "0.3500", compliance_tags=["soc2"], city="Austin")
    offer_make(beta, "A100 80GB", "1.2000", availability_status="limited", country=None)
    offer_make(beta, "L4", "0.0000", is_stale=True)
    page = offer_list(query=OfferQuery(per_page=100, sort="price"))
    value = {
        "total": page.total,
        "total_is_estimate": page.total_is_estimate,
        "items": page.items,
        "warnings": page.warnings,
    }
    assert not page.total_is_estimate
    exclude = {"total_is_estimate", *(() if page.warnings else ("warnings",))}
    expected = schemas.OfferListOut.model_validate(value).model_dump_json(exclude=exclude)
    plain = plain_model(schemas.OfferListOut).model_validate(value)
    assert plain.model_dump_json(exclude=exclude) == expected
    assert len(plain.items) == page.total == 4  # type: ignore[attr-defined]
    assert Client().get("/api/v2/providers?per_page=100&sort=price").content == expected.encode()
