"""Geometry: exact angles on synthetic poses with known truth, NaN on degenerate input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hamflex.core.geometry import (
    flexion_deg,
    joint_angle_deg,
    pose_angles_deg,
    segment_to_horizontal_deg,
    trunk_to_horizontal_deg,
)
from tests.support.synthetic_poses import make_pose


def test_right_angle_and_straight_line():
    assert joint_angle_deg([1, 0], [0, 0], [0, 1]) == pytest.approx(90.0)
    assert joint_angle_deg([-1, 0], [0, 0], [1, 0]) == pytest.approx(180.0)
    assert flexion_deg([-1, 0], [0, 0], [1, 0]) == pytest.approx(0.0)


def test_vectorized_over_frames():
    a = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    b = np.zeros((3, 2))
    c = np.array([[0.0, 1.0], [-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(joint_angle_deg(a, b, c), [90.0, 180.0, 45.0])


@pytest.mark.parametrize(
    "a, b, c",
    [
        ([0, 0], [0, 0], [1, 0]),  # coincident points
        ([np.nan, 0], [0, 0], [1, 0]),
        ([1, 0, 0], [1, 0, 0], [1, 0, 0]),
    ],
)
def test_degenerate_input_gives_nan(a, b, c):
    with np.errstate(all="raise"):  # and never a floating-point exception
        assert np.isnan(joint_angle_deg(a, b, c))


def test_segment_to_horizontal():
    assert segment_to_horizontal_deg([0, 0], [1, 0]) == pytest.approx(0.0)
    assert segment_to_horizontal_deg([0, 0], [0, -5]) == pytest.approx(90.0)
    assert segment_to_horizontal_deg([0, 0], [1, 1]) == pytest.approx(45.0)
    assert np.isnan(segment_to_horizontal_deg([2, 2], [2, 2]))


@settings(max_examples=100, deadline=None)
@given(
    hip=st.floats(0, 150),
    knee=st.floats(0, 150),
    other_hip=st.floats(0, 120),
    trunk_direction=st.floats(-180, 180),
    roll=st.floats(-30, 30),
    scale=st.floats(50, 2000),
    anterior=st.sampled_from(["cw", "ccw"]),
    side=st.sampled_from(["left", "right"]),
)
def test_image_angles_exact_for_any_rotation_scale_translation(hip, knee, other_hip, trunk_direction, roll, scale, anterior, side):
    pose = make_pose(
        hip_flexion_deg=hip, knee_flexion_deg=knee, other_hip_flexion_deg=other_hip, tested_side=side,
        trunk_direction_deg=trunk_direction, anterior=anterior, camera_roll_deg=roll, pixels_per_m=scale,
        centre_px=(123.0, 456.0),
    )
    angles = pose_angles_deg(pose.landmarks_px, pose.world_landmarks_m)
    other = "left" if side == "right" else "right"
    assert angles[f"{side}_hip_flexion_deg"] == pytest.approx(hip, abs=1e-6)
    assert angles[f"{side}_knee_flexion_deg"] == pytest.approx(knee, abs=1e-6)
    assert angles[f"{side}_knee_extension_deficit_deg"] == pytest.approx(knee, abs=1e-6)
    assert angles[f"{other}_hip_flexion_deg"] == pytest.approx(other_hip, abs=1e-6)
    assert angles[f"{side}_hip_flexion_3d_deg"] == pytest.approx(hip, abs=1e-6)
    assert angles[f"{side}_knee_flexion_3d_deg"] == pytest.approx(knee, abs=1e-6)


def test_thigh_vertical_when_lying_with_hip_at_90():
    pose = make_pose(hip_flexion_deg=90.0, knee_flexion_deg=90.0)
    angles = pose_angles_deg(pose.landmarks_px, pose.world_landmarks_m)
    assert angles["trunk_to_horizontal_deg"] == pytest.approx(0.0, abs=1e-6)
    assert angles["right_thigh_to_horizontal_deg"] == pytest.approx(90.0, abs=1e-6)
    assert angles["right_shank_to_horizontal_deg"] == pytest.approx(0.0, abs=1e-6)
    assert angles["right_thigh_to_horizontal_3d_deg"] == pytest.approx(90.0, abs=1e-6)


def test_standing_trunk_is_vertical():
    pose = make_pose(trunk_direction_deg=90.0)
    assert trunk_to_horizontal_deg(pose.landmarks_px) == pytest.approx(90.0)


def test_leg_out_of_image_plane_distorts_2d_but_not_3d():
    pose = make_pose(hip_flexion_deg=90.0, knee_flexion_deg=30.0, camera_yaw_deg=40.0)
    angles = pose_angles_deg(pose.landmarks_px, pose.world_landmarks_m)
    assert angles["right_knee_flexion_3d_deg"] == pytest.approx(30.0, abs=1e-6)
    assert abs(angles["right_knee_flexion_deg"] - 30.0) > 5.0


def test_whole_sequence_at_once_and_nan_frames_stay_nan():
    hip = np.linspace(0, 120, 50)
    pose = make_pose(hip_flexion_deg=hip, knee_flexion_deg=20.0)
    points = pose.landmarks_px.copy()
    points[10] = np.nan
    angles = pose_angles_deg(points)
    assert angles["right_hip_flexion_deg"].shape == (50,)
    assert np.isnan(angles["right_hip_flexion_deg"][10])
    finite = np.isfinite(angles["right_hip_flexion_deg"])
    np.testing.assert_allclose(angles["right_hip_flexion_deg"][finite], hip[finite], atol=1e-6)


def test_pixel_coordinates_needed_on_non_square_frames():
    """Normalized coordinates of a 16:9 frame distort angles: the reason geometry takes pixels."""
    pose = make_pose(hip_flexion_deg=90.0, knee_flexion_deg=45.0, image_size=(1920, 1080))
    normalized = pose.landmarks_px / np.array([1920.0, 1080.0])
    wrong = pose_angles_deg(normalized)["right_knee_flexion_deg"]
    right = pose_angles_deg(pose.landmarks_px)["right_knee_flexion_deg"]
    assert right == pytest.approx(45.0, abs=1e-6)
    assert abs(wrong - 45.0) > 5.0
