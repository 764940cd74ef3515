"""MediaPipe's confusion of a raised far leg, replayed on synthetic 90-90 recordings.

Measured on the rendered ``dev_test90_far`` clip (right side nearest the camera, left leg
raised), MediaPipe with the full model:

- once the far thigh is up (hip flexion above about 70°) the raised knee, ankle, heel and toe
  carry the *near* side's labels in 67-100 % of the frames, while the hip labels stay put;
- during the extension the labels flicker back for a few frames at a time (2-10 changes per
  trial), and the offline zero-phase smoothing blends the two legs across each change;
- the world landmarks' depth follows the labels: the near label stays near, so depth says
  the raised leg is the near one;
- while the thigh is still rising (hip 20-70°) the labels and depth still follow the leg;
- the resting leg's hip landmark sits some 7-13 px from its joint centre.

``confuse_far_leg`` applies these to a clean recording of the far leg and re-analyses it, so
the protocol sees what it would see from the model. Frames where the model drew both legs
in between (seen in one trial of the clip) are not modelled.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hamflex.core.landmarks import side_index
from hamflex.core.series import AngleSeries
from tests.support.synthetic_test90 import OTHER, Test90Recording

DISTAL_JOINTS = ("knee", "ankle", "heel", "foot_index")


def _swap_states(hip_deg: np.ndarray, knee_deg: np.ndarray, swap_above_deg: float, flicker_fraction: float,
                 hold_flicker_fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Per frame: are the raised leg's distal labels swapped? Runs of 3 frames flicker back, a
    ``flicker_fraction`` of the frames while the leg moves, a ``hold_flicker_fraction`` of the rest."""
    swapped = hip_deg >= swap_above_deg
    moving = (np.abs(np.gradient(knee_deg)) > 0.1) | (np.abs(np.gradient(hip_deg)) > 0.1)
    for fraction, where in ((flicker_fraction, swapped & moving), (hold_flicker_fraction, swapped & ~moving)):
        candidates = np.flatnonzero(where)
        if fraction <= 0 or candidates.size == 0:
            continue
        starts = rng.choice(candidates, size=max(1, int(fraction * candidates.size / 3)), replace=False)
        for start in starts:
            swapped[start:start + 3] &= ~where[start:start + 3]
    return swapped


def swap_leg_labels(recording: Test90Recording, swapped: np.ndarray, rest_hip_shift_px: float = 0.0,
                    shifted: np.ndarray | None = None) -> Test90Recording:
    """The recording with the two legs' distal labels exchanged in the ``swapped`` frames (pixels
    and world x, y; world depth stays with the label) and, in the ``shifted`` frames, the resting
    (untested) leg's hip landmark drawn ``rest_hip_shift_px`` toward the floor; re-analysed."""
    poses, tested = recording.poses, recording.tested_side
    resting = OTHER[tested]
    pixels = poses.landmarks_px.astype(np.float64).copy()
    world = poses.world_landmarks_m.astype(np.float64).copy()
    for joint in DISTAL_JOINTS:
        a, b = side_index(tested, joint), side_index(resting, joint)
        pixels[swapped, a], pixels[swapped, b] = pixels[swapped, b].copy(), pixels[swapped, a].copy()
        for axis in (0, 1):
            ours, theirs = world[swapped, a, axis].copy(), world[swapped, b, axis].copy()
            world[swapped, a, axis], world[swapped, b, axis] = theirs, ours
    if shifted is not None:
        pixels[shifted, side_index(resting, "hip"), 1] += rest_hip_shift_px
    confused = dataclasses.replace(poses, landmarks_px=pixels.astype(np.float32),
                                   world_landmarks_m=world.astype(np.float32))
    return Test90Recording(confused, AngleSeries.from_poses(confused), tested, recording.truth)


def true_leg_angles_deg(recording: Test90Recording) -> tuple[np.ndarray, np.ndarray]:
    """The tested leg's true (unconfused) hip and knee flexion per frame."""
    raw = recording.angles.raw
    side = recording.tested_side
    return np.nan_to_num(raw[f"{side}_hip_flexion_deg"]), np.nan_to_num(raw[f"{side}_knee_flexion_deg"])


def confuse_far_leg(recording: Test90Recording, *, swap_above_deg: float = 70.0, flicker_fraction: float = 0.15,
                    hold_flicker_fraction: float = 0.0, rest_hip_shift_px: float = 8.0,
                    seed: int = 0) -> Test90Recording:
    """The recording of a far leg as MediaPipe reports it (see the module docstring)."""
    hip_deg, knee_deg = true_leg_angles_deg(recording)
    swapped = _swap_states(hip_deg, knee_deg, swap_above_deg, flicker_fraction, hold_flicker_fraction,
                           np.random.default_rng(seed))
    return swap_leg_labels(recording, swapped, rest_hip_shift_px, hip_deg >= swap_above_deg)


def swapped_fraction(confused: Test90Recording, clean: Test90Recording) -> float:
    """Fraction of frames whose tested knee carries the other side's label (for reports)."""
    index = side_index(clean.tested_side, "knee")
    moved = np.linalg.norm(confused.poses.landmarks_px[:, index] - clean.poses.landmarks_px[:, index], axis=-1) > 1.0
    return float(moved.mean())

