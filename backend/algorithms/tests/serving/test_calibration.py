import json

import pytest

from algorithms.calibrate import (
    REFERENCES_PATH,
    TOLERANCE,
    fit,
    reference_predict,
    references_load,
    table,
)
from algorithms.serving import CALIBRATED_EFFICIENCY

REFERENCES = references_load()


def test_there_are_enough_sourced_references_from_more_than_one_stack():
    assert len(REFERENCES) >= 5
    assert all(reference.url.startswith("https://") for reference in REFERENCES)
    document = json.loads(REFERENCES_PATH.read_text(encoding="utf-8"))
    frameworks = {entry["source"]["framework"].split()[0] for entry in document["references"]}
    assert {"TensorRT-LLM", "vLLM", "NVIDIA"} <= frameworks
    assert {reference.gpu for reference in REFERENCES} >= {"H100 SXM", "A100 SXM 80GB", "H200 SXM"}


@pytest.mark.parametrize("reference", REFERENCES, ids=[reference.id for reference in REFERENCES])
def test_model_stays_within_35_percent_of_each_published_measurement(reference, gpus):
    residual = reference_predict(reference, gpus, CALIBRATED_EFFICIENCY)
    assert abs(residual.error) <= TOLERANCE, (reference.measured, residual.modelled)


def test_recorded_constants_are_what_the_calibration_fits(gpus):
    assert fit(REFERENCES, gpus) == CALIBRATED_EFFICIENCY


def test_table_prints_every_reference_and_the_largest_error(gpus):
    from algorithms.calibrate import residuals

    text = table(residuals(REFERENCES, gpus, CALIBRATED_EFFICIENCY))
    assert text.count("\n| ") == len(REFERENCES)
    assert "largest |error|" in text
