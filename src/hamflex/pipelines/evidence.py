"""Evidence per trial: the end-position frame of every trial with both legs' skeleton and the
measured angles drawn on it, saved as ``trial_<n>_end.jpg`` beside the protocol's JSON and
listed in it (``trials[].picture``), so a clinician sees what the number was measured on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from hamflex.core.series import AngleSeries, PoseSequence
from hamflex.media.sources import open_source
from hamflex.outputs.names import trial_picture
from hamflex.outputs.overlay import draw_trial_evidence, write_trial_picture
from hamflex.protocols.slr import SlrResult, SlrTrial
from hamflex.protocols.test90 import Test90Result, Trial

FrameAt = Callable[[int], "np.ndarray | None"]
"""The BGR picture of a recording's frame number, or None when it is not available."""


TRIAL_RESULTS = (Test90Result, SlrResult)
"""The results whose trials get end-position pictures."""


def end_position_row(trial: Trial | SlrTrial, poses: PoseSequence) -> int | None:
    """The row of ``poses`` in the middle of the trial's end position (None without one)."""
    start_s, end_s = trial.end_position_s
    if len(poses) == 0 or not (np.isfinite(start_s) and np.isfinite(end_s)):
        return None
    middle_ms = (start_s + end_s) / 2 * 1000.0
    return int(np.argmin(np.abs(poses.timestamp_ms - middle_ms)))


def _caption(number: int, trial: Trial | SlrTrial) -> str:
    leg = f"{trial.side or 'side unknown'} leg" + (f" ({trial.leg})" if trial.leg else "")
    verdict = "valid" if trial.valid else f"NOT VALID: {trial.reason}"
    return f"Trial {number} - {leg} - {verdict}"


def _tested_label(angles: AngleSeries, row: int) -> str | None:
    """MediaPipe's label of the raised leg at ``row``: the one with the larger hip flexion."""
    hips = {side: float(angles.smoothed[f"{side}_hip_flexion_deg"][row]) for side in ("left", "right")}
    finite = {side: value for side, value in hips.items() if np.isfinite(value)}
    return max(finite, key=finite.get) if finite else None


def save_trial_pictures(result: Test90Result | SlrResult, poses: PoseSequence, angles: AngleSeries,
                        frame_at: FrameAt, out_dir: Path) -> Test90Result | SlrResult:
    """Draw and write each trial's end-position picture; the result with ``picture`` filled in."""
    trials = []
    for number, trial in enumerate(result.trials, start=1):
        row = end_position_row(trial, poses)
        image = frame_at(int(poses.frame_index[row])) if row is not None else None
        if image is None:
            trials.append(trial)
            continue
        label = _tested_label(angles, row)
        knee_deg, hip_deg = trial.evidence_angles_deg()
        drawn = draw_trial_evidence(image, poses.landmarks_px[row], poses.visibility[row], trial.side,
                                    knee_deg, hip_deg, _caption(number, trial),
                                    tested_leg_label=label if label != trial.side else None)
        write_trial_picture(Path(out_dir) / trial_picture(number), drawn)
        trials.append(replace(trial, picture=trial_picture(number)))
    return replace(result, trials=trials)


def recording_frames(path: str | Path, frame_indices: list[int]) -> dict[int, np.ndarray]:
    """The BGR pictures of some frames of a video or photo, decoded as the analysis decoded them
    (rotation applied); read in one pass, stopping after the last one wanted."""
    wanted, found = set(frame_indices), {}
    if not wanted:
        return found
    with open_source(path) as source:
        for frame in source:
            if frame.frame_index in wanted:
                found[frame.frame_index] = np.ascontiguousarray(frame.rgb[..., ::-1])
            if frame.frame_index >= max(wanted):
                break
    return found


def with_recording_pictures(result, analysis, out_dir: Path):
    """A recording's result with its trials' pictures (read back from the video or photo)."""
    if not isinstance(result, TRIAL_RESULTS) or not result.trials:
        return result
    rows = [row for row in (end_position_row(t, analysis.poses) for t in result.trials) if row is not None]
    frames = recording_frames(analysis.source, [int(analysis.poses.frame_index[row]) for row in rows])
    return save_trial_pictures(result, analysis.poses, analysis.angles, frames.get, out_dir)


def with_session_pictures(result, session, out_dir: Path):
    """A live session's result with its trials' pictures (from the frames the session kept)."""
    if not isinstance(result, TRIAL_RESULTS) or not result.trials or session.poses is None:
        return result

    def frame_at(frame_index: int) -> np.ndarray | None:
        kept = session.evidence_jpegs.get(frame_index)
        return None if kept is None else cv2.imdecode(np.frombuffer(kept, np.uint8), cv2.IMREAD_COLOR)

    return save_trial_pictures(result, session.poses, session.angles, frame_at, out_dir)
