import pytest

from algorithms.errors import AlgorithmInputError
from algorithms.price_analytics import (
    PriceForecast,
    PriceStatistics,
    PriceTrend,
    anomaly_indices,
    anomaly_zscores,
    forecast_linear,
    price_statistics,
    price_trend,
)

DAY = 86_400.0
RISING = [(2 * DAY, 3.0), (0.0, 1.0), (DAY, 2.0)]  # deliberately unsorted


def test_statistics_of_three_points():
    stats = price_statistics(RISING)

    # p95 interpolates between the 2nd and 3rd sorted prices: 2 + 0.9 x (3 - 2).
    assert stats == PriceStatistics(
        count=3,
        min=1.0,
        max=3.0,
        mean=2.0,
        p50=2.0,
        p95=pytest.approx(2.9, abs=1e-12),
        stdev=1.0,
        volatility=0.5,
    )


def test_statistics_of_empty_and_single_point_series():
    assert price_statistics([]) == PriceStatistics(0, None, None, None, None, None, None, None)
    assert price_statistics([(0.0, 2.5)]) == PriceStatistics(
        count=1, min=2.5, max=2.5, mean=2.5, p50=2.5, p95=2.5, stdev=None, volatility=None
    )


def test_trend_of_rising_series():
    trend = price_trend(RISING)

    assert trend.slope_per_day == pytest.approx(1.0, abs=1e-12)
    assert trend.percent_change == pytest.approx(200.0, abs=1e-9)
    assert trend.direction == "up"


def test_trend_below_threshold_is_flat_and_falling_is_down():
    flat = price_trend([(0.0, 100.0), (3600.0, 100.5)])
    falling = price_trend([(0.0, 4.0), (DAY, 3.0)])

    assert flat.direction == "flat"
    assert flat.percent_change == pytest.approx(0.5, abs=1e-9)
    assert falling.direction == "down"
    assert falling.percent_change == pytest.approx(-25.0, abs=1e-9)


def test_trend_is_undefined_without_two_distinct_timestamps():
    assert price_trend([]) == PriceTrend(None, None, None)
    assert price_trend([(5.0, 1.0)]) == PriceTrend(None, None, None)
    assert price_trend([(5.0, 1.0), (5.0, 2.0)]) == PriceTrend(None, None, None)


def test_trend_survives_real_unix_timestamps():
    start = 1_700_000_000.0
    trend = price_trend([(start + hour * 3600, 2.0 + hour * 0.01) for hour in range(48)])

    assert trend.slope_per_day == pytest.approx(0.24, abs=1e-9)


def test_forecast_extends_the_fitted_line():
    forecast = forecast_linear(RISING, horizon_hours=24)

    assert forecast.timestamp == 3 * DAY
    assert forecast.price == pytest.approx(4.0, abs=1e-12)


def test_forecast_never_goes_below_zero():
    forecast = forecast_linear([(0.0, 2.0), (DAY, 1.0)], horizon_hours=24 * 10)

    assert forecast.price == 0.0


def test_forecast_without_enough_points_has_no_price():
    assert forecast_linear([], horizon_hours=1) == PriceForecast(None, None)
    assert forecast_linear([(100.0, 1.0)], horizon_hours=1) == PriceForecast(3700.0, None)


@pytest.mark.parametrize("horizon", [0, -1, float("nan"), 24 * 366])
def test_forecast_rejects_bad_horizon(horizon):
    with pytest.raises(AlgorithmInputError) as error:
        forecast_linear(RISING, horizon_hours=horizon)

    assert error.value.field == "horizon_hours"


def test_anomaly_zscores_flag_a_spike():
    # One outlier among n points has z = (n - 1) / sqrt(n) = 10 / sqrt(11) = 3.015 for n = 11.
    points = [(float(hour), 1.0) for hour in range(10)] + [(10.0, 10.0)]

    scores = anomaly_zscores(points)

    assert scores[-1] == pytest.approx(10 / 11**0.5, rel=1e-12)
    assert scores[0] == pytest.approx(-1 / 11**0.5, rel=1e-12)
    assert anomaly_indices(points) == [10]
    assert anomaly_indices(points, threshold=3.1) == []


def test_anomaly_zscores_of_degenerate_series_are_zero():
    assert anomaly_zscores([]).tolist() == []
    assert anomaly_zscores([(0.0, 3.0)]).tolist() == [0.0]
    assert anomaly_zscores([(0.0, 3.0), (1.0, 3.0)]).tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([(0.0, -1.0)], "must not be negative"),
        ([(0.0, 1.0, 2.0)], "pair"),
        ([(0.0, float("nan"))], "NaN"),
        ([(0.0, "1.0")], "only numbers"),
    ],
)
def test_series_validation(points, message):
    with pytest.raises(AlgorithmInputError, match=message) as error:
        price_statistics(points)

    assert error.value.field == "points"
