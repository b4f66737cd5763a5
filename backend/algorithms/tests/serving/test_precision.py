import pytest

from algorithms.errors import AlgorithmInputError
from algorithms.precision import (
    BYTES_PER_WEIGHT,
    compute_rate,
    kv_precision,
    precision_from_quality,
    weight_precision,
)


@pytest.mark.parametrize(
    ("quality", "precision"),
    [
        ("low", "int4"),
        ("medium", "int8"),
        ("high", "fp16"),
        ("standard", "fp16"),
        ("STANDARD", "fp16"),
    ],
)
def test_v1_quality_maps_onto_a_precision(quality, precision):
    assert precision_from_quality(quality) == precision


def test_unknown_quality_names_the_field():
    with pytest.raises(AlgorithmInputError) as error:
        precision_from_quality("ultra")
    assert error.value.field == "quality"


@pytest.mark.parametrize(
    ("spelling", "precision"),
    [
        ("FP8", "fp8"),
        ("bfloat16", "bf16"),
        ("float16", "fp16"),
        ("awq", "int4"),
        ("INT8", "int8"),
        ("fp32", "fp32"),
    ],
)
def test_precision_spellings(spelling, precision):
    assert weight_precision(spelling) == precision


def test_bytes_per_weight():
    assert dict(BYTES_PER_WEIGHT) == {
        "fp32": 4.0,
        "fp16": 2.0,
        "bf16": 2.0,
        "fp8": 1.0,
        "int8": 1.0,
        "int4": 0.5,
    }


def test_kv_cache_precision_is_a_float_format():
    assert kv_precision("fp8") == "fp8"
    with pytest.raises(AlgorithmInputError) as error:
        kv_precision("int4")
    assert error.value.field == "kv_cache_precision"
    with pytest.raises(AlgorithmInputError):
        weight_precision("fp4")


def test_compute_rate_per_precision(gpus):
    h100, a100 = gpus["H100 SXM"], gpus["A100 SXM 80GB"]
    assert (compute_rate(h100, "fp8").tflops, compute_rate(h100, "fp8").format) == (1978.9, "fp8")
    assert (compute_rate(a100, "fp8").tflops, compute_rate(a100, "fp8").format) == (312.0, "fp16")
    assert compute_rate(h100, "int4").tflops == 989.4
    assert compute_rate(gpus["V100 SXM 32GB"], "bf16").format == "fp16"
    assert compute_rate(h100, "fp32").tflops == 67.0
