"""Research exports with synthetic arrays of known values: OpenSim .trc/.mot, landmark .npz,
pixels to metres. No pose model needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hamflex.core.landmarks import LANDMARK_NAMES, NUM_LANDMARKS
from hamflex.outputs.opensim import (
    ANKLE_TO_SHOULDER_FRACTION,
    MotData,
    TrcData,
    data_rate_hz,
    metres_from_pixels,
    read_landmarks_npz,
    read_mot,
    read_trc,
    standing_height_px,
    write_landmarks_npz,
    write_mot,
    write_trc,
)


def _no_temporary_files(folder: Path) -> None:
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


def _points_mm(frames: int = 5, markers: int = 3) -> np.ndarray:
    """Distinct known values: frame f, marker m, axis a → 1000 f + 10 m + a + 0.125."""
    f, m, a = np.meshgrid(np.arange(frames), np.arange(markers), np.arange(3), indexing="ij")
    return 1000.0 * f + 10.0 * m + a + 0.125


# --------------------------------------------------------------------------- TRC


def test_trc_header_lines_are_opensims(tmp_path: Path) -> None:
    times_s = np.arange(5) / 30.0
    path = write_trc(tmp_path / "trial.trc", times_s, _points_mm(), ["a", "b", "c"], units="mm")
    lines = path.read_text().split("\n")
    assert lines[0] == "PathFileType\t4\t(X/Y/Z)\ttrial.trc"
    assert lines[1] == ("DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\t"
                        "OrigDataRate\tOrigDataStartFrame\tOrigNumFrames")
    assert lines[2] == "30\t30\t5\t3\tmm\t30\t1\t5"
    assert lines[3] == "Frame#\tTime\ta\t\t\tb\t\t\tc\t\t\t"
    assert lines[4] == "\t\tX1\tY1\tZ1\tX2\tY2\tZ2\tX3\tY3\tZ3\t"
    assert lines[5] == ""
    assert lines[6].startswith("1\t0\t0.125\t1.125\t2.125\t10.125\t")
    assert lines[6].endswith("\t")
    assert len(lines) == 6 + 5 + 1  # header, 5 rows, final newline


def test_trc_round_trip(tmp_path: Path) -> None:
    times_s = 12.5 + np.arange(5) / 60.0
    points_mm = _points_mm()
    data = read_trc(write_trc(tmp_path / "t.trc", times_s, points_mm, ["hip", "knee", "ankle"],
                              camera_rate_hz=120))
    assert isinstance(data, TrcData)
    assert data.path_file_type == ("4", "(X/Y/Z)", "t.trc")
    assert data.header["NumFrames"] == "5" and data.header["NumMarkers"] == "3"
    assert float(data.header["DataRate"]) == pytest.approx(60.0)
    assert float(data.header["CameraRate"]) == 120.0
    assert data.marker_names == ("hip", "knee", "ankle")
    assert data.frame_numbers.tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(data.timestamps_s, times_s, rtol=1e-9)
    np.testing.assert_allclose(data.points, points_mm, rtol=1e-9)


def test_trc_missing_marker_is_three_empty_fields_and_reads_back_nan(tmp_path: Path) -> None:
    points_mm = _points_mm()
    points_mm[1, 0, 1] = np.nan  # one coordinate missing: the whole marker is missing
    points_mm[2, 2, :] = np.nan  # last marker of a row missing
    path = write_trc(tmp_path / "gaps.trc", np.arange(5) / 30.0, points_mm, ["a", "b", "c"])
    rows = path.read_text().split("\n")[6:11]
    assert rows[1].split("\t")[2:5] == ["", "", ""]
    # Every row has 2 + 3 M fields before its trailing tab, as OpenSim's reader counts them.
    assert all(len(row.split("\t")) == 2 + 3 * 3 + 1 for row in rows)
    assert rows[2].endswith("\t\t\t\t")
    back = read_trc(path).points
    assert np.isnan(back[1, 0]).all() and np.isnan(back[2, 2]).all()
    keep = np.ones(points_mm.shape[:2], dtype=bool)
    keep[1, 0] = keep[2, 2] = False
    np.testing.assert_allclose(back[keep], points_mm[keep], rtol=1e-9)


def test_trc_2d_pixels_get_y_up_and_z_zero(tmp_path: Path) -> None:
    points_px = np.array([[[100.0, 400.0], [120.5, 300.25]], [[101.0, 401.0], [np.nan, 5.0]]])
    data = read_trc(write_trc(tmp_path / "px.trc", [0.0, 0.04], points_px, ["hip", "knee"], units="px"))
    assert data.header["Units"] == "px"
    np.testing.assert_array_equal(data.points[0], [[100.0, -400.0, 0.0], [120.5, -300.25, 0.0]])
    assert np.isnan(data.points[1, 1]).all()


def test_trc_defaults_to_mediapipe_names(tmp_path: Path) -> None:
    points_m = np.zeros((2, NUM_LANDMARKS, 3))
    data = read_trc(write_trc(tmp_path / "mp.trc", [0.0, 0.1], points_m, units="m"))
    assert data.marker_names == LANDMARK_NAMES
    assert data.points.shape == (2, NUM_LANDMARKS, 3)


def test_trc_reads_pose2sim_style_without_blank_line_or_trailing_tabs(tmp_path: Path) -> None:
    text = ("PathFileType\t4\t(X/Y/Z)\tp.trc\n"
            "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames\n"
            "30\t30\t2\t2\tm\t30\t0\t2\n"
            "Frame#\tTime\tHip\t\t\tKnee\t\t\t\n"
            "\t\tX1\tY1\tZ1\tX2\tY2\tZ2\t\n"
            "0\t0.0\t1\t2\t3\t4\t5\t6\n"
            "1\t0.033\t7\t8\t9\t\t\t\n")
    (tmp_path / "p.trc").write_text(text)
    data = read_trc(tmp_path / "p.trc")
    assert data.marker_names == ("Hip", "Knee")
    np.testing.assert_array_equal(data.points[0], [[1, 2, 3], [4, 5, 6]])
    assert np.isnan(data.points[1, 1]).all()


@pytest.mark.parametrize("points, names, message", [
    (np.zeros((5, 3)), ["a", "b", "c"], "points must have shape"),
    (np.zeros((4, 3, 3)), ["a", "b", "c"], "points must have shape"),
    (np.zeros((5, 3, 4)), ["a", "b", "c"], "points must have shape"),
    (np.zeros((5, 3, 3)), ["a", "b"], "marker_names has 2 names for 3"),
    (np.zeros((5, 3, 3)), ["a", "left hip", "c"], "whitespace"),
    (np.zeros((5, 3, 3)), ["a", "a", "c"], "unique"),
])
def test_trc_rejects_wrong_shapes_and_names(tmp_path: Path, points, names, message) -> None:
    with pytest.raises(ValueError, match=message):
        write_trc(tmp_path / "bad.trc", np.arange(5) / 30.0, points, names)
    assert list(tmp_path.iterdir()) == []


def test_trc_rejects_bad_units_and_times(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="units"):
        write_trc(tmp_path / "u.trc", [0.0, 1.0], np.zeros((2, 1, 3)), ["a"], units="cm")
    with pytest.raises(ValueError, match="strictly increasing"):
        write_trc(tmp_path / "t.trc", [0.0, 0.0], np.zeros((2, 1, 3)), ["a"])
    with pytest.raises(ValueError, match="camera_rate_hz"):
        write_trc(tmp_path / "one.trc", [0.0], np.zeros((1, 1, 3)), ["a"])
    with pytest.raises(ValueError, match="camera_rate_hz must be positive"):
        write_trc(tmp_path / "r.trc", [0.0, 1.0], np.zeros((2, 1, 3)), ["a"], camera_rate_hz=0)
    assert list(tmp_path.iterdir()) == []


def test_trc_single_frame_takes_the_camera_rate(tmp_path: Path) -> None:
    data = read_trc(write_trc(tmp_path / "one.trc", [2.0], np.ones((1, 1, 3)), ["a"], camera_rate_hz=25))
    assert data.header["DataRate"] == "25" and data.frame_numbers.tolist() == [1]


def test_data_rate_ignores_ms_rounding_and_dropped_frames() -> None:
    times_ms = np.round(np.arange(90) * 1000 / 30)  # 33, 33, 34 ms intervals
    times_ms = np.delete(times_ms, [40, 41])  # two dropped frames
    assert data_rate_hz(times_ms / 1000) == pytest.approx(30.0, rel=1e-3)


def test_trc_written_atomically_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "out" / "t.trc"
    write_trc(path, [0.0, 1.0], np.zeros((2, 1, 3)), ["a"])
    write_trc(path, [0.0, 1.0, 2.0], np.ones((3, 1, 3)), ["a"])
    assert read_trc(path).header["NumFrames"] == "3"
    _no_temporary_files(path.parent)


# --------------------------------------------------------------------------- MOT


def test_mot_header_lines(tmp_path: Path) -> None:
    columns = {"hip_flexion_r": np.array([10.0, 20.5]), "knee_angle_r": np.array([-5.0, 0.0])}
    lines = write_mot(tmp_path / "a.mot", [0.0, 0.5], columns).read_text().split("\n")
    assert lines[:7] == ["Coordinates", "version=1", "nRows=2", "nColumns=3", "inDegrees=yes",
                         "endheader", "time\thip_flexion_r\tknee_angle_r"]
    assert lines[7:] == ["0\t10\t-5", "0.5\t20.5\t0", ""]


def test_mot_round_trip_with_nan(tmp_path: Path) -> None:
    times_s = np.array([0.0, 1 / 30, 2 / 30, 0.1])
    columns = {"left_knee_deg": np.array([1.5, np.nan, 3.25, -4.0]),
               "right_knee_deg": np.array([np.inf, 170.125, 171.0, 172.0])}
    path = write_mot(tmp_path / "angles.mot", times_s, columns, in_degrees=False, name="trial 3")
    assert "\tNaN\t" in path.read_text() or "\tNaN\n" in path.read_text()
    data = read_mot(path)
    assert isinstance(data, MotData)
    assert data.name == "trial 3" and not data.in_degrees
    # version 2: OpenSim's version-1 reader stops at the first NaN, its newer one reads it.
    assert data.header == {"version": "2", "nRows": "4", "nColumns": "3", "inDegrees": "no"}
    assert data.column_names == ("left_knee_deg", "right_knee_deg")
    np.testing.assert_allclose(data.timestamps_s, times_s, rtol=1e-9)
    np.testing.assert_allclose(data.columns["left_knee_deg"], columns["left_knee_deg"], rtol=1e-9)
    assert np.isnan(data.columns["right_knee_deg"][0])  # inf is written as NaN too
    np.testing.assert_allclose(data.columns["right_knee_deg"][1:], [170.125, 171.0, 172.0])
    _no_temporary_files(tmp_path)


def test_mot_reads_opensim_ik_style_header(tmp_path: Path) -> None:
    text = ("Coordinates\nversion=1\nnRows=2\nnColumns=2\ninDegrees=yes\n\n"
            "Units are S.I. units (second, meters, Newtons, ...)\nAngles are in degrees.\n\nendheader\n"
            "time\tknee_angle_r\n      0.00000000\t     -5.12860733\n      0.01\t-5.2\n")
    (tmp_path / "ik.mot").write_text(text)
    data = read_mot(tmp_path / "ik.mot")
    assert data.in_degrees and data.column_names == ("knee_angle_r",)
    np.testing.assert_allclose(data.columns["knee_angle_r"], [-5.12860733, -5.2])


@pytest.mark.parametrize("columns, message", [
    ({"knee": np.zeros(3)}, r"column 'knee' must have shape \(2,\)"),
    ({"knee": np.zeros((2, 1))}, r"column 'knee' must have shape \(2,\)"),
    ({"time": np.zeros(2)}, "must not contain 'time'"),
    ({"left knee": np.zeros(2)}, "whitespace"),
])
def test_mot_rejects_bad_columns(tmp_path: Path, columns, message) -> None:
    with pytest.raises(ValueError, match=message):
        write_mot(tmp_path / "bad.mot", [0.0, 0.1], columns)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- landmarks NPZ


def _landmark_arrays(frames: int = 4, with_norm: bool = True) -> dict:
    rng = np.random.default_rng(7)
    arrays = {
        "frame_index": np.arange(frames) + 10,
        "timestamp_ms": np.arange(frames) * 33,
        "detected": np.array([True, False, True, True][:frames]),
        "landmarks_px": rng.uniform(0, 960, (frames, NUM_LANDMARKS, 2)).astype(np.float32),
        "landmarks_norm": rng.uniform(0, 1, (frames, NUM_LANDMARKS, 3)).astype(np.float32),
        "world_landmarks_m": rng.normal(0, 0.5, (frames, NUM_LANDMARKS, 3)).astype(np.float32),
        "visibility": rng.uniform(0, 1, (frames, NUM_LANDMARKS)).astype(np.float32),
        "presence": rng.uniform(0, 1, (frames, NUM_LANDMARKS)).astype(np.float32),
    }
    arrays["landmarks_px"][1] = np.nan  # a frame without a person
    if not with_norm:
        del arrays["landmarks_norm"]
    return arrays


def test_landmarks_npz_round_trip_is_lossless(tmp_path: Path) -> None:
    arrays = _landmark_arrays()
    path = write_landmarks_npz(tmp_path / "lm.npz", **arrays, image_width=960, image_height=540)
    back = read_landmarks_npz(path)
    assert back["schema_version"] == 1
    assert back["image_width"] == 960 and back["image_height"] == 540
    assert back["landmark_names"] == LANDMARK_NAMES
    for name, value in arrays.items():
        np.testing.assert_array_equal(back[name], value, err_msg=name)  # NaN == NaN here
    assert back["landmarks_px"].dtype == np.float32 and back["world_landmarks_m"].dtype == np.float32
    assert back["frame_index"].dtype == np.int64 and back["detected"].dtype == np.bool_
    _no_temporary_files(tmp_path)


def test_landmarks_npz_without_normalized_landmarks(tmp_path: Path) -> None:
    path = write_landmarks_npz(tmp_path / "lm.npz", **_landmark_arrays(with_norm=False),
                               image_width=640, image_height=480)
    assert read_landmarks_npz(path)["landmarks_norm"] is None


@pytest.mark.parametrize("name, shape", [
    ("landmarks_px", (4, 33, 3)),
    ("landmarks_norm", (4, 33, 2)),
    ("world_landmarks_m", (4, 32, 3)),
    ("visibility", (4,)),
    ("presence", (3, 33)),
    ("detected", (5,)),
    ("timestamp_ms", (4, 1)),
])
def test_landmarks_npz_wrong_shape_names_the_array(tmp_path: Path, name: str, shape) -> None:
    arrays = _landmark_arrays()
    arrays[name] = np.zeros(shape, dtype=arrays[name].dtype)
    with pytest.raises(ValueError, match=rf"^{name} must have shape"):
        write_landmarks_npz(tmp_path / "lm.npz", **arrays, image_width=960, image_height=540)
    assert list(tmp_path.iterdir()) == []


def test_landmarks_npz_rejects_fractional_timestamps_and_bad_sizes(tmp_path: Path) -> None:
    arrays = _landmark_arrays()
    with pytest.raises(ValueError, match="timestamp_ms must hold whole numbers"):
        write_landmarks_npz(tmp_path / "a.npz", **{**arrays, "timestamp_ms": arrays["timestamp_ms"] + 0.5},
                            image_width=960, image_height=540)
    with pytest.raises(ValueError, match="image_width"):
        write_landmarks_npz(tmp_path / "b.npz", **arrays, image_width=-1, image_height=540)
    assert list(tmp_path.iterdir()) == []


def test_landmarks_npz_rejects_other_schema_versions(tmp_path: Path) -> None:
    np.savez(tmp_path / "old.npz", schema_version=np.array(99))
    with pytest.raises(ValueError, match="schema_version 99"):
        read_landmarks_npz(tmp_path / "old.npz")


def test_failed_npz_write_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = write_landmarks_npz(tmp_path / "lm.npz", **_landmark_arrays(), image_width=960, image_height=540)
    before = path.read_bytes()
    bad = {**_landmark_arrays(), "visibility": np.zeros((4, 2))}
    with pytest.raises(ValueError):
        write_landmarks_npz(path, **bad, image_width=960, image_height=540)
    assert path.read_bytes() == before
    _no_temporary_files(tmp_path)


# --------------------------------------------------------------------------- pixels to metres

# Winter (2009) standing heights as fractions of stature: shoulder, hip, knee, ankle.
_WINTER = {"shoulder": 0.818, "hip": 0.530, "knee": 0.285, "ankle": 0.039}


def _skeleton_px(height_m: float, px_per_m: float, hip_flexion_deg: float, knee_flexion_deg: float,
                 origin_px=(300.0, 400.0)) -> np.ndarray:
    """33 landmarks in one frame, lying along +x (supine), legs bent by the given angles."""
    h_px = height_m * px_per_m
    trunk, thigh, shank = [(_WINTER[a] - _WINTER[b]) * h_px for a, b in
                           (("shoulder", "hip"), ("hip", "knee"), ("knee", "ankle"))]
    hip = np.array(origin_px)
    shoulder = hip - [trunk, 0.0]
    thigh_dir = np.radians(hip_flexion_deg)
    knee = hip + thigh * np.array([np.cos(thigh_dir), -np.sin(thigh_dir)])
    shank_dir = thigh_dir - np.radians(knee_flexion_deg)
    ankle = knee + shank * np.array([np.cos(shank_dir), -np.sin(shank_dir)])
    frame = np.full((NUM_LANDMARKS, 2), np.nan)
    for side, offset in (("left", 0.0), ("right", 3.0)):
        for joint, xy in (("shoulder", shoulder), ("hip", hip), ("knee", knee), ("ankle", ankle)):
            frame[LANDMARK_NAMES.index(f"{side}_{joint}")] = xy + [offset, 0.0]
    return frame


def test_standing_height_from_a_lying_bent_person() -> None:
    frames = np.stack([_skeleton_px(1.75, 400.0, hip, knee) for hip, knee in
                       ((0, 0), (90, 90), (90, 40), (45, 10), (90, 12))])
    assert standing_height_px(frames) == pytest.approx(1.75 * 400.0, rel=1e-9)
    # Nose-to-heel would not do: the 90-90 posture is far shorter than the person.
    assert ANKLE_TO_SHOULDER_FRACTION == pytest.approx(0.779)


def test_standing_height_ignores_missing_and_outlier_frames() -> None:
    frames = np.stack([_skeleton_px(1.6, 300.0, 90, 90 - k) for k in range(7)])
    frames[2] = np.nan
    frames[4, LANDMARK_NAMES.index("left_knee")] += [250.0, 0.0]  # one misplaced landmark
    assert standing_height_px(frames) == pytest.approx(1.6 * 300.0, rel=1e-9)


def test_metres_from_pixels_scales_by_known_height() -> None:
    frames = np.stack([_skeleton_px(1.8, 250.0, 90, 30), _skeleton_px(1.8, 250.0, 80, 20)])
    frames_m = metres_from_pixels(frames, height_m=1.8)
    np.testing.assert_allclose(frames_m, frames / 250.0, rtol=1e-9)
    hip, knee = LANDMARK_NAMES.index("right_hip"), LANDMARK_NAMES.index("right_knee")
    assert np.linalg.norm(frames_m[0, hip] - frames_m[0, knee]) == pytest.approx((0.530 - 0.285) * 1.8)
    track_px = np.array([[[10.0, 20.0]], [[30.0, 40.0]]])
    np.testing.assert_allclose(metres_from_pixels(track_px, 1.7, height_px=850.0), track_px / 500.0)


def test_metres_from_pixels_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="height_m"):
        metres_from_pixels(np.zeros((1, 33, 2)), height_m=0.0, height_px=100.0)
    with pytest.raises(ValueError, match="landmarks_px must have shape"):
        standing_height_px(np.zeros((3, 17, 2)))
    with pytest.raises(ValueError, match="ankle-knee"):
        standing_height_px(np.full((3, 33, 2), np.nan))


# --------------------------------------------------------------------------- OpenSim itself


def test_files_open_in_opensim(tmp_path: Path) -> None:
    """OpenSim's own readers (TRCFileAdapter, MarkerData, Storage) get our gaps as NaN.

    Runs where the ``opensim`` bindings are installed (not a hamflex dependency).
    """
    osim = pytest.importorskip("opensim")
    osim.Logger.removeFileSink()  # else OpenSim writes opensim.log into the working folder
    points_mm = _points_mm()
    points_mm[1, 0, 1] = points_mm[2, 2, 0] = np.nan
    trc = write_trc(tmp_path / "m.trc", np.arange(5) / 30.0, points_mm, ["a", "b", "c"])
    table = osim.TimeSeriesTableVec3(str(trc))
    assert table.getNumRows() == 5 and list(table.getColumnLabels()) == ["a", "b", "c"]
    assert np.isnan(table.getRowAtIndex(1)[0][2]) and table.getRowAtIndex(1)[1][0] == points_mm[1, 1, 0]
    markers = osim.MarkerData(str(trc))
    assert markers.getNumFrames() == 5 and np.isnan(markers.getFrame(2).getMarker(2)[1])
    assert markers.getFrame(2).getMarker(1)[2] == points_mm[2, 1, 2]
    for knee in (np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([1.0, np.nan, 3.0, 4.0, 5.0])):
        storage = osim.Storage(str(write_mot(tmp_path / "a.mot", np.arange(5) / 30.0, {"knee": knee})))
        assert storage.getSize() == 5 and storage.isInDegrees()
        back = [storage.getStateVector(r).getData().get(0) for r in range(5)]
        np.testing.assert_array_equal(back, knee)
