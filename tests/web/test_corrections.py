"""Correcting a trial's landmarks by hand: the pipeline's geometry on known points (no model)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from hamflex.core.landmarks import NUM_LANDMARKS, side_index
from hamflex.errors import InputError
from hamflex.outputs.files import write_json
from hamflex.outputs.names import TEST90_JSON, TRIAL_LANDMARKS_JSON, trial_frame, trial_picture
from hamflex.protocols.test90 import Test90Protocol, Trial
from hamflex.web import corrections as evidence
from hamflex.web.corrections import correct_trial
from tests.support.media import gradient_frames


def _points(ankle_px) -> np.ndarray:
    """Lying on the back, trunk horizontal, right thigh vertical (hip flexion 90°)."""
    points = np.full((NUM_LANDMARKS, 2), 50.0)
    for side in ("left", "right"):
        points[side_index(side, "shoulder")] = (140.0, 80.0)
        points[side_index(side, "hip")] = (80.0, 80.0)
    points[side_index("right", "knee")] = (80.0, 40.0)
    points[side_index("right", "ankle")] = ankle_px
    return points


@pytest.fixture
def folder(tmp_path):
    """A finished 90-90 session: two right trials (30° and 20°), the first with saved landmarks."""
    cv2.imwrite(str(tmp_path / trial_frame(1)), gradient_frames(1)[0])  # the undrawn frame the pipeline keeps
    trials = [Trial(side="right", knee_extension_deficit_deg=30.0, hip_flexion_deg=88.0, valid=True,
                    end_position_s=(0.0, 0.1)),
              Trial(side="right", knee_extension_deficit_deg=20.0, hip_flexion_deg=91.0, valid=True,
                    end_position_s=(0.1, 0.15))]
    protocol = Test90Protocol()
    result = protocol.rescored(protocol.result())
    result.trials[:] = trials
    write_json(tmp_path / TEST90_JSON, protocol.rescored(result).to_dict())
    write_json(tmp_path / TRIAL_LANDMARKS_JSON, {"1": {"landmarks_px": _points((120.0, 40.0)).tolist(),
                                                       "visibility": [1.0] * NUM_LANDMARKS, "frame_index": 1,
                                                       "timestamp_ms": 33, "size_px": [160, 90],
                                                       "tested_leg_label": None}})
    return tmp_path


def test_a_moved_ankle_rescores_the_trial_and_its_side_keeping_the_original(folder):
    assert json.loads((folder / TEST90_JSON).read_text())["sides"]["right"]["mean_deficit_deg"] == 25.0
    result = correct_trial(folder, 1, {"ankle": [80.0 + 40.0 * np.sin(np.radians(30)),
                                                               40.0 - 40.0 * np.cos(np.radians(30))]})
    trial = result.trials[0]
    assert trial.knee_extension_deficit_deg == pytest.approx(30.0, abs=0.05)  # 30° short of straight
    assert trial.hip_flexion_deg == pytest.approx(90.0, abs=0.05)
    assert trial.correction["original"] == {"knee_extension_deficit_deg": 30.0, "hip_flexion_deg": 88.0}
    straight = correct_trial(folder, 1, {"ankle": [80.0, 0.0]})
    assert straight.trials[0].knee_extension_deficit_deg == 0.0
    assert straight.trials[0].correction["original"]["knee_extension_deficit_deg"] == 30.0  # the first value stays
    assert straight.sides["right"].mean_deficit_deg == 10.0  # (0 + 20) / 2, summarised again
    saved = json.loads((folder / TEST90_JSON).read_text())
    assert saved["trials"][0]["correction"]["points_px"]["ankle"] == [80.0, 0.0] and "correction" not in saved["trials"][1]
    redrawn = cv2.imread(str(folder / trial_picture(1)))
    assert redrawn.shape == (90, 160, 3) and np.abs(redrawn.astype(int) - gradient_frames(1)[0]).max() > 100  # drawn on
    assert evidence.tested_leg_points(folder, 1)["points_px"]["ankle"] == [80.0, 0.0]


@pytest.mark.parametrize(("number", "points", "message"), [
    (2, {"ankle": [1.0, 2.0]}, "no end-position landmarks"),
    (3, {"ankle": [1.0, 2.0]}, "there is no trial 3"),
    (1, {"shoulder": [1.0, 2.0]}, "a corrected point"),
    (1, {"ankle": [1.0]}, "a corrected point"),
    (1, {"ankle": [float("nan"), 2.0]}, "a corrected point"),
])
def test_corrections_that_cannot_be_made_are_refused(folder, number, points, message):
    with pytest.raises(InputError, match=message):
        correct_trial(folder, number, points)
    assert "correction" not in json.loads((folder / TEST90_JSON).read_text())["trials"][0]
