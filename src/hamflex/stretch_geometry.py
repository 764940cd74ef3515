"""Stretch-specific measures the joint angles do not give: pure numpy, vectorized over frames.

Crossed-leg stretches (figure-4, ankle over the opposite knee, foot beside the other knee)
are defined by where one ankle sits relative to the other leg, which no hip or knee flexion
angle captures. Like :mod:`hamflex.geometry`, every function takes ``(..., 33, D)`` landmark
coordinates (pixels or metres) and yields NaN for missing or degenerate input.
"""

from __future__ import annotations

import numpy as np

from hamflex.geometry import hide_unseen
from hamflex.landmarks import SIDES, other_side, side_index

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


def stretch_measures(points: np.ndarray, visibility: np.ndarray | None = None, min_visibility: float = 0.5) -> dict[str, np.ndarray]:
    """All stretch measures of a pose or sequence: ``{side}_ankle_to_other_knee_ratio``.

    Landmarks whose ``visibility`` is below ``min_visibility`` count as missing (NaN).
    """
    points = np.asarray(points, dtype=np.float64)
    if visibility is not None:
        (points,) = hide_unseen(visibility, min_visibility, points)
    return {f"{side}_ankle_to_other_knee_ratio": ankle_to_other_knee_ratio(points, side) for side in SIDES}
