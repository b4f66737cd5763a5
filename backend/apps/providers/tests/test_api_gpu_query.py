"""A GPU query means the GPU, the same everywhere (issue 12, kinds 4 and 7).

The listing (`GET /providers?gpu=`), `/kpi/gpu/{gpu_type}`, the WebSocket filter and
`/providers/status` over one small market with look-alike GPUs: every variant of the H100 and
the A100 (variant-free ones included), A10 next to A10G and the A100s, L40 next to L40S, the
three cards called "RTX 6000".
"""

from __future__ import annotations

import importlib
from io import StringIO
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection
from django.test import Client

from apps.providers.models import GPUOffer, Provider
from apps.providers.tests.selectors.market import offer_make, provider_make
from apps.websocket_gateway.filters import parse_filters

pytestmark = pytest.mark.django_db

MODELS = [
    "H100 SXM", "H100 PCIe", "H100 NVL", "H100 80GB",
    "A100 SXM 80GB", "A100 PCIe 80GB", "A100 80GB", "A100 SXM 40GB",
    "A10", "A10G", "L40", "L40S", "L4", "RTX 4090", "RTX 6000 Ada", "Quadro RTX 6000",
    "RTX PRO 6000",
]  # fmt: skip


@pytest.fixture
def market() -> Provider:
    provider = provider_make("alpha")
    for model in MODELS:
        offer_make(provider, model, "2.0000")
    offer_make(provider, "H100 SXM", "20.0000", gpu_count=8)
    return provider


def _listed(client: Client, gpu: str) -> list[tuple[str, int]]:
    response = client.get("/api/v2/providers", {"gpu": gpu, "per_page": 100})
    assert response.status_code == 200, response.content
    return sorted((item["gpu"], item["gpu_count"]) for item in response.json()["items"])


H100_ALL = [("H100 80GB", 1), ("H100 NVL", 1), ("H100 PCIe", 1), ("H100 SXM", 1), ("H100 SXM", 8)]


@pytest.mark.parametrize(
    ("gpu", "expected"),
    [
        # The examples.
        ("A100-80GB", [("A100 80GB", 1), ("A100 PCIe 80GB", 1), ("A100 SXM 80GB", 1)]),
        ("RTX4090", [("RTX 4090", 1)]),
        ("RTX6000-Ada", [("RTX 6000 Ada", 1)]),
        ("H100-SXM", [("H100 SXM", 1), ("H100 SXM", 8)]),
        ("h100 sxm", [("H100 SXM", 1), ("H100 SXM", 8)]),
        ("H100", H100_ALL),
        ("A10", [("A10", 1)]),
        ("L40", [("L40", 1)]),
        ("H100:8", [("H100 SXM", 8)]),
        # A count written in the name counts as the suffix does (a newcomer's "8x H100").
        ("8x H100", [("H100 SXM", 8)]),
        ("H100 x8", [("H100 SXM", 8)]),
        ("2x h100-sxm", [("H100 SXM", 8)]),
        # More members of the same kinds.
        ("nvidia h100", H100_ALL),
        ("h100_pcie", [("H100 PCIe", 1)]),
        ("A100 SXM", [("A100 SXM 40GB", 1), ("A100 SXM 80GB", 1)]),
        ("a10g", [("A10G", 1)]),
        ("L4", [("L4", 1)]),
        ("L40S", [("L40S", 1)]),
        ("RTX 6000", [("Quadro RTX 6000", 1), ("RTX 6000 Ada", 1), ("RTX PRO 6000", 1)]),
        ("rtxpro6000", [("RTX PRO 6000", 1)]),
        ("A100 48GB", []),
        # Text that names no GPU: the raw-name substring fallback.
        ("4090", [("RTX 4090", 1)]),
        # A vendor alone means all its GPUs, not the offers whose provider name says it.
        ("nvidia", sorted([(model, 1) for model in MODELS] + [("H100 SXM", 8)])),
        ("AMD", []),
    ],
)
def test_listing_reads_gpu_text_by_the_catalogue(market, gpu, expected) -> None:
    assert _listed(Client(), gpu) == expected


def test_count_suffix_never_lowers_an_explicit_gpu_count_min(market) -> None:
    response = Client().get("/api/v2/providers", {"gpu": "H100:2", "gpu_count_min": 4})
    assert [item["gpu_count"] for item in response.json()["items"]] == [8]


BAD_COUNTS = ["H100:abc", "H100:0", "H100:-1", "H100:99999999999999999999"]
COUNT_MESSAGE = "the GPU count after ':' must be a whole number from 1 to 1,000,000"


@pytest.mark.parametrize("gpu", BAD_COUNTS)
@pytest.mark.parametrize("parameter", ["gpu", "gpu_type"])
def test_a_bad_count_suffix_is_refused_as_a_bad_gpu_count_min_is(market, parameter, gpu) -> None:
    offers_before = list(GPUOffer.objects.order_by("id").values())
    response = Client().get("/api/v2/providers", {parameter: gpu})

    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert body["error"]["code"] == "VALIDATION_ERROR"
    fields = body["error"]["details"]["fields"]
    assert list(fields) == [parameter]
    assert COUNT_MESSAGE in fields[parameter]
    assert body["detail"] == body["error"]["message"]
    assert response["X-Trace-Id"] == body["error"]["trace_id"]
    # The same shape as gpu_count_min's refusal, and nothing written.
    refused = Client().get("/api/v2/providers", {"gpu_count_min": "abc"}).json()
    assert (refused["error"]["code"], list(refused["error"]["details"]["fields"])) == (
        "VALIDATION_ERROR",
        ["gpu_count_min"],
    )
    assert list(GPUOffer.objects.order_by("id").values()) == offers_before


def test_the_count_suffix_bound_is_gpu_count_min_s(market) -> None:
    client = Client()
    assert _listed(client, "H100:1000000") == []
    assert client.get("/api/v2/providers", {"gpu_count_min": 1_000_000}).status_code == 200
    assert client.get("/api/v2/providers", {"gpu": "H100:1000001"}).status_code == 422
    assert client.get("/api/v2/providers", {"gpu_count_min": 1_000_001}).status_code == 422
    assert _listed(client, "H100 : 8") == [("H100 SXM", 8)]


def test_kpi_family_counts_every_variant_and_a_variant_only_itself(market) -> None:
    client = Client()
    family = client.get("/api/v2/kpi/gpu/h100").json()
    variant = client.get("/api/v2/kpi/gpu/H100-SXM").json()
    a10 = client.get("/api/v2/kpi/gpu/A10").json()

    assert family["gpu_type"] == "H100"
    assert family["gpu_models"] == ["H100 80GB", "H100 NVL", "H100 PCIe", "H100 SXM"]
    assert family["offer_count"] == 5
    assert family["cost_per_token"] is not None
    assert (variant["gpu_type"], variant["gpu_models"], variant["offer_count"]) == (
        "H100 SXM",
        ["H100 SXM"],
        2,
    )
    assert (a10["gpu_models"], a10["offer_count"]) == (["A10"], 1)


@pytest.mark.parametrize("text", ["A100 48GB", " ", "\u3000", "%20%20"])
def test_kpi_unknown_gpu_is_404(market, text) -> None:
    # Blank text (a space, a full-width space) answered for the whole market.
    response = Client().get(f"/api/v2/kpi/gpu/{text}")
    assert response.status_code == 404
    assert response.json()["error"]["details"] == {"field": "gpu_type"}


FULL_WIDTH_H100 = (
    "\uff28\uff11\uff10\uff10"  # H100 in full-width forms, as a CJK input method types it
)


def test_text_only_the_listing_could_read_means_the_same_gpus_everywhere(market) -> None:
    # "4090" is no catalogue name; the listing finds "RTX 4090" by substring, and so must the
    # KPI page, the spec page and the calculators (a newcomer saw 404s there).
    client = Client()
    call_command("load_gpu_specs", stdout=StringIO())
    kpi = client.get("/api/v2/kpi/gpu/4090").json()
    spec = client.get("/api/v2/math/benchmarks/4090")
    cost = client.post(
        "/api/v2/math/cost-per-gflop",
        {"gpu_type": "3090", "price_per_hour": 0.5},
        content_type="application/json",
    )

    assert _listed(client, "4090") == [("RTX 4090", 1)]
    assert (kpi["gpu_type"], kpi["gpu_models"], kpi["offer_count"]) == ("4090", ["RTX 4090"], 1)
    assert spec.status_code == 200
    assert spec.json()["gpu_model"] == "RTX 4090"
    # "3090" is in RTX 3090 and RTX 3090 Ti: the one it ends as a word is meant for a spec.
    assert cost.status_code == 200, cost.content
    assert cost.json()["gpu_model"] == "RTX 3090"


@pytest.mark.parametrize(
    ("body", "gpus"),
    [
        ({"gpu_type": "8x H100"}, 8),
        ({"gpu_type": "H100:4"}, 4),
        ({"gpu_type": "8x H100", "gpu_count": 2}, 2),  # an explicit gpu_count wins
        ({"gpu_type": "H100"}, 1),
    ],
)
def test_the_calculators_take_the_gpu_count_the_text_states(body, gpus) -> None:
    # "8x H100" priced the 8-GPU instance as one GPU (gpu_count 1), with no word said.
    client = Client()
    token = client.post(
        "/api/v2/math/cost-per-token",
        {**body, "price_per_hour": 16.0},
        content_type="application/json",
    )
    gflop = client.post(
        "/api/v2/math/cost-per-gflop",
        {**body, "price_per_hour": 16.0},
        content_type="application/json",
    )
    assert token.json()["calculation_details"]["gpu_count"] == gpus
    assert gflop.json()["gpu_count"] == gpus


def test_a_spec_lookup_that_substring_leaves_open_names_the_choices(market) -> None:
    response = Client().post(
        "/api/v2/math/cost-per-gflop",
        {"gpu_type": "6000", "price_per_hour": 1.0},
        content_type="application/json",
    )
    body = response.json()

    assert response.status_code == 400
    assert body["error"]["details"] == {"field": "gpu_type"}
    for name in ("Quadro RTX 6000", "RTX 6000 Ada", "RTX A6000", "RTX PRO 6000"):
        assert name in body["error"]["message"]
    many = Client().post(
        "/api/v2/math/cost-per-gflop",
        {"gpu_type": "rtx", "price_per_hour": 1.0},
        content_type="application/json",
    )
    assert many.status_code == 400
    assert many.json()["error"]["message"].endswith(" more); name one of them")


@pytest.mark.parametrize(
    ("family", "part"), [("H100", "H100 SXM"), ("H200", "H200 SXM"), ("h200", "H200 SXM")]
)
def test_a_bare_family_name_gets_its_documented_default_part(family, part) -> None:
    # docs/gpu-identity.md: H100/H200 -> SXM. H200's parts share one memory size, so its
    # variant-free model used to win, reported as no default at all.
    response = Client().post(
        "/api/v2/math/cost-per-gflop",
        {"gpu_type": family, "price_per_hour": 3.0},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["gpu_model"] == part
    details = Client().post(
        "/api/v2/math/cost-per-token",
        {"gpu_type": family, "price_per_hour": 3.0},
        content_type="application/json",
    )
    assert details.json()["calculation_details"]["used_default_form_factor"] is True


def test_a_family_whose_default_part_comes_in_two_sizes_names_them() -> None:
    response = Client().post(
        "/api/v2/math/cost-per-gflop",
        {"gpu_type": "A100", "price_per_hour": 3.0},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "A100 SXM 40GB" in response.json()["error"]["message"]
    assert "A100 SXM 80GB" in response.json()["error"]["message"]


def test_full_width_text_is_read_as_its_ascii(market) -> None:
    client = Client()
    call_command("load_gpu_specs", stdout=StringIO())

    assert _listed(client, FULL_WIDTH_H100) == H100_ALL
    assert _listed(client, "\uff52\uff54\uff58\u3000\uff14\uff10\uff19\uff10") == [("RTX 4090", 1)]
    assert client.get(f"/api/v2/kpi/gpu/{FULL_WIDTH_H100}").json()["offer_count"] == 5
    spec = client.get(f"/api/v2/math/benchmarks/{FULL_WIDTH_H100}").json()
    assert spec["gpu_model"] == "H100 SXM"  # the family's documented default, as for "H100"
    update = {"gpu": "H100 NVL", "provider": "alpha", "region": "us", "old_price": 1.0,
              "new_price": 1.1}  # fmt: skip
    assert parse_filters({"gpu": FULL_WIDTH_H100}).matches(update) is True


@pytest.mark.parametrize(
    ("gpu", "update_gpu", "wanted"),
    [
        ("h100", "H100 PCIe", True),
        ("h100", "H100 80GB", True),
        ("H100-SXM", "H100 PCIe", False),
        ("a10", "A100 SXM 80GB", False),
        ("a10", "A10", True),
        ("l40", "L40S", False),
        ("A100-80GB", "A100 PCIe 80GB", True),
        ("4090", "RTX 4090", True),
    ],
)
def test_price_stream_filter_reads_gpu_text_like_the_listing(gpu, update_gpu, wanted) -> None:
    filters = parse_filters({"gpu": gpu})
    update = {"gpu": update_gpu, "provider": "alpha", "region": "us", "old_price": 1.0,
              "new_price": 1.1}  # fmt: skip
    assert filters.matches(update) is wanted


def test_status_says_why_each_unknown_gpu_is_quarantined(market) -> None:
    offer_make(market, None, gpu_name_raw="NVIDIA GeForce RTX 4090 D", gpu_memory_gb=24)
    offer_make(market, None, gpu_name_raw="NVIDIA GeForce RTX 4090 D", gpu_memory_gb=24)
    offer_make(market, None, gpu_name_raw="GTX 1080 Ti", gpu_memory_gb=11)

    status = Client().get("/api/v2/providers/status").json()

    (alpha,) = (row for row in status if row["name"] == "alpha")
    assert [
        (q["gpu_name_raw"], q["offer_count"], q["reason"]) for q in alpha["quarantined_gpus"]
    ] == [
        ("NVIDIA GeForce RTX 4090 D", 2, "unknown_token:d"),
        ("GTX 1080 Ti", 1, "no_match"),
    ]
    assert "'d'" in alpha["quarantined_gpus"][0]["explanation"]


def _stored(external_id: str) -> tuple[str | None, str, int]:
    offer = GPUOffer.objects.get(external_id=external_id)
    return offer.gpu_model, offer.gpu_type, offer.gpu_memory_gb


def _old_market() -> Provider:
    """Offers as older rules stored them: a guessed SXM part and a GPU with no spec then."""
    provider = provider_make("legacy", quarantined_names=["RTX 4070"])
    offer_make(provider, "A100 SXM 80GB", external_id="a100", gpu_name_raw="A100 80GB",
               interconnect="PCIe")  # fmt: skip
    offer_make(provider, "V100 SXM 16GB", external_id="v100", gpu_name_raw="Tesla V100",
               gpu_memory_gb=16)  # fmt: skip
    offer_make(provider, None, external_id="4070", gpu_name_raw="RTX 4070", gpu_memory_gb=12)
    offer_make(provider, "L40S", external_id="l40s", gpu_name_raw="NVIDIA L40S", gpu_memory_gb=48)
    return provider


def test_resolve_gpus_gives_stored_offers_todays_answer_and_is_idempotent() -> None:
    provider = _old_market()
    out = StringIO()

    call_command("resolve_gpus", stdout=out)

    assert _stored("a100") == ("A100 PCIe 80GB", "A100 PCIe 80GB", 80)
    assert _stored("v100") == ("V100 16GB", "V100 16GB", 16)
    assert _stored("4070") == ("RTX 4070", "RTX 4070", 12)
    assert _stored("l40s") == ("L40S", "L40S", 48)
    assert out.getvalue().splitlines()[0] == "resolve_gpus: 3 of 4 offers changed GPU"
    provider.refresh_from_db()
    assert provider.quarantined_names == []
    again = StringIO()
    call_command("resolve_gpus", stdout=again)
    assert again.getvalue() == "resolve_gpus: 0 of 4 offers changed GPU\n"


def test_migration_0010_re_resolves_an_existing_database() -> None:
    _old_market()
    migration = importlib.import_module("apps.providers.migrations.0012_gpu_identity")

    migration.resolve_gpus(django_apps, SimpleNamespace(connection=connection))

    assert _stored("a100")[0] == "A100 PCIe 80GB"
    assert _stored("4070")[0] == "RTX 4070"
