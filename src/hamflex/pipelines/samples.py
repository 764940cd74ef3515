"""Poses → angles → :class:`~hamflex.protocols.base.FrameSample`: the one way protocols are fed.

Offline, the whole recording's angles are smoothed zero-phase first (``AngleSeries``) and
:func:`samples_from_series` yields a sample per frame; live, :class:`AnglePipeline` smooths
causally (One-Euro) as frames arrive. Both build their samples with :func:`frame_sample`, so
the protocols cannot tell the two apart.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from hamflex.core.filters import OneEuroBank
from hamflex.core.geometry import hide_unseen, pose_angles_deg
from hamflex.core.landmarks import DEFAULT_MIN_VISIBILITY, SIDES
from hamflex.core.series import AngleSeries, PoseSequence, leg_visibility
from hamflex.media.pose import PoseFrame
from hamflex.protocols.base import FrameSample


def frame_sample(timestamp_ms: float, detected: bool, angles_deg: Mapping[str, float], landmarks_px: np.ndarray,
                 visibility: np.ndarray, world_landmarks_m: np.ndarray | None,
                 legs_visibility: Mapping[str, float], image_size_px: tuple[int, int], frame_index: int) -> FrameSample:
    """The protocol's view of one frame."""
    return FrameSample(
        timestamp_s=float(timestamp_ms) / 1000.0,
        detected=bool(detected),
        angles_deg={name: float(value) for name, value in angles_deg.items()},
        landmarks_px=landmarks_px,
        visibility=visibility,
        leg_visibility={side: float(value) for side, value in legs_visibility.items()},
        world_landmarks_m=world_landmarks_m,
        image_size_px=image_size_px,
        frame_index=int(frame_index),
    )


def samples_from_series(angles: AngleSeries, poses: PoseSequence, smoothed: bool = True) -> Iterator[FrameSample]:
    """One sample per frame of an offline analysis: its zero-phase smoothed angles (or the raw ones)."""
    columns = angles.smoothed if smoothed else angles.raw
    for i in range(len(angles)):
        yield frame_sample(
            angles.timestamp_ms[i], angles.detected[i], {name: values[i] for name, values in columns.items()},
            poses.landmarks_px[i], poses.visibility[i], poses.world_landmarks_m[i],
            {side: values[i] for side, values in angles.leg_visibility.items()},
            (poses.image_width, poses.image_height), poses.frame_index[i],
        )


def frame_angles_deg(pose: PoseFrame, min_visibility: float = DEFAULT_MIN_VISIBILITY) -> dict[str, float]:
    """Image-plane and world angles of one pose, poorly visible landmarks ignored (live use)."""
    points_px, world_m = hide_unseen(pose.visibility, min_visibility, pose.landmarks_px, pose.world_landmarks_m)
    return {name: float(value) for name, value in pose_angles_deg(points_px, world_m).items()}


class AnglePipeline:
    """Live: pose → angles → causal One-Euro smoothing → sample; the same in live and replay."""

    def __init__(self, min_visibility: float = DEFAULT_MIN_VISIBILITY) -> None:
        self._min_visibility = min_visibility
        self._smoother = OneEuroBank()

    def __call__(self, pose: PoseFrame) -> tuple[FrameSample, dict[str, float], dict[str, float]]:
        """The protocol's sample, the raw angles and the smoothed angles of one pose."""
        raw = frame_angles_deg(pose, self._min_visibility)
        smoothed = self._smoother(pose.timestamp_ms / 1000.0, raw)
        legs = {side: float(leg_visibility(pose.visibility, side)) for side in SIDES}
        sample = frame_sample(pose.timestamp_ms, pose.detected, smoothed, pose.landmarks_px, pose.visibility,
                              pose.world_landmarks_m, legs, (pose.image_width, pose.image_height), pose.frame_index)
        return sample, raw, smoothed
