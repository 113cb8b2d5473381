"""Line charts with error bars (playground.charts): what is drawn is where the numbers say."""
import numpy as np

from playground import charts

RED, BLUE = "#ff0000", "#0000ff"


def _rows_of(image, colour):
    mask = (image == charts._rgb(colour)).all(axis=2)
    return np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]


def test_error_bars_span_the_error_and_a_line_without_errors_has_none():
    series = [{"name": "wide", "colour": RED, "points": [(0, 50, 20), (1, 50, 20)]},
              {"name": "none", "colour": BLUE, "points": [(0, 50, 0), (1, 50, 0)]}]
    image = charts.line_chart(series, ["a", "b"], "accuracy", "n", y_lim=(0, 100))
    assert image.shape == (charts.HEIGHT, charts.WIDTH, 3) and image.dtype == np.uint8
    red_rows, _ = _rows_of(image[: charts.HEIGHT - 100], RED)  # the plot, not the legend
    blue_rows, _ = _rows_of(image[: charts.HEIGHT - 100], BLUE)
    plot_height = charts.HEIGHT - charts.BOTTOM - charts.LEGEND_ROW - charts.TOP
    assert abs((red_rows.max() - red_rows.min()) - 0.4 * plot_height) <= 3  # 30 to 70 of 0 to 100
    assert blue_rows.max() - blue_rows.min() <= 8  # a flat line and its markers


def test_a_higher_mean_is_drawn_higher_and_values_outside_the_axis_are_clipped():
    series = [{"name": "low", "colour": RED, "points": [(0, 10, 0)]},
              {"name": "high", "colour": BLUE, "points": [(0, 90, 0), (1, 500, 0)]}]
    image = charts.line_chart(series, ["a", "b"], "y", "x", y_lim=(0, 100))
    red_rows, _ = _rows_of(image[: charts.HEIGHT - 100], RED)
    blue_rows, _ = _rows_of(image[: charts.HEIGHT - 100], BLUE)
    assert blue_rows.mean() < red_rows.mean() and blue_rows.min() >= charts.TOP - 4


def test_ticks_are_round_and_cover_the_range():
    assert charts._ticks(68, 86) == [70, 75, 80, 85] and charts._ticks(68, 76) == list(range(68, 77))
    assert charts._ticks(0, 1)[0] == 0 and charts._ticks(0, 1)[-1] == 1 and len(charts._ticks(0, 1)) <= 8
