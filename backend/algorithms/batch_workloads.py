"""Video and data processing: memory on one GPU and units processed per second per GPU.

Neither shards across GPUs of one replica: each GPU works through its own share (frames, data
chunks), so the estimator scales out with whole GPUs. Units: GB = 1e9 bytes.

Video processing = frame-by-frame neural inference (a detection / enhancement class model):
    frames/s per GPU = VISION_EFFICIENCY x fp16 TFLOPS x 1e12 / (GFLOPs per megapixel x MP x 1e9)
    minutes of video per second = that / (60 x 30 fps)
    150 GFLOPs per megapixel: ResNet-50 is 3.8 GMACs at 224x224 (He et al. 2016) = 7.6 GFLOPs
    over 0.05 MP. Resolution by v1 quality: low 720p, medium/standard 1080p, high 4K.
Data processing = GPU dataframes (RAPIDS cuDF style):
    memory = 2 x min(data, 8 GB chunk)      (inputs plus intermediates; larger data streams)
    GB/s per GPU = min(0.5 x memory bandwidth / passes, 12 GB/s host transfer over PCIe 4.0)
    passes over the data by quality: low 2, medium/standard 5, high 10.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from algorithms.hardware import GpuSpec
from algorithms.working import Step, Working

VIDEO_FRAMES_PER_SECOND = 30.0
VIDEO_MEGAPIXELS_BY_QUALITY = MappingProxyType(
    {
        "low": 1280 * 720 / 1e6,
        "medium": 1920 * 1080 / 1e6,
        "standard": 1920 * 1080 / 1e6,
        "high": 3840 * 2160 / 1e6,
    }
)
VIDEO_GFLOPS_PER_MEGAPIXEL = 150.0
VIDEO_WORKING_MEMORY_GB = MappingProxyType(
    {"low": 4.0, "medium": 6.0, "standard": 6.0, "high": 12.0}
)
VISION_EFFICIENCY = 0.30

DATA_MEMORY_MULTIPLIER = 2.0
DATA_CHUNK_GB = 8.0
DATA_PASSES_BY_QUALITY = MappingProxyType({"low": 2, "medium": 5, "standard": 5, "high": 10})
DATA_BANDWIDTH_EFFICIENCY = 0.5
HOST_TRANSFER_GBPS = 12.0  # practical PCIe 4.0 x16 host-to-device rate; data crosses it once


@dataclass(frozen=True, slots=True)
class BatchWorkload:
    """What one GPU must hold and the steps behind it; ``units_per_second`` gives its rate.

    Attributes:
        kind: ``"video_processing"`` or ``"data_processing"``.
        quality: v1's quality level used.
        memory_gb: Memory one GPU needs, GB.
        working: The steps (inputs and constants with units).
    """

    kind: str
    quality: str
    memory_gb: float
    working: tuple[Step, ...]

    def units_per_second(self, gpu: GpuSpec) -> float:
        """Minutes of video, or GB of data, one GPU processes per second."""
        if self.kind == "video_processing":
            megapixels = VIDEO_MEGAPIXELS_BY_QUALITY[self.quality]
            flops_per_frame = VIDEO_GFLOPS_PER_MEGAPIXEL * megapixels * 1e9
            frames_per_second = VISION_EFFICIENCY * gpu.tflops_fp16 * 1e12 / flops_per_frame
            return frames_per_second / (60 * VIDEO_FRAMES_PER_SECOND)
        passes = DATA_PASSES_BY_QUALITY[self.quality]
        return min(
            DATA_BANDWIDTH_EFFICIENCY * gpu.memory_bandwidth_gbps / passes, HOST_TRANSFER_GBPS
        )


def video_processing_workload(*, minutes: float, quality: str) -> BatchWorkload:
    """Frame-by-frame inference over ``minutes`` of video at v1's ``quality`` resolution."""
    work = Working()
    megapixels = VIDEO_MEGAPIXELS_BY_QUALITY[quality]
    work.number("frames", minutes * 60 * VIDEO_FRAMES_PER_SECOND, "frames", "derived", "30 fps")
    work.number("megapixels_per_frame", megapixels, "MP", "assumed", f"quality {quality!r}")
    work.number(
        "gflops_per_megapixel",
        VIDEO_GFLOPS_PER_MEGAPIXEL,
        "GFLOP/MP",
        "estimate",
        "ResNet-50 class: 7.6 GFLOPs at 224x224 (He et al. 2016)",
    )
    work.number("vision_efficiency", VISION_EFFICIENCY, "", "estimate", "share of fp16 peak")
    memory = work.number(
        "memory_gb", VIDEO_WORKING_MEMORY_GB[quality], "GB", "estimate", "models and frame batches"
    )
    return BatchWorkload("video_processing", quality, memory, work.freeze())


def data_processing_workload(*, data_gb: float, quality: str) -> BatchWorkload:
    """GPU dataframe passes over ``data_gb`` GB of data at v1's ``quality`` pass count."""
    work = Working()
    passes = DATA_PASSES_BY_QUALITY[quality]
    work.add("passes", passes, "passes", "assumed", f"quality {quality!r}")
    memory = work.number(
        "memory_gb",
        DATA_MEMORY_MULTIPLIER * min(data_gb, DATA_CHUNK_GB),
        "GB",
        "estimate",
        f"{DATA_MEMORY_MULTIPLIER:g} x the data, streamed in {DATA_CHUNK_GB:g} GB chunks",
    )
    work.number("bandwidth_efficiency", DATA_BANDWIDTH_EFFICIENCY, "", "estimate", "share of peak")
    work.number("host_transfer_gbps", HOST_TRANSFER_GBPS, "GB/s", "estimate", "PCIe 4.0 x16")
    return BatchWorkload("data_processing", quality, memory, work.freeze())
