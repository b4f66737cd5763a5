"""schemathesis against a running GPUBROKER: the suite's fuzz test and `make fuzz`.

    python -m gpubroker.testing.fuzz [--max-examples 60] [--seed 17]

(`make fuzz` runs it with the embedded servers, or DATABASE_URL/REDIS_URL when set.) It
migrates the database it is given, loads the replayed demo market, starts one server process
(`gpubroker.testing.processes.daphne_server`, the same daphne every deployment runs) with the
rate limits raised (the limiter still on), registers a user, and runs schemathesis's CLI three
times over the live `/api/v2/openapi.json`: anonymous, with that user's bearer token, and
signed up by schemathesis itself through the document's register -> login links. Each run
covers every operation through schemathesis's phases (coverage, fuzzing, and the stateful
phase over the document's links, `api/v2/openapi.py`: register -> login -> me / refresh, the
listing -> an offer -> its history) with a fixed seed; `linked_chains` counts, from the HAR,
the chains followed end to end with real values.

Checks (`CHECKS`): no 5xx, status codes, content types, headers and bodies as documented,
schema-violating input refused, a missing or ignored token noticed, and `error_envelope`
(fuzz_checks.py): the SPEC envelope on every status of 400 or more.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "ignored_auth",
    "error_envelope",
)
#: Rate limits of the fuzzed server: high enough for a fuzzer, with the limiter still running.
FUZZ_SERVER_ENV = {
    "RATE_LIMIT_ANON_RPS": "100000",
    "RATE_LIMIT_IP_PER_MINUTE": "10000000",
    "RATE_LIMIT_FREE_RPS": "100000",
    "RATE_LIMIT_LOGIN_PER_MINUTE": "100000",
    "AI_CHAT_FREE_PER_MINUTE": "100000",
}
FUZZ_PASSWORD = "fuzzing passphrase 17"  # noqa: S105 (a throwaway user of the fuzzed server)
ALL_PHASES = "coverage,fuzzing,stateful"
SUITE_MAX_EXAMPLES = 8
SUITE_PHASES = "fuzzing,stateful"
SEED = 17


@dataclass(frozen=True)
class FuzzRun:
    """One schemathesis run: requests sent (from its HAR), test cases, failures, its output."""

    label: str
    exit_code: int
    requests: int
    test_cases: int
    operations_tested: int
    operations_total: int
    failures: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    output: str
    #: Link chains the HAR shows followed end to end (`linked_chains`).
    chains: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.failures and not self.errors

    def summary(self) -> str:
        outcome = "ok" if self.ok else f"FAILED (exit {self.exit_code})"
        found = "; ".join(f"{f['code']} {f['title']} x{f['count']}" for f in self.failures)
        errors = "; ".join(f"{e['title']} x{e['count']}" for e in self.errors)
        detail = " ".join(part for part in (found, errors) if part)
        operations = f"{self.operations_tested}/{self.operations_total} operations"
        head = f"{self.label}: {self.requests} requests, {self.test_cases} test cases, {operations}"
        followed = ", ".join(f"{name} x{count}" for name, count in self.chains.items())
        chains = f"; links followed: {followed}" if followed else ""
        return f"{head}, {outcome}" + (f" [{detail}]" if detail else "") + chains


def linked_chains(entries: list[dict[str, Any]]) -> dict[str, int]:
    """How often a HAR's requests follow the OpenAPI links end to end, by chain.

    `register -> login -> me`: a 201 registration whose email and password a later 200 login
    sent, whose access token a later 200 `GET /auth/me` carried. `listing -> offer -> history`:
    a 200 offer detail and a 200 history of an id a 200 listing returned.
    """

    def body(text: str | None) -> Any:
        try:
            return json.loads(text or "")
        except ValueError:
            return None

    registered: set[tuple[str, str]] = set()
    tokens: set[str] = set()
    listed: set[str] = set()
    detailed: set[str] = set()
    chains = {"register -> login -> me": 0, "listing -> offer -> history": 0}
    for entry in entries:
        request, response = entry["request"], entry["response"]
        path, status = urlsplit(request["url"]).path, response["status"]
        sent = body((request.get("postData") or {}).get("text"))
        got = body((response.get("content") or {}).get("text"))
        if path.endswith("/auth/register") and status == 201 and isinstance(sent, dict):
            registered.add((str(sent.get("email")), str(sent.get("password"))))
        elif path.endswith("/auth/login") and status == 200 and isinstance(sent, dict):
            if (str(sent.get("email")), str(sent.get("password"))) in registered:
                tokens.add(str((got or {}).get("access_token")))
        elif path.endswith("/auth/me") and status == 200:
            headers = {h["name"].lower(): h["value"] for h in request.get("headers", [])}
            if headers.get("authorization", "").removeprefix("Bearer ") in tokens:
                chains["register -> login -> me"] += 1
        elif path.endswith("/api/v2/providers") and status == 200 and isinstance(got, dict):
            listed.update(str(item.get("id")) for item in got.get("items", [])[:1])
        elif "/offers/" in path and status == 200:
            offer_id = path.split("/offers/")[1].split("/")[0]
            if path.endswith("/history") and offer_id in listed | detailed:
                chains["listing -> offer -> history"] += offer_id in detailed
            elif offer_id in listed:
                detailed.add(offer_id)
    return chains


def fuzz_token(base_url: str) -> str:
    """Register a new fuzz user, log in, return its access token."""
    email = f"fuzz-{uuid.uuid4().hex[:12]}@example.com"
    with httpx.Client(base_url=base_url, timeout=30) as client:
        registered = client.post(
            "/api/v2/auth/register",
            json={"email": email, "password": FUZZ_PASSWORD, "full_name": "Fuzz"},
        )
        registered.raise_for_status()
        response = client.post(
            "/api/v2/auth/login", json={"email": email, "password": FUZZ_PASSWORD}
        )
        response.raise_for_status()
        return str(response.json()["access_token"])


def fuzz_api(
    base_url: str,
    *,
    label: str,
    report_dir: Path,
    max_examples: int,
    seed: int = SEED,
    token: str | None = None,
    signup: bool = False,
    phases: str = ALL_PHASES,
) -> FuzzRun:
    """Run `st run` over the live OpenAPI document of `base_url` and read its reports.

    `phases`: schemathesis's phases, comma-separated (coverage, fuzzing, stateful).
    """
    report_dir.mkdir(parents=True, exist_ok=True)
    har_path, json_path = report_dir / f"{label}.har", report_dir / f"{label}.json"
    # With `signup`, schemathesis signs up through the document's register -> login links
    # and sends that user's bearer token from then on; without, the run stays anonymous (or
    # uses `token`).
    config = report_dir / f"{label}.toml"
    config.write_text(f"[auth]\nauto-signup = {'true' if signup else 'false'}\n")
    command = [
        str(Path(sys.executable).parent / "st"),
        "--config-file",
        str(config),
        "run",
        f"{base_url}/api/v2/openapi.json",
        "--seed",
        str(seed),
        "--max-examples",
        str(max_examples),
        "--phases",
        phases,
        "--workers",
        "1",
        "--checks",
        ",".join(CHECKS),
        "--request-timeout",
        "30",
        "--report",
        "json,har",
        # The HAR keeps the tokens links carry (throwaway users of a test database), so that
        # `linked_chains` can see a login's token reach /auth/me.
        "--output-sanitize",
        "false",
        "--report-har-path",
        str(har_path),
        "--report-json-path",
        str(json_path),
    ]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "gpubroker.testing.fuzz_checks", "NO_COLOR": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    report = json.loads(json_path.read_text()) if json_path.exists() else {}
    entries = json.loads(har_path.read_text())["log"]["entries"] if har_path.exists() else []
    return FuzzRun(
        label=label,
        exit_code=result.returncode,
        requests=len(entries),
        test_cases=int(report.get("test_cases", {}).get("generated", 0)),
        operations_tested=int(report.get("operations", {}).get("tested", 0)),
        operations_total=int(report.get("operations", {}).get("total", 0)),
        failures=list(report.get("failures", [])),
        errors=list(report.get("errors", [])),
        output=result.stdout + result.stderr,
        chains=linked_chains(entries),
    )


# (label, with the registered user's bearer token, signed up by schemathesis through the links)
RUNS: tuple[tuple[str, bool, bool], ...] = (
    ("anonymous", False, False),
    ("bearer", True, False),
    ("signed-up", False, True),
)


def fuzz_both(
    base_url: str, report_dir: Path, *, max_examples: int, seed: int, phases: str = ALL_PHASES
) -> list[FuzzRun]:
    """`RUNS` in order: anonymous, with a registered user's token, signed up through the links."""
    token = fuzz_token(base_url)
    return [
        fuzz_api(
            base_url,
            label=label,
            report_dir=report_dir,
            max_examples=max_examples,
            seed=seed,
            token=token if with_token else None,
            signup=signup,
            phases=phases,
        )
        for label, with_token, signup in RUNS
    ]


def main(argv: list[str] | None = None) -> int:
    """`make fuzz`: prepare the database, serve it, fuzz it three times, print the figures."""
    parser = argparse.ArgumentParser(description="Fuzz the live API with schemathesis.")
    parser.add_argument("--max-examples", type=int, default=60)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--report-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gpubroker.settings.test")
    import django
    from django.core.management import call_command

    django.setup()
    from gpubroker.testing.market import demo_market_load
    from gpubroker.testing.processes import daphne_server

    call_command("migrate", interactive=False, verbosity=0)
    offers = demo_market_load()
    report_dir = args.report_dir or Path(tempfile.mkdtemp(prefix="gpubroker-fuzz-"))
    report_dir.mkdir(parents=True, exist_ok=True)
    with daphne_server(report_dir, env=FUZZ_SERVER_ENV) as server:
        runs = fuzz_both(
            server.base_url, report_dir, max_examples=args.max_examples, seed=args.seed
        )
    for run in runs:
        if not run.ok:
            print(run.output)
    print(f"market: {offers} offers replayed; seed {args.seed}; max examples {args.max_examples}")
    for run in runs:
        print(run.summary())
    print(f"total: {sum(run.requests for run in runs)} requests; reports in {report_dir}")
    return 0 if all(run.ok for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
