"""Synthetic 90-90 test recordings with known truth, built on ``synthetic_poses.make_pose``.

A person lies on their back, side-on, and does one or more trials: rest, raise the thigh to
90° with the knee bent, settle, straighten the knee to the chosen deficit (optionally with the
classic compensations: thigh drift, other leg lifting, trunk tilting up), hold (optionally
settling in or swaying), bend the knee again and lower the leg. Camera yaw/roll, pixel noise, dropped frames and poorly visible
landmarks, or a thigh foreshortened in the image, can be added. ``head`` ("left"/"right" of the image) and ``leg`` ("near"/"far" from
the camera) decide which anatomical side is tested: with the head to the left and the face up,
the right side faces the camera.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hamflex.core.landmarks import side_index
from hamflex.core.series import AngleSeries, PoseSequence
from tests.support.synthetic_poses import make_pose, to_pose_sequence

OTHER = {"left": "right", "right": "left"}


@dataclass(frozen=True)
class TrialScript:
    """One trial: the end-position deficit and the compensations during the extension (degrees)."""

    deficit_deg: float = 12.0
    hip_drift_deg: float = 0.0  # thigh moving toward the head (+) during the extension
    other_hip_deg: float = 0.0  # other leg's hip flexing during the extension
    trunk_lift_deg: float = 0.0  # trunk tilting up off the floor during the extension
    hold_s: float = 2.0
    end_with_hold: bool = False  # the recording stops during the hold (no re-bend, no lowering)
    settle_deg: float = 0.0  # the knee stops this much short of its end position, then creeps there...
    settle_s: float = 0.0  # ... over this long (less than hold_s), at the start of the hold
    sway_deg: float = 0.0  # amplitude of a slow sway of the knee about its end position during the hold
    sway_period_s: float = 2.0


@dataclass(frozen=True)
class Test90Recording:
    """A synthetic recording: poses, their angle series, and the truth per trial."""

    poses: PoseSequence
    angles: AngleSeries
    tested_side: str
    truth: list[dict] = field(default_factory=list)


def _eased(times_s: np.ndarray, keys: list[tuple[float, float]]) -> np.ndarray:
    """Piecewise cosine-eased interpolation through ``(time_s, value)`` keyframes."""
    key_t = np.array([k[0] for k in keys])
    key_v = np.array([k[1] for k in keys])
    index = np.clip(np.searchsorted(key_t, times_s, side="right") - 1, 0, len(keys) - 2)
    t0, t1 = key_t[index], key_t[index + 1]
    u = np.clip((times_s - t0) / np.maximum(t1 - t0, 1e-9), 0.0, 1.0)
    return key_v[index] + (key_v[index + 1] - key_v[index]) * (1 - np.cos(np.pi * u)) / 2


def tested_side_of(head: str, leg: str) -> str:
    """Anatomical side of the tested leg for a supine person (face up)."""
    facing = "right" if head == "left" else "left"
    return facing if leg == "near" else OTHER[facing]


def make_test90_recording(
    trials: tuple[TrialScript, ...] | list[TrialScript] = (TrialScript(),),
    *,
    head: str = "left",
    leg: str = "near",
    fps: float = 30.0,
    rest_s: float = 1.0,
    raise_s: float = 1.0,
    settle_s: float = 1.0,
    extend_s: float = 2.0,
    rebend_s: float = 1.0,
    lower_s: float = 1.0,
    start_knee_deg: float = 90.0,
    camera_yaw_deg: float = 0.0,
    camera_roll_deg: float = 0.0,
    noise_px: float = 0.0,
    dropout_fraction: float = 0.0,
    tested_leg_visibility: float = 1.0,
    thigh_seen_fraction: float = 1.0,
    seed: int = 0,
) -> Test90Recording:
    """Landmarks of a whole 90-90 session (see the module docstring), analysed into angles."""
    hip, knee, other, trunk = [(0.0, 0.0)], [(0.0, 0.0)], [(0.0, 0.0)], [(0.0, 0.0)]
    t = 0.0
    truth = []
    sways: list[tuple[float, float, float, float]] = []  # (start_s, end_s, amplitude_deg, period_s)

    def key(at: float, h: float, k: float, o: float, tr: float) -> None:
        hip.append((at, h))
        knee.append((at, k))
        other.append((at, o))
        trunk.append((at, tr))

    for script in trials:
        t += rest_s
        key(t, 0, 0, 0, 0)
        t += raise_s
        key(t, 90, start_knee_deg, 0, 0)
        start = t
        t += settle_s
        key(t, 90, start_knee_deg, 0, 0)
        extension = t
        t += extend_s
        end_hip = 90 + script.hip_drift_deg
        key(t, end_hip, script.deficit_deg + script.settle_deg, script.other_hip_deg, script.trunk_lift_deg)
        hold_start = t
        if script.settle_s:
            key(t + script.settle_s, end_hip, script.deficit_deg, script.other_hip_deg, script.trunk_lift_deg)
        t += script.hold_s
        key(t, end_hip, script.deficit_deg, script.other_hip_deg, script.trunk_lift_deg)
        sways.append((hold_start + script.settle_s, t, script.sway_deg, script.sway_period_s))
        truth.append({"deficit_deg": script.deficit_deg, "start_s": start, "extension_s": extension,
                      "end_position_s": (hold_start, t), "hip_drift_deg": script.hip_drift_deg})
        if script.end_with_hold:
            break
        t += rebend_s
        key(t, 90, start_knee_deg, 0, 0)
        t += lower_s
        key(t, 0, 0, 0, 0)
        truth[-1]["end_s"] = t
    if not trials or not trials[-1].end_with_hold:
        t += rest_s
        key(t, 0, 0, 0, 0)
    times_s = np.arange(0.0, t + 1e-9, 1.0 / fps)
    trunk_lift = _eased(times_s, trunk)
    knee_deg = _eased(times_s, knee)
    for start_s, end_s, amplitude_deg, period_s in sways:
        during = (times_s >= start_s) & (times_s <= end_s)
        knee_deg[during] += amplitude_deg * np.sin(2 * np.pi * (times_s[during] - start_s) / period_s)
    tested = tested_side_of(head, leg)
    pose = make_pose(
        hip_flexion_deg=_eased(times_s, hip),
        knee_flexion_deg=knee_deg,
        other_hip_flexion_deg=_eased(times_s, other),
        tested_side=tested,
        # Tilting the trunk up lifts the head end off the floor.
        trunk_direction_deg=(180.0 - trunk_lift) if head == "left" else trunk_lift,
        anterior="cw" if head == "left" else "ccw",  # face up
        camera_yaw_deg=camera_yaw_deg,
        camera_roll_deg=camera_roll_deg,
        noise_px=noise_px,
        seed=seed,
    )
    if tested_leg_visibility != 1.0:
        for joint in ("hip", "knee", "ankle", "heel", "foot_index"):
            pose.visibility[:, side_index(tested, joint)] = tested_leg_visibility
    if thigh_seen_fraction != 1.0:
        # The thigh pointing toward the camera: in the image it shrinks, the world stays true.
        hip_px = pose.landmarks_px[:, [side_index(tested, "hip")]]
        shift = (1.0 - thigh_seen_fraction) * (pose.landmarks_px[:, [side_index(tested, "knee")]] - hip_px)
        for joint in ("knee", "ankle", "heel", "foot_index"):
            pose.landmarks_px[:, side_index(tested, joint)] -= shift[:, 0]
    rng = np.random.default_rng(seed + 1)
    detected = rng.random(len(times_s)) >= dropout_fraction
    poses = to_pose_sequence(pose, np.round(times_s * 1000).astype(np.int64), detected)
    return Test90Recording(poses, AngleSeries.from_poses(poses), tested, truth)
