"""GET /api/v2/math/benchmarks and /benchmarks/{gpu_type}."""

from __future__ import annotations

import pytest

from algorithms.sizing import serving_plan
from apps.gpus.catalogue import all_gpus, gpu_by_model
from apps.math_core.tests.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_lists_every_loaded_spec_in_one_query(api, specs, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        response = api.get("/benchmarks")

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == len(all_gpus())
    names = [item["gpu_model"] for item in body["items"]]
    assert names == sorted(gpu.gpu_model for gpu in all_gpus())
    a10 = next(item for item in body["items"] if item["gpu_model"] == "A10")
    # The serving model's estimate for Llama 2 7B on one A10 at its serving batch.
    one_a10 = serving_plan(
        model="llama-2-7b",
        gpu=gpu_by_model("A10"),
        prompt_tokens=500,
        output_tokens=200,
        precision="fp16",
        tensor_parallel=1,
    )
    assert a10["tokens_per_second_7b"] == pytest.approx(one_a10.replica_output_tokens_per_second)
    assert a10["tokens_per_second_13b"] is None  # 26 GB of weights > 21.2 GB usable
    assert a10["verified_at"] == "2026-11-26"


def test_empty_before_loading(api, db):
    assert api.get("/benchmarks").json() == {"total": 0, "items": []}


@pytest.mark.parametrize(
    ("path", "gpu_model"),
    [
        ("/benchmarks/H100%20SXM", "H100 SXM"),
        ("/benchmarks/h100%20sxm", "H100 SXM"),
        ("/benchmarks/H100-SXM5-80GB", "H100 SXM"),
        ("/benchmarks/NVIDIA%20H100%2080GB%20HBM3", "H100 SXM"),
        ("/benchmarks/RTX%206000%20Ada%20Generation", "RTX 6000 Ada"),
        ("/benchmarks/A100%20PCIe%2040GB", "A100 PCIe 40GB"),
        ("/benchmarks/MI300X", "MI300X"),
    ],
)
def test_one_spec_by_name_or_alias(api, specs, path, gpu_model):
    response = api.get(path)

    assert response.status_code == 200
    body = response.json()
    assert body["gpu_model"] == gpu_model
    assert body["source"]
    assert "serving_plan" in body["throughput_model"]


def test_h100_figures_are_dense(api, specs):
    body = api.get("/benchmarks/H100%20SXM").json()

    assert (body["tflops_fp16"], body["tflops_fp8"], body["tflops_fp32"]) == (989.4, 1978.9, 67.0)


@pytest.mark.parametrize("name", ["Voodoo%205", "A100", "H100%20or%20A100", "%20"])
def test_unknown_or_ambiguous_is_404(api, specs, name):
    assert_error(api.get(f"/benchmarks/{name}"), 404, "gpu_type")


def test_known_gpu_not_loaded_is_404(api, db):
    assert_error(api.get("/benchmarks/L4"), 404, "gpu_type")
