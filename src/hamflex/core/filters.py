"""Smoothing of angle signals: zero-phase offline, causal One-Euro live, bounded gap filling.

Offline analysis sees the whole recording, so it can filter forwards and backwards
(no lag). Live use only has the past, so it uses the One-Euro filter (Casiez et al., CHI
2012), which smooths hard when the angle is still and little when it moves fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import butter, filtfilt


def _finite_runs(values: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` index ranges of consecutive finite values."""
    finite = np.isfinite(values).astype(np.int8)
    edges = np.diff(np.concatenate(([0], finite, [0])))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def interpolate_gaps(timestamps_s: np.ndarray, values: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Linearly fill NaN gaps no longer than ``max_gap_s`` that have data on both sides."""
    values = np.asarray(values, dtype=np.float64).copy()
    timestamps_s = np.asarray(timestamps_s, dtype=np.float64)
    runs = _finite_runs(values)
    for (_, previous_stop), (next_start, _) in zip(runs[:-1], runs[1:]):
        left, right = previous_stop - 1, next_start
        if timestamps_s[right] - timestamps_s[left] <= max_gap_s:
            gap = slice(left + 1, right)
            values[gap] = np.interp(timestamps_s[gap], timestamps_s[[left, right]], values[[left, right]])
    return values


MAX_NORMALIZED_CUTOFF = 0.5  # of the Nyquist rate: 6 Hz at 24 fps and above, fps / 4 below


@dataclass(frozen=True)
class ZeroPhaseLowPass:
    """Butterworth low-pass run forwards and backwards (no lag), per run of finite samples.

    The default 6 Hz cut-off keeps voluntary movement (well under 3 Hz) and removes
    landmark jitter; it is the usual choice for gait and joint-angle kinematics. A signal
    sampled too slowly for it (under 24 Hz: a busy live camera, a browser's frames) is still
    smoothed, at a quarter of its sample rate, because jitter does not slow down with it.
    """

    cutoff_hz: float = 6.0
    order: int = 2

    def __call__(self, timestamps_s: np.ndarray, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        smoothed = values.copy()
        if len(values) < 2:
            return smoothed
        sample_rate_hz = 1.0 / float(np.median(np.diff(timestamps_s)))
        normalized_cutoff = min(self.cutoff_hz / (sample_rate_hz / 2.0), MAX_NORMALIZED_CUTOFF)
        b, a = butter(self.order, normalized_cutoff)
        default_padlen = 3 * max(len(a), len(b))
        for start, stop in _finite_runs(values):
            if stop - start > default_padlen:
                smoothed[start:stop] = filtfilt(b, a, values[start:stop])
        return smoothed


def smooth_offline(
    timestamps_s: np.ndarray,
    values: np.ndarray,
    max_gap_s: float = 0.25,
    smoother: ZeroPhaseLowPass | None = None,
) -> np.ndarray:
    """Gap-fill then zero-phase smooth one angle signal; long gaps stay NaN."""
    filled = interpolate_gaps(timestamps_s, values, max_gap_s)
    return (smoother or ZeroPhaseLowPass())(timestamps_s, filled)


def _smoothing_factor(elapsed_s: float, cutoff_hz: float) -> float:
    tau = 1.0 / (2 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / elapsed_s)


@dataclass
class OneEuroFilter:
    """Causal One-Euro filter for one live signal; NaN input passes through and resets it.

    ``min_cutoff_hz`` sets the smoothing when still (lower = smoother, more lag);
    ``beta`` how quickly the cut-off rises with speed (higher = less lag when moving).
    """

    min_cutoff_hz: float = 1.0
    beta: float = 0.05
    derivative_cutoff_hz: float = 1.0
    _last_time_s: float | None = field(default=None, init=False, repr=False)
    _last_value: float = field(default=math.nan, init=False, repr=False)
    _last_derivative: float = field(default=0.0, init=False, repr=False)

    def reset(self) -> None:
        self._last_time_s = None
        self._last_value = math.nan
        self._last_derivative = 0.0

    def __call__(self, timestamp_s: float, value: float) -> float:
        if not math.isfinite(value):
            self.reset()
            return math.nan
        if self._last_time_s is None or timestamp_s <= self._last_time_s:
            self._last_time_s, self._last_value, self._last_derivative = timestamp_s, value, 0.0
            return value
        elapsed_s = timestamp_s - self._last_time_s
        derivative = (value - self._last_value) / elapsed_s
        alpha_d = _smoothing_factor(elapsed_s, self.derivative_cutoff_hz)
        derivative = alpha_d * derivative + (1 - alpha_d) * self._last_derivative
        cutoff_hz = self.min_cutoff_hz + self.beta * abs(derivative)
        alpha = _smoothing_factor(elapsed_s, cutoff_hz)
        filtered = alpha * value + (1 - alpha) * self._last_value
        self._last_time_s, self._last_value, self._last_derivative = timestamp_s, filtered, derivative
        return filtered


class OneEuroBank:
    """One One-Euro filter per named signal, for a live stream of angle dictionaries."""

    def __init__(self, min_cutoff_hz: float = 1.0, beta: float = 0.05) -> None:
        self._settings = (min_cutoff_hz, beta)
        self._filters: dict[str, OneEuroFilter] = {}

    def __call__(self, timestamp_s: float, values: dict[str, float]) -> dict[str, float]:
        smoothed = {}
        for name, value in values.items():
            filt = self._filters.get(name)
            if filt is None:
                filt = self._filters[name] = OneEuroFilter(*self._settings)
            smoothed[name] = filt(timestamp_s, float(value))
        return smoothed
