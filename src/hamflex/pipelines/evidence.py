"""Evidence per trial: the end-position frame of every trial with both legs' skeleton and the
measured angles drawn on it, saved as ``trial_<n>_end.jpg`` beside the protocol's JSON and
listed in it (``trials[].picture``), so a clinician sees what the number was measured on; the
same frame undrawn (``trial_<n>_frame.jpg``) and its landmarks (``trial_landmarks.json``) are kept
beside it, so a point moved by hand (the web app) is re-scored and redrawn without the model.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from hamflex.core.series import AngleSeries, PoseSequence
from hamflex.media.sources import open_source
from hamflex.outputs.files import write_json
from hamflex.outputs.names import TRIAL_LANDMARKS_JSON, trial_frame, trial_picture
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
    """Draw and write each trial's end-position picture, keep the frame undrawn
    (``trial_<n>_frame.jpg``) and its landmarks (``trial_landmarks.json``, for a correction by
    hand without running the model again); the result with ``picture`` filled in."""
    trials, saved = [], {}
    for number, trial in enumerate(result.trials, start=1):
        row = end_position_row(trial, poses)
        image = frame_at(int(poses.frame_index[row])) if row is not None else None
        if image is None:
            trials.append(trial)
            continue
        label = _tested_label(angles, row)
        saved[str(number)] = {
            "landmarks_px": poses.landmarks_px[row].tolist(), "visibility": poses.visibility[row].tolist(),
            "frame_index": int(poses.frame_index[row]), "timestamp_ms": int(poses.timestamp_ms[row]),
            "size_px": [int(image.shape[1]), int(image.shape[0])],
            "tested_leg_label": label if label != trial.side else None}
        write_trial_picture(Path(out_dir) / trial_frame(number), image)
        draw_trial_picture(Path(out_dir), number, image, saved[str(number)], trial)
        trials.append(replace(trial, picture=trial_picture(number)))
    if saved:
        write_json(Path(out_dir) / TRIAL_LANDMARKS_JSON, saved)
    return replace(result, trials=trials)


def draw_trial_picture(out_dir: Path, number: int, image_bgr: np.ndarray, saved: dict,
                       trial: Trial | SlrTrial) -> Path:
    """Write ``trial_<n>_end.jpg``: the frame with the landmarks of ``saved`` (an entry of
    ``trial_landmarks.json``, its points possibly moved by hand) and the trial's values drawn."""
    drawn = draw_trial_evidence(image_bgr, np.asarray(saved["landmarks_px"], np.float32),
                                np.asarray(saved["visibility"], np.float32), trial.side,
                                *trial.evidence_angles_deg(), _caption(number, trial),
                                tested_leg_label=saved.get("tested_leg_label"))
    return write_trial_picture(out_dir / trial_picture(number), drawn)


def trial_evidence(out_dir: Path) -> dict[str, dict]:
    """What :func:`save_trial_pictures` kept: trial number (as text) → landmarks_px, visibility,
    frame_index, timestamp_ms, size_px, tested_leg_label; empty when there is nothing."""
    path = Path(out_dir) / TRIAL_LANDMARKS_JSON
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


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
