"""Each adapter hands the catalogue all it knows of the card; the stored model is the right one.

Table-driven per adapter: a real-shaped record (the recording's own record with the GPU fields
replaced by values real providers send) goes through the adapter and ingestion's normalisation
(`services.normalise.offer_row`, no database), and the canonical model must be exact. Issue 12:
kind 1 (a lossy display name never wins over a precise id or interconnect field), kind 2
(structured tokens such as Vultr's `NVIDIA_A100_SXM` read by grammar), kind 11 (common GPUs
have specs; an unknown one is quarantined, never guessed).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from apps.providers.adapters.contract import FetchResult
from apps.providers.adapters.registry import default_registry
from apps.providers.adapters.replay import replay_credentials
from apps.providers.services.normalise import offer_row
from apps.providers.tests.adapters.conftest import (
    client_for,
    json_response,
    recorded_handler,
    recording,
)


async def _fetch(provider: str, file: str, body: Any) -> FetchResult:
    handler = recorded_handler({(provider, file): json_response(body)})
    async with client_for(handler) as client:
        adapter = default_registry.get_adapter(provider)(client)
        return await adapter.fetch_offers(replay_credentials(provider))


def _models(result: FetchResult) -> set[str | None]:
    return {offer_row(offer).gpu_model for offer in result.offers}


# -- RunPod: the id is the nvidia-smi name; the display name may drop the form factor ------


def _runpod(gpu_id: str, display_name: str, memory: float) -> Any:
    body = recording("runpod")
    template = copy.deepcopy(body["data"]["gpuTypes"][0])
    template.update(id=gpu_id, displayName=display_name, memoryInGb=memory)
    body["data"]["gpuTypes"] = [template]
    return body


RUNPOD = [
    # The examples: the display name says neither SXM nor PCIe, the id does.
    ("NVIDIA A100 80GB PCIe", "A100 80GB", 80, "A100 PCIe 80GB"),
    ("Tesla V100-PCIE-16GB", "Tesla V100", 16, "V100 PCIe 16GB"),
    ("NVIDIA A100-PCIE-40GB", "A100 40GB", 40, "A100 PCIe 40GB"),
    # More of kind 1: the precise name decides; the display name only narrows.
    ("NVIDIA H200", "H200 SXM", 141, "H200 SXM"),
    ("NVIDIA H100 NVL", "H100 NVL", 94, "H100 NVL"),
    ("NVIDIA A100-SXM4-40GB", "A100 40GB", 40, "A100 SXM 40GB"),
    ("Tesla V100-SXM2-16GB", "Tesla V100", 16, "V100 SXM 16GB"),
    # Kind 11: cards that were dropped for lack of a spec.
    ("NVIDIA RTX PRO 6000 Blackwell Server Edition", "RTX PRO 6000", 96, "RTX PRO 6000"),
    ("NVIDIA GeForce RTX 3090 Ti", "RTX 3090 Ti", 24, "RTX 3090 Ti"),
    ("NVIDIA GeForce RTX 4070 Ti", "RTX 4070 Ti", 12, "RTX 4070 Ti"),
    ("NVIDIA RTX 5000 Ada Generation", "RTX 5000 Ada", 32, "RTX 5000 Ada"),
    # A product we do not hold is quarantined, not matched to its look-alike.
    ("NVIDIA RTX 4000 SFF Ada Generation", "RTX 4000 Ada SFF", 20, None),
    ("Tesla V100-FHHL-16GB", "V100 FHHL", 16, None),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("gpu_id", "display", "memory", "expected"), RUNPOD)
async def test_runpod(gpu_id: str, display: str, memory: float, expected: str | None) -> None:
    result = await _fetch("runpod", "offers.json", _runpod(gpu_id, display, memory))

    assert _models(result) == {expected}
    assert {offer.gpu_name_raw for offer in result.offers} == {gpu_id}


# -- Vast.ai: gpu_name trimmed by Vast, gpu_ram per GPU in MB, bw_nvlink --------------------


def _vastai(gpu_name: str, gpu_ram_mb: int, bw_nvlink: float = 0.0) -> Any:
    body = recording("vastai")
    template = copy.deepcopy(body["offers"][0])
    template.update(gpu_name=gpu_name, gpu_ram=gpu_ram_mb, bw_nvlink=bw_nvlink)
    body["offers"] = [template]
    return body


VASTAI = [
    # Vast drops the form factor of its V100s: the variant-free model, not the SXM part.
    ("Tesla V100", 16384, 0.0, "V100 16GB"),
    ("Tesla V100", 32768, 0.0, "V100 32GB"),
    ("H200", 143771, 0.0, "H200 141GB"),
    # NVLink bridges are not a form factor: a bridged PCIe A100 stays PCIe.
    ("A100 PCIE", 40960, 112.5, "A100 PCIe 40GB"),
    ("RTX 3090", 24576, 56.3, "RTX 3090"),
    ("A100 SXM4", 81920, 250.0, "A100 SXM 80GB"),
    # Kind 11.
    ("RTX 4070", 12282, 0.0, "RTX 4070"),
    ("RTX 3090 Ti", 24576, 0.0, "RTX 3090 Ti"),
    ("RTX PRO 6000 WS", 97887, 0.0, "RTX PRO 6000"),
    ("RTX PRO 6000 S", 97887, 0.0, "RTX PRO 6000"),
    ("RTX 4070S Ti", 16376, 0.0, "RTX 4070 Ti SUPER"),
    ("Q RTX 8000", 49152, 0.0, "Quadro RTX 8000"),
    ("RTX 4090 D", 24564, 0.0, None),
    ("GTX 1080 Ti", 11264, 0.0, None),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("gpu_name", "gpu_ram", "nvlink", "expected"), VASTAI)
async def test_vastai(gpu_name: str, gpu_ram: int, nvlink: float, expected: str | None) -> None:
    result = await _fetch("vastai", "offers.json", _vastai(gpu_name, gpu_ram, nvlink))

    assert _models(result) == {expected}


# -- Lambda: gpu_description states memory and form factor; the type name the count ----------


def _lambda(type_name: str, gpu_description: str) -> Any:
    body = recording("lambda")
    template = copy.deepcopy(body["data"]["gpu_1x_a10"])
    template["instance_type"].update(
        name=type_name, description=f"1x {gpu_description}", gpu_description=gpu_description
    )
    body["data"] = {type_name: template}
    return body


LAMBDA = [
    # Only the Quadro RTX 6000 has 24 GB; the bare "RTX 6000" is three cards.
    ("gpu_1x_rtx6000", "RTX 6000 (24 GB)", "Quadro RTX 6000"),
    ("gpu_1x_a100", "A100 (40 GB PCIe)", "A100 PCIe 40GB"),
    ("gpu_8x_a100_80gb_sxm4", "A100 (80 GB SXM4)", "A100 SXM 80GB"),
    ("gpu_8x_v100", "Tesla V100 (16 GB)", "V100 16GB"),
    ("gpu_1x_a6000", "A6000 (48 GB)", "RTX A6000"),
    ("gpu_1x_h100_pcie", "H100 (80 GB PCIe)", "H100 PCIe"),
    ("gpu_8x_b200_sxm6", "B200 (180 GB SXM6)", "B200"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("type_name", "description", "expected"), LAMBDA)
async def test_lambda(type_name: str, description: str, expected: str) -> None:
    result = await _fetch("lambda", "offers.json", _lambda(type_name, description))

    assert _models(result) == {expected}


# -- Vultr: gpu_type is VENDOR_MODEL[_FORMFACTOR], gpu_vram_gb the plan's total --------------


def _vultr(gpu_type: str, vram: int) -> Any:
    body = recording("vultr")
    template = copy.deepcopy(body["plans"][0])
    template.update(id=f"vcg-test-{vram}vram", gpu_type=gpu_type, gpu_vram_gb=vram)
    body["plans"] = [template]
    return body


VULTR = [
    # The example: read by grammar, not skipped as an unknown gpu_type.
    ("NVIDIA_A100_SXM", 40, "A100 SXM 40GB", 1),
    ("NVIDIA_A100_SXM", 80, "A100 SXM 80GB", 1),
    ("NVIDIA_A100_PCIE", 80, "A100 PCIe 80GB", 1),
    ("NVIDIA_H100_PCIE", 160, "H100 PCIe", 2),
    ("AMD_MI355X", 2304, "MI355X", 8),
    # Vultr's own fleet: its A100s are 80 GB and do not say SXM or PCIe.
    ("NVIDIA_A100", 80, "A100 80GB", 1),
    ("NVIDIA_L40S", 96, "L40S", 2),
    ("AMD_MI325X", 2048, "MI325X", 8),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("gpu_type", "vram", "expected", "count"), VULTR)
async def test_vultr(gpu_type: str, vram: int, expected: str, count: int) -> None:
    result = await _fetch("vultr", "offers.json", _vultr(gpu_type, vram))

    assert result.skipped == 0
    assert _models(result) == {expected}
    assert {offer.gpu_count for offer in result.offers} == {count}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("gpu_type", "vram"),
    [
        ("NVIDIA_A100_SXM", 320),  # 4 x 80 GB or 8 x 40 GB: the count is not guessed
        ("NVIDIA_A100_SXM", 56),  # no A100 size divides 56 GB
        ("NVIDIA_FOO", 48),  # nothing the catalogue knows
    ],
)
async def test_vultr_skips_a_plan_whose_card_count_is_unknowable(gpu_type: str, vram: int) -> None:
    result = await _fetch("vultr", "offers.json", _vultr(gpu_type, vram))

    assert result.offers == ()
    assert result.skipped == 1
    assert gpu_type in result.errors[0]


@pytest.mark.asyncio
async def test_vultr_still_leaves_fractional_slices_out() -> None:
    result = await _fetch("vultr", "offers.json", _vultr("NVIDIA_A100_SXM", 10))

    assert (result.offers, result.skipped) == ((), 0)


# -- Shadeform: gpu_type, vram_per_gpu_in_gb and an interconnect field ----------------------


def _shadeform(gpu_type: str, vram: int, interconnect: str, nvlink: bool) -> Any:
    body = recording("shadeform")
    template = copy.deepcopy(body["instance_types"][0])
    template["configuration"].update(
        gpu_type=gpu_type, vram_per_gpu_in_gb=vram, interconnect=interconnect, nvlink=nvlink
    )
    body["instance_types"] = [template]
    return body


SHADEFORM = [
    # An NVLink-bridged PCIe H100 is the PCIe part; the bridge never hides the form factor.
    ("H100", 80, "pcie", True, "H100 PCIe"),
    ("H100", 80, "sxm5", True, "H100 SXM"),
    ("A100_80G", 80, "pcie", False, "A100 PCIe 80GB"),
    ("A100_80G", 80, "sxm4", True, "A100 SXM 80GB"),
    ("A6000", 48, "pcie", True, "RTX A6000"),
    ("H100", 80, "", False, "H100 80GB"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("gpu_type", "vram", "interconnect", "nvlink", "expected"), SHADEFORM)
async def test_shadeform(
    gpu_type: str, vram: int, interconnect: str, nvlink: bool, expected: str
) -> None:
    body = _shadeform(gpu_type, vram, interconnect, nvlink)
    result = await _fetch("shadeform", "offers.json", body)

    assert _models(result) == {expected}


# -- TensorDock, CloudRift, Verda: the name carries everything -------------------------------


def _tensordock(model: str, vram: int) -> Any:
    body = recording("tensordock")
    host_id = next(iter(body["hostnodes"]))
    node = copy.deepcopy(body["hostnodes"][host_id])
    node["specs"]["gpu"] = {model: {"amount": 1, "price": 0.5, "vram": vram}}
    body["hostnodes"] = {host_id: node}
    return body


def _cloudrift(brand: str, vram_bytes: int) -> Any:
    body = recording("cloudrift")
    template = copy.deepcopy(body["data"]["instance_types"][0])
    template["brand_short"] = brand
    for variant in template["variants"]:
        variant["vram"] = vram_bytes
    body["data"]["instance_types"] = [template]
    return body


def _verda(description: str, memory_gb: int) -> Any:
    body = recording("verda", "instance_types.json")
    template = copy.deepcopy(body[0])
    template["gpu"].update(description=f"1x {description}", number_of_gpus=1)
    template["gpu_memory"]["size_in_gigabytes"] = memory_gb
    return [template]


GIB = 1024**3
NAMED: list[tuple[str, str, Callable[[], Any], str | None]] = [
    ("tensordock", "offers.json", lambda: _tensordock("v100-sxm2-16gb", 16), "V100 SXM 16GB"),
    ("tensordock", "offers.json", lambda: _tensordock("rtxa6000-pcie-48gb", 48), "RTX A6000"),
    ("tensordock", "offers.json", lambda: _tensordock("geforcertx4090-pcie-24gb", 24), "RTX 4090"),
    ("tensordock", "offers.json", lambda: _tensordock("a100-pcie-80gb", 80), "A100 PCIe 80GB"),
    (
        "cloudrift",
        "offers.json",
        lambda: _cloudrift("NVIDIA RTX PRO 6000 Blackwell", 96 * GIB),
        "RTX PRO 6000",
    ),
    ("cloudrift", "offers.json", lambda: _cloudrift("AMD Instinct MI350X", 288 * GIB), "MI350X"),
    (
        "cloudrift",
        "offers.json",
        lambda: _cloudrift("NVIDIA GeForce RTX 5090", 32 * GIB),
        "RTX 5090",
    ),
    ("verda", "instance_types.json", lambda: _verda("Tesla V100 16GB", 16), "V100 16GB"),
    ("verda", "instance_types.json", lambda: _verda("RTX PRO 6000 96GB", 96), "RTX PRO 6000"),
    ("verda", "instance_types.json", lambda: _verda("B300 SXM6 268GB", 268), "B300"),
    ("verda", "instance_types.json", lambda: _verda("RTX6000 Ada 48GB", 48), "RTX 6000 Ada"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("provider", "file", "body", "expected"), NAMED, ids=[f"{p}:{e}" for p, _, _, e in NAMED]
)
async def test_name_carrying_adapters(
    provider: str, file: str, body: Callable[[], Any], expected: str | None
) -> None:
    result = await _fetch(provider, file, body())

    assert result.offers
    assert _models(result) == {expected}
