"""The builtin backend's rules on their own: budgets, GPU choices, follow-up answers."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from apps.ai_assistant.backends.base import ChatRequest, ChatTurn
from apps.ai_assistant.backends.builtin import choose_tiers, hourly_budget, with_earlier_answers
from apps.ai_assistant.backends.builtin_answer import ask_for_workload, budget_text
from apps.ai_assistant.parser import parse_workload
from apps.ai_assistant.parser_types import Budget
from apps.ai_assistant.tool_inputs import ToolCaller


@pytest.mark.parametrize(
    ("budget", "duration", "expected"),
    [
        (Budget(2.0, "USD", "hour"), None, (2.0, False, None)),
        (Budget(48.0, "USD", "day"), None, (2.0, False, None)),
        (Budget(730.0, "USD", "month"), None, (1.0, False, None)),
        (Budget(1.5, "USD", "hour", per_gpu=True), None, (1.5, True, None)),
        (Budget(500.0, "USD", "total"), 100.0, (5.0, False, None)),
    ],
)
def test_budgets_become_a_price_per_hour(
    budget: Budget, duration: float | None, expected: tuple[Any, ...]
) -> None:
    assert hourly_budget(budget, duration) == expected


def test_budgets_that_cannot_be_compared_say_why() -> None:
    limit, per_gpu, note = hourly_budget(Budget(500.0, "USD", "total"), None)
    assert (limit, per_gpu) == (None, False)
    assert note == (
        "A total budget of 500 USD needs a duration to compare with hourly prices, so it is "
        "not applied."
    )
    limit, _, note = hourly_budget(Budget(3.0, "EUR", "hour"), None)
    assert limit == 3.0
    assert note == "Offers are priced in USD; your EUR budget is compared as is."
    assert hourly_budget(None, 5.0) == (None, False, None)


def _tier(gpu: str, price: float, *, count: int = 1, vendor: str = "nvidia") -> dict[str, Any]:
    vram = {"H100 SXM": 80.0, "A100 SXM 80GB": 80.0, "A100 SXM 40GB": 40.0}.get(gpu, 24.0)
    return {
        "gpu_model": gpu,
        "gpus_needed": count,
        "gpu_vram_gb": vram,
        "vendor": vendor,
        "is_consumer": gpu.startswith("RTX 4"),
        "price_per_hour": {"min": price, "max": price * 2},
    }


TIERS = [
    _tier("H100 SXM", 4.0, count=2),
    _tier("MI300X", 1.8, vendor="amd"),
    _tier("RTX 4090", 1.0, count=4),
    _tier("A100 SXM 80GB", 3.0, count=2),
    _tier("A100 SXM 40GB", 2.5, count=3),
]


def _names(tiers: list[dict[str, Any]]) -> list[str]:
    return [tier["gpu_model"] for tier in tiers]


def test_exclusions_preferences_and_budget_shape_the_options() -> None:
    parsed = parse_workload("serve llama 3 70b, no consumer cards, no AMD")
    kept, notes = choose_tiers(TIERS, parsed, budget_per_hour=None)
    assert _names(kept) == ["A100 SXM 40GB", "A100 SXM 80GB", "H100 SXM"]
    assert notes == ["Left out as you asked: consumer, AMD."]
    parsed = parse_workload("serve llama 3 70b on A100 80GB")
    assert _names(choose_tiers(TIERS, parsed, None)[0]) == ["A100 SXM 80GB"]
    parsed = parse_workload("serve llama 3 70b on A100s")
    assert _names(choose_tiers(TIERS, parsed, 2.8)[0]) == ["A100 SXM 40GB"]
    parsed = parse_workload("serve llama 3 70b, not on the A100 40GB")
    assert "A100 SXM 40GB" not in _names(choose_tiers(TIERS, parsed, None)[0])


def test_a_preference_that_cannot_hold_the_workload_is_said_and_dropped() -> None:
    parsed = parse_workload("serve llama 3 70b on an L4")
    kept, notes = choose_tiers(TIERS, parsed, budget_per_hour=None)
    assert _names(kept) == ["RTX 4090", "MI300X", "A100 SXM 40GB", "A100 SXM 80GB", "H100 SXM"]
    assert notes == ["No L4 option can hold this workload with current offers."]


def _request(message: str, *turns: tuple[str, str]) -> ChatRequest:
    return ChatRequest(
        message=message,
        parsed=parse_workload(message),
        session_id=uuid.uuid4(),
        caller=ToolCaller(),
        history=tuple(ChatTurn(user, assistant) for user, assistant in turns),
    )


def test_an_answer_to_a_question_inherits_what_it_does_not_say() -> None:
    request = _request(
        "Qwen2 72B",
        ("fine-tune something in bf16 in Germany for 3 hours", "Which model do you want?"),
    )
    parsed, carried = with_earlier_answers(request)
    assert parsed.model is not None
    assert parsed.model.value.name == "Qwen2 72B"
    assert parsed.workload_type is not None
    assert parsed.workload_type.value == "fine_tuning"
    assert carried == ["precision", "duration_hours", "region", "workload_type"]


def test_a_new_question_after_an_answer_starts_afresh() -> None:
    request = _request("serve Mistral 7B", ("serve llama 3 8b under $1/h", "Best offers: ..."))
    parsed, carried = with_earlier_answers(request)
    assert parsed.budget is None
    assert carried == []


@pytest.mark.parametrize(
    ("budget", "text"),
    [
        (Budget(500.0, "USD", "total"), "$500 in total"),
        (Budget(1.5, "EUR", "hour", per_gpu=True), "€1.50 per GPU-hour"),
        (Budget(1200.0, "GBP", "month"), "£1,200 a month"),
    ],
)
def test_a_budget_is_restated_from_its_value(budget: Budget, text: str) -> None:
    assert budget_text(budget) == text


def test_a_budget_said_with_the_word_budget_is_not_doubled() -> None:
    reply = ask_for_workload(parse_workload("budget $500 total"))
    assert "So far I have: a budget of $500 in total. " in reply
