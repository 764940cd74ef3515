"""Evidence per trial: the end-position frame with both legs and the angles, beside test90.json."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hamflex.core.landmarks import side_index
from hamflex.outputs.overlay import LEFT_BGR, RIGHT_BGR
from hamflex.outputs.names import trial_frame
from hamflex.pipelines.evidence import end_position_row, trial_evidence, with_recording_pictures
from hamflex.pipelines.run import score_analysis
from hamflex.protocols.test90 import Test90Protocol, Trial


def _thigh_colour_fraction(image: np.ndarray, points_px: np.ndarray, side: str, colour) -> float:
    """The fraction of points along a thigh (hip → knee) that are drawn in ``colour``."""
    hip, knee = points_px[side_index(side, "hip")], points_px[side_index(side, "knee")]
    samples = [hip + (knee - hip) * f for f in np.linspace(0.25, 0.75, 11)]
    near = [np.abs(image[int(y) - 2:int(y) + 3, int(x) - 2:int(x) + 3].astype(int) - colour).sum(axis=-1).min()
            for x, y in samples]
    return float(np.mean(np.array(near) < 90))


@pytest.mark.parametrize(("clip", "tested"), [("synthetic/flat2d_supine9090.mp4", "right"),
                                              ("synthetic/flat2d_supine9090_mirror.mp4", "left")])
def test_each_trial_gets_its_end_position_picture_with_both_legs(clip, tested, analyzed_clip, tmp_path):
    analysis = analyzed_clip(clip)
    result = with_recording_pictures(score_analysis(analysis, Test90Protocol()), analysis, tmp_path)
    trial = result.trials[0]
    assert trial.side == tested and trial.picture == "trial_1_end.jpg"
    assert result.to_dict()["trials"][0]["picture"] == "trial_1_end.jpg"
    image = cv2.imread(str(tmp_path / trial.picture))
    assert image.shape[:2] == (analysis.poses.image_height, analysis.poses.image_width)
    points = analysis.poses.landmarks_px[end_position_row(trial, analysis.poses)]
    colours = {"left": LEFT_BGR, "right": RIGHT_BGR}
    other = "left" if tested == "right" else "right"
    assert _thigh_colour_fraction(image, points, tested, colours[tested]) > 0.8  # the tested leg
    assert _thigh_colour_fraction(image, points, other, colours[other]) > 0.5  # and the resting one
    kept = trial_evidence(tmp_path)["1"]  # what a correction by hand starts from, without the model
    row = end_position_row(trial, analysis.poses)
    assert np.allclose(kept["landmarks_px"], points) and kept["frame_index"] == int(analysis.poses.frame_index[row])
    undrawn = cv2.imread(str(tmp_path / trial_frame(1)))
    assert undrawn.shape == image.shape and np.abs(undrawn.astype(int) - image).mean() > 1  # the frame before drawing


def test_a_trial_without_an_end_position_gets_no_picture(analyzed_clip):
    poses = analyzed_clip("synthetic/flat2d_supine9090.mp4").poses
    assert end_position_row(Trial(), poses) is None
    assert end_position_row(Trial(end_position_s=(1.0, 2.0)), poses) == pytest.approx(45, abs=1)
