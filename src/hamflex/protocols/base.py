"""The per-frame interface shared by protocols and the loops that drive them.

Offline analysis and the live webcam loop both feed a protocol one :class:`FrameSample`
at a time and draw/speak the :class:`Feedback` it returns; ``result()`` gives the JSON-ready
outcome at any moment (so a session cut short still has its result).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class FrameSample:
    """What a protocol sees of one frame.

    ``angles_deg`` holds the geometry module's angle columns (``left_knee_flexion_deg``,
    ``trunk_to_horizontal_deg``, 3D ``*_3d_deg``, ...), NaN where unknown: smoothed
    zero-phase offline, One-Euro live. ``landmarks_px`` and ``visibility`` are the analysed
    person's ``(33, 2)`` pixel landmarks and ``(33,)`` visibility (NaN when nobody is seen);
    ``world_landmarks_m`` (optional) their ``(33, 3)`` world landmarks, whose depth tells which
    leg is nearer the camera.
    """

    timestamp_s: float
    detected: bool
    angles_deg: dict[str, float]
    landmarks_px: np.ndarray
    visibility: np.ndarray
    leg_visibility: dict[str, float] = field(default_factory=dict)
    world_landmarks_m: np.ndarray | None = None  # (33, 3) MediaPipe world landmarks; z < 0 is nearer the camera


# Cue events a protocol may emit; the live loop maps them to sounds and spoken words.
CUE_POSITION_OK = "position_ok"
CUE_POSITION_BAD = "position_bad"
CUE_TICK = "tick"  # every 5 valid seconds
CUE_DONE = "done"  # a trial recorded or a rep completed
CUE_SWITCH_SIDES = "switch_sides"


@dataclass(frozen=True)
class Feedback:
    """What to show and say after a frame: state name, guidance lines, cue events."""

    state: str
    guidance: tuple[str, ...] = ()
    cues: tuple[str, ...] = ()
    spoken: tuple[str, ...] = ()
    finished: bool = False


class FrameProtocol(Protocol):
    """A protocol driven frame by frame (offline and live alike).

    ``switch_side`` and ``restart`` serve the live loop's keys (``s`` and ``r``).
    """

    def update(self, sample: FrameSample) -> Feedback: ...

    def result(self) -> dict[str, Any]: ...

    def switch_side(self) -> None: ...

    def restart(self) -> None: ...


def samples_from_series(angles, poses, smoothed: bool = True):
    """Yield one :class:`FrameSample` per frame of an offline analysis (``AngleSeries``,
    ``PoseSequence``)."""
    columns = angles.smoothed if smoothed else angles.raw
    for i in range(len(angles)):
        yield FrameSample(
            timestamp_s=float(angles.timestamp_ms[i]) / 1000.0,
            detected=bool(angles.detected[i]),
            angles_deg={name: float(values[i]) for name, values in columns.items()},
            landmarks_px=poses.landmarks_px[i],
            visibility=poses.visibility[i],
            leg_visibility={side: float(v[i]) for side, v in angles.leg_visibility.items()},
            world_landmarks_m=poses.world_landmarks_m[i],
        )
