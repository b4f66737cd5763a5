import pytest

from algorithms.errors import AlgorithmInputError
from algorithms.kpi import cost_per_gflop


def test_cost_per_gflop():
    # 100 TFLOP/s for an hour = 3.6e8 GFLOP for 3.6 -> 1e-8 per GFLOP; 0.036 per TFLOP-hour.
    result = cost_per_gflop(price_per_hour=3.6, tflops=100.0)

    assert result.cost_per_gflop == pytest.approx(1e-8, rel=1e-12)
    assert result.cost_per_tflop_hour == pytest.approx(0.036, rel=1e-12)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: cost_per_gflop(price_per_hour=0, tflops=10), "price_per_hour"),
        (lambda: cost_per_gflop(price_per_hour=-1, tflops=10), "price_per_hour"),
        (lambda: cost_per_gflop(price_per_hour="1", tflops=10), "price_per_hour"),
        (lambda: cost_per_gflop(price_per_hour=float("inf"), tflops=10), "price_per_hour"),
        (lambda: cost_per_gflop(price_per_hour=float("nan"), tflops=10), "price_per_hour"),
        (lambda: cost_per_gflop(price_per_hour=1, tflops=0), "tflops"),
    ],
)
def test_costs_reject_bad_input(call, field):
    with pytest.raises(AlgorithmInputError) as error:
        call()

    assert error.value.field == field
