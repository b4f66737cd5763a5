"""The board's pages and fragments through Django's full stack, real PostgreSQL and Redis."""

from __future__ import annotations

import html
import re
import uuid
from html.parser import HTMLParser
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings

from apps.board.columns import visible_columns
from apps.board.formatting import TIMES
from apps.board.page import CHAT_STREAM_PATH, PARSE_WORKLOAD_PATH, route_exists
from apps.providers.selectors.offers import offer_get
from apps.providers.tests.selectors.market import offer_make

pytestmark = pytest.mark.django_db

STRICT_POLICY = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "connect-src": "'self'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "object-src": "'none'",
}


@pytest.fixture
def browser() -> Client:
    return Client(HTTP_HOST="127.0.0.1")


class _Inventory(HTMLParser):
    """Scripts, style attributes, style elements and event-handler attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_styles: list[str] = []
        self.handlers: list[str] = []
        self.style_elements = 0
        self.rows: list[dict[str, str | None]] = []
        self.labels_for: set[str] = set()
        self.controls: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
        if tag == "style":
            self.style_elements += 1
        if "style" in attributes:
            self.inline_styles.append(tag)
        self.handlers += [name for name in attributes if name.startswith("on")]
        if tag == "tr" and "data-offer-id" in attributes:
            self.rows.append(attributes)
        if tag == "label" and attributes.get("for"):
            self.labels_for.add(str(attributes["for"]))
        if tag in ("input", "select", "textarea") and attributes.get("type") != "hidden":
            self.controls.append(attributes)


def _inventory(html: bytes) -> _Inventory:
    parser = _Inventory()
    parser.feed(html.decode())
    return parser


def _policy(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


def test_the_board_renders_the_first_page_with_a_strict_policy_and_no_inline_code(browser, market):
    response = browser.get("/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    policy = _policy(response["Content-Security-Policy"])
    assert {key: policy[key] for key in STRICT_POLICY} == STRICT_POLICY
    assert "unsafe" not in response["Content-Security-Policy"]
    page = _inventory(response.content)
    assert page.scripts == [{"type": "module", "src": "/static/board/js/main.js"}]
    assert page.inline_styles == []
    assert page.style_elements == 0
    assert page.handlers == []
    # Every visible control has a label.
    assert {control["id"] for control in page.controls} <= page.labels_for
    # Cheapest first, the first page in the HTML itself.
    ids = [row["data-offer-id"] for row in page.rows]
    order = ["4090", "stale", "l40s", "a100", "h100", "h100x8"]
    assert ids == [str(market[label].id) for label in order]
    assert b'data-ws-state="connecting"' in response.content


def test_each_row_has_the_price_hook_and_the_state_flags(browser, market):
    html = browser.get("/").content.decode()
    offer = market["h100"]
    row = re.search(rf'<tr data-offer-id="{offer.id}"[^>]*>(.*?)</tr>', html, re.S)
    assert row is not None
    assert 'data-availability="available" data-stale="false"' in row.group(0)
    price = re.search(r'<td data-field="price_per_hour"[^>]*data-value="([^"]+)"', row.group(1))
    assert price is not None
    assert price.group(1) == "2.49"
    assert "<span data-text>$2.49</span>" in row.group(1)
    assert "Quebec, CA" in row.group(1)
    assert 'data-availability="unavailable"' in html.split(str(market["l40s"].id))[1][:200]
    stale_row = html.split(f'data-offer-id="{market["stale"].id}"')[1].split("</tr>")[0]
    assert 'data-stale="true"' in stale_row
    assert "tag-stale" in stale_row


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("gpu=H100", {"h100", "h100x8"}),
        ("gpu=h100&max_price=5", {"h100"}),
        ("provider=beta&availability=available", {"a100", "4090"}),
        ("gpu_memory_min=48", {"h100", "h100x8", "a100", "l40s"}),
        ("gpu_memory_total_min=160", {"h100x8", "a100"}),
        ("gpu_count_min=2", {"h100x8", "a100"}),
        ("spot=true", {"4090"}),
        ("region=ca", {"h100"}),
    ],
)
def test_the_url_filters_the_table_as_the_listing_does(browser, market, query, expected):
    html = browser.get(f"/board/table?{query}").content
    ids = {row["data-offer-id"] for row in _inventory(html).rows}
    assert ids == {str(market[label].id) for label in expected}
    listing = browser.get(f"/api/v2/providers?{query}").json()
    assert {item["id"] for item in listing["items"]} == ids


def test_on_demand_pricing_is_no_spot_filter_and_keeps_spot_capable_offers(browser, market):
    html = browser.get("/").content.decode()
    select = re.search(r'<select id="f-spot" name="spot">(.*?)</select>', html, re.S)
    assert select is not None
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select.group(1))
    assert options == [("", " selected", "On-demand"), ("true", "", "Spot")]
    # The form sends `spot=` for On-demand: every offer, the spot-capable 4090 at its price.
    table = browser.get("/board/table?spot=").content
    ids = {row["data-offer-id"] for row in _inventory(table).rows}
    assert ids == {str(offer.id) for offer in market.values()}
    row = table.decode().split(f'data-offer-id="{market["4090"].id}"')[1].split("</tr>")[0]
    price = re.search(r'<td data-field="price_per_hour"[^>]*data-value="([^"]+)"', row)
    assert price is not None
    assert price.group(1) == "0.34"


def test_an_old_on_demand_link_with_spot_false_lists_every_offer_and_says_so(browser, market):
    # The board's On-demand once sent spot=false ("no spot option"): such a bookmark now shows
    # what the select says, On-demand, with a notice, not a table without spot-capable offers.
    html = browser.get("/?gpu=&spot=false").content.decode()
    ids = {row["data-offer-id"] for row in _inventory(html.encode()).rows}
    assert ids == {str(offer.id) for offer in market.values()}
    assert "Ignored spot=&#x27;false&#x27; (an older board link)" in html
    select = re.search(r'<select id="f-spot" name="spot">(.*?)</select>', html, re.S)
    assert select is not None
    assert '<option value="" selected>On-demand</option>' in select.group(1)
    # The API keeps its meaning: spot=false is the offers without a spot option.
    listing = browser.get("/api/v2/providers?spot=false").json()
    assert str(market["4090"].id) not in {item["id"] for item in listing["items"]}


def test_sort_links_toggle_and_keep_the_filters(browser, market):
    html = browser.get("/board/table?gpu=h100").content.decode()
    header = re.search(r'<th scope="col" data-field="price_per_hour" aria-sort="ascending"', html)
    assert header is not None
    assert 'href="?gpu=h100&amp;sort=-price"' in html
    descending = browser.get("/board/table?gpu=h100&sort=-price").content
    ids = [row["data-offer-id"] for row in _inventory(descending).rows]
    assert ids == [str(market["h100x8"].id), str(market["h100"].id)]
    assert b'data-field="price_per_hour" aria-sort="descending"' in descending
    assert b'href="?gpu=h100"' in descending


def test_pages_link_to_each_other(browser, market):
    first = browser.get("/board/table?per_page=10").content.decode()
    assert "Page 1 of 1" not in first  # six offers fit on one page of 10: no pagination at all
    assert 'rel="next"' not in first
    offers = browser.get("/board/table?page=2&per_page=10").content
    assert _inventory(offers).rows == []
    assert b"No offers on page 2 of 1." in offers


def test_a_page_past_the_last_says_so_and_links_to_the_last_page(browser, market):
    html = browser.get("/board/table?page=999&per_page=10&gpu=h100").content.decode()

    # Two H100 offers: one page of 10. Before, this read "showing 0-9980" (an en dash).
    assert "showing" not in html
    assert "no offers on page 999 of 1" in html
    assert 'href="?gpu=h100&amp;per_page=10" data-table-link data-last-page>' in html
    assert "Go to the last page (1)" in html
    assert 'rel="prev"' not in html  # one page: no pagination
    assert _inventory(html.encode()).rows == []
    second = browser.get("/board/table?page=2&per_page=10&gpu=h200").content.decode()
    assert "no offers on page" not in second  # nothing matches at all: no page to go back to
    assert "No offer matches these filters." in second


def test_an_estimated_total_is_said_to_be_about(browser, market):
    exact = browser.get("/board/table?per_page=10").content.decode()
    assert "about <strong>" not in exact
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE gpu_offers")
    # Above the exact-count bound the listing's total is PostgreSQL's estimate. A full page
    # is needed for a count at all (a partial first page is its own total).
    with override_settings(PROVIDERS_LIST_EXACT_COUNT_MAX=1):
        estimated = browser.get("/board/table?per_page=10&page=2").content.decode()
    assert "about <strong>" in estimated


def test_bad_parameters_are_named_and_left_out_never_a_500(browser, market):
    response = browser.get("/?max_price=-1&per_page=7&gpu=h100&sort=cheapest&page=zero")

    assert response.status_code == 200
    html = response.content.decode()
    for name in ("max_price", "per_page", "sort", "page"):
        assert f"Ignored {name}=" in html
    ids = {row["data-offer-id"] for row in _inventory(response.content).rows}
    assert ids == {str(market["h100"].id), str(market["h100x8"].id)}


def test_a_bad_gpu_count_suffix_is_named_and_left_out_as_the_listing_refuses_it(browser, market):
    response = browser.get("/?gpu=H100:0&provider=beta")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Ignored gpu=" in html
    assert "the GPU count after &#x27;:&#x27; must be a whole number from 1 to 1,000,000" in html
    ids = {row["data-offer-id"] for row in _inventory(html.encode()).rows}
    listing = browser.get("/api/v2/providers?provider=beta").json()
    assert ids == {item["id"] for item in listing["items"]}
    assert ids == {str(market[label].id) for label in ("a100", "4090", "l40s")}
    assert browser.get("/api/v2/providers?gpu=H100:0").status_code == 422


def test_the_fit_form_bounds_total_vram_and_shows_the_working(browser, market):
    html = browser.get(
        "/board/table?fit_model=llama-3-70b&fit_precision=fp8&fit_context=8192"
    ).content.decode()

    match = re.search(r'data-fit-vram="(\d+)"', html)
    assert match is not None
    # fp8 weights 70.55 GB + an 8,192-token fp16 KV cache 2.68 GB + the 2 GB runtime reserve,
    # over 90 % utilisation = 83.6 GB = 77.8 GiB as sold.
    assert match.group(1) == "78"
    assert "Llama 3 70B</strong> at fp8 with 8192 tokens" in html
    ids = {row["data-offer-id"] for row in _inventory(html.encode()).rows}
    # One H100 (80 GB) holds it now: the serving model's memory, not v1's flat overheads.
    assert ids == {str(market["h100"].id), str(market["h100x8"].id), str(market["a100"].id)}


def _cost_cells(html: str) -> dict[str, str]:
    """Offer id -> the data-value of its $/M tokens cell ("" when it has none)."""
    cells = {}
    for offer_id, row in re.findall(r'<tr data-offer-id="([^"]+)"(.*?)</tr>', html, flags=re.S):
        cell = re.search(r'data-field="cost_per_million_tokens"[^>]*?data-value="([^"]*)"', row)
        cells[offer_id] = cell.group(1) if cell else ""
    return cells


def test_with_a_fit_the_token_cost_and_its_legend_are_for_the_fits_model(browser, market):
    html = browser.get(
        "/board/table?fit_model=llama-3.1-70b&fit_context=32768&fit_precision=fp8"
    ).content.decode()

    assert "$/M tokens</abbr> assumes llama-3.1-70b at fp8 (the fit&#x27;s model)" in html
    assert "llama-3.1-8b" not in html
    vram = re.search(r'data-fit-vram="(\d+)"', html).group(1)
    listing = browser.get(
        f"/api/v2/providers?model=llama-3.1-70b&precision=fp8&gpu_memory_total_min={vram}"
    ).json()
    assert {item["cost_basis"]["model"] for item in listing["items"]} == {"llama-3.1-70b"}
    expected = {item["id"]: item["cost_per_million_tokens"] for item in listing["items"]}
    shown = _cost_cells(html)
    assert set(shown) == set(expected)
    assert any(value is not None for value in expected.values())
    for offer_id, value in expected.items():
        if value is None:
            assert shown[offer_id] == ""
        else:
            assert float(shown[offer_id]) == pytest.approx(value, rel=1e-6)


def test_the_legend_says_what_token_costs_assume_even_on_an_empty_page(browser, market):
    default = browser.get("/board/table").content.decode()
    assert "assumes llama-3.1-8b at fp16 (the listing&#x27;s default), 500-token prompts" in default
    empty = browser.get("/board/table?gpu=h200").content.decode()
    assert _inventory(empty.encode()).rows == []
    assert "cost_basis" not in empty
    assert "assumes llama-3.1-8b at fp16 (the listing&#x27;s default)" in empty
    named = browser.get("/board/table?model=llama-3.1-70b&fit_model=llama-3-8b").content.decode()
    assert "assumes llama-3.1-70b at fp16, 500-token prompts" in named  # the URL's own wins


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("fit_model=gpt-17", "unknown model 'gpt-17'"),
        ("fit_model=sdxl", "SDXL is not a language model"),
        ("fit_model=llama-2-7b&fit_context=8192", "Llama 2 7B holds 1 to 4,096 tokens"),
        ("fit_model=llama-3-8b&fit_precision=fp4", "precision must be one of"),
        ("fit_model=llama-3-8b&fit_context=lots", "context length must be a whole number"),
    ],
)
def test_a_fit_that_cannot_be_sized_says_why_and_filters_nothing(browser, market, query, message):
    response = browser.get(f"/board/table?{query}")
    assert response.status_code == 200
    assert message in html.unescape(response.content.decode())
    assert len(_inventory(response.content).rows) == 6


def test_the_drawer_has_specs_history_chart_and_kpi_working(browser, market):
    offer = market["h100"]
    html = browser.get(f"/board/offers/{offer.id}?window=7d").content.decode()

    assert '<h2 id="drawer-title">H100 SXM at alpha</h2>' in html
    assert 'data-chart data-window="7d"' in html or "No price recorded" in html
    assert '<a href="/offers/' in html
    assert 'data-window="30d"' in html
    assert "$2.49/h ÷ (" in html
    assert "TFLOPS fp32 peak" in html
    assert 'data-booking data-provider="alpha"' in html


def test_the_drawer_counts_replicas_and_gpus_in_the_plural(browser, market):
    one = browser.get(f"/board/offers/{market['h100'].id}").content.decode()
    eight = browser.get(f"/board/offers/{market['h100x8'].id}").content.decode()

    assert f"1 replica {TIMES} " in one
    assert "1 GPU per replica" in one
    assert f"8 replicas {TIMES} " in eight
    assert "8 replica " not in eight


def test_the_drawer_says_why_a_token_cost_is_missing(browser, market):
    small = offer_make(market["4090"].provider, "RTX 3070", "0.0900", gpu_memory_gb=8)
    drawer = browser.get(f"/board/offers/{small.id}").content.decode()
    reason = offer_get(offer_id=small.id).item["cost_reason"]

    # The listing's default model (llama-3.1-8b at fp16) needs four 8 GB cards.
    assert reason.startswith("needs 4 ")
    assert reason.endswith("RTX 3070 per replica; the offer has 1")
    assert f"<strong>$/M tokens</strong> is —: {html.escape(reason)}." in drawer
    table = browser.get("/board/table?gpu=RTX+3070").content.decode()
    assert f'title="{html.escape(reason)}"' in table


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/?gpu=%00&provider=beta", "gpu"),
        ("/board/table?provider=beta&region=eu%00", "region"),
        ("/board/table?provider=beta&%00=1", "\\x00"),
    ],
)
def test_a_nul_in_a_parameter_is_left_out_and_named_on_the_board(browser, market, path, name):
    response = browser.get(path)

    assert response.status_code == 200
    text = html.unescape(response.content.decode())
    assert f"Ignored {name}: must not contain a NUL character (U+0000)." in text
    ids = {row["data-offer-id"] for row in _inventory(response.content).rows}
    assert ids == {str(market[label].id) for label in ("a100", "4090", "l40s")}


def test_a_nul_in_an_offer_pages_parameter_is_left_out_and_named(browser, market):
    offer = market["h100"]
    page = browser.get(f"/offers/{offer.id}?window=%00")
    assert page.status_code == 200
    assert b"Ignored window: must not contain a NUL character (U+0000)." in page.content
    assert browser.get(f"/board/offers/{offer.id}?window=7d%00").status_code == 200
    row = browser.get(f"/board/offers/{offer.id}/row?gpu=h100%00")
    assert row.status_code == 200  # the filter left out: every offer matches
    # The API is unchanged: 422, naming the parameter now.
    api = browser.get("/api/v2/providers?gpu=%00&provider=beta")
    assert api.status_code == 422
    assert api.json()["error"]["details"]["fields"] == {
        "gpu": "must not contain a NUL character (U+0000)"
    }


def test_an_unknown_offer_is_a_404_page_not_a_500(browser, market):
    missing = uuid.uuid4()
    for url in (f"/offers/{missing}", f"/board/offers/{missing}"):
        response = browser.get(url)
        assert response.status_code == 404
        assert b"Offer not found" in response.content
    assert browser.get(f"/board/offers/{missing}/row").status_code == 204
    assert browser.get("/offers/not-a-uuid").status_code == 404


def test_the_row_fragment_answers_only_for_matching_offers(browser, market):
    offer = market["a100"]
    response = browser.get(f"/board/offers/{offer.id}/row?gpu=a100&max_price=2")
    assert response.status_code == 200
    assert _inventory(response.content).rows[0]["data-offer-id"] == str(offer.id)
    assert browser.get(f"/board/offers/{offer.id}/row?gpu=h100").status_code == 204
    assert browser.get(f"/board/offers/{offer.id}/row?max_price=1").status_code == 204


def test_the_page_is_get_only(browser, market):
    assert browser.post("/").status_code == 405


def test_assistant_parts_are_shown_only_when_its_routes_exist(browser, market):
    html = browser.get("/").content.decode()
    assert ("data-chat-url" in html) is route_exists(CHAT_STREAM_PATH)
    assert ("data-parse-url" in html) is route_exists(PARSE_WORKLOAD_PATH)
    assert route_exists("/api/v2/providers") is True
    assert route_exists("/api/v2/no-such-route") is False


def test_the_first_render_costs_a_bounded_number_of_queries(
    browser, market, django_assert_max_num_queries
):
    browser.get("/")  # warms the per-process GPU KPI map and the listing caches
    with django_assert_max_num_queries(10):
        response = browser.get("/?gpu=h100")
    assert response.status_code == 200


def test_the_columns_follow_the_listing_schema(market):
    keys = [column.key for column in visible_columns()]
    assert keys[:5] == ["gpu", "gpu_memory_gb", "provider", "region", "price_per_hour"]
    assert "availability" in keys
    assert "price_as_of" in keys


def _no_admin_policy(response: Any) -> bool:
    return "Content-Security-Policy" not in response


def test_the_admin_keeps_its_pages_without_the_board_policy(browser, market):
    assert _no_admin_policy(browser.get("/admin/login/"))
