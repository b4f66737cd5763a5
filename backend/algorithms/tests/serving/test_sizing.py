import json

import pytest

from algorithms.calibrate import REFERENCES_PATH
from algorithms.errors import AlgorithmInputError
from algorithms.offer_cost import offer_serving_cost, replica_layouts
from algorithms.sizing import Demand, ModelDoesNotFit, serving_plan

DONE_WHEN = json.loads(REFERENCES_PATH.read_text(encoding="utf-8"))["done_when"]
H100_PRICE = 2.50  # USD per GPU-hour, a test input (any price scales the cost linearly)


def done_when_plan(gpus):
    return serving_plan(
        model="Llama 3 70B",
        gpu=gpus["H100 SXM"],
        precision="fp8",
        prompt_tokens=500,
        output_tokens=200,
        context_tokens=32768,
        demand=Demand(requests_per_second=20),
        price_per_gpu_hour=H100_PRICE,
    )


def test_done_when_case_lands_in_the_range_published_benchmarks_support(gpus):
    plan = done_when_plan(gpus)
    low, high = DONE_WHEN["gpus_per_replica"]
    assert low <= plan.memory.gpus_per_replica <= high
    assert DONE_WHEN["replicas"][0] <= plan.replicas <= DONE_WHEN["replicas"][1]
    assert DONE_WHEN["total_gpus"][0] <= plan.total_gpus <= DONE_WHEN["total_gpus"][1]
    low, high = DONE_WHEN["gpu_hours_per_million_output_tokens"]
    assert low <= plan.gpu_hours_per_million_output_tokens <= high
    assert low * H100_PRICE <= plan.usd_per_million_output_tokens <= high * H100_PRICE
    assert plan.deployment_usd_per_hour == plan.total_gpus * H100_PRICE
    assert plan.memory.interconnect.is_nvlink_class


def test_done_when_case_warns_that_llama_3_is_published_with_8k_context(gpus):
    plan = done_when_plan(gpus)
    assert any("8,192-token context" in warning for warning in plan.warnings)


def test_done_when_answer_carries_its_working(gpus):
    plan = done_when_plan(gpus)
    steps = {step.name: step for step in plan.working}
    assert steps["precision"].value == "fp8"
    assert steps["precision"].kind == "input"
    assert steps["weights_gb"].unit == "GB"
    assert steps["weights_gb"].kind == "derived"
    assert steps["memory_bandwidth_efficiency"].kind == "estimate"
    assert steps["replicas"].value == plan.replicas
    assert steps["required_output_tokens_per_second"].value == 4000.0
    assert steps["usd_per_million_output_tokens"].unit == "USD"
    assert all(
        step.as_dict()["kind"] in {"input", "assumed", "spec", "measured", "estimate", "derived"}
        for step in plan.working
    )


def test_old_answer_of_twenty_h100s_for_a_million_tokens_an_hour_is_gone(gpus):
    plan = serving_plan(
        model="llama-3-70b",
        gpu=gpus["H100 SXM"],
        quality="standard",
        prompt_tokens=500,
        output_tokens=200,
        demand=Demand(total_output_tokens=1_000_000, deadline_hours=1),
        price_per_gpu_hour=H100_PRICE,
    )
    assert plan.precision == "fp16"
    assert 1 <= plan.total_gpus <= 4
    assert plan.usd_per_million_output_tokens_batch_1 > 10 * plan.usd_per_million_output_tokens


def test_concurrency_and_token_rate_demands(gpus):
    common = dict(
        model="llama-3.1-8b",
        gpu=gpus["H100 SXM"],
        precision="fp8",
        prompt_tokens=1000,
        output_tokens=1000,
    )
    by_concurrency = serving_plan(**common, demand=Demand(concurrency=3000))
    assert by_concurrency.replicas == -(-3000 // by_concurrency.serving_batch)
    by_rate = serving_plan(**common, demand=Demand(output_tokens_per_second=50_000))
    assert by_rate.replicas == -(-50_000 // by_rate.replica_output_tokens_per_second)
    assert 0 < by_rate.utilisation <= 1


def test_latency_target_caps_the_batch(gpus):
    free = serving_plan(
        model="llama-3.1-70b",
        gpu=gpus["H100 SXM"],
        precision="fp8",
        prompt_tokens=500,
        output_tokens=200,
    )
    capped = serving_plan(
        model="llama-3.1-70b",
        gpu=gpus["H100 SXM"],
        precision="fp8",
        prompt_tokens=500,
        output_tokens=200,
        max_inter_token_latency_ms=40,
    )
    assert capped.serving_batch < free.serving_batch
    assert capped.inter_token_latency_ms <= 40
    assert capped.batch_limit == "latency target"
    assert 1 <= free.knee_batch <= free.serving_batch


@pytest.mark.parametrize(
    "demand",
    [Demand(), Demand(requests_per_second=1, concurrency=2), Demand(total_output_tokens=10)],
)
def test_demand_needs_exactly_one_form(gpus, demand):
    with pytest.raises(AlgorithmInputError):
        serving_plan(
            model="llama-3.1-8b",
            gpu=gpus["H100 SXM"],
            prompt_tokens=10,
            output_tokens=10,
            demand=demand,
        )


def test_context_shorter_than_the_request_is_rejected(gpus):
    with pytest.raises(AlgorithmInputError) as error:
        serving_plan(
            model="llama-3.1-8b",
            gpu=gpus["H100 SXM"],
            prompt_tokens=1000,
            output_tokens=1000,
            context_tokens=1500,
        )
    assert error.value.field == "context_tokens"


def test_a_model_too_big_for_any_layout_raises_with_the_reason(gpus):
    with pytest.raises(ModelDoesNotFit) as error:
        serving_plan(
            model="llama-3.1-405b", gpu=gpus["RTX 4090"], prompt_tokens=100, output_tokens=100
        )
    assert error.value.field == "model"
    assert "GB" in error.value.message


def test_offer_cost_runs_as_many_replicas_as_fit(gpus):
    cost = offer_serving_cost(
        model="llama-3.3-70b",
        gpu=gpus["H100 SXM"],
        gpu_count=8,
        price_per_hour=20.0,
        precision="fp8",
        prompt_tokens=500,
        output_tokens=200,
    )
    assert cost.plan is not None
    assert cost.replicas == 8 // cost.plan.memory.gpus_per_replica
    assert cost.usd_per_million_output_tokens == pytest.approx(
        20.0 * 1e6 / (cost.output_tokens_per_second * 3600)
    )


def test_offer_that_cannot_hold_the_model_is_null_with_a_reason(gpus):
    small = offer_serving_cost(
        model="llama-3.3-70b",
        gpu=gpus["H100 SXM"],
        gpu_count=1,
        price_per_hour=2.5,
        prompt_tokens=500,
        output_tokens=200,
    )
    assert small.usd_per_million_output_tokens is None
    assert small.reason == "needs 2 x H100 SXM per replica; the offer has 1"
    nowhere = offer_serving_cost(
        model="llama-3.1-405b",
        gpu=gpus["RTX 3060"],
        gpu_count=1,
        price_per_hour=0.1,
        prompt_tokens=500,
        output_tokens=200,
    )
    assert nowhere.usd_per_million_output_tokens is None
    assert nowhere.reason


def test_a_tiny_demand_still_takes_one_replica(gpus):
    plan = serving_plan(
        model="llama-3.1-8b",
        gpu=gpus["H100 SXM"],
        prompt_tokens=500,
        output_tokens=200,
        demand=Demand(total_output_tokens=1e-15, deadline_hours=1),
    )
    assert plan.replicas == 1
    assert 0 < plan.utilisation < 1e-15


@pytest.mark.parametrize(
    ("model", "precision"),
    [("llama-3.1-8b", "fp16"), ("llama-3.3-70b", "fp8"), ("qwen3-30b-a3b", "fp16")],
)
def test_dropping_dominated_layouts_never_changes_the_best_use_of_an_offer(gpus, model, precision):
    for gpu in gpus.values():
        layouts = replica_layouts(
            model=model, gpu=gpu, prompt_tokens=500, output_tokens=200, precision=precision
        )
        kept = layouts.efficient_layouts()
        assert set(kept) <= set(layouts.layouts)
        for count in range(1, 17):
            best = layouts.best_for(count)
            tokens = [
                count // layout.gpus_per_replica * layout.output_tokens_per_second
                for layout in kept
            ]
            if best is None:
                assert not any(tokens)
            else:
                assert best[1] * best[0].output_tokens_per_second == max(tokens)
