"""GPU specifications (`gpu_benchmarks`): catalogue figures as rows, with derived throughput."""

from __future__ import annotations

from typing import ClassVar

from django.contrib.postgres.fields import ArrayField
from django.db import models


class GPUBenchmark(models.Model):
    """Datasheet figures for one canonical accelerator; tensor figures are dense (no sparsity).

    `tokens_per_second_*` come from the documented throughput model (`throughput_model` names
    it); null where the model does not fit in the GPU's memory.
    """

    gpu_model = models.CharField("GPU model", max_length=64, unique=True)
    family = models.CharField(max_length=64, blank=True, default="")
    variant = models.CharField(max_length=32, null=True, blank=True)
    vendor = models.CharField(max_length=32)
    architecture = models.CharField(max_length=64, blank=True, default="")
    vram_gb = models.FloatField("VRAM (GB)")
    memory_bandwidth_gbps = models.FloatField("Memory bandwidth (GB/s)", null=True, blank=True)
    tflops_fp32 = models.FloatField("FP32 TFLOPS", null=True, blank=True)
    tflops_fp16 = models.FloatField("FP16 TFLOPS", null=True, blank=True)
    tflops_bf16 = models.FloatField("BF16 TFLOPS", null=True, blank=True)
    tflops_fp8 = models.FloatField("FP8 TFLOPS", null=True, blank=True)
    tops_int8 = models.FloatField("INT8 TOPS", null=True, blank=True)
    tdp_watts = models.FloatField("TDP (W)", null=True, blank=True)
    tokens_per_second_7b = models.FloatField("Tokens/s (7B)", null=True, blank=True)
    tokens_per_second_13b = models.FloatField("Tokens/s (13B)", null=True, blank=True)
    tokens_per_second_70b = models.FloatField("Tokens/s (70B)", null=True, blank=True)
    image_gen_per_minute = models.FloatField("Images per minute", null=True, blank=True)
    aliases = ArrayField(models.TextField(), default=list, blank=True)
    throughput_model = models.TextField(blank=True, default="")
    source = models.TextField()
    verified_at = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "gpu_benchmarks"
        verbose_name = "GPU benchmark"
        ordering: ClassVar = ["gpu_model"]

    def __str__(self) -> str:
        return self.gpu_model
