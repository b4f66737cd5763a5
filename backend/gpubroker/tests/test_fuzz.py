"""schemathesis against a live server process: anonymous, with a bearer token, and signed up
through the document's links (issue 17).

Sized for the suite (about two minutes on the 2-core machine): the runs take the fuzzing and
stateful phases over every operation with a few examples each. `make fuzz` adds the coverage
phase (every documented boundary and each kind of bad input) and many more examples.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gpubroker.testing.fuzz import (
    FUZZ_SERVER_ENV,
    SEED,
    SUITE_MAX_EXAMPLES,
    SUITE_PHASES,
    fuzz_both,
    linked_chains,
)
from gpubroker.testing.market import demo_market_load
from gpubroker.testing.processes import daphne_server


@pytest.mark.slow
# Under two minutes alone; the margin is for a machine shared with other runs.
@pytest.mark.timeout(900)
@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_no_failure_in_the_live_api(tmp_path: Path) -> None:
    assert demo_market_load() > 100
    with daphne_server(tmp_path, env=FUZZ_SERVER_ENV) as server:
        runs = fuzz_both(
            server.base_url,
            tmp_path,
            max_examples=SUITE_MAX_EXAMPLES,
            seed=SEED,
            phases=SUITE_PHASES,
        )
    for run in runs:
        assert run.ok, run.summary() + "\n" + run.output
        assert run.operations_total > 25
        assert run.operations_tested == run.operations_total, run.summary()
        # Operations without inputs (GET /ai/tools) need one request, not SUITE_MAX_EXAMPLES.
        assert run.requests > run.operations_total * 5, run.summary()
        # The stateful phase follows the document's links with real values end to end.
        assert run.chains["listing -> offer -> history"] > 0, run.summary()
    # Signed up through the document's links (register -> login), the token login answered
    # is the one /auth/me is called with.
    assert runs[2].chains["register -> login -> me"] > 0, runs[2].summary()


def _entry(
    method: str, path: str, status: int, sent: object = None, got: object = None, **headers: str
):
    import json

    request: dict = {
        "method": method,
        "url": f"http://127.0.0.1:8000/api/v2{path}",
        "headers": [{"name": k, "value": v} for k, v in headers.items()],
    }
    if sent is not None:
        request["postData"] = {"text": json.dumps(sent)}
    return {
        "request": request,
        "response": {"status": status, "content": {"text": json.dumps(got)}},
    }


def test_linked_chains_count_only_chains_carried_end_to_end() -> None:
    creds = {"email": "a@example.com", "password": "pw-123456789"}
    offer = "7d0c3c5e-1111-4222-8333-944445555666"
    entries = [
        _entry("POST", "/auth/register", 201, {**creds, "full_name": "A"}, {"id": 1}),
        _entry("POST", "/auth/login", 200, creds, {"access_token": "T1"}),
        _entry("GET", "/auth/me", 200, Authorization="Bearer T1"),
        _entry("GET", "/auth/me", 200, Authorization="Bearer other"),  # not from the chain
        _entry(
            "POST",
            "/auth/login",
            200,
            {"email": "b@example.com", "password": "x"},
            {"access_token": "T2"},
        ),
        _entry("GET", "/auth/me", 200, Authorization="Bearer T2"),  # never registered here
        _entry("GET", "/providers/offers/" + offer + "/history", 200),  # before any listing
        _entry("GET", "/providers", 200, got={"items": [{"id": offer}]}),
        _entry("GET", "/providers/offers/" + offer, 200),
        _entry("GET", "/providers/offers/" + offer + "/history", 200),
    ]
    assert linked_chains(entries) == {
        "register -> login -> me": 1,
        "listing -> offer -> history": 1,
    }
