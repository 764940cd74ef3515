"""Naming the anatomical side of the tested leg from the body's orientation in the picture.

MediaPipe's left/right labels are not trustworthy for the leg farther from the camera when a
person lies side-on (a raised far leg was labelled with the near side's name in every frame of
a rendered test, while its angles were right). So the 90-90 protocol picks the tested leg by
geometry (the raised one) and names it here:

1. Which side of the body faces the camera, from the head's direction along the trunk and the
   direction the front of the body points (nose, and the raised knee, which is always in front
   of the trunk when the hip is flexed). With the head to the left of the image and the face up,
   the person's RIGHT side faces the camera; the mirror image is the left side.
2. Whether the tested leg is the near or the far one, from MediaPipe's depth (world ``z``,
   smaller = nearer the camera) or, without depth, from landmark visibility.

The near leg carries the name of the side facing the camera; the far leg the other name.
"""

from __future__ import annotations

import numpy as np

from hamflex.core.geometry import trunk_direction
from hamflex.core.landmarks import LEG_JOINTS, NOSE, other_side, side_index

# Depth differences (metres) smaller than this do not say which leg is nearer.
MIN_DEPTH_GAP_M = 0.03
# Visibility differences smaller than this do not say which leg is nearer.
MIN_VISIBILITY_GAP = 0.02


def _perpendicular_unit(vector: np.ndarray, axis_unit: np.ndarray) -> np.ndarray:
    """Component of ``vector`` perpendicular to ``axis_unit``, scaled to unit length (NaN if none)."""
    across = vector - np.dot(vector, axis_unit) * axis_unit
    length = float(np.linalg.norm(across))
    return across / length if length > 1e-9 else np.full(2, np.nan)


def right_side_facing_score(landmarks_px: np.ndarray, raised_leg: str | None = None) -> float:
    """+1 when the person's right side faces the camera, -1 when the left does, NaN if unknown.

    ``landmarks_px`` is one ``(33, 2)`` pose in image pixels (y down). The front of the body is
    taken from the nose's offset from the trunk line and, when ``raised_leg`` (a MediaPipe
    label) is given, from the raised knee's offset from its hip; they are averaged as unit
    vectors so one missing cue does not matter.
    """
    points = np.asarray(landmarks_px, dtype=np.float64)
    superior = trunk_direction(points)
    shoulder_mid = (points[side_index("left", "shoulder")] + points[side_index("right", "shoulder")]) / 2
    length = float(np.linalg.norm(superior))
    if not np.isfinite(length) or length < 1e-9:
        return float("nan")
    superior /= length
    cues = [_perpendicular_unit(points[NOSE] - shoulder_mid, superior)]
    if raised_leg is not None:
        thigh = points[side_index(raised_leg, "knee")] - points[side_index(raised_leg, "hip")]
        cues.append(_perpendicular_unit(thigh, superior))
    finite = [cue for cue in cues if np.all(np.isfinite(cue))]
    if not finite:
        return float("nan")
    anterior = np.mean(finite, axis=0)
    # Image y points down: flip to a right-handed (x right, y up, z toward camera) frame, where
    # the person's right is anterior x superior; its z sign says whether it faces the camera.
    right_z = anterior[0] * -superior[1] - (-anterior[1]) * superior[0]
    return float(np.sign(right_z)) if abs(right_z) > 1e-6 else float("nan")


def leg_depth_m(world_landmarks_m: np.ndarray | None, leg: str) -> float:
    """Mean world depth (z, metres; smaller = nearer the camera) of a leg's hip, knee and ankle."""
    if world_landmarks_m is None:
        return float("nan")
    indices = [side_index(leg, joint) for joint in LEG_JOINTS]
    depths = np.asarray(world_landmarks_m, dtype=np.float64)[indices, 2]
    depths = depths[np.isfinite(depths)]
    return float(depths.mean()) if depths.size else float("nan")


def tested_leg_is_near(depth_gap_m: float, visibility_gap: float) -> bool | None:
    """Whether the tested leg is the one nearer the camera, or None when nothing says so.

    ``depth_gap_m`` is the tested leg's depth minus the other leg's (negative = tested nearer);
    ``visibility_gap`` the tested leg's mean visibility minus the other's (the far leg is partly
    hidden, so it scores lower). Depth wins when it is clear.
    """
    if np.isfinite(depth_gap_m) and abs(depth_gap_m) >= MIN_DEPTH_GAP_M:
        return bool(depth_gap_m < 0)
    if np.isfinite(visibility_gap) and abs(visibility_gap) >= MIN_VISIBILITY_GAP:
        return bool(visibility_gap > 0)
    return None


def name_tested_side(right_facing_score: float, near: bool | None) -> tuple[str | None, str]:
    """Anatomical side of the tested leg and a note on how sure it is.

    ``right_facing_score`` is the median of :func:`right_side_facing_score` over the trial;
    ``near`` from :func:`tested_leg_is_near` (None is taken as near: the filming advice is to
    have the tested leg nearest the camera, and the note says so).
    """
    if not np.isfinite(right_facing_score) or right_facing_score == 0:
        return None, "body orientation unclear: cannot tell which side faces the camera"
    facing = "right" if right_facing_score > 0 else "left"
    if near is None:
        return facing, "assumed the tested leg is the one nearest the camera"
    return (facing if near else other_side(facing)), ("near leg" if near else "far leg")
