"""End to end with the real model: videos and photos to angles, tables and summaries."""

import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from hamflex.pipelines.offline import analyze_video
from hamflex.errors import NoPersonError
from hamflex.outputs.tables import CSV_COLUMNS, read_angles_csv
from tests.support.media import gradient_frames, write_video

POSE2SIM_VIEWS = [f"videos/pose2sim_single_person/cam0{i}.mp4" for i in range(1, 5)]


def test_sports2d_demo_detection_and_physiological_knees(analyzed_clip):
    result = analyzed_clip("videos/sports2d_demo.mp4")
    assert result.frames == 230
    assert result.detection_rate > 0.9
    for side in ("left", "right"):
        knee = result.angles.raw[f"{side}_knee_flexion_deg"]
        knee = knee[np.isfinite(knee)]
        assert np.all((knee >= 0) & (knee <= 160))
        assert 0 < np.median(knee) < 60  # walking: mostly a fairly straight knee


@pytest.mark.parametrize("view", POSE2SIM_VIEWS)
def test_pose2sim_views_portrait_phones(analyzed_clip, view):
    result = analyzed_clip(view)
    assert result.detection_rate > 0.9
    assert result.poses.image_height > result.poses.image_width  # portrait
    assert result.duration_s == pytest.approx(100 / 60, abs=0.05)


def test_synthetic_90_90_knee_angle_matches_truth(analyzed_clip, shared_dir):
    result = analyzed_clip("synthetic/flat2d_supine9090.mp4")
    truth = np.genfromtxt(shared_dir / "synthetic/flat2d_supine9090.csv", delimiter=",", names=True)
    measured = result.angles.smoothed["right_knee_flexion_deg"]
    error = measured - (180.0 - truth["knee_int_2d"])
    assert np.nanmean(np.abs(error)) < 3.0
    assert np.nanmax(np.abs(error)) < 6.0


def test_outputs_written_and_consistent(analyzed_clip):
    result = analyzed_clip("videos/real/physioplus_bridging_supine_side.mp4")
    table = read_angles_csv(result.files["angles_csv"])
    assert tuple(table) == CSV_COLUMNS
    assert len(table["frame"]) == result.frames == 91
    summary = json.loads(result.files["summary_json"].read_text())
    assert summary["schema_version"] == 1
    assert summary["frames"] == 91 and summary["frames_with_pose"] == result.frames_with_pose
    assert summary["detection_rate"] == pytest.approx(result.frames_with_pose / 91, abs=1e-3)
    assert summary["duration_s"] == pytest.approx(91 / 30, abs=0.05)
    assert summary["processing_fps"] > 0
    knee = np.array(table["left_knee_flexion_deg"])
    stats = summary["angles"]["left_knee_flexion_deg"]
    assert stats["median"] == pytest.approx(np.nanmedian(knee), abs=0.02)
    assert stats["min"] <= stats["median"] <= stats["max"]


def test_photo_is_one_frame_in_image_mode(model_path, shared_dir, tmp_path):
    result = analyze_video(shared_dir / "photos/free-exercise-db/Seated_Hamstring/1.jpg", tmp_path,
                           model=model_path, overlay=True)
    assert result.frames == 1 and result.frames_with_pose == 1
    assert (tmp_path / "1" / "overlay.png").is_file()


def test_overlay_video_has_every_frame(model_path, shared_dir, tmp_path):
    import cv2

    result = analyze_video(shared_dir / "videos/real/physioplus_bridging_supine_side.mp4", tmp_path,
                           model=model_path, overlay=True)
    capture = cv2.VideoCapture(str(result.files["overlay"]))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 91
    capture.release()


def test_no_person_raises_after_saving(model_path, tmp_path):
    video = write_video(tmp_path / "empty_room.mp4", gradient_frames(15, 320, 180))
    with pytest.raises(NoPersonError, match="no person"):
        analyze_video(video, tmp_path / "out", model=model_path)
    summary = json.loads((tmp_path / "out/empty_room/summary.json").read_text())
    assert summary["frames"] == 15 and summary["frames_with_pose"] == 0


def test_ctrl_c_saves_partial_results(model_path, shared_dir, tmp_path):
    env = dict(os.environ, HAMFLEX_MODEL=str(model_path))
    process = subprocess.Popen(
        [sys.executable, "-m", "hamflex", "analyze", str(shared_dir / "synthetic/dev_test90.mp4"), "--out", str(tmp_path), "--quiet"],
        stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
    )
    time.sleep(8)  # model loaded and some frames analysed, even on a loaded machine
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("hamflex: interrupted")
    summary = json.loads((tmp_path / "dev_test90/summary.json").read_text())
    assert summary["complete"] is False
    assert 0 < summary["frames"] < 1275
    assert len(read_angles_csv(tmp_path / "dev_test90/angles.csv")["frame"]) == summary["frames"]
    assert not math.isnan(summary["detection_rate"])
