"""The set-up check on real and rendered recordings.

What the Pose2Sim frames show (looked at frames 0, 20, 50, 65 and 99 of each view, and
measured with the motion-capture calibration, see ``triangulated_view_deviation_deg``):
one person moving on a force plate in a lab, filmed from above (phones pitched ~20° down)
by four phones placed round them. **None of the four films this person side-on.** cam02
sees the front of the body (chest, both shoulders wide apart), cam03 the back, and cam01
and cam04 see the front-left and back-left at an angle; the person turns and bends during
the clip. Triangulating MediaPipe's shoulders and hips from all four calibrated views puts
the body's left-right axis, as a median over the clip, 66° (cam01), 62° (cam02), 59° (cam03)
and 47° (cam04) from the line of sight, where 0° is side-on and 90° frontal. So the check
must call none of them side-on, and its estimates must agree with these angles.

The side-on views are the rendered mannequin (standing and lying) and the real home
recording of a glute bridge filmed from the side.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hamflex.core.landmarks import INDEX
from hamflex.core.series import PoseSequence
from hamflex.camera.checks import (
    SIDE_ON_MAX_DEG,
    check_light,
    check_poses,
    first_seconds,
    guess_posture,
    steady_lean_deg,
)

POSE2SIM_VIEWS = [f"videos/pose2sim_single_person/cam0{n}.mp4" for n in range(1, 5)]
SIDE_ON_CLIPS = {
    "synthetic/flat2d_stand.mp4": "standing",
    "synthetic/flat2d_supine9090.mp4": "lying",
    "videos/real/physioplus_bridging_supine_side.mp4": "lying",
}


def projection_matrices(shared_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each camera's 3x4 projection (pixels) and line of sight in the lab, from the Qualisys file.

    Qualisys gives the camera-to-lab rotation with the camera looking along its -z axis; in
    OpenCV's convention (looking along +z, y down) the lab-to-camera rotation is
    diag(1, -1, -1) · R. Intrinsics are in 1/64 pixel.
    """
    root = ET.parse(shared_dir / "calibration" / "pose2sim_reference_calibration.qca.txt").getroot()
    cameras = {}
    for camera in root.iter("camera"):
        t = {key: float(value) for key, value in camera.find("transform").attrib.items()}
        i = {key: float(value) for key, value in camera.find("intrinsic").attrib.items()}
        qualisys = np.array([[t[f"r{row}{col}"] for col in (1, 2, 3)] for row in (1, 2, 3)])
        rotation = np.diag([1.0, -1.0, -1.0]) @ qualisys
        centre_mm = np.array([t["x"], t["y"], t["z"]])
        matrix = np.array([
            [i["focalLengthU"] / 64, 0, i["centerPointU"] / 64],
            [0, i["focalLengthV"] / 64, i["centerPointV"] / 64],
            [0, 0, 1],
        ])
        projection = matrix @ np.hstack([rotation, (-rotation @ centre_mm)[:, None]])
        cameras[camera.get("serial")] = (projection, rotation[2])
    return cameras


def triangulated_view_deviation_deg(shared_dir: Path, poses: dict[str, PoseSequence]) -> dict[str, float]:
    """Per camera, the median over the clip of the angle between the body's left-right axis
    (triangulated from all views, horizontal part) and the camera's horizontal line of sight."""
    cameras = projection_matrices(shared_dir)
    serials = sorted(poses)

    def triangulate(frame: int, landmark: int) -> np.ndarray:
        rows = []
        for serial in serials:
            u, v = poses[serial].landmarks_px[frame, landmark]
            projection = cameras[serial][0]
            rows += [u * projection[2] - projection[0], v * projection[2] - projection[1]]
        point = np.linalg.svd(np.array(rows))[2][-1]
        return point[:3] / point[3]

    deviations = {serial: [] for serial in serials}
    for frame in range(min(len(p) for p in poses.values())):
        axis = np.zeros(3)
        for left, right in (("left_shoulder", "right_shoulder"), ("left_hip", "right_hip")):
            segment = triangulate(frame, INDEX[right]) - triangulate(frame, INDEX[left])
            axis += segment / np.linalg.norm(segment)
        axis[2] = 0.0  # the lab's z is up
        axis /= np.linalg.norm(axis)
        for serial in serials:
            sight = cameras[serial][1] * [1, 1, 0]
            cosine = abs(axis @ sight) / np.linalg.norm(sight)
            deviations[serial].append(np.degrees(np.arccos(min(1.0, cosine))))
    return {serial: float(np.median(values)) for serial, values in deviations.items()}


@pytest.fixture(scope="module")
def pose2sim_reports(analyzed_clip):
    return {Path(clip).stem: (analyzed_clip(clip).poses, check_poses(analyzed_clip(clip).poses)) for clip in POSE2SIM_VIEWS}


def test_pose2sim_views_are_not_side_on(pose2sim_reports):
    for name, (_, report) in pose2sim_reports.items():
        view = report.check("view")
        assert report.view in ("oblique", "frontal"), name
        assert view.passed is False and view.value > SIDE_ON_MAX_DEG + 15, name
        assert "side of the body" in view.advice


def test_pose2sim_view_angles_agree_with_the_motion_capture_geometry(shared_dir, pose2sim_reports):
    truth = triangulated_view_deviation_deg(shared_dir, {name: poses for name, (poses, _) in pose2sim_reports.items()})
    assert truth == pytest.approx({"cam01": 66, "cam02": 62, "cam03": 59, "cam04": 47}, abs=3)
    for name, (_, report) in pose2sim_reports.items():
        assert report.check("view").value == pytest.approx(truth[name], abs=20), name
    # cam02 faces the person: the only view called frontal; cam04 is the least frontal.
    estimates = {name: report.check("view").value for name, (_, report) in pose2sim_reports.items()}
    assert pose2sim_reports["cam02"][1].view == "frontal"
    assert min(estimates, key=estimates.get) in ("cam01", "cam04")


@pytest.mark.parametrize(("clip", "posture"), list(SIDE_ON_CLIPS.items()))
def test_side_on_recordings_pass_the_view_check(analyzed_clip, clip, posture):
    report = check_poses(analyzed_clip(clip).poses)
    assert report.posture == posture
    assert report.view == "side-on"
    assert report.check("view").passed is True
    assert report.check("view").value < SIDE_ON_MAX_DEG
    assert report.near_side == "right"


def test_level_rendered_camera_passes_and_a_rolled_one_fails(analyzed_clip):
    poses = analyzed_clip("synthetic/flat2d_stand.mp4").poses
    level = check_poses(poses, posture="standing")
    assert level.check("roll").passed is True and abs(level.check("roll").value) < 2
    assert level.check("framing").passed is True and level.check("visibility").passed is True
    assert level.passed

    rolled = check_poses(rotated(poses, 10.0), posture="standing")
    roll = rolled.check("roll")
    assert roll.passed is False
    assert abs(roll.value) == pytest.approx(10.0, abs=1.5)
    assert "level the camera" in roll.advice
    assert any("level the camera" in warning for warning in rolled.warnings)


def rotated(poses: PoseSequence, angle_deg: float) -> PoseSequence:
    """The same poses as a camera rolled by ``angle_deg`` would see them (about the centre)."""
    centre = np.array([poses.image_width / 2, poses.image_height / 2])
    angle = np.radians(angle_deg)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return replace(poses, landmarks_px=((poses.landmarks_px - centre) @ rotation.T + centre).astype(np.float32))


def test_feet_outside_the_picture_fail_framing(analyzed_clip):
    poses = analyzed_clip("synthetic/flat2d_stand.mp4").poses
    lowered = replace(poses, landmarks_px=poses.landmarks_px + np.float32([0, poses.image_height * 0.3]))
    framing = check_poses(lowered, posture="standing").check("framing")
    assert framing.passed is False
    assert "cut off at the bottom" in framing.message


def test_small_person_fails_framing(analyzed_clip):
    poses = analyzed_clip("synthetic/flat2d_stand.mp4").poses
    centre = np.float32([poses.image_width / 2, poses.image_height / 2])
    shrunk = replace(poses, landmarks_px=(poses.landmarks_px - centre) * np.float32(0.4) + centre)
    framing = check_poses(shrunk, posture="standing").check("framing")
    assert framing.passed is False and framing.value < 0.4
    assert "closer" in framing.advice


def test_poorly_seen_legs_fail_visibility(analyzed_clip):
    poses = analyzed_clip("synthetic/flat2d_stand.mp4").poses
    dim = replace(poses, visibility=poses.visibility * np.float32(0.6))
    visibility = check_poses(dim, posture="standing").check("visibility")
    assert visibility.passed is False
    assert "light" in visibility.advice


def test_moving_person_gives_no_roll_verdict():
    rng = np.random.default_rng(0)
    assert np.isnan(steady_lean_deg(rng.uniform(-20, 20, size=100)))
    assert steady_lean_deg(np.full(30, 3.0) + rng.normal(0, 0.5, size=30)) == pytest.approx(3.0, abs=0.3)
    assert np.isnan(steady_lean_deg(np.array([1.0, 2.0])))


def test_light_check():
    assert check_light(None, None).passed is None
    assert check_light(120, 125).passed is True
    assert check_light(30, 40).passed is False
    assert check_light(240, 240).passed is False
    backlit = check_light(70, 160)
    assert backlit.passed is False and "behind" in backlit.advice


def test_first_seconds_and_posture_guess(analyzed_clip):
    poses = analyzed_clip("synthetic/flat2d_supine9090.mp4").poses
    start = first_seconds(poses, 1.0)
    assert 0 < len(start) < len(poses)
    assert (start.timestamp_s - start.timestamp_s[0] < 1.0).all()
    assert guess_posture(start.landmarks_px[start.detected]) == "lying"


def test_check_setup_runner_measures_light(shared_dir, model_path, tmp_path):
    from hamflex.pipelines.api import check_setup
    from hamflex.pipelines.options import RunOptions

    report = check_setup(shared_dir / "videos" / "real" / "physioplus_bridging_supine_side.mp4", tmp_path,
                         options=RunOptions(model=model_path), seconds=2.0)
    assert report.frames < 91
    light = report.check("light")
    assert light.passed is True and 50 < light.value < 200
    data = report.to_dict()
    assert data["view"] == "side-on" and {c["name"] for c in data["checks"]} >= {"view", "roll", "framing", "light"}


def test_view_without_world_landmarks_uses_typical_proportions(analyzed_clip, pose2sim_reports):
    """The live loop may give no world landmarks: the picture alone still tells the views apart."""
    for clip, expected in [("synthetic/flat2d_stand.mp4", "side-on"), ("videos/pose2sim_single_person/cam02.mp4", None)]:
        poses = analyzed_clip(clip).poses
        flat = replace(poses, world_landmarks_m=np.full_like(poses.world_landmarks_m, np.nan))
        report = check_poses(flat, posture="standing")
        assert (report.view == "side-on") == (expected == "side-on"), clip


def test_live_protocol_collects_seconds_then_reports(analyzed_clip):
    from hamflex.pipelines.samples import samples_from_series

    from hamflex.protocols.setup_check import SetupCheckProtocol

    result = analyzed_clip("synthetic/flat2d_stand.mp4")
    protocol = SetupCheckProtocol(seconds=1.5, posture="standing")
    feedbacks = []
    for sample in samples_from_series(result.angles, result.poses):
        feedbacks.append(protocol.update(sample))
        if feedbacks[-1].finished:
            break
    assert feedbacks[-1].finished and 40 <= len(feedbacks) <= 50  # 1.5 s at 30 fps
    assert feedbacks[-1].guidance == ("set-up looks good: hold still",)
    report = protocol.result()
    assert report.view == "side-on" and report.passed
    assert report.to_dict()["view"] == "side-on"
    protocol.restart()
    assert protocol.result().frames == 0


def test_check_setup_command(shared_dir, model_path, tmp_path):
    import json

    from typer.testing import CliRunner

    from hamflex.cli import app

    runner = CliRunner()
    video = shared_dir / "videos" / "real" / "physioplus_bridging_supine_side.mp4"
    done = runner.invoke(app, ["check-setup", str(video), "--posture", "lying", "--seconds", "1", "-q", "--json",
                               "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["view"] == "side-on"
    assert json.loads((tmp_path / "setup_check.json").read_text())["view"] == "side-on"
    # --seconds 1: only the first second of the 30 fps video is decoded and analysed
    assert json.loads((tmp_path / video.stem / "summary.json").read_text())["frames"] == 30
    both = runner.invoke(app, ["check-setup", str(video), "--camera", "0"])
    assert both.exit_code == 2


def test_check_setup_command_live_from_a_file(shared_dir, model_path, tmp_path):
    """--camera runs the check in the live loop (a video file stands in for the camera)."""
    from typer.testing import CliRunner

    from hamflex.cli import app

    video = shared_dir / "synthetic" / "flat2d_stand.mp4"
    done = CliRunner().invoke(app, ["check-setup", "--camera", str(video), "--no-display", "--seconds", "1",
                                    "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert "PASS  view" in done.output and "set-up OK" in done.output


def test_roll_is_not_blamed_on_movement_for_a_single_photo():
    from hamflex.camera.checks import check_roll

    one_frame = check_roll(float("nan"), "lying", frames_seen=1)
    assert one_frame.passed is None and "1 frame" in one_frame.message and "moved" not in one_frame.message


def test_check_setup_guesses_the_posture_by_default():
    from typer.testing import CliRunner

    from hamflex.cli import app

    shown = CliRunner().invoke(app, ["check-setup", "--help"], env={"COLUMNS": "200"})
    assert "[default: auto]" in shown.stdout
