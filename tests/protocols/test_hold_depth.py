"""The person's own range: the depth check counts near the deepest steady angle reached, above an
absolute floor; synthetic seated and supine sequences of tight and flexible people, both legs."""

from __future__ import annotations

import numpy as np
import pytest

from hamflex.protocols.hold import DepthTracker, HoldProtocol
from hamflex.protocols.catalog import lookup_stretch
from tests.support.synthetic_stretches import UPRIGHT, correct_pose, samples

FPS = 30.0


def seated_profile(depth_deg: float, hold_s: float, upright_deg: float = 90.0) -> tuple[np.ndarray, np.ndarray]:
    """Upright 3 s, a 2 s lean to ``depth_deg``, held ``hold_s``, 2 s back, upright 3 s: (t, hip)."""
    t = np.arange(int(round((10.0 + hold_s) * FPS)) + 1) / FPS
    ease = lambda x: 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0))  # noqa: E731
    rise = ease((t - 3.0) / 2.0) - ease((t - 5.0 - hold_s) / 2.0)
    return t, upright_deg + (depth_deg - upright_deg) * rise


def run_seated(hip, t, tested_side="right", **options):
    protocol = HoldProtocol(lookup_stretch("hamstring_seated"), **options)
    trunk = UPRIGHT - (hip - 90.0)  # leaning from the hips
    pose = correct_pose("hamstring_seated", hip=hip, other_hip=hip, trunk=trunk, tested_side=tested_side)
    for sample in samples(pose, t):
        protocol.update(sample)
    return protocol.result()


@pytest.mark.parametrize("tested_side", ["right", "left"])
@pytest.mark.parametrize("depth_deg, hold_s", [(95.0, 25.0), (97.0, 20.0), (130.0, 25.0)])
def test_a_steady_hold_at_the_persons_own_depth_counts_its_seconds(depth_deg, hold_s, tested_side):
    t, hip = seated_profile(depth_deg, hold_s)
    result = run_seated(hip, t, tested_side=tested_side)
    assert result.valid_seconds_total == pytest.approx(hold_s, abs=3.0)
    assert result.reps[0].stretch_angle_deg == pytest.approx(depth_deg, abs=2.0)


def test_sitting_upright_counts_nothing():
    t = np.arange(int(30 * FPS)) / FPS
    result = run_seated(np.full(t.shape, 90.0) + 1.0 * np.sin(2 * np.pi * 0.2 * t), t)
    assert result.valid_seconds_total == 0.0 and result.no_valid_reason


def test_bouncing_at_a_shallow_depth_counts_nothing():
    t = np.arange(int(20 * FPS)) / FPS
    result = run_seated(100.0 + 8.0 * np.sin(2 * np.pi * 1.0 * t), t)
    assert result.valid_seconds_total <= 1.0 and result.reps_completed == 0


def test_a_hold_well_short_of_the_persons_deepest_does_not_count():
    # 25 s at 120°, then a slump to 105° for 15 s: only the deep hold is the person's stretch.
    t = np.arange(int(45 * FPS)) / FPS
    hip = np.where(t < 28.0, 120.0, 105.0)
    hip = np.where(t < 3.0, 90.0, hip)
    result = run_seated(hip, t)
    assert result.valid_seconds_total == pytest.approx(25.0, abs=2.0)


@pytest.mark.parametrize("depth_deg", [55.0, 80.0])
def test_supine_tight_and_flexible_legs_count_their_hold(depth_deg):
    t = np.arange(int(30 * FPS)) / FPS
    hip = np.where(t < 3.0, 5.0, depth_deg)
    protocol = HoldProtocol(lookup_stretch("hamstring_supine"))
    for sample in samples(correct_pose("hamstring_supine", hip=hip), t):
        protocol.update(sample)
    assert protocol.result().valid_seconds_total == pytest.approx(27.0, abs=1.5)


def test_depth_tracker_keeps_the_deepest_steady_plateau():
    tracker = DepthTracker(tolerance_deg=5.0, plateau_s=1.0, spread_deg=2.0)
    assert tracker.floor_deg("right") == -np.inf and not tracker.known("right")
    for i in range(60):  # a steady second at 100°, then a fast sweep that never settles
        tracker.observe("right", i / 30.0, 100.0, steady=True)
    for i in range(60, 90):
        tracker.observe("right", i / 30.0, 100.0 + 3.0 * (i - 60), steady=True)
    assert tracker.deepest_deg["right"] == pytest.approx(100.0, abs=3.0)
    assert tracker.floor_deg("right") == pytest.approx(95.0, abs=3.0) and not tracker.known("left")


def test_a_start_depth_from_the_history_stands_in_until_the_first_plateau():
    t, hip = seated_profile(97.0, 20.0)
    alone = run_seated(hip, t).valid_seconds_total
    # The usual depth known: the lean in counts only near it, as it would after a plateau.
    assert run_seated(hip, t, start_depth_deg=97.0).valid_seconds_total == pytest.approx(alone, abs=0.5)
    # A stiffer day than usual still counts, once its own plateau replaces the estimate.
    stiffer = run_seated(hip, t, start_depth_deg=115.0)
    assert stiffer.valid_seconds_total == pytest.approx(20.0, abs=3.0)
    assert stiffer.reps[0].stretch_angle_deg == pytest.approx(97.0, abs=1.0)
