"""Charts for reports and the history: angles over time with trials, holds and faults
shaded, and the deficit trend with its minimal-detectable-change band.

Only matplotlib's object-oriented API is used (``Figure`` + the Agg canvas), so nothing
touches pyplot's global state and no display is needed.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from hamflex.history.trends import SideTrend

SIDE_COLORS = {"left": "#1f77b4", "right": "#ff7f0e"}  # as the overlay: blue left, orange right
SPAN_STYLES = {
    "valid trial": {"color": "#2ca02c", "alpha": 0.18},
    "invalid trial": {"color": "#d62728", "alpha": 0.18, "hatch": "//"},
    "completed rep": {"color": "#2ca02c", "alpha": 0.15},
    "unfinished rep": {"color": "#d62728", "alpha": 0.18, "hatch": "//"},
    "no person": {"color": "#7f7f7f", "alpha": 0.2},
}
# What each kind of shading means, for captions that describe only what a plot draws.
SPAN_CAPTIONS = {
    "valid trial": "green = valid trial",
    "invalid trial": "red hatched = rejected trial",
    "completed rep": "green = completed rep",
    "unfinished rep": "red hatched = unfinished rep",
    "no person": "grey = no person detected",
}
SINGLE_SESSION_MARGIN = timedelta(days=3)  # the trend's date range around a lone session
PANELS = (("hip_flexion", "Hip flexion (°)"), ("knee_extension_deficit", "Knee extension deficit (°)"))


@dataclass(frozen=True)
class Span:
    """A shaded time window: a trial, a rep, or frames without a person."""

    start_s: float
    end_s: float
    kind: str
    label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in SPAN_STYLES:
            raise ValueError(f"unknown span kind {self.kind!r}")
        if not (math.isfinite(self.start_s) and math.isfinite(self.end_s)) or self.end_s < self.start_s:
            raise ValueError(f"bad span {self.start_s}..{self.end_s} s")


def _window(entry: Mapping[str, Any]) -> tuple[float, float] | None:
    start, end = entry.get("start_s"), entry.get("end_s")
    if isinstance(start, (int, float)) and isinstance(end, (int, float)) and math.isfinite(start) \
            and math.isfinite(end) and end >= start:
        return float(start), float(end)
    return None


def spans_from_test90(result: Mapping[str, Any]) -> list[Span]:
    """One span per timed trial of a test90.json result, valid or not."""
    spans = []
    for number, trial in enumerate(result.get("trials") or (), start=1):
        window = _window(trial)
        if window:
            kind = "valid trial" if trial.get("valid") else "invalid trial"
            spans.append(Span(*window, kind, f"trial {number} {trial.get('side') or ''}".strip()))
    return spans


def spans_from_hold(result: Mapping[str, Any]) -> list[Span]:
    """One span per rep of a hold.json result that carries its ``start_s``/``end_s``."""
    spans = []
    for number, rep in enumerate(result.get("reps") or (), start=1):
        window = _window(rep)
        if window:
            spans.append(Span(*window, "completed rep" if rep.get("completed") else "unfinished rep", f"rep {number}"))
    return spans


def undetected_spans(time_s: np.ndarray, detected: np.ndarray) -> list[Span]:
    """Runs of frames without a person, each as a span from its first to its last frame."""
    spans = []
    missing = ~np.asarray(detected, dtype=bool)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], missing.astype(int), [0]))))
    for first, stop in zip(edges[::2], edges[1::2]):
        spans.append(Span(float(time_s[first]), float(time_s[stop - 1]), "no person"))
    return spans


def _column(columns: Mapping[str, Sequence[float]], name: str) -> np.ndarray | None:
    """The smoothed angle column if written, else the raw one."""
    for candidate in (f"{name}_smoothed_deg", f"{name}_deg"):
        if candidate in columns:
            return np.asarray(columns[candidate], dtype=float)
    return None


def drawn_spans(columns: Mapping[str, Sequence[float]], spans: Sequence[Span] = ()) -> list[Span]:
    """Every span :func:`angle_figure` shades: the given ones plus the frames without a person."""
    time_s = np.asarray(columns["timestamp_ms"], dtype=float) / 1000.0
    detected = np.asarray(columns.get("detected", np.ones_like(time_s)), dtype=float) > 0
    return [*spans, *undetected_spans(time_s, detected)]


def span_caption(spans: Sequence[Span]) -> str:
    """What the shading of these spans means, e.g. "green = valid trial, grey = no person detected"."""
    return ", ".join(SPAN_CAPTIONS[kind] for kind in dict.fromkeys(span.kind for span in spans))


def angle_figure(columns: Mapping[str, Sequence[float]], spans: Sequence[Span] = (), title: str = "") -> Figure:
    """Hip flexion and knee extension deficit of both legs over time, spans shaded.

    ``columns`` is an angles.csv table as read by :func:`hamflex.outputs.tables.read_angles_csv`.
    """
    time_s = np.asarray(columns["timestamp_ms"], dtype=float) / 1000.0
    shaded = drawn_spans(columns, spans)
    figure = Figure(figsize=(7, 5.2), layout="constrained")
    axes = figure.subplots(len(PANELS), 1, sharex=True)
    marker = "o" if len(time_s) < 20 else None
    for ax, (angle, label) in zip(axes, PANELS):
        for side, color in SIDE_COLORS.items():
            values = _column(columns, f"{side}_{angle}")
            if values is not None and np.isfinite(values).any():
                ax.plot(time_s, values, color=color, marker=marker, linewidth=1.6, label=side)
        for span in shaded:
            style = SPAN_STYLES[span.kind]
            ax.axvspan(span.start_s, max(span.end_s, span.start_s + 1e-3), color=style["color"],
                       alpha=style["alpha"], hatch=style.get("hatch"), linewidth=0)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
    for span in spans:
        if span.label:
            axes[0].annotate(span.label, xy=(span.start_s, 1.0), xycoords=("data", "axes fraction"),
                             xytext=(2, -2), textcoords="offset points", va="top", fontsize=8)
    axes[-1].set_xlabel("Time (s)")
    handles, labels = axes[0].get_legend_handles_labels()
    for kind in dict.fromkeys(span.kind for span in shaded):
        style = SPAN_STYLES[kind]
        handles.append(Patch(facecolor=style["color"], alpha=style["alpha"] * 2, hatch=style.get("hatch"), label=kind))
        labels.append(kind)
    if handles:
        figure.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 4), fontsize=8)
    if title:
        figure.suptitle(title)
    return figure


def trend_figure(trends: Sequence[SideTrend], title: str = "") -> Figure:
    """Knee extension deficit per side over sessions; the band is the first session ± MDC95:
    a later point outside it is a real change, inside it is within measurement error. The band
    spans the whole visible date range; a lone session gets a few days either side."""
    figure = Figure(figsize=(7, 4.2), layout="constrained")
    ax = figure.subplots()
    for trend in trends:
        color = SIDE_COLORS.get(trend.side, "#333333")
        ax.plot(trend.times, trend.deficits_deg, color=color, marker="o", linewidth=1.6, label=trend.side)
        ax.axhspan(trend.first_deg - trend.mdc_deg, trend.first_deg + trend.mdc_deg, color=color,
                   alpha=0.15, linewidth=0, label=f"{trend.side}: first ± MDC {trend.mdc_deg:.1f}°")
    times = [time for trend in trends for time in trend.times]
    if times and min(times) == max(times):
        ax.set_xlim(times[0] - SINGLE_SESSION_MARGIN, times[0] + SINGLE_SESSION_MARGIN)
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_ylabel("Knee extension deficit (°)\nlower = more flexible")
    ax.grid(True, alpha=0.3)
    if trends:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no 90-90 test recorded yet", transform=ax.transAxes, ha="center")
    if title:
        ax.set_title(title)
    return figure


def figure_bytes(figure: Figure, fmt: str = "png", dpi: int = 110) -> bytes:
    """Render a figure headlessly with the Agg canvas (png, svg or pdf)."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=dpi)
    return buffer.getvalue()


def save_figure(figure: Figure, path: Path) -> Path:
    """Write a figure; the format follows the suffix (.png, .svg, .pdf)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"{path}: plots can be written as .png, .svg or .pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(figure_bytes(figure, fmt))
    return path
