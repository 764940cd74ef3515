"""Research outputs: OpenSim exports in pixels and metres, the summary row, saved analyses."""

from __future__ import annotations

import numpy as np

from hamflex.core.landmarks import LANDMARK_NAMES
from hamflex.outputs.opensim import read_trc
from hamflex.pipelines.research import saved_analysis, summary_columns, summary_row, write_exports

CLIP = "synthetic/flat2d_supine9090.mp4"


def test_trc_in_metres_from_the_persons_height(analyzed_clip, tmp_path):
    result = analyzed_clip(CLIP)
    pixels = read_trc(write_exports(result, tmp_path / "px", ("trc",))["trc"])
    metres = read_trc(write_exports(result, tmp_path / "m", ("trc",), height_m=1.75)["trc"])
    assert (pixels.header["Units"], metres.header["Units"]) == ("px", "m")
    hip, knee = LANDMARK_NAMES.index("right_hip"), LANDMARK_NAMES.index("right_knee")
    thigh_m = np.nanmedian(np.linalg.norm(metres.points[:, hip] - metres.points[:, knee], axis=1))
    assert 0.3 < thigh_m < 0.6  # a 1.75 m adult's thigh is about 0.43 m (Winter: 0.245 H)
    scale = metres.points[:, hip, 0] / pixels.points[:, hip, 0]
    assert np.allclose(scale[np.isfinite(scale)], np.nanmedian(scale))  # one scale for the whole recording


def test_the_saved_landmarks_give_the_same_angles(analyzed_clip):
    result = analyzed_clip(CLIP)
    again = saved_analysis(result.files["landmarks_npz"].parent)
    assert again.frames == result.frames and again.photo is False
    for name, values in result.angles.raw.items():
        assert np.array_equal(again.angles.raw[name], values, equal_nan=True), name
        assert np.array_equal(again.angles.smoothed[name], result.angles.smoothed[name], equal_nan=True), name


def test_the_summary_row_fills_the_summary_columns(analyzed_clip):
    row = summary_row(analyzed_clip(CLIP), None)
    columns = summary_columns("analyze")
    assert set(row) == set(columns) - {"path", "output", "status", "error"}
    assert row["frames"] == 90 and row["detection_rate"] == 1.0
