"""Joint angles from landmark coordinates: pure numpy, vectorized over frames.

Every function takes arrays whose last axis is the coordinate (2 for image pixels,
3 for world metres) and any number of leading axes (a single frame, ``(T, ...)`` for a
whole video). Degenerate input (coincident points, NaN) yields NaN, never an exception.
Conventions and clinical sources: ``docs/angles.md``.
"""

from __future__ import annotations

import numpy as np

from hamflex.landmarks import SIDES, side_index

# Segments shorter than this (pixels or metres) have no direction: their angles are NaN.
_MIN_SEGMENT_LENGTH = 1e-6


def _as_float(points: np.ndarray) -> np.ndarray:
    return np.asarray(points, dtype=np.float64)


def joint_angle_deg(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Interior angle at ``b`` between rays b→a and b→c, in degrees (0..180; 180 = straight)."""
    ba = _as_float(a) - _as_float(b)
    bc = _as_float(c) - _as_float(b)
    norm_ba = np.linalg.norm(ba, axis=-1)
    norm_bc = np.linalg.norm(bc, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = np.sum(ba * bc, axis=-1) / (norm_ba * norm_bc)
    cosine = np.clip(cosine, -1.0, 1.0)
    angle = np.degrees(np.arccos(cosine))
    degenerate = (norm_ba < _MIN_SEGMENT_LENGTH) | (norm_bc < _MIN_SEGMENT_LENGTH)
    return np.where(degenerate, np.nan, angle)


def flexion_deg(proximal: np.ndarray, joint: np.ndarray, distal: np.ndarray) -> np.ndarray:
    """Flexion at ``joint``: how far the distal segment turns away from the proximal line.

    0° when the three points are in line (the clinical zero of hip and knee), 90° at a right
    angle. Computed as 180° minus the interior angle; it is unsigned, so hip hyperextension
    reads as a small positive flexion.
    """
    return 180.0 - joint_angle_deg(proximal, joint, distal)


def hip_flexion_deg(shoulder: np.ndarray, hip: np.ndarray, knee: np.ndarray) -> np.ndarray:
    """Hip flexion: the trunk line (shoulder→hip, continued) to the thigh (hip→knee)."""
    return flexion_deg(shoulder, hip, knee)


def knee_flexion_deg(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray) -> np.ndarray:
    """Knee flexion: the thigh line (hip→knee, continued) to the shank (knee→ankle).

    This is also the knee extension deficit of the 90-90 test: degrees short of straight.
    """
    return flexion_deg(hip, knee, ankle)


def segment_to_horizontal_deg(start: np.ndarray, end: np.ndarray, vertical_axis: int = 1) -> np.ndarray:
    """Elevation of the segment start→end above the horizontal, 0..90° (90 = vertical).

    The vertical is coordinate ``vertical_axis`` (image y, or world y which MediaPipe points
    down along gravity when the camera is level). The sign of the elevation is dropped.
    """
    delta = _as_float(end) - _as_float(start)
    vertical = np.abs(delta[..., vertical_axis])
    length = np.linalg.norm(delta, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        angle = np.degrees(np.arcsin(np.clip(vertical / length, 0.0, 1.0)))
    return np.where(length < _MIN_SEGMENT_LENGTH, np.nan, angle)


def leg_angles_deg(points: np.ndarray, side: str, vertical_axis: int = 1) -> dict[str, np.ndarray]:
    """Hip, knee and segment angles of one leg from ``(..., 33, D)`` landmark coordinates."""
    points = _as_float(points)
    shoulder = points[..., side_index(side, "shoulder"), :]
    hip = points[..., side_index(side, "hip"), :]
    knee = points[..., side_index(side, "knee"), :]
    ankle = points[..., side_index(side, "ankle"), :]
    knee_flexion = knee_flexion_deg(hip, knee, ankle)
    return {
        "hip_flexion_deg": hip_flexion_deg(shoulder, hip, knee),
        "knee_flexion_deg": knee_flexion,
        "knee_extension_deficit_deg": knee_flexion,
        "thigh_to_horizontal_deg": segment_to_horizontal_deg(hip, knee, vertical_axis),
        "shank_to_horizontal_deg": segment_to_horizontal_deg(knee, ankle, vertical_axis),
    }


def trunk_to_horizontal_deg(points: np.ndarray, vertical_axis: int = 1) -> np.ndarray:
    """Elevation of the trunk (mid-hip → mid-shoulder) above the horizontal: 0 lying, 90 upright."""
    points = _as_float(points)
    mid_shoulder = (points[..., side_index("left", "shoulder"), :] + points[..., side_index("right", "shoulder"), :]) / 2
    mid_hip = (points[..., side_index("left", "hip"), :] + points[..., side_index("right", "hip"), :]) / 2
    return segment_to_horizontal_deg(mid_hip, mid_shoulder, vertical_axis)


# Per-side angle names, in CSV column order; 3D counterparts carry ``_3d`` before the unit.
LEG_ANGLE_NAMES = (
    "hip_flexion_deg",
    "knee_flexion_deg",
    "knee_extension_deficit_deg",
    "thigh_to_horizontal_deg",
    "shank_to_horizontal_deg",
)


def to_3d_name(name: str) -> str:
    """``knee_flexion_deg`` → ``knee_flexion_3d_deg``."""
    return name.removesuffix("_deg") + "_3d_deg"


def pose_angles_deg(
    landmarks_px: np.ndarray,
    world_landmarks_m: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """All angle columns of a pose or a pose sequence.

    ``landmarks_px`` is ``(..., 33, 2)`` image coordinates in pixels (never normalized:
    the aspect ratio must be right); ``world_landmarks_m`` the matching ``(..., 33, 3)``
    world landmarks. Keys are ``{side}_{angle}`` plus ``trunk_to_horizontal_deg``.
    """
    angles: dict[str, np.ndarray] = {"trunk_to_horizontal_deg": trunk_to_horizontal_deg(landmarks_px)}
    for side in SIDES:
        for name, value in leg_angles_deg(landmarks_px, side).items():
            angles[f"{side}_{name}"] = value
        if world_landmarks_m is not None:
            for name, value in leg_angles_deg(world_landmarks_m, side).items():
                angles[f"{side}_{to_3d_name(name)}"] = value
    return angles
