import pytest

from algorithms.errors import AlgorithmInputError
from algorithms.kpi import (
    bytes_per_param,
    cost_per_gflop,
    cost_per_token,
    decode_tokens_per_second,
    gpus_needed_for_memory,
    parse_model_size,
)

GPU = {"memory_bandwidth_gbps": 1000.0, "dense_tflops": 100.0, "vram_gb": 24.0}


def test_decode_is_memory_bound_at_batch_one():
    # 7B fp16 = 14 GB read per token; 0.6 x 1000 GB/s / 14 GB.
    tokens = decode_tokens_per_second(params_billion=7, bytes_per_param=2, **GPU)

    assert tokens == pytest.approx(0.6 * 1000 / 14, rel=1e-12)


def test_decode_becomes_compute_bound_with_large_batches():
    # Compute bound: 0.6 x 100e12 FLOP/s / (2 x 7e9 FLOP per token) = 4285.71 tokens/s.
    tokens = decode_tokens_per_second(params_billion=7, bytes_per_param=2, batch_size=256, **GPU)

    assert tokens == pytest.approx(0.6 * 100e12 / 14e9, rel=1e-12)


def test_decode_returns_none_when_weights_do_not_fit():
    # 70B fp16 = 140 GB; 140 x 1.1 / (80 - 1) = 1.95 -> needs two 80 GB GPUs.
    h100 = {"memory_bandwidth_gbps": 3350.0, "dense_tflops": 989.4, "vram_gb": 80.0}

    single = decode_tokens_per_second(params_billion=70, bytes_per_param=2, **h100)
    pair = decode_tokens_per_second(params_billion=70, bytes_per_param=2, gpu_count=2, **h100)

    assert single is None
    assert pair == pytest.approx(0.6 * 2 * 3350 / 140, rel=1e-12)


def test_decode_honours_quantisation_and_efficiency():
    tokens = decode_tokens_per_second(
        params_billion=70, bytes_per_param=0.5, efficiency=0.5, **{**GPU, "vram_gb": 48.0}
    )

    assert tokens == pytest.approx(0.5 * 1000 / 35, rel=1e-12)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"params_billion": 0}, "params_billion"),
        ({"memory_bandwidth_gbps": -1.0}, "memory_bandwidth_gbps"),
        ({"dense_tflops": float("nan")}, "dense_tflops"),
        ({"gpu_count": 0}, "gpu_count"),
        ({"gpu_count": 1.5}, "gpu_count"),
        ({"batch_size": True}, "batch_size"),
        ({"efficiency": 1.5}, "efficiency"),
        ({"vram_gb": 1.0}, "vram_gb"),
    ],
)
def test_decode_rejects_bad_input(overrides, field):
    arguments = {"params_billion": 7, "bytes_per_param": 2, **GPU, **overrides}

    with pytest.raises(AlgorithmInputError) as error:
        decode_tokens_per_second(**arguments)

    assert error.value.field == field


def test_gpus_needed_for_memory_keeps_an_exact_fit():
    # 20 x 1.1 = 22.000000000000004 in floating point; 22 / (12 - 1) must still be 2 GPUs.
    assert gpus_needed_for_memory(model_memory_gb=20, vram_gb=12) == 2
    assert gpus_needed_for_memory(model_memory_gb=20.1, vram_gb=12) == 3
    assert gpus_needed_for_memory(model_memory_gb=1, vram_gb=80) == 1


def test_cost_per_token():
    result = cost_per_token(price_per_hour=2.0, tokens_per_second=50.0)

    assert result.cost_per_token == pytest.approx(2.0 / 180_000, rel=1e-12)
    assert result.cost_per_million_tokens == pytest.approx(2.0 / 180_000 * 1e6, rel=1e-12)


def test_cost_per_gflop():
    # 100 TFLOP/s for an hour = 3.6e8 GFLOP for 3.6 -> 1e-8 per GFLOP; 0.036 per TFLOP-hour.
    result = cost_per_gflop(price_per_hour=3.6, tflops=100.0)

    assert result.cost_per_gflop == pytest.approx(1e-8, rel=1e-12)
    assert result.cost_per_tflop_hour == pytest.approx(0.036, rel=1e-12)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: cost_per_token(price_per_hour=0, tokens_per_second=10), "price_per_hour"),
        (lambda: cost_per_token(price_per_hour=-1, tokens_per_second=10), "price_per_hour"),
        (lambda: cost_per_token(price_per_hour="1", tokens_per_second=10), "price_per_hour"),
        (
            lambda: cost_per_token(price_per_hour=float("inf"), tokens_per_second=10),
            "price_per_hour",
        ),
        (lambda: cost_per_token(price_per_hour=1, tokens_per_second=0), "tokens_per_second"),
        (lambda: cost_per_gflop(price_per_hour=float("nan"), tflops=10), "price_per_hour"),
        (lambda: cost_per_gflop(price_per_hour=1, tflops=0), "tflops"),
    ],
)
def test_costs_reject_bad_input(call, field):
    with pytest.raises(AlgorithmInputError) as error:
        call()

    assert error.value.field == field


@pytest.mark.parametrize(
    ("label", "billions"),
    [
        ("8b", 8.0),
        ("70B", 70.0),
        ("405b", 405.0),
        ("1.5b", 1.5),
        (" 7 b ", 7.0),
        ("125m", 0.125),
        ("8x7b", 46.7),
        ("8X22B", 141.0),
    ],
)
def test_parse_model_size(label, billions):
    assert parse_model_size(label) == billions


@pytest.mark.parametrize("label", ["", "b", "seven", "7", "7gb", "-7b", "0b", "3001b", "4x7b", 7])
def test_parse_model_size_rejects_garbage(label):
    with pytest.raises(AlgorithmInputError) as error:
        parse_model_size(label)

    assert error.value.field == "model_size"


def test_bytes_per_param_table():
    table = {p: bytes_per_param(p) for p in ("fp32", "fp16", "bf16", "fp8", "int8", "int4")}

    assert table == {"fp32": 4, "fp16": 2, "bf16": 2, "fp8": 1, "int8": 1, "int4": 0.5}
    assert bytes_per_param("FP16") == 2


def test_bytes_per_param_rejects_unknown_precision():
    with pytest.raises(AlgorithmInputError, match="unknown value 'fp64'") as error:
        bytes_per_param("fp64")

    assert error.value.field == "precision"
