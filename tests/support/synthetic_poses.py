"""A synthetic landmark generator with known ground truth, for geometry and protocol tests.

``make_pose`` places MediaPipe's 33 landmarks for chosen hip and knee flexion of both legs,
in a body posture (supine, standing, seated: the trunk's direction in the picture), then
applies a camera yaw (leg out of the image plane), roll, scale and translation. Every
argument may be an array of shape (T,) to build a whole sequence at once.

Frames: a right-handed world frame (x right, y up, z toward the camera, metres). The body's
superior direction S lies in the image plane at ``trunk_direction_deg`` (counter-clockwise
from +x; 180 = head to the left) and its anterior direction A is S turned clockwise by 90°
(``anterior="cw"``, e.g. face up when lying with the head to the left) or counter-clockwise.
The person's right is R = A x S, so with the head to the left and the face up the right
side faces the camera.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hamflex.core.landmarks import INDEX, NUM_LANDMARKS
from hamflex.media.pose import PoseFrame
from hamflex.core.series import PoseSequence

THIGH_M = 0.45
SHANK_M = 0.43
TRUNK_M = 0.52
HALF_PELVIS_M = 0.12
HALF_SHOULDERS_M = 0.18


@dataclass(frozen=True)
class SyntheticPose:
    """Landmarks of one pose or a sequence: ``(..., 33, 2)`` pixels, ``(..., 33, 3)`` metres."""

    landmarks_px: np.ndarray
    world_landmarks_m: np.ndarray
    visibility: np.ndarray
    image_width: int
    image_height: int


def _unit(angle_deg):
    a = np.radians(angle_deg)
    return np.stack([np.cos(a), np.sin(a), np.zeros_like(a)], axis=-1)


def make_pose(
    hip_flexion_deg=0.0,
    knee_flexion_deg=0.0,
    other_hip_flexion_deg=0.0,
    other_knee_flexion_deg=0.0,
    tested_side: str = "right",
    trunk_direction_deg=180.0,
    anterior: str = "cw",
    camera_yaw_deg=0.0,
    camera_roll_deg=0.0,
    pixels_per_m: float = 400.0,
    centre_px=(480.0, 300.0),
    image_size=(960, 540),
    visibility=1.0,
    noise_px: float = 0.0,
    seed: int = 0,
) -> SyntheticPose:
    """Landmarks for the given joint angles (degrees; 0 = straight, flexion toward anterior)."""
    hip_flexion, knee_flexion, other_hip, other_knee, trunk_direction, yaw, roll = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (
            hip_flexion_deg, knee_flexion_deg, other_hip_flexion_deg, other_knee_flexion_deg,
            trunk_direction_deg, camera_yaw_deg, camera_roll_deg))
    )
    superior = _unit(trunk_direction)
    anterior_dir = _unit(trunk_direction + (-90.0 if anterior == "cw" else 90.0))
    right = np.cross(anterior_dir, superior)
    feet = -superior
    points = np.zeros(superior.shape[:-1] + (NUM_LANDMARKS, 3))

    def put(name: str, value: np.ndarray) -> None:
        points[..., INDEX[name], :] = value

    hip_centre = np.zeros_like(superior)
    shoulder_centre = hip_centre + TRUNK_M * superior
    for side, sign in (("right", 1.0), ("left", -1.0)):
        tested = side == tested_side
        hip_deg = np.radians(hip_flexion if tested else other_hip)[..., None]
        knee_deg = np.radians(knee_flexion if tested else other_knee)[..., None]
        hip = hip_centre + sign * HALF_PELVIS_M * right
        thigh = np.cos(hip_deg) * feet + np.sin(hip_deg) * anterior_dir
        thigh_anterior = -np.sin(hip_deg) * feet + np.cos(hip_deg) * anterior_dir
        shank = np.cos(knee_deg) * thigh - np.sin(knee_deg) * thigh_anterior
        shank_anterior = np.sin(knee_deg) * thigh + np.cos(knee_deg) * thigh_anterior
        knee = hip + THIGH_M * thigh
        ankle = knee + SHANK_M * shank
        shoulder = shoulder_centre + sign * HALF_SHOULDERS_M * right
        put(f"{side}_hip", hip)
        put(f"{side}_knee", knee)
        put(f"{side}_ankle", ankle)
        put(f"{side}_heel", ankle - 0.05 * shank_anterior + 0.04 * shank)
        put(f"{side}_foot_index", ankle + 0.15 * shank_anterior + 0.03 * shank)
        put(f"{side}_shoulder", shoulder)
        elbow = shoulder + 0.28 * feet
        wrist = elbow + 0.25 * feet
        put(f"{side}_elbow", elbow)
        put(f"{side}_wrist", wrist)
        for finger in ("pinky", "index", "thumb"):
            put(f"{side}_{finger}", wrist + 0.06 * feet)
        put(f"{side}_ear", shoulder_centre + 0.2 * superior + sign * 0.07 * right)
        put(f"{side}_eye", shoulder_centre + 0.24 * superior + 0.08 * anterior_dir + sign * 0.03 * right)
        put(f"{side}_eye_inner", shoulder_centre + 0.24 * superior + 0.09 * anterior_dir + sign * 0.015 * right)
        put(f"{side}_eye_outer", shoulder_centre + 0.24 * superior + 0.07 * anterior_dir + sign * 0.045 * right)
        put(f"mouth_{side}", shoulder_centre + 0.16 * superior + 0.08 * anterior_dir + sign * 0.025 * right)
    put("nose", shoulder_centre + 0.21 * superior + 0.11 * anterior_dir)

    # Camera: yaw about the image's vertical axis, then roll in the image plane.
    yaw_rad, roll_rad = np.radians(yaw)[..., None], np.radians(roll)[..., None]
    x, y, z = points[..., 0], points[..., 1], points[..., 2]
    x, z = np.cos(yaw_rad) * x + np.sin(yaw_rad) * z, -np.sin(yaw_rad) * x + np.cos(yaw_rad) * z
    x, y = np.cos(roll_rad) * x - np.sin(roll_rad) * y, np.sin(roll_rad) * x + np.cos(roll_rad) * y
    camera_points = np.stack([x, y, z], axis=-1)
    pixels = np.stack(
        [centre_px[0] + pixels_per_m * camera_points[..., 0], centre_px[1] - pixels_per_m * camera_points[..., 1]],
        axis=-1,
    )
    if noise_px:
        pixels = pixels + np.random.default_rng(seed).normal(0.0, noise_px, pixels.shape)
    # MediaPipe world landmarks: metres, centred between the hips, y pointing down.
    world = camera_points * np.array([1.0, -1.0, -1.0])
    return SyntheticPose(
        landmarks_px=pixels,
        world_landmarks_m=world,
        visibility=np.broadcast_to(np.asarray(visibility, dtype=np.float64), pixels.shape[:-1]).copy(),
        image_width=int(image_size[0]),
        image_height=int(image_size[1]),
    )


def to_pose_frames(pose: SyntheticPose, timestamps_ms, detected=None) -> list[PoseFrame]:
    """PoseFrames for a synthetic sequence (``detected`` False frames become "no person")."""
    timestamps_ms = np.asarray(timestamps_ms, dtype=np.int64)
    detected = np.ones(len(timestamps_ms), bool) if detected is None else np.asarray(detected, bool)
    size = np.array([pose.image_width, pose.image_height], dtype=np.float64)
    frames = []
    for i, timestamp_ms in enumerate(timestamps_ms):
        if not detected[i]:
            frames.append(PoseFrame(i, int(timestamp_ms), pose.image_width, pose.image_height))
            continue
        normalized = np.zeros((NUM_LANDMARKS, 3), dtype=np.float32)
        normalized[:, :2] = pose.landmarks_px[i] / size
        frames.append(
            PoseFrame(
                i, int(timestamp_ms), pose.image_width, pose.image_height,
                landmarks_norm=normalized,
                world_landmarks_m=pose.world_landmarks_m[i].astype(np.float32),
                visibility=pose.visibility[i].astype(np.float32),
                presence=np.ones(NUM_LANDMARKS, np.float32),
                people_in_view=1,
            )
        )
    return frames


def to_pose_sequence(pose: SyntheticPose, timestamps_ms, detected=None) -> PoseSequence:
    """A :class:`PoseSequence` for a synthetic sequence, as the pose stage would produce."""
    return PoseSequence.from_frames(to_pose_frames(pose, timestamps_ms, detected), pose.image_width, pose.image_height)
