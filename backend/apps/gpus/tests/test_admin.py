"""Admin pages of the GPU specs: read-only."""

from __future__ import annotations

import pytest

from apps.gpus.models import GPUBenchmark

pytestmark = pytest.mark.django_db


def test_spec_list_and_detail_render_read_only(staff_client):
    row = GPUBenchmark.objects.get(gpu_model="H100 SXM")

    assert staff_client.get("/admin/gpus/gpubenchmark/").status_code == 200
    detail = staff_client.get(f"/admin/gpus/gpubenchmark/{row.id}/change/")
    assert detail.status_code == 200
    assert b'name="tflops_fp16"' not in detail.content  # no editable inputs


def test_specs_cannot_be_edited_or_deleted(staff_client):
    row = GPUBenchmark.objects.get(gpu_model="L4")

    response = staff_client.post(f"/admin/gpus/gpubenchmark/{row.id}/change/", {"tflops_fp16": "1"})
    assert response.status_code == 403
    assert staff_client.post(f"/admin/gpus/gpubenchmark/{row.id}/delete/").status_code == 403
    assert GPUBenchmark.objects.get(gpu_model="L4").tflops_fp16 == 121.0
