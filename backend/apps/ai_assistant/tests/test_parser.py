"""The workload parser against a table of phrasings (tests/data/parser_cases.json).

Each case names every field the parser must find, with its value (objects compared on the keys
given) and the exact text it came from; every field a case does not name must be absent, so a
false positive fails as surely as a miss.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from apps.ai_assistant.parser import parse_workload

CASES = json.loads((Path(__file__).parent / "data" / "parser_cases.json").read_text("utf-8"))[
    "cases"
]
LIST_FIELDS = ("gpu_preferences", "gpu_exclusions")


def _problems(expected: dict[str, Any] | None, found: dict[str, Any] | None) -> list[str]:
    if expected is None:
        return [] if found is None else [f"unexpected {found['text']!r}"]
    if found is None:
        return [f"missing (expected {expected['text']!r})"]
    found = json.loads(json.dumps(found))  # tuples as lists, as the API sends them
    problems = []
    if found["text"] != expected["text"]:
        problems.append(f"text {found['text']!r} != {expected['text']!r}")
    if isinstance(expected["value"], dict):
        for key, value in expected["value"].items():
            if found["value"].get(key) != value:
                problems.append(f"{key} {found['value'].get(key)!r} != {value!r}")
    elif found["value"] != expected["value"]:
        problems.append(f"value {found['value']!r} != {expected['value']!r}")
    return problems


def test_the_table_has_at_least_sixty_phrasings() -> None:
    assert len(CASES) >= 60
    assert len({case["text"] for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["text"][:60] for case in CASES])
def test_phrasing(case: dict[str, Any]) -> None:
    fields = parse_workload(case["text"]).fields()
    assert set(case["expect"]) <= set(fields), "the table names a field the parser lacks"
    problems = []
    for name, found in fields.items():
        expected = case["expect"].get(name)
        if name in LIST_FIELDS:
            expected = expected or []
            if len(expected) != len(found):
                problems.append(f"{name}: found {[f['text'] for f in found]}")
                continue
            for want, got in zip(expected, found, strict=True):
                problems += [f"{name}: {p}" for p in _problems(want, got)]
        else:
            problems += [f"{name}: {p}" for p in _problems(expected, found)]
    assert problems == []


@pytest.mark.parametrize("case", CASES, ids=[case["text"][:60] for case in CASES])
def test_every_span_points_at_its_text(case: dict[str, Any]) -> None:
    text = case["text"]
    fields = parse_workload(text).fields()
    spans = [value for value in fields.values() if isinstance(value, dict)]
    spans += [item for name in LIST_FIELDS for item in fields[name]]
    for span in spans:
        assert text[span["start"] : span["end"]] == span["text"]
        assert span["text"] == span["text"].strip()


def test_what_an_estimate_needs_is_reported_missing() -> None:
    assert parse_workload("hello there").missing == ("workload_type", "model")
    assert parse_workload("serve something fast").missing == ("model",)
    assert parse_workload("fine-tune llama 3 8b").missing == ("quantity", "duration_hours")
    assert parse_workload("serve Llama 3 70B in fp8").missing == ()


def test_v1_keys_carry_plain_values() -> None:
    parsed = parse_workload("generate 10,000 images in Germany within 3 hours, in fp16")
    assert parsed.v1_summary() == {
        "workload_type": "image_generation",
        "quantity": 10000.0,
        "duration": 3.0,
        "region": "Germany",
        "quality": "high",
    }


def test_parsing_is_deterministic_and_leaves_the_text_alone() -> None:
    text = "Serve Llama 3.1 70B at FP8 in the EU under $15/hour, spot is fine"
    first, second = parse_workload(text), parse_workload(text)
    assert first == second
    assert first.text == text


def test_the_parser_needs_no_django() -> None:
    # lint-imports checks the imports; this checks what importing it loads, at run time.
    import subprocess
    import sys

    code = (
        "import sys, apps.ai_assistant.parser as p; p.parse_workload('serve llama 3 8b in DE'); "
        "sys.exit(1 if any(m == 'django' or m.startswith('django.') for m in sys.modules) else 0)"
    )
    backend = Path(__file__).resolve().parents[3]
    result = subprocess.run([sys.executable, "-c", code], cwd=backend, check=False)
    assert result.returncode == 0


def test_a_number_starts_only_where_its_run_of_digits_does() -> None:
    # Every pattern built on NUMBER then tries each run of digits once: a 4,000-digit message
    # (found by fuzzing /ai/parse-workload) took a minute when each digit was a new start.
    import re

    from apps.ai_assistant import parser_terms

    number = re.compile(parser_terms.NUMBER)
    assert number.match("12,345.5 GPUs").group() == "12,345.5"
    assert number.match("12345", 1) is None
    assert [m.group() for m in number.finditer("8 x 80 GB, 1,000 tokens")] == ["8", "80", "1,000"]


def test_a_long_run_of_digits_parses_to_nothing_it_did_not_say() -> None:
    parsed = parse_workload("0" * 4000)
    assert tuple(parsed.missing) == ("workload_type", "model")
