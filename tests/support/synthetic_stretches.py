"""Synthetic stretch poses with known truth, built on :func:`tests.support.synthetic_poses.make_pose`.

``stretch_pose(name, **changes)`` gives a correct pose of a catalog stretch, side-on with the
stretched (right) leg nearest the camera; ``changes`` override its parameters (the fault
variants in ``STRETCH_POSES``). Crossed-leg stretches place the crossed ankle beside the other
knee (offset sideways, outward) and swing the crossed knee outward, which
``make_pose``'s sagittal legs cannot do. ``samples(...)`` turns a pose sequence into the
FrameSamples an offline run feeds the protocol (same smoothing as ``analyze_video``).
"""

from __future__ import annotations

import numpy as np

from hamflex.core.landmarks import INDEX
from hamflex.pipelines.samples import samples_from_series
from hamflex.protocols.base import FrameSample
from hamflex.core.series import AngleSeries
from tests.support.synthetic_poses import THIGH_M, SyntheticPose, make_pose, to_pose_sequence

PIXELS_PER_M = 400.0
CENTRE_PX = (480.0, 300.0)

SUPINE = 180.0  # trunk direction: head to the left, lying
UPRIGHT = 90.0  # head up: sitting or standing tall

# A correct pose of each catalog stretch, and per posture check a change that breaks it.
STRETCH_POSES: dict[str, dict[str, dict]] = {
    "hamstring_supine": {
        "correct": dict(hip=80.0, knee=5.0, other_hip=3.0, other_knee=3.0, trunk=SUPINE),
        "faults": {
            "lying": dict(trunk=SUPINE - 50.0),
            "leg_raised": dict(hip=30.0),
            "knee_straight": dict(knee=35.0),
            "other_leg_flat": dict(other_hip=40.0),
            "other_knee_straight": dict(other_knee=40.0),
        },
    },
    "hamstring_supine_bent_knee": {
        "correct": dict(hip=70.0, knee=5.0, other_hip=50.0, other_knee=95.0, trunk=SUPINE),
        "faults": {
            "lying": dict(trunk=SUPINE - 50.0),
            "leg_raised": dict(hip=30.0),
            "knee_straight": dict(knee=35.0),
            "other_knee_bent": dict(other_hip=10.0, other_knee=10.0),
            "other_foot_down": dict(other_hip=95.0),
        },
    },
    "hamstring_standing": {
        "correct": dict(hip=90.0, knee=5.0, other_hip=30.0, other_knee=5.0, trunk=UPRIGHT - 30.0),
        "faults": {
            "hinged_forward": dict(trunk=UPRIGHT, hip=60.0, other_hip=0.0),
            "leg_forward": dict(hip=35.0),
            "knee_straight": dict(knee=35.0),
            "standing_leg": dict(other_hip=75.0),
            "standing_knee": dict(other_knee=45.0),
        },
    },
    "hamstring_seated": {
        "correct": dict(hip=120.0, knee=5.0, other_hip=120.0, other_knee=5.0, trunk=UPRIGHT - 30.0),
        "faults": {
            "bent_forward": dict(hip=90.0, other_hip=90.0, trunk=UPRIGHT),
            "knee_straight": dict(knee=35.0, other_knee=35.0),
            "legs_on_floor": dict(hip=155.0, other_hip=155.0),
        },
    },
    "hamstring_long_sit": {
        "correct": dict(hip=105.0, knee=5.0, other_hip=130.0, other_knee=120.0, trunk=UPRIGHT - 15.0),
        "faults": {
            "bent_forward": dict(hip=88.0, other_hip=110.0, trunk=UPRIGHT + 2.0),
            "knee_straight": dict(knee=35.0),
            "leg_on_floor": dict(hip=140.0, trunk=UPRIGHT - 15.0),
            "other_knee_bent": dict(other_knee=30.0),
        },
    },
    "glute_seated_cross": {
        "correct": dict(hip=135.0, other_hip=90.0, other_knee=0.0, trunk=UPRIGHT, crossed=True),
        "faults": {
            "sitting_tall": dict(trunk=UPRIGHT + 40.0, other_hip=50.0),
            "knee_hugged": dict(hip=100.0),
            "knee_bent": dict(knee=20.0, crossed=False),
            "foot_beside_knee": dict(ankle_back_m=0.35),
            "other_leg_straight": dict(other_knee=45.0),
        },
    },
    "glute_kneeling_cross": {
        "correct": dict(hip=130.0, knee=110.0, other_hip=90.0, other_knee=150.0, trunk=UPRIGHT),
        "faults": {
            "sitting_tall": dict(trunk=UPRIGHT + 40.0, other_hip=50.0),
            "knee_hugged": dict(hip=100.0),
            "knee_bent": dict(knee=40.0),
            "other_leg_folded": dict(other_knee=80.0),
            "folded_thigh_down": dict(other_hip=50.0),
        },
    },
    "glute_figure4": {
        "correct": dict(hip=70.0, other_hip=100.0, other_knee=90.0, trunk=SUPINE, crossed=True, knee_out_deg=50.0),
        "faults": {
            "lying": dict(trunk=SUPINE - 50.0),
            "ankle_on_knee": dict(ankle_back_m=0.25),
            "thigh_pulled": dict(other_hip=60.0),
            "other_knee_bent": dict(other_knee=20.0),
        },
    },
    "piriformis_knee_to_shoulder": {
        "correct": dict(hip=100.0, knee=100.0, other_hip=3.0, other_knee=3.0, trunk=SUPINE),
        "faults": {
            "lying": dict(trunk=SUPINE - 50.0),
            "knee_pulled": dict(hip=50.0),
            "knee_bent": dict(knee=30.0),
            "other_leg_flat": dict(other_hip=40.0),
            "other_knee_straight": dict(other_knee=40.0),
        },
    },
    "piriformis_cross_ankle": {
        "correct": dict(hip=60.0, other_hip=45.0, other_knee=90.0, trunk=SUPINE, crossed=True, knee_out_deg=50.0),
        "faults": {
            "lying": dict(trunk=SUPINE - 50.0),
            "ankle_on_knee": dict(ankle_back_m=0.25),
            "other_knee_bent": dict(other_knee=30.0),
            "other_foot_down": dict(other_hip=100.0),
        },
    },
}


def _unit_deg(angle_deg) -> np.ndarray:
    a = np.radians(angle_deg)
    return np.stack([np.cos(a), np.sin(a), np.zeros_like(a)], axis=-1)


def _place(pose: SyntheticPose, body_points: dict[str, np.ndarray]) -> SyntheticPose:
    """Move landmarks to body-frame points (x right, y up, z toward the camera; no camera
    yaw/roll), updating pixels and world landmarks alike."""
    pixels, world = pose.landmarks_px.copy(), pose.world_landmarks_m.copy()
    for name, point in body_points.items():
        world[..., INDEX[name], :] = point * np.array([1.0, -1.0, -1.0])
        pixels[..., INDEX[name], 0] = CENTRE_PX[0] + PIXELS_PER_M * point[..., 0]
        pixels[..., INDEX[name], 1] = CENTRE_PX[1] - PIXELS_PER_M * point[..., 1]
    return SyntheticPose(pixels, world, pose.visibility, pose.image_width, pose.image_height)


def stretch_pose(
    name: str,
    *,
    hip=0.0,
    knee=0.0,
    other_hip=0.0,
    other_knee=0.0,
    trunk=SUPINE,
    crossed: bool = False,
    knee_out_deg=0.0,
    ankle_back_m=0.0,
    tested_side: str = "right",
) -> SyntheticPose:
    """A pose of stretch ``name`` (any argument may be a (T,) array for a sequence).

    ``crossed``: the tested ankle rests beside the other knee (``ankle_back_m`` slides it back
    along the other thigh, toward the hip), and the tested knee swings ``knee_out_deg``
    outward (toward the camera for the right leg).
    """
    del name  # the parameters fully define the pose; the name documents the call
    pose = make_pose(
        hip_flexion_deg=hip, knee_flexion_deg=knee, other_hip_flexion_deg=other_hip,
        other_knee_flexion_deg=other_knee, tested_side=tested_side, trunk_direction_deg=trunk,
        pixels_per_m=PIXELS_PER_M, centre_px=CENTRE_PX,
    )
    if not crossed:
        return pose
    body = pose.world_landmarks_m * np.array([1.0, -1.0, -1.0])
    other = "left" if tested_side == "right" else "right"
    hip_point = body[..., INDEX[f"{tested_side}_hip"], :]
    other_hip_point = body[..., INDEX[f"{other}_hip"], :]
    other_knee_point = body[..., INDEX[f"{other}_knee"], :]
    # Lying or sitting facing the picture's right with the head left/up, the right side faces
    # the camera: "outward" for the right leg is toward the camera, for the left leg away.
    outward = np.array([0.0, 0.0, 1.0 if tested_side == "right" else -1.0])
    # The thigh in the sagittal plane at the given hip flexion, swung outward.
    trunk_arr = np.asarray(trunk, dtype=np.float64)
    feet = -_unit_deg(trunk_arr)
    anterior = _unit_deg(trunk_arr - 90.0)
    hip_rad = np.radians(np.asarray(hip, dtype=np.float64))[..., None]
    out_rad = np.radians(np.asarray(knee_out_deg, dtype=np.float64))[..., None]
    sagittal = np.cos(hip_rad) * feet + np.sin(hip_rad) * anterior
    knee_point = hip_point + THIGH_M * (np.cos(out_rad) * sagittal + np.sin(out_rad) * outward)
    other_thigh = other_knee_point - other_hip_point
    other_thigh /= np.linalg.norm(other_thigh, axis=-1, keepdims=True)
    back = np.asarray(ankle_back_m, dtype=np.float64)[..., None]
    ankle_point = other_knee_point + 0.08 * outward - back * other_thigh
    shank = ankle_point - knee_point
    return _place(pose, {
        f"{tested_side}_knee": knee_point,
        f"{tested_side}_ankle": ankle_point,
        f"{tested_side}_heel": ankle_point + 0.04 * shank,
        f"{tested_side}_foot_index": ankle_point + 0.1 * outward,
    })


def correct_pose(name: str, **changes) -> SyntheticPose:
    """The correct pose of ``name`` with ``changes`` applied."""
    return stretch_pose(name, **{**STRETCH_POSES[name]["correct"], **changes})


def samples(pose: SyntheticPose, timestamps_s, detected=None) -> list[FrameSample]:
    """FrameSamples of a pose sequence, angles smoothed as in an offline analysis."""
    timestamps_ms = np.round(np.asarray(timestamps_s, dtype=np.float64) * 1000.0).astype(np.int64)
    poses = to_pose_sequence(pose, timestamps_ms, detected)
    return list(samples_from_series(AngleSeries.from_poses(poses), poses))


def still(pose: SyntheticPose, frames: int) -> SyntheticPose:
    """One pose repeated ``frames`` times (a sequence to feed ``samples``)."""
    def repeat(a: np.ndarray) -> np.ndarray:
        return np.repeat(a[None], frames, axis=0)

    return SyntheticPose(repeat(pose.landmarks_px), repeat(pose.world_landmarks_m), repeat(pose.visibility),
                         pose.image_width, pose.image_height)
