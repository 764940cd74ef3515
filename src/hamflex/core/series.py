"""Whole-recording arrays: the poses of every frame, and the angle signals computed from them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hamflex.core.filters import ZeroPhaseLowPass, smooth_offline
from hamflex.core.geometry import hide_unseen, pose_angles_deg
from hamflex.core.landmarks import DEFAULT_MIN_VISIBILITY, LEG_JOINTS, NUM_LANDMARKS, SIDES, side_index


def _check_shape(name: str, value: np.ndarray, shape: tuple[int, ...]) -> None:
    if value.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {value.shape}")


@dataclass(frozen=True)
class PoseSequence:
    """Poses of T frames stacked on a leading time axis; frames without a person are NaN."""

    frame_index: np.ndarray  # (T,) int
    timestamp_ms: np.ndarray  # (T,) int
    detected: np.ndarray  # (T,) bool
    landmarks_px: np.ndarray  # (T, 33, 2)
    world_landmarks_m: np.ndarray  # (T, 33, 3)
    visibility: np.ndarray  # (T, 33)
    presence: np.ndarray  # (T, 33)
    image_width: int
    image_height: int

    def __post_init__(self) -> None:
        frames = len(self.frame_index)
        _check_shape("timestamp_ms", self.timestamp_ms, (frames,))
        _check_shape("detected", self.detected, (frames,))
        _check_shape("landmarks_px", self.landmarks_px, (frames, NUM_LANDMARKS, 2))
        _check_shape("world_landmarks_m", self.world_landmarks_m, (frames, NUM_LANDMARKS, 3))
        _check_shape("visibility", self.visibility, (frames, NUM_LANDMARKS))
        _check_shape("presence", self.presence, (frames, NUM_LANDMARKS))

    def __len__(self) -> int:
        return len(self.frame_index)

    @classmethod
    def from_frames(cls, frames: Sequence, image_width: int = 0, image_height: int = 0) -> PoseSequence:
        if frames:
            image_width, image_height = frames[0].image_width, frames[0].image_height
        return cls(
            frame_index=np.array([f.frame_index for f in frames], dtype=np.int64),
            timestamp_ms=np.array([f.timestamp_ms for f in frames], dtype=np.int64),
            detected=np.array([f.detected for f in frames], dtype=bool),
            landmarks_px=np.array([f.landmarks_px for f in frames], dtype=np.float32).reshape(-1, NUM_LANDMARKS, 2),
            world_landmarks_m=np.array([f.world_landmarks_m for f in frames], dtype=np.float32).reshape(-1, NUM_LANDMARKS, 3),
            visibility=np.array([f.visibility for f in frames], dtype=np.float32).reshape(-1, NUM_LANDMARKS),
            presence=np.array([f.presence for f in frames], dtype=np.float32).reshape(-1, NUM_LANDMARKS),
            image_width=image_width,
            image_height=image_height,
        )

    @property
    def timestamp_s(self) -> np.ndarray:
        return self.timestamp_ms / 1000.0

    def masked(self, min_visibility: float = DEFAULT_MIN_VISIBILITY) -> tuple[np.ndarray, np.ndarray]:
        """Pixel and world landmarks with poorly visible ones set to NaN."""
        return hide_unseen(self.visibility, min_visibility, self.landmarks_px, self.world_landmarks_m)


def leg_visibility(visibility: np.ndarray, side: str) -> np.ndarray:
    """Mean visibility of hip, knee and ankle on ``side``, for ``(..., 33)`` visibility."""
    return np.mean(visibility[..., [side_index(side, joint) for joint in LEG_JOINTS]], axis=-1)


def smoothed_name(name: str) -> str:
    """``left_knee_flexion_deg`` → ``left_knee_flexion_smoothed_deg``."""
    return name.removesuffix("_deg") + "_smoothed_deg"


@dataclass(frozen=True)
class AngleSeries:
    """Angle signals of a recording: raw per frame, and gap-filled + zero-phase smoothed."""

    timestamp_ms: np.ndarray  # (T,)
    detected: np.ndarray  # (T,)
    raw: dict[str, np.ndarray]
    smoothed: dict[str, np.ndarray]
    leg_visibility: dict[str, np.ndarray]

    def __post_init__(self) -> None:
        frames = (len(self.timestamp_ms),)
        _check_shape("detected", self.detected, frames)
        for group in (self.raw, self.smoothed, self.leg_visibility):
            for name, values in group.items():
                _check_shape(name, values, frames)

    def __len__(self) -> int:
        return len(self.timestamp_ms)

    @property
    def timestamp_s(self) -> np.ndarray:
        return self.timestamp_ms / 1000.0

    @classmethod
    def from_poses(
        cls,
        poses: PoseSequence,
        min_visibility: float = DEFAULT_MIN_VISIBILITY,
        max_gap_s: float = 0.25,
        smoother: ZeroPhaseLowPass | None = None,
    ) -> AngleSeries:
        landmarks_px, world_m = poses.masked(min_visibility)
        raw = pose_angles_deg(landmarks_px, world_m)
        smoothed = {name: smooth_offline(poses.timestamp_s, values, max_gap_s, smoother) for name, values in raw.items()}
        return cls(
            timestamp_ms=poses.timestamp_ms,
            detected=poses.detected,
            raw=raw,
            smoothed=smoothed,
            leg_visibility={side: leg_visibility(poses.visibility, side) for side in SIDES},
        )
