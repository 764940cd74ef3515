"""The history trend plot and the angle plot's shading captions (pure matplotlib, no model)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
from matplotlib.dates import num2date

from hamflex.history.trends import SideTrend
from hamflex.outputs.plots import Span, drawn_spans, span_caption, trend_figure


def test_trend_of_a_single_session_spans_a_week_and_draws_the_mdc_band():
    when = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
    figure = trend_figure([SideTrend("right", (when,), (20.0,), 8.3)])
    ax = figure.axes[0]
    left, right = (num2date(x) for x in ax.get_xlim())
    assert left == when - timedelta(days=3) and right == when + timedelta(days=3)
    (band,) = ax.patches  # drawn across the visible range, and named in the legend
    low, high = band.get_extents().transformed(ax.transData.inverted()).intervaly
    assert np.isclose(low, 11.7) and np.isclose(high, 28.3)
    x_low, x_high = band.get_extents().transformed(ax.transData.inverted()).intervalx
    assert x_low <= ax.get_xlim()[0] + 1e-6 and x_high >= ax.get_xlim()[1] - 1e-6
    assert "right: first ± MDC 8.3°" in [text.get_text() for text in ax.get_legend().get_texts()]


def test_trend_band_covers_every_session():
    first = datetime(2026, 1, 1, tzinfo=timezone.utc)
    times = (first, first + timedelta(days=30))
    ax = trend_figure([SideTrend("left", times, (30.0, 18.0), 8.3)]).axes[0]
    left, right = (num2date(x) for x in ax.get_xlim())
    assert left <= first and right >= times[-1] and right - left < timedelta(days=60)
    x_low, x_high = ax.patches[0].get_extents().transformed(ax.transData.inverted()).intervalx
    assert x_low <= ax.get_xlim()[0] + 1e-6 and x_high >= ax.get_xlim()[1] - 1e-6


def test_caption_describes_only_the_shading_drawn():
    columns = {"timestamp_ms": [0.0, 100.0, 200.0, 300.0], "detected": [1.0, 1.0, 1.0, 1.0]}
    spans = drawn_spans(columns, [Span(0.0, 0.1, "valid trial")])
    assert span_caption(spans) == "green = valid trial"
    columns["detected"] = [1.0, 0.0, 1.0, 1.0]
    spans = drawn_spans(columns, [Span(0.0, 0.1, "valid trial"), Span(0.2, 0.3, "invalid trial")])
    assert span_caption(spans) == "green = valid trial, red hatched = rejected trial, grey = no person detected"
    assert span_caption(drawn_spans({"timestamp_ms": [0.0, 1.0]})) == ""
