"""Each 90-90 trial's end-position evidence for the web app, and its correction by hand.

After an analysis the frame in the middle of every trial's end position, with the landmarks
the pipeline saw there (the recording analysed again up to it), is saved as ``trial_<n>_end.jpg`` with the skeleton and angles
drawn, its landmarks in ``trial_landmarks.json``. A clinician who moves the tested leg's hip,
knee or ankle gets the trial re-scored from those points with the same geometry as the
pipeline; the result keeps the original values in the trial's ``correction``.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hamflex.core.geometry import hip_flexion_deg, knee_flexion_deg, trunk_direction
from hamflex.core.landmarks import side_index
from hamflex.errors import InputError
from hamflex.outputs.files import write_json
from hamflex.outputs.names import TEST90_JSON, WEB_LANDMARKS_JSON, trial_picture
from hamflex.outputs.overlay import draw_trial_evidence, write_trial_picture
from hamflex.protocols.test90 import Test90Protocol, Test90Result, Trial

CORRECTED_JOINTS = ("hip", "knee", "ankle")


def _end_times_ms(result: Any) -> dict[int, float]:
    """Trial number (1-based) → the middle of its end position, for trials that have one."""
    times = {}
    for number, trial in enumerate(getattr(result, "trials", []), start=1):
        start_s, end_s = trial.end_position_s
        if math.isfinite(start_s) and math.isfinite(end_s):
            times[number] = 500.0 * (start_s + end_s)
    return times


def _frames_at(upload: Path, times_ms: dict[int, float]) -> dict[int, Any]:
    """The decoded frame nearest each wanted time."""
    from hamflex.media.sources import open_source

    best: dict[int, Any] = {}
    with open_source(upload) as source:
        for frame in source:
            for number, wanted_ms in times_ms.items():
                if number not in best or abs(frame.timestamp_ms - wanted_ms) < abs(best[number].timestamp_ms - wanted_ms):
                    best[number] = frame
    return best


def _caption(number: int, trial: Trial) -> str:
    return f"trial {number}: {trial.side or '?'} leg, {'valid' if trial.valid else trial.reason}"


def _poses_at(upload: Path, times_ms: dict[int, float]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The landmarks (pixels, visibility) the pipeline saw nearest each wanted time: the same
    VIDEO-mode model run again up to the last one, so its tracking matches the measurement's."""
    from hamflex.pipelines.offline import analyze_video

    poses = analyze_video(upload, None, max_duration_s=max(times_ms.values()) / 1000.0 + 0.5).poses
    found = {}
    for number, wanted_ms in times_ms.items():
        index = int(np.argmin(np.abs(poses.timestamp_ms - wanted_ms)))
        if poses.detected[index]:
            found[number] = (poses.landmarks_px[index], poses.visibility[index], int(poses.timestamp_ms[index]))
    return found


def write_evidence(folder: Path, upload: str, result: Any) -> dict[int, str]:
    """The end-position picture and landmarks of every trial (90-90 results only); number → file."""
    times_ms = _end_times_ms(result)
    if not isinstance(result, Test90Result) or not times_ms:
        return {}
    poses = _poses_at(folder / upload, times_ms)
    frames = _frames_at(folder / upload, {number: pose[2] for number, pose in poses.items()})
    landmarks: dict[str, Any] = {}
    for number, (points_px, visibility, timestamp_ms) in poses.items():
        frame = frames[number]
        landmarks[str(number)] = {"landmarks_px": points_px.tolist(), "visibility": visibility.tolist(),
                                  "timestamp_ms": timestamp_ms, "size_px": [frame.width, int(frame.rgb.shape[0])]}
        _draw(folder, number, cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR), points_px, visibility,
              result.trials[number - 1])
    write_json(folder / WEB_LANDMARKS_JSON, landmarks)
    return {int(number): trial_picture(int(number)) for number in landmarks}


def _draw(folder: Path, number: int, image_bgr: np.ndarray, points_px: np.ndarray, visibility: np.ndarray,
          trial: Trial) -> None:
    picture = draw_trial_evidence(image_bgr, points_px, visibility, trial.side, trial.knee_extension_deficit_deg,
                                  trial.hip_flexion_deg, _caption(number, trial))
    write_trial_picture(folder / trial_picture(number), picture)


def trial_landmarks(folder: Path) -> dict[str, Any]:
    """What :func:`write_evidence` saved: trial number (as text) → landmarks, visibility, size."""
    path = folder / WEB_LANDMARKS_JSON
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def tested_leg_points(folder: Path, number: int) -> dict[str, Any] | None:
    """``{points_px: {hip, knee, ankle}, size_px, side}`` of trial ``number``'s tested leg (the
    corrected points once corrected), None when the trial has no saved landmarks."""
    saved = trial_landmarks(folder).get(str(number))
    result = json.loads((folder / TEST90_JSON).read_text(encoding="utf-8")) if saved else {}
    trials = result.get("trials") or []
    if not saved or not 1 <= number <= len(trials) or trials[number - 1].get("side") is None:
        return None
    trial = trials[number - 1]
    points = {joint: saved["landmarks_px"][side_index(trial["side"], joint)] for joint in CORRECTED_JOINTS}
    points.update((trial.get("correction") or {}).get("points_px") or {})
    return {"points_px": points, "size_px": saved["size_px"], "side": trial["side"]}


def _corrected_points(folder: Path, number: int, side: str, points: dict[str, list[float]]) -> np.ndarray:
    """The trial's end-position landmarks with the tested leg's given joints moved."""
    saved = trial_landmarks(folder).get(str(number))
    if saved is None:
        raise InputError(f"trial {number} has no end-position landmarks to correct")
    landmarks_px = np.asarray(saved["landmarks_px"], dtype=float)
    for joint, point in points.items():
        if joint not in CORRECTED_JOINTS or len(point) != 2 or not all(map(math.isfinite, point)):
            raise InputError(f"a corrected point is a joint of {', '.join(CORRECTED_JOINTS)} with two finite pixels")
        landmarks_px[side_index(side, joint)] = point
    return landmarks_px


def correct_trial(folder: Path, upload: str, number: int, points: dict[str, list[float]]) -> Test90Result:
    """Re-score trial ``number`` (1-based) of ``folder/test90.json`` from hand-placed pixel points
    of the tested leg's hip, knee and ankle (the others stay where MediaPipe put them, in the
    one end-position frame); saves the result, redraws the picture and returns the result."""
    result = Test90Result.from_dict(json.loads((folder / TEST90_JSON).read_text(encoding="utf-8")))
    if not 1 <= number <= len(result.trials):
        raise InputError(f"there is no trial {number} (the result has {len(result.trials)})")
    trial = result.trials[number - 1]
    landmarks_px = _corrected_points(folder, number, trial.side, points)
    hip, knee, ankle = (landmarks_px[side_index(trial.side, joint)] for joint in CORRECTED_JOINTS)
    original = trial.correction["original"] if trial.correction else {
        "knee_extension_deficit_deg": trial.knee_extension_deficit_deg, "hip_flexion_deg": trial.hip_flexion_deg}
    corrected = replace(
        trial, knee_extension_deficit_deg=round(float(knee_flexion_deg(hip, knee, ankle)), 1),
        hip_flexion_deg=round(float(hip_flexion_deg(trunk_direction(landmarks_px), hip, knee)), 1),
        correction={"by": "hand", "points_px": {j: [round(float(v), 1) for v in p] for j, p in
                                                zip(CORRECTED_JOINTS, (hip, knee, ankle))}, "original": original})
    trials = [corrected if i == number - 1 else t for i, t in enumerate(result.trials)]
    protocol = Test90Protocol(sex=result.sex)
    rescored = protocol.rescored(replace(result, trials=trials))
    write_json(folder / TEST90_JSON, rescored.to_dict())
    _redraw(folder, upload, number, landmarks_px, corrected)
    return rescored


def _redraw(folder: Path, upload: str, number: int, landmarks_px: np.ndarray, trial: Trial) -> None:
    """The trial's picture drawn again with the corrected points and values."""
    saved = trial_landmarks(folder)[str(number)]
    frame = _frames_at(folder / upload, {number: float(saved["timestamp_ms"])})[number]
    _draw(folder, number, cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR), landmarks_px.astype(np.float32),
          np.asarray(saved["visibility"], dtype=np.float32), trial)
