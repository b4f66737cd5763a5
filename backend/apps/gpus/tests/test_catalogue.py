"""The shared GPU catalogue: data sanity and provider-string resolution (no Django needed)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from apps.gpus.catalogue import (
    DATA_PATH,
    CatalogueError,
    GpuCatalogue,
    all_gpus,
    default_catalogue,
    gpu_by_model,
    snap_vram,
)
from apps.gpus.identity import resolve_gpu, resolve_gpu_detailed


def _document() -> dict[str, Any]:
    with DATA_PATH.open(encoding="utf-8") as handle:
        return json.load(handle)


# Real provider strings, as each provider's API or nvidia-smi reports them, with the VRAM the
# provider reports alongside when the name alone cannot decide.
PROVIDER_STRINGS: list[tuple[str, str, float | None, str]] = [
    # RunPod gpuTypes ids
    ("runpod", "NVIDIA H100 80GB HBM3", 80, "H100 SXM"),
    ("runpod", "NVIDIA H100 PCIe", 80, "H100 PCIe"),
    ("runpod", "NVIDIA H100 NVL", 94, "H100 NVL"),
    ("runpod", "NVIDIA H200", 141, "H200 141GB"),
    ("runpod", "NVIDIA B200", 180, "B200"),
    ("runpod", "NVIDIA A100 80GB PCIe", 80, "A100 PCIe 80GB"),
    ("runpod", "NVIDIA A100-SXM4-80GB", 80, "A100 SXM 80GB"),
    ("runpod", "NVIDIA A40", 48, "A40"),
    ("runpod", "NVIDIA L4", 24, "L4"),
    ("runpod", "NVIDIA L40", 48, "L40"),
    ("runpod", "NVIDIA L40S", 48, "L40S"),
    ("runpod", "NVIDIA RTX A4000", 16, "RTX A4000"),
    ("runpod", "NVIDIA RTX A4500", 20, "RTX A4500"),
    ("runpod", "NVIDIA RTX A5000", 24, "RTX A5000"),
    ("runpod", "NVIDIA RTX A6000", 48, "RTX A6000"),
    ("runpod", "NVIDIA RTX 6000 Ada Generation", 48, "RTX 6000 Ada"),
    ("runpod", "NVIDIA RTX 4000 Ada Generation", 20, "RTX 4000 Ada"),
    ("runpod", "NVIDIA GeForce RTX 4090", 24, "RTX 4090"),
    ("runpod", "NVIDIA GeForce RTX 5090", 32, "RTX 5090"),
    ("runpod", "NVIDIA GeForce RTX 4080", 16, "RTX 4080"),
    ("runpod", "NVIDIA GeForce RTX 3090", 24, "RTX 3090"),
    ("runpod", "NVIDIA GeForce RTX 3080", 10, "RTX 3080"),
    ("runpod", "NVIDIA GeForce RTX 3070", 8, "RTX 3070"),
    ("runpod", "Tesla V100-PCIE-16GB", 16, "V100 PCIe 16GB"),
    ("runpod", "Tesla V100-SXM2-16GB", 16, "V100 SXM 16GB"),
    ("runpod", "Tesla V100-SXM2-32GB", 32, "V100 SXM 32GB"),
    ("runpod", "AMD Instinct MI300X OAM", 192, "MI300X"),
    # Vast.ai gpu_name (gpu_ram arrives in MB: 81920 -> 81.92 GB)
    ("vastai", "RTX 4090", 24.564, "RTX 4090"),
    ("vastai", "H100 SXM", 81.559, "H100 SXM"),
    ("vastai", "H100 PCIE", 81.559, "H100 PCIe"),
    ("vastai", "H100 NVL", 95.83, "H100 NVL"),
    ("vastai", "A100 SXM4", 81.92, "A100 SXM 80GB"),
    ("vastai", "A100 SXM4", 40.96, "A100 SXM 40GB"),
    ("vastai", "A100 PCIE", 40.96, "A100 PCIe 40GB"),
    ("vastai", "RTX A6000", 49.14, "RTX A6000"),
    ("vastai", "Tesla V100", 16.384, "V100 16GB"),
    ("vastai", "RTX 3060", 12.288, "RTX 3060"),
    ("vastai", "RTX 3090", 24.576, "RTX 3090"),
    ("vastai", "RTX 6000Ada", 49.14, "RTX 6000 Ada"),
    ("vastai", "Q RTX 6000", 24.576, "Quadro RTX 6000"),
    ("vastai", "Tesla P100", 16.384, "P100 PCIe"),
    ("vastai", "Tesla T4", 15.36, "T4"),
    # Lambda instance type names and descriptions
    ("lambda", "gpu_1x_a10", None, "A10"),
    ("lambda", "gpu_1x_a6000", None, "RTX A6000"),
    ("lambda", "gpu_1x_a100_sxm4", 40, "A100 SXM 40GB"),
    ("lambda", "gpu_8x_a100_80gb_sxm4", None, "A100 SXM 80GB"),
    ("lambda", "gpu_1x_h100_pcie", None, "H100 PCIe"),
    ("lambda", "gpu_8x_h100_sxm5", None, "H100 SXM"),
    ("lambda", "gpu_1x_gh200", None, "GH200"),
    ("lambda", "gpu_8x_b200_sxm6", None, "B200"),
    ("lambda", "gpu_8x_v100", 16, "V100 16GB"),
    ("lambda", "1x A100 (40 GB SXM4)", None, "A100 SXM 40GB"),
    ("lambda", "8x H100 (80 GB SXM5)", None, "H100 SXM"),
    ("lambda", "1x GH200 (96 GB)", None, "GH200"),
    # Verda / DataCrunch instance types and descriptions
    ("verda", "1H100.80S.30V", None, "H100 SXM"),
    ("verda", "8H100.80S.176V", None, "H100 SXM"),
    ("verda", "1H200.141S.44V", None, "H200 SXM"),
    ("verda", "1A100.40S.22V", None, "A100 SXM 40GB"),
    ("verda", "1RTX6000ADA.10V", None, "RTX 6000 Ada"),
    ("verda", "1L40S.20V", None, "L40S"),
    ("verda", "1A6000.10V", None, "RTX A6000"),
    ("verda", "1V100.6V", 16, "V100 16GB"),
    ("verda", "8x H100 SXM5 80GB", None, "H100 SXM"),
    # Vultr plan GPU types
    ("vultr", "NVIDIA A100", 80, "A100 80GB"),
    ("vultr", "NVIDIA L40S", 48, "L40S"),
    ("vultr", "NVIDIA A40", 48, "A40"),
    ("vultr", "NVIDIA A16", 16, "A16"),
    ("vultr", "NVIDIA GH200", 96, "GH200"),
    ("vultr", "AMD MI300X", 192, "MI300X"),
    ("vultr", "NVIDIA HGX B200", 180, "B200"),
    # Paperspace machine types
    ("paperspace", "A4000", None, "RTX A4000"),
    ("paperspace", "A5000", None, "RTX A5000"),
    ("paperspace", "A6000", None, "RTX A6000"),
    ("paperspace", "A100-80G", None, "A100 80GB"),
    ("paperspace", "V100-32G", None, "V100 32GB"),
    ("paperspace", "H100", 80, "H100 80GB"),
    # CoreWeave GPU classes (NVLINK = the HGX/SXM part)
    ("coreweave", "H100_NVLINK_80GB", None, "H100 SXM"),
    ("coreweave", "A100_NVLINK_80GB", None, "A100 SXM 80GB"),
    ("coreweave", "A100_PCIE_40GB", None, "A100 PCIe 40GB"),
    ("coreweave", "RTX_A5000", None, "RTX A5000"),
    ("coreweave", "Tesla_V100_NVLINK", 16, "V100 SXM 16GB"),
    # TensorDock glued GPU ids
    ("tensordock", "geforcertx4090-pcie-24gb", None, "RTX 4090"),
    ("tensordock", "rtxa6000-pcie-48gb", None, "RTX A6000"),
    ("tensordock", "h100-sxm5-80gb", None, "H100 SXM"),
    ("tensordock", "l40s-pcie-48gb", None, "L40S"),
    ("tensordock", "v100-sxm2-16gb", None, "V100 SXM 16GB"),
    ("tensordock", "a100-pcie-80gb", None, "A100 PCIe 80GB"),
    # nvidia-smi / datasheet names
    ("smi", "NVIDIA A100-SXM4-40GB", None, "A100 SXM 40GB"),
    ("smi", "NVIDIA A100-PCIE-40GB", None, "A100 PCIe 40GB"),
    ("smi", "NVIDIA A10G", None, "A10G"),
    ("smi", "NVIDIA A10", None, "A10"),
    ("smi", "NVIDIA A30", None, "A30"),
    ("smi", "Tesla P100-PCIE-16GB", None, "P100 PCIe"),
    ("smi", "NVIDIA GeForce RTX 3060", None, "RTX 3060"),
    ("smi", "NVIDIA GH200 480GB", None, "GH200"),
    ("smi", "GH200 480GB", None, "GH200"),
    ("smi", "NVIDIA H100 SXM5 80GB", None, "H100 SXM"),
    ("smi", "H100_SXM5", None, "H100 SXM"),
    ("smi", "1x H100 PCIe", None, "H100 PCIe"),
    ("smi", "RTX 4090 24GB", None, "RTX 4090"),
    ("smi", "Quadro RTX 6000", None, "Quadro RTX 6000"),
    ("smi", "AMD Instinct MI250X", None, "MI250X"),
    ("smi", "AMD Instinct MI250", None, "MI250"),
    ("smi", "AMD Instinct MI210", None, "MI210"),
    ("smi", "gpu_1x_a100_sxm4 80GB", None, "A100 SXM 80GB"),
]


def test_has_at_least_sixty_real_provider_strings() -> None:
    assert len({(raw, vram) for _, raw, vram, _ in PROVIDER_STRINGS}) >= 60


@pytest.mark.parametrize(
    ("raw_name", "vram_gb", "expected"),
    [(raw, vram, expected) for _, raw, vram, expected in PROVIDER_STRINGS],
    ids=[f"{provider}:{raw}:{vram}" for provider, raw, vram, _ in PROVIDER_STRINGS],
)
def test_resolves_provider_string(raw_name: str, vram_gb: float | None, expected: str) -> None:
    gpu = resolve_gpu(raw_name, vram_gb)

    assert gpu is not None
    assert gpu.gpu_model == expected


# Each must NOT become the look-alike: either the right distinct model or quarantine (None).
NEGATIVE_CASES: list[tuple[str, float | None, str | None, str]] = [
    ("RTX 3060", None, "RTX 3060", "a 3060 is never a 4090"),
    ("NVIDIA GeForce RTX 3060 Ti", None, "RTX 3060 Ti", "Ti is a different card"),
    ("RTX 3080 Ti", None, "RTX 3080 Ti", "Ti is a different card"),
    ("RTX 4080 SUPER", None, "RTX 4080 SUPER", "SUPER is a different card"),
    ("RTX 4080S", None, "RTX 4080 SUPER", "4080S is the SUPER"),
    ("RTX 4090 D", None, None, "China-only 4090 D has fewer SMs"),
    ("NVIDIA GeForce RTX 4090 Laptop GPU", None, None, "laptop part"),
    ("L40", None, "L40", "L40 is not L40S"),
    ("NVIDIA L40S", None, "L40S", "L40S is not L40"),
    ("A100 40GB", None, "A100 40GB", "40GB stays 40GB, the form factor is not guessed"),
    ("A100 40GB", 80, None, "string and reported VRAM disagree"),
    ("NVIDIA A100-PCIE-40GB", 80, None, "reported VRAM contradicts the name"),
    ("RTX 3060", 24, None, "24 GB contradicts every 3060 we know"),
    ("RTX 3080", 12, None, "the 12 GB 3080 is a different configuration"),
    ("Tesla P100", 12, None, "the 12 GB P100 is not catalogued"),
    ("GH200 144GB", None, None, "HBM3e GH200 is not catalogued"),
    ("RTX 6000 Ada", None, "RTX 6000 Ada", "Ada is not the Turing Quadro"),
    ("Quadro RTX 6000", None, "Quadro RTX 6000", "Turing Quadro is not Ada"),
    ("RTX A6000", None, "RTX A6000", "Ampere A6000 is neither"),
    ("RTX 6000", 24, "Quadro RTX 6000", "only the Quadro RTX 6000 has 24 GB"),
    ("gpu_1x_rtx6000", None, None, "Lambda's RTX 6000 is ambiguous by name"),
    ("NVIDIA RTX 4000 SFF Ada Generation", None, None, "SFF is a different card"),
    ("RTX4000", None, None, "Quadro or Ada: no memory to decide"),
    ("Quadro_RTX_5000", None, "Quadro RTX 5000", "Turing Quadro, not the Ada"),
    ("P4000", None, "Quadro P4000", "Paperspace machine type"),
    ("MI250", None, "MI250", "MI250 is not MI250X"),
    ("MI250X", None, "MI250X", "MI250X is not MI250"),
    ("Tesla V100-FHHL-16GB", None, None, "FHHL V100 has lower clocks"),
    ("NVIDIA A100", None, None, "memory size is never defaulted"),
    ("gpu_1x_a100_sxm4", None, None, "Lambda's description must supply the memory"),
    ("V100", None, None, "memory size is never defaulted"),
    ("A100X", None, None, "converged A100X is a different product"),
    ("H100 SXM PCIe", None, None, "conflicting form factors"),
    ("MI300X PCIe", None, None, "there is no PCIe MI300X"),
    ("RTX 4090 SXM", None, None, "consumer cards are PCIe"),
    ("H100 NVL", 80, None, "NVL has 94 GB"),
    ("A100 or H100", None, None, "two equally specific names"),
    ("Intel Gaudi 2", None, "Gaudi 2", "Intel vendor word dropped"),
    ("TPU v5e", None, None, "not a GPU we know"),
    ("", None, None, "empty"),
    ("8x", None, None, "count only"),
]


@pytest.mark.parametrize(
    ("raw_name", "vram_gb", "expected", "why"),
    NEGATIVE_CASES,
    ids=[f"{raw}:{vram}" for raw, vram, _, _ in NEGATIVE_CASES],
)
def test_never_guesses_a_look_alike(
    raw_name: str, vram_gb: float | None, expected: str | None, why: str
) -> None:
    gpu = resolve_gpu(raw_name, vram_gb)

    assert (gpu.gpu_model if gpu else None) == expected, why


def test_missing_form_factor_gives_the_variant_free_model_never_a_default() -> None:
    result = resolve_gpu_detailed("H100 80GB")

    assert result.gpu is not None
    assert result.gpu.gpu_model == "H100 80GB"
    assert result.gpu.is_variant_free is True
    assert result.used_default_form_factor is False


def test_explicit_form_factor_is_not_reported_as_default() -> None:
    result = resolve_gpu_detailed("H100 PCIe")

    assert result.gpu is not None
    assert result.gpu.gpu_model == "H100 PCIe"
    assert result.used_default_form_factor is False


def test_memory_picks_the_variant_before_any_default() -> None:
    result = resolve_gpu_detailed("NVIDIA H100", vram_gb=94)

    assert result.gpu is not None
    assert result.gpu.gpu_model == "H100 NVL"
    assert result.used_default_form_factor is False


def test_default_never_chooses_memory() -> None:
    result = resolve_gpu_detailed("A100 SXM4")

    assert result.gpu is None
    assert result.reason == "ambiguous_variant"


@pytest.mark.parametrize(
    ("raw_name", "vram_gb", "reason"),
    [
        ("RTX 3080 Ti Laptop", None, "unknown_token:laptop"),
        ("GTX 1080 Ti", None, "no_match"),
        ("A100 40GB", 80, "vram_mismatch"),
        ("MI300X PCIe", None, "form_factor_mismatch"),
        ("A100 SXM4 PCIe", None, "form_factor_conflict"),
        ("NVIDIA A100", None, "ambiguous_variant"),
        ("A100 or H100", None, "ambiguous_match"),
    ],
)
def test_quarantine_reports_why(raw_name: str, vram_gb: float | None, reason: str) -> None:
    result = resolve_gpu_detailed(raw_name, vram_gb)

    assert result.gpu is None
    assert result.reason == reason
    assert result.raw_name == raw_name


def test_result_names_the_matched_tokens() -> None:
    result = resolve_gpu_detailed("NVIDIA GeForce RTX 4090")

    assert result.matched == "rtx 4090"
    assert result.reason is None


@pytest.mark.parametrize(
    ("raw_name", "vram_gb", "count"),
    [
        ("8x H100 SXM5", None, 8),
        ("H100 SXM5 x8", None, 8),
        ("gpu_1x_a100_sxm4", 40, 1),
        ("1H100.80S.30V", None, 1),
        ("RTX 4090", None, None),
        ("2x A100 80GB x4", None, None),
    ],
)
def test_result_gives_the_gpu_count_the_name_states(
    raw_name: str, vram_gb: float | None, count: int | None
) -> None:
    result = resolve_gpu_detailed(raw_name, vram_gb)
    assert result.gpu is not None
    assert result.stated_count == count


@pytest.mark.parametrize("unknown", [0, -1, float("nan"), float("inf")])
def test_unreported_vram_is_treated_as_unknown(unknown: float) -> None:
    gpu = resolve_gpu("RTX 4090", unknown)

    assert gpu is not None
    assert gpu.gpu_model == "RTX 4090"


def test_vram_tolerance_is_seven_percent() -> None:
    assert resolve_gpu("A100 SXM4", 85.5) == gpu_by_model("A100 SXM 80GB")
    assert resolve_gpu("A100 SXM4", 86.0) is None
    assert resolve_gpu("A100 SXM4", 74.5) == gpu_by_model("A100 SXM 80GB")
    assert resolve_gpu("A100 SXM4", 74.0) is None


@pytest.mark.parametrize(
    ("reported", "snapped"),
    [
        (80, 80),
        (79.6, 80),
        (81.92, 80),
        (85.5, 80),
        (40.96, 40),
        (24.564, 24),
        (15.36, 16),
        (95.83, 96),
        (192, 192),
        (56, None),
        (1000, None),
        (0, None),
        (-8, None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_snap_vram(reported: float | None, snapped: int | None) -> None:
    assert snap_vram(reported) == snapped


def test_tokenizer_splits_separators_glue_and_vendor_words() -> None:
    tokenize = default_catalogue().tokenize

    assert tokenize("A100-SXM4-80GB") == ["a", "100", "sxm", "4", "80", "gb"]
    assert tokenize("geforcertx4090") == ["rtx", "4090"]
    assert tokenize("NVIDIA_GeForce  RTX-4090") == ["rtx", "4090"]
    assert tokenize("1H100.80S.30V") == ["1", "x", "h", "100", "80", "gb", "sxm"]


# -- data sanity -------------------------------------------------------------------------


def test_catalogue_has_the_required_accelerators() -> None:
    names = {gpu.gpu_model for gpu in all_gpus()}
    required = {
        "H100 SXM", "H100 PCIe", "H100 NVL", "H200 SXM", "GH200", "B200",
        "A100 SXM 80GB", "A100 SXM 40GB", "A100 PCIe 80GB", "A100 PCIe 40GB",
        "A10", "A10G", "A40", "L4", "L40", "L40S", "RTX 6000 Ada", "RTX A6000", "RTX A5000",
        "RTX A4000", "RTX 5090", "RTX 4090", "RTX 3090", "RTX 3080", "T4",
        "V100 SXM 16GB", "V100 SXM 32GB", "MI300X", "MI250X",
    }  # fmt: skip

    assert len(names) == len(all_gpus()) >= 34
    assert required <= names


def test_every_entry_is_sourced_and_dated() -> None:
    for gpu in all_gpus():
        assert len(gpu.source) > 20, gpu.gpu_model
        assert gpu.verified_at.year >= 2024, gpu.gpu_model
        assert gpu.vendor in {"nvidia", "amd", "intel"}, gpu.gpu_model


def test_document_explains_dense_versus_sparse() -> None:
    document = _document()

    assert document["schema_version"] == 1
    assert "DENSE" in document["notes"]
    assert "sparsity" in document["notes"]


def test_dense_figures_match_datasheet_anchors() -> None:
    a100 = gpu_by_model("A100 SXM 80GB")
    h100 = gpu_by_model("H100 SXM")
    l40s = gpu_by_model("L40S")
    assert a100 is not None
    assert h100 is not None
    assert l40s is not None

    assert a100.tflops_fp32 == 19.5
    assert a100.tflops_fp16 == 312
    assert a100.tflops_bf16 == 312
    assert a100.tflops_fp8 is None
    assert a100.tops_int8 == 624
    assert h100.tflops_fp32 == 67
    assert h100.tflops_fp16 == 989.4
    assert h100.tflops_fp8 == 1978.9
    assert l40s.tflops_fp8 == 733


def test_figures_are_physically_sane() -> None:
    for gpu in all_gpus():
        name = gpu.gpu_model
        assert gpu.tflops_fp16 >= gpu.tflops_fp32, name
        if gpu.tflops_bf16 is not None:
            # Equal on NVIDIA; AMD CDNA 1 runs BF16 at half its FP16 matrix rate.
            assert gpu.tflops_bf16 <= gpu.tflops_fp16, name
        if gpu.tflops_fp8 is not None:
            assert gpu.tflops_fp8 >= gpu.tflops_fp16, name
        if gpu.tops_int8 is not None:
            assert gpu.tops_int8 >= gpu.tflops_fp16, name
        assert 100 <= gpu.memory_bandwidth_gbps <= 10_000, name
        assert 50 <= gpu.tdp_watts <= 1_500, name
        # An FP32 "figure" that is really a tensor rate (the v1 bug: A100 FP32 = 312).
        assert gpu.tflops_fp32 < 170, name


def test_only_hopper_and_newer_have_fp8() -> None:
    fp8_architectures = {
        "Hopper", "Ada Lovelace", "Blackwell", "Blackwell Ultra", "CDNA 3", "CDNA 4",
        "Habana Gaudi2", "Habana Gaudi3",
    }  # fmt: skip
    for gpu in all_gpus():
        assert (gpu.tflops_fp8 is not None) == (gpu.architecture in fp8_architectures), (
            gpu.gpu_model
        )


def test_aliases_are_unique_across_entries() -> None:
    catalogue = default_catalogue()
    owners: dict[tuple[str, ...], str] = {}
    for gpu in all_gpus():
        for alias in gpu.aliases:
            tokens = tuple(catalogue.tokenize(alias))
            assert owners.setdefault(tokens, gpu.gpu_model) == gpu.gpu_model, alias


def test_every_alias_and_canonical_name_resolves_to_its_own_entry() -> None:
    for gpu in all_gpus():
        for text in (gpu.gpu_model, *gpu.aliases):
            assert resolve_gpu(text) is gpu, text


def test_family_defaults_point_at_existing_variants() -> None:
    document = _document()
    families = {gpu.family for gpu in all_gpus()}
    for family, form_factor in document["family_defaults"].items():
        if family.startswith("_"):
            continue
        assert family in families
        variants = [gpu for gpu in all_gpus() if gpu.family == family]
        assert any(gpu.form_factor.upper().startswith(form_factor) for gpu in variants)


def test_gpu_by_model_is_exact_and_case_insensitive() -> None:
    gpu = gpu_by_model("a100  sxm 80gb")

    assert gpu is not None
    assert gpu.gpu_model == "A100 SXM 80GB"
    assert gpu_by_model("A100") is None
    assert gpu_by_model("NVIDIA A100-SXM4-80GB") is None


def test_peak_tflops_by_precision() -> None:
    t4 = gpu_by_model("T4")
    assert t4 is not None

    assert t4.peak_tflops("fp16") == 65
    assert t4.peak_tflops("int8") == 130
    assert t4.peak_tflops("bf16") is None


def test_entries_are_immutable() -> None:
    gpu = all_gpus()[0]

    with pytest.raises(AttributeError):
        gpu.vram_gb = 1  # type: ignore[misc]


# -- bad data is refused at load time ---------------------------------------------------


def _mutated(change: Any) -> dict[str, Any]:
    document = copy.deepcopy(_document())
    change(document)
    return document


def _gpu(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(entry for entry in document["gpus"] if entry["gpu_model"] == name)


def test_refuses_alias_shared_by_two_entries() -> None:
    document = _mutated(lambda d: _gpu(d, "L40")["aliases"].append("L40S"))

    with pytest.raises(CatalogueError, match="L40S"):
        GpuCatalogue.from_document(document)


def test_refuses_alias_equal_to_a_multi_model_family() -> None:
    document = _mutated(lambda d: _gpu(d, "H100 SXM")["aliases"].append("NVIDIA H100"))

    with pytest.raises(CatalogueError, match="family name"):
        GpuCatalogue.from_document(document)


def test_refuses_duplicate_model_names() -> None:
    document = _mutated(lambda d: d["gpus"].append(copy.deepcopy(_gpu(d, "T4"))))

    with pytest.raises(CatalogueError, match="duplicate"):
        GpuCatalogue.from_document(document)


def test_refuses_unsourced_or_non_positive_figures() -> None:
    unsourced = _mutated(lambda d: _gpu(d, "T4").update(source=" "))
    negative = _mutated(lambda d: _gpu(d, "T4").update(tflops_fp32=-8.1))

    with pytest.raises(CatalogueError):
        GpuCatalogue.from_document(unsourced)
    with pytest.raises(CatalogueError):
        GpuCatalogue.from_document(negative)


def test_refuses_missing_fields() -> None:
    document = _mutated(lambda d: _gpu(d, "T4").pop("tdp_watts"))

    with pytest.raises(CatalogueError, match="T4"):
        GpuCatalogue.from_document(document)
