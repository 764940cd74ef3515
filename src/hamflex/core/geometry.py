"""Joint angles from landmark coordinates: pure numpy, vectorized over frames.

Every function takes arrays whose last axis is the coordinate (2 for image pixels,
3 for world metres) and any number of leading axes (a single frame, ``(T, ...)`` for a
whole video). Degenerate input (coincident points, NaN) yields NaN, never an exception.
Conventions and clinical sources: ``docs/angles.md``.
"""

from __future__ import annotations

import warnings

import numpy as np

from hamflex.core.landmarks import DEFAULT_MIN_VISIBILITY, SIDES, other_side, side_index

# Segments shorter than this (pixels or metres) have no direction: their angles are NaN.
_MIN_SEGMENT_LENGTH = 1e-6


def _as_float(points: np.ndarray) -> np.ndarray:
    return np.asarray(points, dtype=np.float64)


def hide_unseen(visibility: np.ndarray, min_visibility: float, *points: np.ndarray) -> tuple[np.ndarray, ...]:
    """``points`` arrays ``(..., 33, D)`` with landmarks seen less than ``min_visibility`` set to NaN."""
    hidden = ~(np.asarray(visibility) >= min_visibility)
    return tuple(np.where(hidden[..., None], np.nan, p) for p in points)


def angle_between_deg(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle between direction vectors ``u`` and ``v`` in degrees (0..180).

    Uses atan2(|u x v|, u . v), which stays exact near 0° and 180° where arccos does not.
    """
    u, v = _as_float(u), _as_float(v)
    norm_u = np.linalg.norm(u, axis=-1)
    norm_v = np.linalg.norm(v, axis=-1)
    if u.shape[-1] == 2:
        cross = np.abs(u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0])
    else:
        cross = np.linalg.norm(np.cross(u, v), axis=-1)
    angle = np.degrees(np.arctan2(cross, np.sum(u * v, axis=-1)))
    degenerate = ~((norm_u >= _MIN_SEGMENT_LENGTH) & (norm_v >= _MIN_SEGMENT_LENGTH))
    return np.where(degenerate, np.nan, angle)


def joint_angle_deg(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Interior angle at ``b`` between rays b→a and b→c, in degrees (0..180; 180 = straight)."""
    return angle_between_deg(_as_float(a) - _as_float(b), _as_float(c) - _as_float(b))


def flexion_deg(proximal: np.ndarray, joint: np.ndarray, distal: np.ndarray) -> np.ndarray:
    """Flexion at ``joint``: how far the distal segment turns away from the proximal line.

    0° when the three points are in line (the clinical zero of hip and knee), 90° at a right
    angle. It is unsigned, so hip hyperextension reads as a small positive flexion.
    """
    return angle_between_deg(_as_float(joint) - _as_float(proximal), _as_float(distal) - _as_float(joint))


def hip_flexion_deg(trunk_direction: np.ndarray, hip: np.ndarray, knee: np.ndarray) -> np.ndarray:
    """Hip flexion: the trunk line (shoulders→hips direction, continued) to the thigh (hip→knee).

    ``trunk_direction`` points from the hips toward the shoulders; only its direction
    matters, so the trunk's midline can be used with either leg.
    """
    return angle_between_deg(-_as_float(trunk_direction), _as_float(knee) - _as_float(hip))


def knee_flexion_deg(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray) -> np.ndarray:
    """Knee flexion: the thigh line (hip→knee, continued) to the shank (knee→ankle).

    This is also the knee extension deficit of the 90-90 test: degrees short of straight.
    """
    return flexion_deg(hip, knee, ankle)


def pair_midpoint(points: np.ndarray, joint: str) -> np.ndarray:
    """Midpoint of the left and right ``joint``; the visible one alone when the other is NaN."""
    pair = np.stack([points[..., side_index(side, joint), :] for side in SIDES], axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # both NaN: NaN, quietly
        return np.nanmean(pair, axis=0)


def trunk_direction(points: np.ndarray) -> np.ndarray:
    """Direction of the trunk's midline, mid-hip → mid-shoulder, for ``(..., 33, D)`` points."""
    points = _as_float(points)
    return pair_midpoint(points, "shoulder") - pair_midpoint(points, "hip")


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
    hip = points[..., side_index(side, "hip"), :]
    knee = points[..., side_index(side, "knee"), :]
    ankle = points[..., side_index(side, "ankle"), :]
    knee_flexion = knee_flexion_deg(hip, knee, ankle)
    return {
        "hip_flexion_deg": hip_flexion_deg(trunk_direction(points), hip, knee),
        "knee_flexion_deg": knee_flexion,
        "knee_extension_deficit_deg": knee_flexion,
        "thigh_to_horizontal_deg": segment_to_horizontal_deg(hip, knee, vertical_axis),
        "shank_to_horizontal_deg": segment_to_horizontal_deg(knee, ankle, vertical_axis),
    }


def trunk_to_horizontal_deg(points: np.ndarray, vertical_axis: int = 1) -> np.ndarray:
    """Elevation of the trunk (mid-hip → mid-shoulder) above the horizontal: 0 lying, 90 upright."""
    direction = trunk_direction(points)
    return segment_to_horizontal_deg(np.zeros_like(direction), direction, vertical_axis)


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


# --- stretch measures the joint angles do not give ------------------------------------
# Crossed-leg stretches (figure-4, ankle over the opposite knee) are defined by where one ankle
# sits relative to the other leg, which no hip or knee flexion angle captures.

# Thighs shorter than this (pixels or metres) cannot scale a distance: the ratio is NaN.
_MIN_THIGH_LENGTH = 1e-6


def ankle_to_other_knee_ratio(points: np.ndarray, side: str) -> np.ndarray:
    """Distance from ``side``'s ankle to the other leg's knee, in thigh lengths.

    Scaled by the mean length of the thighs (either one when the other is hidden) so it
    does not depend on the distance to the camera: about 0.1-0.3 with the ankle resting on the other knee, above 1 with the legs
    apart. In a side view it is the projected distance, so an ankle beside the knee (nearer
    or farther from the camera) also reads small.
    """
    points = np.asarray(points, dtype=np.float64)
    ankle = points[..., side_index(side, "ankle"), :]
    other_knee = points[..., side_index(other_side(side), "knee"), :]
    thighs = [
        np.linalg.norm(points[..., side_index(s, "knee"), :] - points[..., side_index(s, "hip"), :], axis=-1)
        for s in SIDES
    ]
    both = np.stack(thighs)
    count = np.sum(np.isfinite(both), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        thigh_length = np.where(count > 0, np.nansum(both, axis=0) / np.maximum(count, 1), np.nan)
    distance = np.linalg.norm(ankle - other_knee, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = distance / thigh_length
    return np.where(~(thigh_length >= _MIN_THIGH_LENGTH), np.nan, ratio)


# Per-side measure names (``{side}_<name>`` columns), in the style of geometry.LEG_ANGLE_NAMES.
STRETCH_MEASURE_NAMES = ("ankle_to_other_knee_ratio",)


def stretch_measures(points: np.ndarray, visibility: np.ndarray | None = None, min_visibility: float = DEFAULT_MIN_VISIBILITY) -> dict[str, np.ndarray]:
    """All stretch measures of a pose or sequence: ``{side}_ankle_to_other_knee_ratio``.

    Landmarks whose ``visibility`` is below ``min_visibility`` count as missing (NaN).
    """
    points = np.asarray(points, dtype=np.float64)
    if visibility is not None:
        (points,) = hide_unseen(visibility, min_visibility, points)
    return {f"{side}_ankle_to_other_knee_ratio": ankle_to_other_knee_ratio(points, side) for side in SIDES}
