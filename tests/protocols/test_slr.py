"""The active straight leg raise on synthetic recordings with known truth (no model needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hamflex.core.series import AngleSeries
from hamflex.outputs.files import json_ready
from hamflex.pipelines.samples import samples_from_series
from hamflex.protocols.base import CUE_DONE, CUE_SWITCH_SIDES
from hamflex.protocols.slr import SlrProtocol, SlrResult
from tests.support.synthetic_poses import make_pose, to_pose_sequence
from tests.support.synthetic_slr import RaiseScript, make_slr_recording


def run(recording, protocol: SlrProtocol | None = None, **options):
    protocol = protocol or SlrProtocol(**options)
    feedback = [protocol.update(sample) for sample in samples_from_series(recording.angles, recording.poses)]
    return protocol, feedback


def only_trial(result: dict) -> dict:
    assert len(result["trials"]) == 1, result["trials"]
    return result["trials"][0]


@pytest.mark.parametrize("hip_deg", [50.0, 90.0])  # a tight and a flexible person
@pytest.mark.parametrize(("head", "leg"), [("left", "near"), ("right", "near"), ("left", "far"), ("right", "far")])
def test_raise_scored_within_1_degree_and_side_named(hip_deg, head, leg):
    recording = make_slr_recording([RaiseScript(hip_deg=hip_deg)], head=head, leg=leg)
    result = run(recording)[0].result().to_dict()
    trial = only_trial(result)
    assert trial["valid"], trial["reason"]
    assert trial["hip_flexion_deg"] == pytest.approx(hip_deg, abs=1.0)
    assert trial["knee_flexion_deg"] == pytest.approx(2.0, abs=1.0)
    assert trial["side"] == recording.tested_side and trial["leg"] == leg
    hold_start_s, hold_end_s = recording.truth[0]["end_position_s"]
    assert hold_start_s - 0.3 <= trial["end_position_s"][0] and trial["end_position_s"][1] <= hold_end_s + 0.3
    side = result["sides"][recording.tested_side]
    assert side["grade"] == ("tight" if hip_deg < 80 else "normal") and "Kendall" in side["grade_source"]


def test_sway_and_noise_keep_the_score_within_1_degree():
    recording = make_slr_recording([RaiseScript(hip_deg=70.0, hold_s=3.0, sway_deg=1.5)], noise_px=1.0, seed=2)
    trial = only_trial(run(recording)[0].result().to_dict())
    assert trial["valid"], trial["reason"]
    assert trial["hip_flexion_deg"] == pytest.approx(70.0, abs=1.0)


@pytest.mark.parametrize(("script", "reason"), [
    (RaiseScript(knee_deg=30.0), "knee bent 30° at the end position (limit 15°)"),
    (RaiseScript(other_hip_deg=25.0), "other leg lifted"),
    (RaiseScript(trunk_lift_deg=20.0), "pelvis or trunk lifted off the floor"),
    (RaiseScript(pelvis_lift_px=50.0), "pelvis or trunk lifted off the floor"),
])
def test_each_compensation_is_rejected_with_its_reason(script, reason):
    result = run(make_slr_recording([script]))[0].result().to_dict()
    trial = only_trial(result)
    assert not trial["valid"] and reason in trial["reason"]
    assert trial["hip_flexion_deg"] == pytest.approx(70.0, abs=1.0)
    assert result["sides"]["right"]["mean_hip_flexion_deg"] is None  # a rejected raise scores nothing


def test_a_slightly_bent_knee_within_the_limit_stays_valid():
    trial = only_trial(run(make_slr_recording([RaiseScript(knee_deg=10.0)]))[0].result().to_dict())
    assert trial["valid"], trial["reason"]


def test_a_hold_shorter_than_half_a_second_is_not_scored():
    recording = make_slr_recording([RaiseScript(hold_s=0.2)], raise_s=0.8, lower_s=0.8)
    result = run(recording)[0].result().to_dict()
    trial = only_trial(result)
    assert not trial["valid"] and trial["ended_by"] == "not held"
    assert "never still for 0.5 s" in trial["reason"]
    assert result["sides"]["right"]["trials"] == 0


def test_end_of_recording_counts_as_the_end_position_when_the_leg_had_stopped():
    # Still for about 0.3 s (less than the 0.5 s that ends a trial live) when the recording ends.
    recording = make_slr_recording([RaiseScript(hip_deg=65.0, hold_s=0.3, end_with_hold=True)], raise_s=1.0)
    result = run(recording)[0].result().to_dict()
    trial = only_trial(result)
    assert trial["ended_by"] == "end of recording" and trial["valid"]
    assert trial["hip_flexion_deg"] == pytest.approx(65.0, abs=1.0)
    assert any("end of the recording" in note for note in result["notes"])
    # A recording that ends while the leg still rises has no end position.
    rising = make_slr_recording([RaiseScript(hip_deg=65.0, hold_s=0.0, end_with_hold=True)], raise_s=1.0)
    assert "a leg was raised but never held still" in run(rising)[0].result().no_trial_reason


def test_several_raises_are_each_scored_and_summarised():
    recording = make_slr_recording([RaiseScript(hip_deg=60.0), RaiseScript(hip_deg=64.0), RaiseScript(knee_deg=35.0)])
    protocol, feedback = run(recording)
    result = protocol.result().to_dict()
    assert [round(t["hip_flexion_deg"]) for t in result["trials"]] == [60, 64, 70]
    assert [t["valid"] for t in result["trials"]] == [True, True, False]
    side = result["sides"]["right"]
    assert side["trials"] == 2 and side["invalid_trials"] == 1
    assert side["mean_hip_flexion_deg"] == pytest.approx(62.0, abs=1.0) and side["sd_deg"] == pytest.approx(2.8, abs=0.5)
    assert sum(CUE_DONE in f.cues for f in feedback) == 3  # each raise announced once, when held


def test_both_sides_give_asymmetry_and_live_asks_for_the_other_side():
    protocol = SlrProtocol(side=None, trials=1)
    _, right = run(make_slr_recording([RaiseScript(hip_deg=70.0)], head="left"), protocol)
    switched = [f for f in right if CUE_SWITCH_SIDES in f.cues]
    assert len(switched) == 1 and "now the left leg" in switched[0].guidance[-1]
    left = make_slr_recording([RaiseScript(hip_deg=80.0)], head="right")
    for sample in samples_from_series(left.angles, left.poses):
        feedback = protocol.update(sample.__class__(**{**sample.__dict__, "timestamp_s": sample.timestamp_s + 100.0}))
    result = protocol.result().to_dict()
    assert result["asymmetry_deg"] == pytest.approx(10.0, abs=1.0)
    assert feedback.finished and feedback.guidance[0].startswith("Done:")


def test_forced_side_names_every_trial_and_warns_when_the_orientation_disagrees():
    result = run(make_slr_recording([RaiseScript()]), side="left")[0].result().to_dict()
    trial = only_trial(result)
    assert trial["side"] == "left" and trial["side_from"] == "--side" and trial["orientation_side"] == "right"
    assert "check the side" in result["warnings"][0]


def test_result_round_trips_through_its_json():
    result = run(make_slr_recording([RaiseScript(), RaiseScript(knee_deg=30.0)]))[0].result()
    data = json.loads(json.dumps(json_ready(result.to_dict())))
    assert SlrResult.from_dict(data).to_dict() == result.to_dict()
    assert data["test"] == "active straight leg raise" and data["settings"]["max_knee_flexion_deg"] == 15.0


def _still_recording(**pose_options):
    times_ms = np.arange(0, 3000, 33)
    pose = make_pose(**{key: np.full(len(times_ms), value) for key, value in pose_options.items()})
    poses = to_pose_sequence(pose, times_ms)
    return type("Recording", (), {"poses": poses, "angles": AngleSeries.from_poses(poses)})


@pytest.mark.parametrize(("pose_options", "why"), [
    ({"trunk_direction_deg": 90.0}, "nobody lying on their back"),
    ({"hip_flexion_deg": 0.0}, "no leg was raised above 30°"),
])
def test_no_trial_says_why(pose_options, why):
    protocol = SlrProtocol()
    result = run(_still_recording(**pose_options), protocol)[0].result().to_dict()
    assert result["trials"] == [] and why in result["no_trial_reason"]
    assert "no straight leg raise found" in str(protocol.nothing_scored(protocol.result()))


def test_photo_scores_one_trial_with_the_same_checks():
    straight = make_slr_recording([RaiseScript(hip_deg=75.0, hold_s=1.0, end_with_hold=True)])
    protocol = SlrProtocol()
    trial = protocol.score_photo(list(samples_from_series(straight.angles, straight.poses))[-1])
    assert trial.valid and trial.ended_by == "photo" and trial.hip_flexion_deg == pytest.approx(75.0, abs=1.0)
    bent = make_slr_recording([RaiseScript(knee_deg=40.0, hold_s=1.0, end_with_hold=True)])
    trial = SlrProtocol().score_photo(list(samples_from_series(bent.angles, bent.poses))[-1])
    assert not trial.valid and "knee bent" in trial.reason
