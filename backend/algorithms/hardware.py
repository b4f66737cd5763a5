"""What the serving model reads from a GPU spec, and how GPUs of one replica talk to each other.

The catalogue (``gpus.json``, owned by the GPU app; callers pass its rows or its path) holds
dense per-GPU figures: VRAM (GB), memory bandwidth (GB/s), tensor TFLOPS per precision and the
form factor. This module reads them
through the ``GpuSpec`` protocol, so the catalogue's ``GpuModel`` rows and the small
``GpuFigures`` dataclass below both fit, and maps a form factor to the GPU-to-GPU link that
tensor parallelism's all-reduces cross:

| form factor | link | GB/s per direction per GPU | source |
|---|---|---|---|
| SXM2 (V100) | NVLink 2 | 150 | V100 datasheet: 300 GB/s NVLink total |
| SXM4 (A100) | NVLink 3 | 300 | A100 datasheet: 600 GB/s |
| SXM5 (H100, H200) | NVLink 4 | 450 | H100 datasheet: 900 GB/s |
| SXM6 (B200) | NVLink 5 | 900 | B200 / HGX B200 datasheet: 1.8 TB/s |
| Superchip (GH200) | NVLink 4 | 450 | GH200 datasheet: 900 GB/s (NVL2 / NVLink switch systems) |
| OAM (MI300X class) | Infinity Fabric | 448 | MI300X datasheet: 896 GB/s peer-to-peer |
| NVL (H100 NVL) | NVLink bridge, pairs | 300 up to TP 2 | H100 NVL: 600 GB/s bridge |
| NVL (H200 NVL) | NVLink bridge, up to 4 | 450 up to TP 4 | H200 NVL: 900 GB/s 2- or 4-way bridge |
| PCIe | PCIe x16 | Gen5 64 (Hopper, Blackwell), Gen4 32 (Ampere, Ada, CDNA2), Gen3 16 | PCI-SIG |

Beyond an NVL bridge's reach, NVL cards fall back to PCIe Gen5.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from algorithms.precision import ComputeRates

_PCIE_GBPS_BY_ARCHITECTURE = {
    "hopper": 64.0,
    "blackwell": 64.0,
    "ampere": 32.0,
    "ada lovelace": 32.0,
    "ada": 32.0,
    "cdna2": 32.0,
    "cdna 2": 32.0,
    "cdna3": 64.0,
    "cdna 3": 64.0,
}
_PCIE_GEN3_GBPS = 16.0  # Volta, Turing, Pascal cards
_NVLINK_GBPS_BY_FORM_FACTOR = {
    "sxm2": 150.0,
    "sxm4": 300.0,
    "sxm5": 450.0,
    "sxm6": 900.0,
    "superchip": 450.0,
    "oam": 448.0,
}
# (GB/s per direction, largest tensor-parallel group the bridge connects)
_NVL_BRIDGE_BY_FAMILY = {"h100": (300.0, 2), "h200": (450.0, 4)}


class GpuSpec(ComputeRates, Protocol):
    """Per-GPU figures the serving model reads (the catalogue's ``GpuModel`` satisfies it).

    ``memory_bandwidth_gbps`` is GB/s, ``vram_gb`` GB (1e9 bytes), TFLOPS dense tensor rates;
    ``None`` means the format is not supported. The TFLOPS properties come from
    ``precision.ComputeRates``.
    """

    @property
    def gpu_model(self) -> str:
        """Canonical GPU name."""
        ...

    @property
    def family(self) -> str:
        """Product family (H100, A100, ...)."""
        ...

    @property
    def form_factor(self) -> str:
        """SXM5, PCIe, NVL, OAM, ..."""
        ...

    @property
    def architecture(self) -> str:
        """Hopper, Ampere, Ada Lovelace, ..."""
        ...

    @property
    def vram_gb(self) -> int:
        """Memory per GPU as sold (binary GB, i.e. GiB)."""
        ...

    @property
    def memory_bandwidth_gbps(self) -> float:
        """Memory bandwidth, GB/s."""
        ...


@dataclass(frozen=True, slots=True)
class GpuFigures:
    """A plain ``GpuSpec`` (tests, calibration, callers without the catalogue)."""

    gpu_model: str
    family: str
    form_factor: str
    architecture: str
    vram_gb: int
    memory_bandwidth_gbps: float
    tflops_fp32: float
    tflops_fp16: float
    tflops_bf16: float | None
    tflops_fp8: float | None


@dataclass(frozen=True, slots=True)
class Interconnect:
    """The link tensor-parallel all-reduces cross within one replica.

    Attributes:
        kind: ``"nvlink"`` (NVLink, Infinity Fabric or an NVLink bridge) or ``"pcie"``.
        gbps_per_direction: Bandwidth one GPU can send at, GB/s.
        description: Human-readable link name and generation.
    """

    kind: str
    gbps_per_direction: float
    description: str

    @property
    def is_nvlink_class(self) -> bool:
        """True for NVLink, NVLink bridges and Infinity Fabric."""
        return self.kind == "nvlink"


def interconnect_for(gpu: GpuSpec, tensor_parallel: int) -> Interconnect:
    """The link a ``tensor_parallel``-way group of ``gpu`` uses (table in the module docstring)."""
    form = gpu.form_factor.strip().lower()
    family = gpu.family.strip().lower()
    if form in _NVLINK_GBPS_BY_FORM_FACTOR:
        return Interconnect("nvlink", _NVLINK_GBPS_BY_FORM_FACTOR[form], f"NVLink-class ({form})")
    if form == "nvl" and family in _NVL_BRIDGE_BY_FAMILY:
        bandwidth, reach = _NVL_BRIDGE_BY_FAMILY[family]
        if tensor_parallel <= reach:
            return Interconnect("nvlink", bandwidth, f"NVLink bridge (up to {reach} GPUs)")
        return Interconnect("pcie", 64.0, f"PCIe Gen5 (beyond the {reach}-GPU NVLink bridge)")
    bandwidth = _PCIE_GBPS_BY_ARCHITECTURE.get(gpu.architecture.strip().lower(), _PCIE_GEN3_GBPS)
    generation = {64.0: "Gen5", 32.0: "Gen4"}.get(bandwidth, "Gen3")
    return Interconnect("pcie", bandwidth, f"PCIe {generation} x16")


def gpu_figures_from_document(document: Mapping[str, Any]) -> dict[str, GpuFigures]:
    """``GpuFigures`` by canonical ``gpu_model`` from a parsed ``gpus.json`` document.

    Raises:
        KeyError: When an entry lacks a field the serving model needs.
    """
    figures: dict[str, GpuFigures] = {}
    for entry in document["gpus"]:
        figures[entry["gpu_model"]] = GpuFigures(
            gpu_model=entry["gpu_model"],
            family=entry["family"],
            form_factor=entry["form_factor"],
            architecture=entry["architecture"],
            vram_gb=int(entry["vram_gb"]),
            memory_bandwidth_gbps=float(entry["memory_bandwidth_gbps"]),
            tflops_fp32=float(entry["tflops_fp32"]),
            tflops_fp16=float(entry["tflops_fp16"]),
            tflops_bf16=_optional(entry.get("tflops_bf16")),
            tflops_fp8=_optional(entry.get("tflops_fp8")),
        )
    return figures


def gpu_figures_load(path: Path) -> dict[str, GpuFigures]:
    """Read a GPU catalogue file in the shape of the GPU app's ``data/gpus.json``.

    The caller names the file: this package imports nothing of the project, so it does not know
    where the catalogue lives (``python -m algorithms.calibrate --catalogue ...``, the tests).

    Raises:
        FileNotFoundError: When ``path`` does not exist.
        KeyError: When an entry lacks a field the serving model needs.
    """
    with path.open(encoding="utf-8") as handle:
        return gpu_figures_from_document(json.load(handle))


def _optional(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
