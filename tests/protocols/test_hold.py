"""The hold coach on synthetic sequences with known truth: valid seconds, hysteresis, bouncing,
repetitions, rest, sides, and the JSON result."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from hamflex.cli.text import format_hold
from hamflex.protocols.base import CUE_DONE, CUE_POSITION_BAD, CUE_SWITCH_SIDES
from hamflex.protocols.hold import (
    CUE_BOUNCING,
    FAULT_BOUNCING,
    FAULT_MOVING,
    FAULT_NOT_VISIBLE,
    BounceDetector,
    HoldProtocol,
    HoldResult,
    HoldSettings,
)
from hamflex.protocols.catalog import lookup_stretch as get_stretch
from tests.support.synthetic_stretches import correct_pose, samples

FPS = 30.0
SUPINE = get_stretch("hamstring_supine")


def timeline(duration_s: float) -> np.ndarray:
    return np.arange(int(round(duration_s * FPS)) + 1) / FPS


def run(hip, knee=5.0, t=None, detected=None, **protocol_options):
    """Feed a supine hamstring sequence; returns (protocol, feedbacks)."""
    protocol = HoldProtocol(SUPINE, **protocol_options)
    pose = correct_pose("hamstring_supine", hip=hip, knee=knee)
    feedbacks = [protocol.update(s) for s in samples(pose, t, detected)]
    return protocol, feedbacks


def test_clean_30_s_hold_counts_30_s():
    t = timeline(30.0)
    protocol, feedbacks = run(np.full(t.shape, 80.0), t=t)
    result = protocol.result().to_dict()
    assert result["valid_seconds_total"] == pytest.approx(30.0, abs=0.2)
    assert result["reps_completed"] == 1 and result["bounces_total"] == 0
    assert result["reps"][0]["faults"] == {}
    assert result["percent_time_valid"] == pytest.approx(100.0, abs=1.0)
    assert sum(CUE_DONE in f.cues for f in feedbacks) == 1


def test_leaving_the_range_for_5_s_counts_25_s():
    t = timeline(30.0)
    knee = np.where((t >= 10.0) & (t < 15.0), 35.0, 5.0)  # knee bent for 5 s
    protocol, feedbacks = run(np.full(t.shape, 80.0), knee=knee, t=t)
    result = protocol.result().to_dict()
    assert result["valid_seconds_total"] == pytest.approx(25.0, abs=0.3)
    assert result["reps"][0]["faults"]["knee_straight"] == pytest.approx(5.0, abs=0.3)
    assert sum(CUE_POSITION_BAD in f.cues for f in feedbacks) == 1
    assert any("straighten your knee" in f.guidance for f in feedbacks)
    assert any("straighten your knee" in f.spoken for f in feedbacks)


def test_lowering_the_leg_out_of_range_for_5_s_counts_about_25_s():
    t = timeline(30.0)
    hip = np.where((t >= 10.0) & (t < 15.0), 30.0, 80.0)
    protocol, _ = run(hip, t=t)
    # The two fast moves out and back in also count as moving for a moment.
    assert protocol.result().to_dict()["valid_seconds_total"] == pytest.approx(25.0, abs=1.0)


def test_bouncing_seconds_are_invalid_and_the_bounces_reported():
    t = timeline(30.0)
    bouncing = (t >= 10.0) & (t < 15.0)
    hip = 80.0 + np.where(bouncing, 8.0 * np.sin(2 * np.pi * 1.0 * (t - 10.0)), 0.0)  # 5 bounces at 1 Hz
    protocol, feedbacks = run(hip, t=t)
    result = protocol.result().to_dict()
    assert result["valid_seconds_total"] == pytest.approx(25.0, abs=1.5)
    assert 4 <= result["bounces_total"] <= 6
    assert result["reps"][0]["faults"][FAULT_BOUNCING] >= 4.0
    assert any(CUE_BOUNCING in f.guidance for f in feedbacks)
    after = [f for f, when in zip(feedbacks, t) if when > 18.0]
    assert all(f.state in ("holding", "rep_done") for f in after)


def test_slow_steady_deepening_is_not_bouncing():
    t = timeline(30.0)
    hip = 65.0 + 25.0 * t / 30.0 + 1.0 * np.sin(2 * np.pi * 0.2 * t)  # deepening with a little sway
    protocol, _ = run(hip, t=t)
    result = protocol.result().to_dict()
    assert result["bounces_total"] == 0
    assert FAULT_BOUNCING not in result["reps"][0]["faults"]
    assert FAULT_MOVING not in result["reps"][0]["faults"]
    assert result["valid_seconds_total"] == pytest.approx(30.0, abs=0.2)


def test_edge_of_range_does_not_flicker():
    t = timeline(30.0)
    knee = np.where(t < 10.0, 5.0, 20.0 + 1.0 * np.sin(2 * np.pi * 2.0 * t))  # hovering at the 20° limit
    protocol, feedbacks = run(np.full(t.shape, 80.0), knee=knee, t=t)
    changes = sum(a.state != b.state for a, b in zip(feedbacks, feedbacks[1:]))
    assert changes <= 2
    assert protocol.result().to_dict()["valid_seconds_total"] == pytest.approx(10.0, abs=0.5)


def test_unseen_person_does_not_count():
    t = timeline(30.0)
    detected = ~((t >= 12.0) & (t < 15.0))
    protocol, feedbacks = run(np.full(t.shape, 80.0), t=t, detected=detected)
    result = protocol.result().to_dict()
    assert result["valid_seconds_total"] == pytest.approx(27.0, abs=0.3)
    assert result["reps"][0]["faults"][FAULT_NOT_VISIBLE] > 2.0
    assert any(f.state == "paused" for f in feedbacks)


def hold_and_release(holds_s: list[float], rest_s: float = 8.0) -> tuple[np.ndarray, np.ndarray]:
    """Hip angle over time: lying flat 2 s, then each hold followed by ``rest_s`` flat."""
    parts_t, parts_hip, start = [], [], 0.0
    segments = [(2.0, 0.0)] + [seg for hold in holds_s for seg in ((hold, 80.0), (rest_s, 0.0))]
    for duration, hip in segments:
        n = int(round(duration * FPS))
        parts_t.append(start + np.arange(n) / FPS)
        parts_hip.append(np.full(n, hip))
        start += duration
    return np.concatenate(parts_t), np.concatenate(parts_hip)


def test_reps_complete_at_the_target_and_the_rest_is_measured():
    t, hip = hold_and_release([22.0, 22.0])
    protocol, feedbacks = run(hip, t=t, hold_s=20, reps=2)
    result = protocol.result().to_dict()
    assert result["reps_completed"] == 2 and result["finished"]
    first, second = result["reps"]
    assert first["completed"] and second["completed"]
    assert first["valid_s"] == pytest.approx(22.0, abs=1.0)
    assert second["rest_before_s"] == pytest.approx(8.0, abs=1.0)
    # Windows on the recording's clock: hold 2-24 s, rest 8 s, hold 32-54 s.
    assert first["start_s"] == pytest.approx(2.0, abs=0.7) and first["end_s"] == pytest.approx(24.0, abs=0.7)
    assert second["start_s"] == pytest.approx(32.0, abs=0.7) and second["end_s"] == pytest.approx(54.0, abs=0.7)
    assert second["start_s"] - first["end_s"] == pytest.approx(second["rest_before_s"], abs=0.05)
    assert sum(CUE_DONE in f.cues for f in feedbacks) == 2
    assert any(line.startswith("rest ") for f in feedbacks for line in f.guidance)
    assert feedbacks[-1].finished


def test_a_short_hold_is_an_incomplete_rep():
    t, hip = hold_and_release([12.0])
    protocol, _ = run(hip, t=t, hold_s=20, reps=1)
    result = protocol.result().to_dict()
    assert result["reps_completed"] == 0 and not result["reps"][0]["completed"]
    assert result["reps"][0]["valid_s"] == pytest.approx(12.0, abs=1.0)
    # The rest after an unfinished rep is not part of it: no faults, no extra time.
    assert result["reps"][0]["total_s"] == pytest.approx(result["reps"][0]["valid_s"], abs=0.05)
    assert result["reps"][0]["faults"] == {}


def test_both_sides_alternate():
    t, hip = hold_and_release([22.0, 22.0])
    protocol, feedbacks = run(hip, t=t, hold_s=20, reps=1, side="both")
    result = protocol.result().to_dict()
    assert [rep["side"] for rep in result["reps"]] == ["right", "left"]
    assert result["reps_target"] == 2 and result["finished"]
    assert sum(CUE_SWITCH_SIDES in f.cues for f in feedbacks) == 1
    assert any("switch sides" in f.spoken for f in feedbacks)


def test_side_is_named_from_the_pose_when_not_given():
    t = timeline(25.0)
    protocol = HoldProtocol(SUPINE, hold_s=20, reps=1)
    pose = correct_pose("hamstring_supine", hip=np.full(t.shape, 80.0), tested_side="left")
    for sample in samples(pose, t):
        protocol.update(sample)
    # Head left and face up, the right side faces the camera: the raised left leg is the far one.
    assert protocol.result().to_dict()["side"] == "auto"
    assert protocol.result().to_dict()["reps"][0]["side"] in ("left", "right")


def test_switch_side_and_restart():
    t = timeline(10.0)
    protocol, _ = run(np.full(t.shape, 80.0), t=t, side="right")
    protocol.switch_side()
    assert protocol.side == "left" and protocol.reps[-1].closed
    protocol.restart()
    result = protocol.result().to_dict()
    assert result["reps"] == [] and result["valid_seconds_total"] == 0.0


def test_result_is_json_ready_at_any_moment_and_summarised():
    protocol = HoldProtocol(SUPINE)
    empty = protocol.result().to_dict()
    assert empty["reps"] == [] and empty["percent_time_valid"] == 0.0
    json.dumps(empty, allow_nan=False)
    t = timeline(30.0)
    protocol, _ = run(np.full(t.shape, 80.0), t=t)
    result = protocol.result().to_dict()
    json.dumps(result, allow_nan=False)
    assert {"schema_version", "stretch", "side", "reps", "valid_seconds_total", "reps_completed",
            "percent_time_valid"} <= result.keys()
    assert {"side", "valid_s", "total_s", "bounces", "completed", "faults", "start_s", "end_s"} <= result["reps"][0].keys()
    text = format_hold(HoldResult.from_dict(result))
    assert "1/5 reps" in text and "30.0 valid seconds" in text


def test_knee_bend_after_the_target_is_a_fault_of_the_rep_not_its_release():
    # Held 22 s, knee bent 3 s with the leg still up, straight again 0.5 s, then the leg lowered.
    t = timeline(32.0)
    knee = np.where((t >= 22.0) & (t < 25.0), 40.0, 5.0)
    hip = np.where(t < 25.5, 80.0, np.maximum(0.0, 80.0 - 80.0 * (t - 25.5)))
    protocol, feedbacks = run(hip, knee=knee, t=t, hold_s=20, reps=2)
    result = protocol.result().to_dict()
    (rep,) = result["reps"]  # the 0.5 s of straight knee before lowering starts no second rep
    assert rep["completed"]
    assert rep["faults"]["knee_straight"] == pytest.approx(3.0, abs=0.3)
    assert rep["valid_s"] == pytest.approx(22.0, abs=0.5)  # the flicker does not count
    assert result["fault_cues"]["knee_straight"] == "straighten your knee"
    assert any("straighten your knee" in f.spoken for f in feedbacks)
    assert "knee_straight 3.0 s (straighten your knee)" in format_hold(HoldResult.from_dict(result))


def test_a_valid_flicker_shorter_than_the_minimum_run_starts_no_rep():
    t = timeline(10.0)
    hip = np.where((t >= 4.0) & (t < 4.6), 80.0, 0.0)  # 0.6 s in range
    protocol, feedbacks = run(hip, t=t)
    result = protocol.result().to_dict()
    assert result["reps"] == [] and result["valid_seconds_total"] == 0.0
    assert all(f.state == "get_in_position" for f in feedbacks)


def test_a_run_that_lasts_counts_from_its_first_frame():
    t = timeline(10.0)
    hip = np.where(t >= 4.0, 80.0, 0.0)
    protocol, _ = run(hip, t=t, settings=HoldSettings(min_streak_s=2.0))
    (rep,) = protocol.result().to_dict()["reps"]
    # The jump in reads as moving for half a second; counting is back-dated to the run's start,
    # not to when it had lasted 2 s.
    assert 4.0 < rep["start_s"] < 5.0
    assert rep["valid_s"] == pytest.approx(10.0 - rep["start_s"], abs=0.1)


@pytest.mark.parametrize(
    ("hip", "knee", "frames", "reason"),
    [
        (lambda t: 80.0 * np.minimum(t / 3.0, 1.0) * (t < 3.0), 5.0, None, "never settled (moving > 10°/s"),
        (lambda t: np.full(t.shape, 80.0), 40.0, None, "'knee_straight' failed 100% of the time (straighten your knee)"),
        (lambda t: np.full(t.shape, 80.0), 5.0, 1, "a photo (or a single frame) has no duration"),
    ],
)
def test_no_valid_reason_says_what_went_wrong(hip, knee, frames, reason):
    t = timeline(4.0)[:frames]
    protocol, _ = run(hip(t), knee=knee, t=t)
    result = protocol.result().to_dict()
    assert result["valid_seconds_total"] == 0.0
    assert reason in result["no_valid_reason"]


def test_no_valid_reason_is_empty_once_a_second_counts():
    t = timeline(5.0)
    protocol, _ = run(np.full(t.shape, 80.0), t=t)
    assert protocol.result().to_dict()["no_valid_reason"] is None


@pytest.mark.parametrize("options", [dict(hold_s=15), dict(reps=0), dict(side="middle")])
def test_bad_options_are_refused(options):
    with pytest.raises(ValueError):
        HoldProtocol(SUPINE, **options)


@pytest.mark.parametrize(
    "settings",
    [dict(min_reversals=1), dict(reversal_deg=0.0), dict(moving_speed_deg_s=5.0, settled_speed_deg_s=8.0),
     dict(min_streak_s=-1.0)],
)
def test_bad_settings_are_refused(settings):
    with pytest.raises(ValueError):
        HoldSettings(**settings)


def feed_detector(angles: np.ndarray, t: np.ndarray) -> list:
    detector = BounceDetector(HoldSettings())
    return [detector.update(float(when), float(angle)) for when, angle in zip(t, angles)]


def test_bounce_detector_oscillation_and_onset():
    t = timeline(6.0)
    states = feed_detector(80.0 + 8.0 * np.sin(2 * np.pi * t), t)
    onsets = [s.onset_s for s in states if s.onset_s is not None]
    assert len(onsets) == 1 and onsets[0] == pytest.approx(0.0, abs=0.15)
    assert all(s.bouncing for s, when in zip(states, t) if 1.5 < when < 6.0)


@pytest.mark.parametrize(
    "angles",
    [
        lambda t: 60.0 + 1.0 * t,  # slow steady deepening
        lambda t: 80.0 + 2.0 * np.sin(2 * np.pi * 1.0 * t),  # small sway or jitter
        lambda t: 80.0 + 10.0 * np.clip(t - 2.0, 0.0, 1.0) - 10.0 * np.clip(t - 3.5, 0.0, 1.0),  # one push and back
    ],
)
def test_bounce_detector_ignores_steady_moves(angles):
    t = timeline(8.0)
    assert not any(s.bouncing for s in feed_detector(angles(t), t))


def test_bounce_detector_treats_missing_angles_as_a_reset():
    detector = BounceDetector(HoldSettings())
    assert detector.update(0.0, 80.0).speed_deg_s == 0.0
    assert math.isnan(detector.update(0.1, math.nan).speed_deg_s)
