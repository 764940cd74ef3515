"""Camera calibration on real checkerboard photos, undistortion, profiles and the printable board.

The Pose2Sim phones filmed in portrait: the photos are 1088 px wide and 1920 px high, and
the Qualisys reference says the same in its own units (sensorMaxU = 69568 = 1087 × 64 across,
sensorMaxV = 122816 = 1919 × 64 down), so its U is the image's x and V its y; the test
checks that before comparing.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from hamflex.camera.board import MAX_GRID_BEND, BoardSpec, find_board_corners, grid_bend, write_board
from hamflex.camera.calibrate import (
    MIN_VIEWS,
    CalibrationError,
    CalibrationImage,
    calibrate_camera,
    implausibility,
)
from hamflex.camera.profile import CameraProfile
from hamflex.errors import CameraProfileError, InputError
from hamflex.media.pose import PoseFrame

SENSOR_UNITS_PER_PX = 64
POSE2SIM_BOARD = BoardSpec(4, 7, 60.0)


def reference_intrinsics(shared_dir: Path, serial: str) -> dict[str, float]:
    """One camera's intrinsics from the Qualisys file, converted to pixels."""
    root = ET.parse(shared_dir / "calibration" / "pose2sim_reference_calibration.qca.txt").getroot()
    camera = next(c for c in root.iter("camera") if c.get("serial") == serial)
    intrinsic = {key: float(value) for key, value in camera.find("intrinsic").attrib.items()}
    return {
        "fx": intrinsic["focalLengthU"] / SENSOR_UNITS_PER_PX,
        "fy": intrinsic["focalLengthV"] / SENSOR_UNITS_PER_PX,
        "cx": intrinsic["centerPointU"] / SENSOR_UNITS_PER_PX,
        "cy": intrinsic["centerPointV"] / SENSOR_UNITS_PER_PX,
        "width": (intrinsic["sensorMaxU"] - intrinsic["sensorMinU"]) / SENSOR_UNITS_PER_PX + 1,
        "height": (intrinsic["sensorMaxV"] - intrinsic["sensorMinV"]) / SENSOR_UNITS_PER_PX + 1,
    }


@pytest.fixture(scope="module")
def pose2sim_results(shared_dir: Path):
    return {
        serial: calibrate_camera([shared_dir / "calibration" / f"pose2sim_{serial}"], POSE2SIM_BOARD)
        for serial in ("cam01", "cam02")
    }


@pytest.mark.parametrize("serial", ["cam01", "cam02"])
def test_pose2sim_intrinsics_match_the_motion_capture_reference(shared_dir, pose2sim_results, serial):
    reference = reference_intrinsics(shared_dir, serial)
    profile = pose2sim_results[serial].require_profile()
    assert (reference["width"], reference["height"]) == (1088, 1920)  # U across, V down: portrait
    assert profile.image_size == (1088, 1920)
    assert profile.fx == pytest.approx(reference["fx"], rel=0.02)
    assert profile.fy == pytest.approx(reference["fy"], rel=0.02)
    assert abs(profile.cx - reference["cx"]) < 50
    assert abs(profile.cy - reference["cy"]) < 50
    assert profile.rms_reprojection_error_px < 1.0
    assert profile.views_used >= MIN_VIEWS


def test_views_are_reported_used_or_rejected_with_a_reason(pose2sim_results):
    views = pose2sim_results["cam02"].views
    assert len(views) == 7
    rejected = {Path(view.label).name: view.reason for view in views if not view.used}
    # cam02_06 shows the board edge-on behind the person: nothing to find.
    assert list(rejected) == ["cam02_06_int.jpg"]
    assert "board not found" in rejected["cam02_06_int.jpg"]
    for view in views:
        if view.used:
            assert view.reprojection_error_px is not None and view.reprojection_error_px < 1.0
            assert 0 <= view.tilt_deg <= 90


def test_opencv_sample_calibrates_with_a_sane_error(shared_dir):
    result = calibrate_camera([shared_dir / "calibration" / "opencv_chessboard_9x6"], BoardSpec(9, 6, 25.0))
    profile = result.require_profile()
    assert len(result.used) == len(result.views) == 13
    assert profile.image_size == (640, 480)
    assert profile.rms_reprojection_error_px < 0.5
    assert profile.fx == pytest.approx(profile.fy, rel=0.01)
    assert abs(profile.cx - 320) < 40 and abs(profile.cy - 240) < 40
    assert profile.dist_coeffs[0] < -0.1  # a visibly barrel-distorted lens


def test_too_few_views_say_how_many_more_and_what_kind(shared_dir):
    photos = sorted((shared_dir / "calibration" / "pose2sim_cam01").glob("*.jpg"))[:3]
    result = calibrate_camera(photos, POSE2SIM_BOARD)
    assert result.profile is None
    assert len(result.used) == 3
    assert any(f"add at least {MIN_VIEWS - 3} more" in advice for advice in result.advice)
    with pytest.raises(CalibrationError) as raised:
        result.require_profile()
    assert raised.value.exit_code == 3
    assert "3 of 3" in str(raised.value)


def test_images_of_another_size_or_unreadable_are_rejected(shared_dir, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    sources = [
        *sorted((shared_dir / "calibration" / "pose2sim_cam01").glob("*.jpg")),
        shared_dir / "calibration" / "opencv_chessboard_9x6" / "left01.jpg",
        broken,
    ]
    result = calibrate_camera(sources, POSE2SIM_BOARD)
    reasons = {Path(view.label).name: view.reason for view in result.rejected}
    assert "differs from the first image's 1088x1920" in reasons["left01.jpg"]
    assert reasons["broken.jpg"] == "not a readable image"
    assert result.profile is not None


def test_a_missing_path_stops_the_run_before_any_picture_is_read(shared_dir, tmp_path):
    missing = tmp_path / "nope.jpg"
    with pytest.raises(InputError, match=r"nope\.jpg: no such file$") as raised:
        calibrate_camera([shared_dir / "calibration" / "pose2sim_cam01", missing], POSE2SIM_BOARD)
    assert raised.value.exit_code == 3


def test_an_empty_folder_is_reported_as_having_no_images(tmp_path):
    (tmp_path / "notes.txt").write_text("no pictures here")
    with pytest.raises(InputError, match="folder has no images"):
        calibrate_camera([tmp_path], POSE2SIM_BOARD)


def test_the_same_photos_given_twice_count_once(shared_dir):
    """Seven photos given as a folder three times (once spelled differently) are 7 views,
    not 21: k3 stays held at 0 as for any calibration from fewer than 10 views."""
    folder = shared_dir / "calibration" / "pose2sim_cam01"
    detour = folder / ".." / "pose2sim_cam01"
    result = calibrate_camera([folder, detour, *sorted(folder.glob("*.jpg"))[:2], folder], POSE2SIM_BOARD)
    assert len(result.views) == 7
    profile = result.require_profile()
    assert profile.views_used == 7
    assert profile.dist_coeffs[4] == 0.0


# --- a wrong --board -------------------------------------------------------------------


def test_a_made_up_grid_is_not_a_board(shared_dir):
    """Asked for 4x7 in a 9x6 board, OpenCV's sector-based detector can return a grid with a
    row of corners invented off the board; the kink rejects it."""
    photo = cv2.imread(str(shared_dir / "calibration" / "opencv_chessboard_9x6" / "left02.jpg"), cv2.IMREAD_GRAYSCALE)
    wrong = BoardSpec(4, 7, 25.0)
    found, corners = cv2.findChessboardCornersSB(photo, wrong.pattern_size, flags=cv2.CALIB_CB_EXHAUSTIVE)
    assert found and grid_bend(corners, wrong) > MAX_GRID_BEND
    assert find_board_corners(photo, wrong) is None
    right = BoardSpec(9, 6, 25.0)
    assert grid_bend(find_board_corners(photo, right), right) < MAX_GRID_BEND / 2


def test_implausible_profiles_are_named(shared_dir):
    good = calibrate_camera([shared_dir / "calibration" / "opencv_chessboard_9x6"], BoardSpec(9, 6, 25.0))
    assert implausibility(good.require_profile()) == []
    # The profile QA got from --board 4x7 on the 9x6 photos before the checks existed.
    garbage = CameraProfile(640, 480, fx=140561.0, fy=19082.0, cx=507.0, cy=895.0,
                            dist_coeffs=(0.1, 2.0, 0.0, 0.0, -132096.0), rms_reprojection_error_px=9.31)
    problems = " ".join(implausibility(garbage))
    for words in ("RMS reprojection error 9.31 px", "fx 140561 px", "fy 19082 px", "fx/fy", "principal point"):
        assert words in problems
    assert implausibility(replace(garbage, fx=500.0, fy=505.0, cx=320.0, cy=240.0)) == [
        "RMS reprojection error 9.31 px (at most 2 px accepted)"]


def test_a_wrong_board_without_the_grid_check_gives_an_implausible_fit_and_no_profile(shared_dir, monkeypatch):
    """The second line of defence: even when every made-up grid is accepted as a board
    (as before the grid check), the fit is refused instead of saved."""
    monkeypatch.setattr("hamflex.camera.board.MAX_GRID_BEND", float("inf"))
    result = calibrate_camera([shared_dir / "calibration" / "opencv_chessboard_9x6"], BoardSpec(4, 7, 25.0))
    assert len(result.used) >= MIN_VIEWS
    assert result.profile is None and result.implausible
    with pytest.raises(CalibrationError, match="implausible calibration.*Likely cause: --board") as raised:
        result.require_profile()
    assert raised.value.exit_code == 3


def test_frames_sampled_from_a_video_are_used(shared_dir, tmp_path):
    """A video of the board: every photo of the OpenCV sample as two frames of a clip."""
    photos = sorted((shared_dir / "calibration" / "opencv_chessboard_9x6").glob("*.jpg"))
    video = tmp_path / "board.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for photo in photos:
        frame = cv2.imread(str(photo))
        writer.write(frame)
        writer.write(frame)
    writer.release()
    result = calibrate_camera([video], BoardSpec(9, 6, 25.0), max_video_frames=13)
    assert len(result.views) == 13
    assert all(re.search(r"board\.avi#frame\d+$", view.label) for view in result.views)
    assert result.require_profile().rms_reprojection_error_px < 0.5


# --- undistortion ----------------------------------------------------------------------


def wide_angle_profile(width: int = 1280, height: int = 720) -> CameraProfile:
    return CameraProfile(
        image_width=width, image_height=height, fx=700.0, fy=702.0, cx=650.0, cy=355.0,
        dist_coeffs=(-0.32, 0.12, 0.001, -0.0015, -0.02), rms_reprojection_error_px=0.3,
    )


def project(profile: CameraProfile, points_3d: np.ndarray, distorted: bool) -> np.ndarray:
    dist = np.asarray(profile.dist_coeffs) if distorted else np.zeros(5)
    projected, _ = cv2.projectPoints(points_3d, np.zeros(3), np.zeros(3), profile.camera_matrix, dist)
    return projected.reshape(-1, 2)


def scene_points(profile: CameraProfile, count: int = 400, seed: int = 1) -> np.ndarray:
    """3D points whose ideal images fill the frame up to its corners."""
    rng = np.random.default_rng(seed)
    ideal_px = rng.uniform([0, 0], [profile.image_width, profile.image_height], size=(count, 2))
    depth_m = rng.uniform(1.0, 5.0, size=(count, 1))
    normalized = (ideal_px - [profile.cx, profile.cy]) / [profile.fx, profile.fy]
    return np.hstack([normalized * depth_m, depth_m])


def test_undistortion_inverts_the_distortion_model():
    profile = wide_angle_profile()
    points_3d = scene_points(profile)
    distorted_px = project(profile, points_3d, distorted=True)
    ideal_px = project(profile, points_3d, distorted=False)
    assert np.max(np.linalg.norm(distorted_px - ideal_px, axis=1)) > 50  # the distortion is strong
    undistorted_px = profile.undistort_points_px(distorted_px)
    np.testing.assert_allclose(undistorted_px, ideal_px, atol=0.01)


def test_undistortion_keeps_shape_and_nan_rows():
    profile = wide_angle_profile()
    points = np.full((4, 33, 2), 400.0)
    points[1, 5] = np.nan
    points[2, :, 0] = np.nan
    result = profile.undistort_points_px(points)
    assert result.shape == points.shape
    assert np.isnan(result[1, 5]).all() and np.isnan(result[2]).all()
    assert np.isfinite(result[0]).all() and np.isfinite(result[1, :5]).all()
    assert np.isnan(profile.undistort_points_px(np.full((3, 2), np.nan))).all()


def test_undistort_pose_moves_image_points_only():
    profile = wide_angle_profile()
    rng = np.random.default_rng(2)
    landmarks_norm = rng.uniform(0, 1, size=(33, 3)).astype(np.float32)
    world = rng.normal(size=(33, 3)).astype(np.float32)
    pose = PoseFrame(7, 233, 1280, 720, landmarks_norm=landmarks_norm, world_landmarks_m=world,
                     visibility=np.ones(33, np.float32), presence=np.ones(33, np.float32), people_in_view=1)
    undistorted = profile.undistort_pose(pose)
    np.testing.assert_allclose(undistorted.landmarks_px, profile.undistort_points_px(pose.landmarks_px), atol=1e-3)
    np.testing.assert_array_equal(undistorted.landmarks_norm[:, 2], landmarks_norm[:, 2])
    np.testing.assert_array_equal(undistorted.world_landmarks_m, world)
    assert (undistorted.frame_index, undistorted.timestamp_ms) == (7, 233)
    nobody = PoseFrame(8, 266, 1280, 720)
    assert profile.undistort_pose(nobody) is nobody


# --- frame size ------------------------------------------------------------------------


def test_profile_is_scaled_to_another_resolution_of_the_same_shape():
    profile = wide_angle_profile(1280, 720)
    half = profile.for_image_size(640, 360)
    assert profile.for_image_size(1280, 720) is profile
    assert (half.fx, half.fy) == (350.0, 351.0)
    points_3d = scene_points(profile)
    # The same scene at half the resolution: pixel centres map as x' = (x + 0.5) / 2 - 0.5.
    expected = (project(profile, points_3d, distorted=True) + 0.5) / 2 - 0.5
    np.testing.assert_allclose(project(half, points_3d, distorted=True), expected, atol=1e-6)


@pytest.mark.parametrize(("width", "height", "words"), [(1280, 700, "different shape"), (720, 1280, "orientation")])
def test_profile_for_another_frame_shape_is_an_error(width, height, words):
    with pytest.raises(CameraProfileError, match=words) as raised:
        wide_angle_profile(1280, 720).for_image_size(width, height)
    assert raised.value.exit_code == 8


def test_pose2sim_videos_cropped_to_1080_do_not_fit_the_1088_profile(pose2sim_results):
    """cam01.mp4 is 1080x1920 while its calibration photos are 1088x1920: not a rescale."""
    with pytest.raises(CameraProfileError):
        pose2sim_results["cam01"].require_profile().for_image_size(1080, 1920)


def test_analyze_video_applies_the_profile_after_detection(analyzed_clip, shared_dir, model_path):
    from hamflex.pipelines.offline import analyze_video

    plain = analyzed_clip("synthetic/flat2d_stand.mp4")
    profile = replace(wide_angle_profile(960, 540), fx=600.0, fy=600.0, cx=480.0, cy=270.0)
    corrected = analyze_video(shared_dir / "synthetic" / "flat2d_stand.mp4", model=model_path, camera_profile=profile)
    detected = plain.poses.detected & corrected.poses.detected
    assert detected.mean() > 0.9
    expected = profile.undistort_points_px(plain.poses.landmarks_px[detected])
    np.testing.assert_allclose(corrected.poses.landmarks_px[detected], expected, atol=0.05)
    np.testing.assert_array_equal(corrected.poses.world_landmarks_m[detected], plain.poses.world_landmarks_m[detected])


def test_analyze_video_refuses_a_profile_for_another_shape(shared_dir, model_path, tmp_path):
    from hamflex.pipelines.offline import analyze_video

    path = wide_angle_profile(1088, 1920).save(tmp_path / "portrait.json")
    with pytest.raises(CameraProfileError):
        analyze_video(shared_dir / "synthetic" / "flat2d_stand.mp4", model=model_path, camera_profile=path)


# --- profile files ---------------------------------------------------------------------


def test_profile_json_round_trip(tmp_path):
    profile = replace(wide_angle_profile(), created="2026-11-25", views_used=12, board="4x7 inner corners, 60 mm squares")
    assert CameraProfile.load(profile.save(tmp_path / "profile.json")) == profile


def test_bad_profile_files_are_input_errors(tmp_path):
    not_profile = tmp_path / "other.json"
    not_profile.write_text('{"fx": 1}')
    incomplete = tmp_path / "incomplete.json"
    incomplete.write_text('{"kind": "hamflex-camera-profile", "fx": 1}')
    for path, words in [(tmp_path / "missing.json", "no such"), (not_profile, "not a hamflex"), (incomplete, "incomplete")]:
        with pytest.raises(InputError, match=words):
            CameraProfile.load(path)


# --- the printable board ---------------------------------------------------------------


def test_board_files_have_true_physical_size(tmp_path):
    board = BoardSpec(4, 7, 60.0)
    files = write_board(tmp_path, board, dpi=100, margin_mm=15.0)
    width_mm, height_mm = files.page_mm
    assert width_mm == pytest.approx(5 * 60 + 2 * 15)
    assert height_mm > 8 * 60 + 2 * 15  # room for the caption

    media_box = re.search(rb"/MediaBox\s*\[\s*([\d.\s]+)\]", files.pdf.read_bytes()).group(1).split()
    page_pt = [float(value) for value in media_box][2:]
    assert page_pt == pytest.approx([width_mm / 25.4 * 72, height_mm / 25.4 * 72], abs=0.5)

    with Image.open(files.png) as image:
        assert image.size == (round(width_mm / 25.4 * 100), round(height_mm / 25.4 * 100))
        assert image.info["dpi"] == pytest.approx((100, 100), abs=0.01)
        gray = np.asarray(image.convert("L"))
    corners = find_board_corners(gray, board)
    assert corners is not None
    spacing_px = np.linalg.norm(np.diff(corners.reshape(7, 4, 2), axis=1), axis=-1)
    assert np.median(spacing_px) == pytest.approx(60 / 25.4 * 100, abs=1.0)


def test_board_detected_in_a_rendered_view_is_calibration_input(tmp_path):
    """The board image itself, as one CalibrationImage, is found with all its corners."""
    board = BoardSpec(6, 9, 25.0)
    files = write_board(tmp_path / "small.png", board, dpi=60)
    gray = cv2.imread(str(files.png), cv2.IMREAD_GRAYSCALE)
    result = calibrate_camera([CalibrationImage("flat", gray)], board)
    assert result.used and result.profile is None
    assert files.png.name == "small.png" and files.pdf.name == "small.pdf"


# --- the command line ------------------------------------------------------------------


def test_calibrate_commands(shared_dir, tmp_path):
    from typer.testing import CliRunner

    from hamflex.cli import app

    runner = CliRunner()
    board = runner.invoke(app, ["calibrate", "board", "--out", str(tmp_path / "boards"), "--board", "6x9",
                                "--square-mm", "25"])
    assert board.exit_code == 0, board.output
    assert sorted(p.name for p in (tmp_path / "boards").iterdir()) == [
        "checkerboard_6x9_25mm.pdf", "checkerboard_6x9_25mm.png"]

    profile_path = tmp_path / "cam02.json"
    done = runner.invoke(app, ["calibrate", str(shared_dir / "calibration" / "pose2sim_cam02"), "--board", "4x7",
                               "--square-mm", "60", "--out", str(profile_path)])
    assert done.exit_code == 0, done.output
    assert "rejected" in done.output and "cam02_06_int.jpg: board not found" in done.output
    assert CameraProfile.load(profile_path).views_used == 6

    photos = sorted((shared_dir / "calibration" / "pose2sim_cam02").glob("*.jpg"))[:2]
    too_few = runner.invoke(app, ["calibrate", *map(str, photos), "--out", str(tmp_path / "no.json")])
    assert too_few.exit_code == 3
    assert "add at least 3 more view(s)" in too_few.output
    assert not (tmp_path / "no.json").exists()
    assert runner.invoke(app, ["calibrate", "board", "--board", "4by7"]).exit_code == 2


def test_calibrate_refuses_a_wrong_board_and_missing_inputs(shared_dir, tmp_path):
    from typer.testing import CliRunner

    from hamflex.cli import app

    runner = CliRunner()
    out = tmp_path / "wb.json"
    wrong = runner.invoke(app, ["calibrate", str(shared_dir / "calibration" / "opencv_chessboard_9x6"),
                                "--board", "4x7", "--square-mm", "25", "--out", str(out)])
    assert wrong.exit_code == 3, wrong.output
    assert "--board 4x7" in wrong.output or "Likely cause: --board" in wrong.output
    assert not out.exists()

    missing = runner.invoke(app, ["calibrate", str(tmp_path / "nope.jpg"), "--out", str(out)])
    assert missing.exit_code == 3
    assert f"{tmp_path / 'nope.jpg'}: no such file" in missing.output
    assert not out.exists()


def test_analyze_with_a_profile_for_another_shape_exits_8(shared_dir, tmp_path, model_path):
    # a batch resolves the model once, before any input: the profile is checked per input
    from typer.testing import CliRunner

    from hamflex.cli import app

    profile = wide_angle_profile(1088, 1920).save(tmp_path / "portrait.json")
    done = CliRunner().invoke(app, ["analyze", str(shared_dir / "synthetic" / "flat2d_stand.mp4"), "-q",
                                    "--camera-profile", str(profile), "--out", str(tmp_path / "out")])
    assert done.exit_code == 8
    assert "camera profile is for 1088x1920 frames but the video is 960x540" in done.output
