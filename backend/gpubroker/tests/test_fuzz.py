"""schemathesis against a live server process, anonymous and with a bearer token (issue 17).

Sized for the suite (under two minutes on the 2-core machine): both runs take the fuzzing and
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
    fuzz_api,
    fuzz_token,
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
        token = fuzz_token(server.base_url)
        runs = [
            fuzz_api(
                server.base_url,
                label=label,
                report_dir=tmp_path,
                max_examples=SUITE_MAX_EXAMPLES,
                seed=SEED,
                token=bearer,
                phases=SUITE_PHASES,
            )
            for label, bearer in (("anonymous", None), ("bearer", token))
        ]
    for run in runs:
        assert run.ok, run.summary() + "\n" + run.output
        assert run.operations_total > 25
        assert run.operations_tested == run.operations_total, run.summary()
        # Operations without inputs (GET /ai/tools) need one request, not SUITE_MAX_EXAMPLES.
        assert run.requests > run.operations_total * 5, run.summary()
