"""Filters on known signals: gap filling, zero-phase smoothing, the causal One-Euro filter."""

import math

import numpy as np
import pytest

from hamflex.core.filters import (
    OneEuroBank,
    OneEuroFilter,
    ZeroPhaseLowPass,
    interpolate_gaps,
    smooth_offline,
)

FPS = 30.0
T_S = np.arange(0, 10, 1 / FPS)


def test_short_gaps_filled_long_gaps_kept():
    values = np.sin(T_S)
    holed = values.copy()
    holed[30:35] = np.nan  # 5 frames = 0.17 s
    holed[100:130] = np.nan  # 1 s
    filled = interpolate_gaps(T_S, holed, max_gap_s=0.25)
    np.testing.assert_allclose(filled[30:35], values[30:35], atol=0.01)
    assert np.isnan(filled[100:130]).all()
    assert np.isnan(interpolate_gaps(T_S, np.r_[np.nan, values[1:]], 0.25)[0])  # no data before: not invented


def test_zero_phase_removes_noise_without_lag():
    slow = 40 * np.sin(2 * np.pi * 0.3 * T_S)
    noisy = slow + np.random.default_rng(0).normal(0, 3, T_S.size)
    smoothed = ZeroPhaseLowPass(cutoff_hz=3.0)(T_S, noisy)
    assert np.std(smoothed - slow) < 0.5 * np.std(noisy - slow)
    lags = np.arange(-10, 11)
    errors = [np.mean((np.roll(smoothed, lag) - slow)[20:-20] ** 2) for lag in lags]
    assert lags[int(np.argmin(errors))] == 0


@pytest.mark.parametrize("fps", [8.0, 12.0, 20.0])
def test_zero_phase_still_smooths_a_slowly_sampled_signal(fps):
    """A busy live camera analyses 7-20 frames a second: its jitter must be smoothed too."""
    t_s = np.arange(0, 20, 1 / fps)
    slow = 40 * np.sin(2 * np.pi * 0.2 * t_s)  # a slow leg movement
    noisy = slow + np.random.default_rng(1).normal(0, 3, t_s.size)
    smoothed = ZeroPhaseLowPass()(t_s, noisy)
    assert np.std(smoothed - slow) < 0.75 * np.std(noisy - slow)
    assert np.max(np.abs(smoothed - slow)[10:-10]) < 8.0  # the movement itself is kept


def test_zero_phase_keeps_nan_runs_and_short_runs():
    values = np.full(T_S.size, 10.0)
    values[50:60] = np.nan
    values[200:203] = np.nan
    smoothed = smooth_offline(T_S, values, max_gap_s=0.15)
    assert np.isnan(smoothed[50:60]).all()
    assert np.allclose(smoothed[np.isfinite(smoothed)], 10.0)
    assert np.isfinite(smoothed[200:203]).all()  # a 3-frame hole spans 0.13 s ≤ 0.15 s: filled


def test_one_euro_is_causal_and_tracks_a_step():
    filt = OneEuroFilter(min_cutoff_hz=1.0, beta=0.05)
    out = [filt(t, 0.0 if t < 5 else 20.0) for t in T_S]
    step = int(5 * FPS)
    assert out[step - 1] == 0.0  # nothing from the future
    assert 0 < out[step] < 20
    assert out[-1] == pytest.approx(20.0, abs=0.1)


def test_one_euro_smooths_jitter_when_still():
    noisy = 45 + np.random.default_rng(1).normal(0, 2, T_S.size)
    filt = OneEuroFilter()
    out = np.array([filt(t, v) for t, v in zip(T_S, noisy)])
    assert np.std(out[30:]) < 0.5 * np.std(noisy[30:])


def test_one_euro_resets_on_missing_values():
    filt = OneEuroFilter()
    filt(0.0, 10.0)
    assert math.isnan(filt(0.033, math.nan))
    assert filt(0.066, 50.0) == 50.0  # a fresh start, not dragged by the old value


def test_one_euro_bank_keeps_one_filter_per_signal():
    bank = OneEuroBank()
    bank(0.0, {"a": 0.0, "b": 100.0})
    out = bank(0.033, {"a": 10.0, "b": 100.0})
    assert 0 < out["a"] < 10 and out["b"] == pytest.approx(100.0)
