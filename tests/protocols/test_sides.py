"""Naming the tested side from the body's orientation, not from MediaPipe's labels."""

from __future__ import annotations

import numpy as np
import pytest

from hamflex.core.landmarks import side_index
from hamflex.protocols import sides
from hamflex.protocols.sides import (
    leg_depth_m,
    name_tested_side,
    right_side_facing_score,
)
from tests.support.synthetic_poses import make_pose


@pytest.mark.parametrize(("trunk_direction_deg", "anterior", "facing"), [
    (180.0, "cw", "right"),  # head left, face up: the right side faces the camera
    (0.0, "ccw", "left"),  # head right, face up
    (180.0, "ccw", "left"),  # head left, face down
    (0.0, "cw", "right"),  # head right, face down
    (170.0, "cw", "right"),  # a tilted trunk changes nothing
])
def test_side_facing_the_camera_from_head_and_face(trunk_direction_deg, anterior, facing):
    pose = make_pose(hip_flexion_deg=90.0, knee_flexion_deg=90.0, trunk_direction_deg=trunk_direction_deg,
                     anterior=anterior)
    expected = 1.0 if facing == "right" else -1.0
    assert right_side_facing_score(pose.landmarks_px) == expected
    assert right_side_facing_score(pose.landmarks_px, raised_leg="right") == expected


def test_facing_ignores_mediapipe_labels_and_camera_roll():
    """Swapping every left/right label (MediaPipe's far-leg mistake) leaves the facing side alone."""
    pose = make_pose(hip_flexion_deg=90.0, knee_flexion_deg=30.0, camera_roll_deg=20.0)
    swapped = pose.landmarks_px.copy()
    for joint in ("shoulder", "hip", "knee", "ankle", "eye", "ear"):
        left, right = side_index("left", joint), side_index("right", joint)
        swapped[[left, right]] = swapped[[right, left]]
    assert right_side_facing_score(pose.landmarks_px, "right") == 1.0
    assert right_side_facing_score(swapped, "left") == 1.0


def test_the_raised_knee_decides_when_the_face_is_unseen():
    pose = make_pose(hip_flexion_deg=90.0, knee_flexion_deg=30.0)
    points = pose.landmarks_px.copy()
    points[0] = np.nan  # nose not found
    assert right_side_facing_score(points, "right") == 1.0
    assert np.isnan(right_side_facing_score(points))
    points[:] = np.nan
    assert np.isnan(right_side_facing_score(points, "right"))


def test_depth_of_a_leg_and_which_is_near():
    pose = make_pose(hip_flexion_deg=90.0)  # head left, face up: right leg nearer (z < 0)
    assert leg_depth_m(pose.world_landmarks_m, "right") < 0 < leg_depth_m(pose.world_landmarks_m, "left")
    assert np.isnan(leg_depth_m(None, "right"))
    gap = leg_depth_m(pose.world_landmarks_m, "right") - leg_depth_m(pose.world_landmarks_m, "left")
    assert sides.tested_leg_is_near(gap, 0.0) is True
    assert sides.tested_leg_is_near(-gap, 0.0) is False
    assert sides.tested_leg_is_near(0.01, 0.2) is True  # depth unclear: the better seen leg is nearer
    assert sides.tested_leg_is_near(float("nan"), -0.2) is False
    assert sides.tested_leg_is_near(float("nan"), 0.0) is None


@pytest.mark.parametrize(("score", "near", "side"), [
    (1.0, True, "right"), (1.0, False, "left"), (-1.0, True, "left"), (-1.0, False, "right"),
    (1.0, None, "right"), (float("nan"), True, None),
])
def test_name_of_the_tested_side(score, near, side):
    name, note = name_tested_side(score, near)
    assert name == side
    assert note
