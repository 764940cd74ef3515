"""Synthetic active straight leg raise recordings with known truth, built on ``synthetic_poses.make_pose``.

A person lies on their back, side-on, and raises one leg one or more times: rest, raise the
straight leg to the chosen hip flexion, hold, lower it. A raise can carry the classic faults:
the knee bending, the other leg lifting, the trunk tilting up, the pelvis lifting off the floor.
``head`` ("left"/"right" of the image) and ``leg`` ("near"/"far" from the camera) decide which
anatomical side is tested (see ``synthetic_test90``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hamflex.core.series import AngleSeries, PoseSequence
from tests.support.synthetic_poses import make_pose, to_pose_sequence
from tests.support.synthetic_test90 import _eased, tested_side_of

STRAIGHT_KNEE_DEG = 2.0  # a straight knee is rarely quite straight


@dataclass(frozen=True)
class RaiseScript:
    """One raise: the end-position hip flexion and the faults during it (degrees, seconds)."""

    hip_deg: float = 70.0
    hold_s: float = 2.0
    knee_deg: float = STRAIGHT_KNEE_DEG  # the knee at the end position
    other_hip_deg: float = 0.0  # the other leg's hip at the end position
    trunk_lift_deg: float = 0.0  # the trunk tilting up off the floor at the end position
    pelvis_lift_px: float = 0.0  # the whole body lifted off the floor at the end position
    sway_deg: float = 0.0  # amplitude of a slow sway of the leg about its end position
    end_with_hold: bool = False  # the recording stops during the hold


@dataclass(frozen=True)
class SlrRecording:
    """A synthetic recording: poses, their angle series, and the truth per raise."""

    poses: PoseSequence
    angles: AngleSeries
    tested_side: str
    truth: list[dict] = field(default_factory=list)


def make_slr_recording(raises: tuple[RaiseScript, ...] | list[RaiseScript] = (RaiseScript(),), *, head: str = "left",
                       leg: str = "near", fps: float = 30.0, rest_s: float = 1.0, raise_s: float = 1.5,
                       lower_s: float = 1.5, noise_px: float = 0.0, seed: int = 0) -> SlrRecording:
    """Landmarks of a whole leg-raise session (see the module docstring), analysed into angles."""
    rest = (STRAIGHT_KNEE_DEG, 0.0, 0.0, 0.0)
    keys: list[tuple[float, float, float, float, float, float]] = [(0.0, 0.0, *rest)]  # t, hip, knee, other, trunk, lift
    t, truth, sways = 0.0, [], []
    for script in raises:
        t += rest_s
        keys.append((t, 0.0, *rest))
        start = t
        t += raise_s
        end = (script.knee_deg, script.other_hip_deg, script.trunk_lift_deg, script.pelvis_lift_px)
        keys.append((t, script.hip_deg, *end))
        hold_start = t
        t += script.hold_s
        keys.append((t, script.hip_deg, *end))
        sways.append((hold_start, t, script.sway_deg))
        truth.append({"hip_deg": script.hip_deg, "start_s": start, "end_position_s": (hold_start, t)})
        if script.end_with_hold:
            break
        t += lower_s
        keys.append((t, 0.0, *rest))
    if not raises or not raises[-1].end_with_hold:
        t += rest_s
        keys.append((t, 0.0, *rest))
    times_s = np.arange(0.0, t + 1e-9, 1.0 / fps)
    hip, knee, other, trunk, lift = (_eased(times_s, [(k[0], k[i]) for k in keys]) for i in range(1, 6))
    for start_s, end_s, amplitude_deg in sways:
        during = (times_s >= start_s) & (times_s <= end_s)
        hip[during] += amplitude_deg * np.sin(2 * np.pi * (times_s[during] - start_s) / 2.0)
    tested = tested_side_of(head, leg)
    pose = make_pose(hip_flexion_deg=hip, knee_flexion_deg=knee, other_hip_flexion_deg=other,
                     other_knee_flexion_deg=STRAIGHT_KNEE_DEG, tested_side=tested,
                     trunk_direction_deg=(180.0 - trunk) if head == "left" else trunk,
                     anterior="cw" if head == "left" else "ccw", noise_px=noise_px, seed=seed)
    pose.landmarks_px[..., 1] -= lift[:, None]
    poses = to_pose_sequence(pose, np.round(times_s * 1000).astype(np.int64))
    return SlrRecording(poses, AngleSeries.from_poses(poses), tested, truth)
