"""The 90-90 test end to end with the real pose model on the shared rendered clips."""

from __future__ import annotations

import csv
import json

import cv2
import pytest
from typer.testing import CliRunner

from hamflex.cli import app
from hamflex.errors import NothingToScoreError
from hamflex.pipelines.api import run_test90
from hamflex.pipelines.options import RunOptions
from hamflex.pipelines.run import score_analysis
from hamflex.protocols.test90 import Test90Protocol
from tests.support.media import gradient_frames, write_video

pytestmark = pytest.mark.model
runner = CliRunner()


def _score(analyzed_clip, clip: str, **options) -> dict:
    return score_analysis(analyzed_clip(f"synthetic/{clip}"), Test90Protocol.from_options(**options)).to_dict()


@pytest.mark.parametrize(("clip", "side"), [
    ("flat2d_supine9090.mp4", "right"),
    ("ray3d_supine9090.mp4", "right"),
    ("flat2d_supine9090_mirror.mp4", "left"),
])
def test_rendered_clip_one_trial_side_and_deficit(analyzed_clip, shared_dir, clip, side):
    with open(shared_dir / "synthetic" / clip.replace(".mp4", ".csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    true_deficit_deg = float(rows[-1]["knee_flex"])
    assert rows[-1]["near_side"] == side
    result = _score(analyzed_clip, clip)
    assert len(result["trials"]) == 1
    trial = result["trials"][0]
    assert trial["valid"], trial["reason"]
    assert trial["side"] == side and trial["leg"] == "near"
    assert trial["knee_extension_deficit_deg"] == pytest.approx(true_deficit_deg, abs=4.0)
    assert list(result["sides"]) == [side]


def test_dev_recording_two_valid_trials_and_one_thigh_drift(analyzed_clip, shared_dir):
    truth = json.loads((shared_dir / "synthetic" / "dev_test90_truth.json").read_text())
    result = _score(analyzed_clip, "dev_test90.mp4")
    trials = result["trials"]
    assert len(trials) == len(truth["trials"]) == 3
    for trial, expected in zip(trials, truth["trials"]):
        assert expected["start_s"] <= trial["start_s"] and trial["end_s"] <= expected["end_s"]
        assert trial["side"] == expected["side"]
        assert trial["valid"] == expected["valid"]
        if expected["valid"]:
            assert trial["knee_extension_deficit_deg"] == pytest.approx(
                expected["knee_extension_deficit_deg"]["image"], abs=4.0)
    # The reason quotes the trial's own numbers: its drift and its end-position hip angle.
    assert f"thigh drifted {trials[2]['hip_drift_deg']:.1f}° toward the head" in trials[2]["reason"]
    if abs(trials[2]["hip_flexion_deg"] - 90.0) > 10.0:
        assert f"hip {trials[2]['hip_flexion_deg']:.1f}°" in trials[2]["reason"]
    right = result["sides"]["right"]
    assert right["trials"] == 2 and right["invalid_trials"] == 1


def test_far_leg_recording_names_each_side_and_catches_the_real_other_leg_lift(analyzed_clip, shared_dir):
    """dev_test90_far: the far (left) leg twice, the near leg, then the far leg while the near
    leg lifts 22°. MediaPipe relabels the raised far leg as the near one; the sides come from
    the raise, the other-leg check from the end position."""
    truth = json.loads((shared_dir / "synthetic" / "dev_test90_far_truth.json").read_text())
    trials = _score(analyzed_clip, "dev_test90_far.mp4")["trials"]
    assert len(trials) == len(truth["trials"]) == 4
    for trial, expected in zip(trials, truth["trials"]):
        assert expected["start_s"] <= trial["start_s"] and trial["end_s"] <= expected["end_s"]
        assert (trial["side"], trial["leg"]) == (expected["side"], expected["leg"])
        assert trial["valid"] == expected["valid"], trial["reason"]
        if expected["valid"]:
            assert trial["knee_extension_deficit_deg"] == pytest.approx(
                expected["knee_extension_deficit_deg"]["image"], abs=4.0)
            assert trial["other_hip_flexion_deg"] < 10.0
    assert "other leg lifted" in trials[3]["reason"]


@pytest.mark.parametrize(("clip", "why"), [
    ("flat2d_stand.mp4", "nobody lying on their back"),
    ("flat2d_slr.mp4", "no thigh was raised to 90 ± 10° with the knee bent"),  # a straight leg raise
])
def test_no_trial_says_why(analyzed_clip, clip, why):
    result = _score(analyzed_clip, clip)
    assert result["trials"] == []
    assert why in result["no_trial_reason"]


def test_cli_on_a_video_prints_the_summary_and_writes_json(tmp_path, shared_dir, model_path):
    video = shared_dir / "synthetic" / "flat2d_supine9090.mp4"
    out = tmp_path / "out"
    result = runner.invoke(app, ["test90", str(video), "--out", str(out), "--sex", "male", "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    # with --json, stdout is the JSON alone (pipeable) and the readable summary goes to stderr
    assert "right: mean deficit" in result.stderr and "trial 1: right leg" in result.stderr
    assert json.loads(result.stdout)["trials"][0]["side"] == "right"
    saved = json.loads((out / "test90.json").read_text())
    assert saved["schema_version"] == 1 and saved["test"] == "90-90" and saved["sex"] == "male"
    assert set(saved["trials"][0]) >= {"side", "knee_extension_deficit_deg", "hip_flexion_deg", "start_s", "end_s",
                                       "valid", "reason"}
    assert set(saved["sides"]["right"]) >= {"trials", "mean_deficit_deg", "sd_deg", "grade"}
    assert "asymmetry_deg" in saved
    assert (out / video.stem / "angles.csv").is_file()


def test_cli_on_a_standing_person_exits_7_with_one_line(tmp_path, shared_dir, model_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["test90", str(shared_dir / "synthetic" / "flat2d_stand.mp4"), "--out", str(out),
                                 "--quiet"])
    assert result.exit_code == 7
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no 90-90 trial found: nobody lying on their back" in lines[0]
    assert json.loads((out / "test90.json").read_text())["trials"] == []


def test_cli_with_nobody_at_all_exits_4_after_saving(tmp_path, model_path):
    video = write_video(tmp_path / "empty_room.mp4", gradient_frames(10))
    result = runner.invoke(app, ["test90", str(video), "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 4
    assert "no person found" in result.stderr
    assert "no person found" in json.loads((tmp_path / "out" / "test90.json").read_text())["no_trial_reason"]


def test_a_photo_at_the_end_position_is_one_trial(tmp_path, shared_dir, model_path):
    capture = cv2.VideoCapture(str(shared_dir / "synthetic" / "flat2d_supine9090.mp4"))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 85)
    ok, frame = capture.read()
    capture.release()
    assert ok
    photo = tmp_path / "end_position.png"
    cv2.imwrite(str(photo), frame)
    result = run_test90(photo, tmp_path / "out", options=RunOptions(model=model_path)).to_dict()
    assert result["mode"] == "photo" and len(result["trials"]) == 1
    trial = result["trials"][0]
    assert trial["valid"] and trial["side"] == "right" and trial["ended_by"] == "photo"
    assert trial["knee_extension_deficit_deg"] == pytest.approx(12.0, abs=4.0)


def test_cli_needs_a_recording_or_a_camera(tmp_path):
    result = runner.invoke(app, ["test90", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "either a VIDEO/PHOTO or --camera" in result.stderr


def test_a_photo_of_a_standing_person_is_nothing_to_score(tmp_path, shared_dir, model_path):
    capture = cv2.VideoCapture(str(shared_dir / "synthetic" / "flat2d_stand.mp4"))
    ok, frame = capture.read()
    capture.release()
    photo = tmp_path / "standing.jpg"
    cv2.imwrite(str(photo), frame)
    with pytest.raises(NothingToScoreError, match="nobody lying on their back"):
        run_test90(photo, tmp_path / "out", options=RunOptions(model=model_path))


def test_a_side_given_against_the_orientation_is_kept_with_a_warning(analyzed_clip):
    result = _score(analyzed_clip, "flat2d_supine9090.mp4", side="left")  # the right leg is tested
    trial = result["trials"][0]
    assert trial["side"] == "left" and trial["orientation_side"] == "right"
    assert any(w.startswith("trial 1: --side says left, but the body's orientation says the right leg")
               for w in result["warnings"])


def test_live_mode_runs_the_protocol_through_the_live_loop(tmp_path, shared_dir, model_path):
    """--camera with a video file: the live loop (One-Euro angles, real timestamps) feeds the protocol;
    a --side that disagrees with the orientation (this clip tests the left leg) is warned about."""
    out = tmp_path / "live"
    result = runner.invoke(app, ["test90", "--camera", str(shared_dir / "synthetic" / "flat2d_supine9090_mirror.mp4"),
                                 "--no-display", "--no-audio", "--trials", "1", "--side", "right",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "test90.json").read_text())
    assert saved["mode"] == "live" and saved["source"].startswith("camera ")
    trial = saved["trials"][0]
    assert trial["side"] == "right" and trial["orientation_side"] == "left" and trial["valid"]
    assert any("--side says right, but the body's orientation says the left leg" in w for w in saved["warnings"])
    assert trial["knee_extension_deficit_deg"] == pytest.approx(12.0, abs=4.0)
