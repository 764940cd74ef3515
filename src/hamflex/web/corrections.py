"""Correcting a 90-90 trial's landmarks by hand, on its end-position picture.

The pipeline keeps, beside every trial picture (:mod:`hamflex.pipelines.evidence`), the frame
undrawn and the landmarks the measurement used there (``trial_landmarks.json``), for recordings
and live sessions alike. A clinician who moves the tested leg's hip, knee or ankle gets the
trial re-scored from those points with the same geometry as the pipeline, and the picture
redrawn; the model is never run again. The result keeps the original values in the trial's
``correction``.
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
from hamflex.outputs.names import TEST90_JSON, trial_frame
from hamflex.pipelines.evidence import draw_trial_picture, trial_evidence
from hamflex.protocols.test90 import Test90Protocol, Test90Result

CORRECTED_JOINTS = ("hip", "knee", "ankle")


def tested_leg_points(folder: Path, number: int) -> dict[str, Any] | None:
    """``{points_px: {hip, knee, ankle}, size_px, side}`` of trial ``number``'s tested leg (the
    corrected points once corrected), None when the trial has no saved landmarks."""
    saved = trial_evidence(folder).get(str(number))
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
    saved = trial_evidence(folder).get(str(number))
    if saved is None:
        raise InputError(f"trial {number} has no end-position landmarks to correct")
    landmarks_px = np.asarray(saved["landmarks_px"], dtype=float)
    for joint, point in points.items():
        if joint not in CORRECTED_JOINTS or len(point) != 2 or not all(map(math.isfinite, point)):
            raise InputError(f"a corrected point is a joint of {', '.join(CORRECTED_JOINTS)} with two finite pixels")
        landmarks_px[side_index(side, joint)] = point
    return landmarks_px


def correct_trial(folder: Path, number: int, points: dict[str, list[float]]) -> Test90Result:
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
    _redraw(folder, number, landmarks_px, corrected)
    return rescored


def _redraw(folder: Path, number: int, landmarks_px: np.ndarray, trial) -> None:
    """The trial's picture drawn again on its undrawn frame, with the corrected points and values."""
    image = cv2.imread(str(folder / trial_frame(number)), cv2.IMREAD_COLOR)
    if image is not None:
        saved = {**trial_evidence(folder)[str(number)], "landmarks_px": landmarks_px.tolist()}
        draw_trial_picture(folder, number, image, saved, trial)
