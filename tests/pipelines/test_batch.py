"""Batches: inputs from folders and globs, worker processes, resume, kill -9, rescore, exports."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hamflex.outputs.names import BATCH_JSON, BATCH_SUMMARY_CSV, LANDMARKS_NPZ, MOT_FILE, TEST90_JSON, TRC_FILE
from hamflex.outputs.opensim import read_landmarks_npz, read_mot, read_trc
from hamflex.outputs.tables import ANGLE_COLUMNS, read_angles_csv
from hamflex.pipelines.batch import (
    DONE, FAILED, BatchSettings, ProtocolSpec, expand_inputs, load_state, rescore_batch, run_batch,
)

CLIPS = {"a/clip.mp4": "synthetic/flat2d_supine9090.mp4", "b/clip.mp4": "synthetic/flat2d_supine9090_mirror.mp4"}
CLIPS_OUT = ("a/clip", "b/clip")


def _study(shared_dir: Path, folder: Path, extra: dict[str, str] | None = None) -> Path:
    """A study folder: the shared clips linked under same-named files, and one corrupt video."""
    for name, clip in {**CLIPS, **(extra or {})}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(shared_dir / clip, folder / name)
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"not a video" * 500)
    return folder


def _settings(model_path: Path) -> BatchSettings:
    return BatchSettings(model_path=str(model_path), protocol=ProtocolSpec("test90", {}), exports=("trc", "mot"))


@pytest.fixture(scope="module")
def two_runs(model_path, shared_dir, tmp_path_factory):
    """The same study with two worker processes and with one (in this process)."""
    root = tmp_path_factory.mktemp("batch")
    study = _study(shared_dir, root / "study")
    inputs = expand_inputs([study])
    reports = {jobs: run_batch(inputs, root / f"jobs{jobs}", _settings(model_path), jobs=jobs) for jobs in (2, 1)}
    return root, inputs, reports


def test_folders_globs_and_clashing_names(tmp_path):
    for name in ("x/a/1.jpg", "x/b/1.jpg", "x/b/1.png", "x/c/clip.MP4", "x/notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"-")
    names = {i.path.relative_to(tmp_path).as_posix(): i.name for i in expand_inputs([tmp_path / "x"])}
    assert names == {"x/a/1.jpg": "a/1", "x/b/1.jpg": "b/1_jpg", "x/b/1.png": "b/1_png", "x/c/clip.MP4": "c/clip"}
    from_glob = expand_inputs([str(tmp_path / "x" / "*" / "1.jpg"), tmp_path / "x/a/1.jpg"])  # given twice: once
    assert [i.name for i in from_glob] == ["a/1", "b/1"]
    assert [i.name for i in expand_inputs([tmp_path / "x/a/1.jpg", tmp_path / "x/c/clip.MP4"])] == ["1", "clip"]


def test_two_jobs_write_what_one_job_writes(two_runs):
    root, inputs, reports = two_runs
    for item in inputs:
        if item.name == "broken":
            continue
        one, two = root / "jobs1" / item.name, root / "jobs2" / item.name
        for name in ("angles.csv", TEST90_JSON, TRC_FILE, MOT_FILE):
            assert (one / name).read_bytes() == (two / name).read_bytes(), name
        stored = [read_landmarks_npz(folder / LANDMARKS_NPZ) for folder in (one, two)]
        assert all(np.array_equal(stored[0][k], stored[1][k], equal_nan=True) for k in ("landmarks_px", "visibility"))
    assert (root / "jobs1" / BATCH_SUMMARY_CSV).read_bytes() == (root / "jobs2" / BATCH_SUMMARY_CSV).read_bytes()


def test_a_bad_input_is_recorded_and_the_others_complete(two_runs):
    root, inputs, reports = two_runs
    report = reports[2]
    assert report.exit_code == 3
    assert report.records["broken"].status == FAILED and "broken.mp4" in report.records["broken"].error
    assert {report.records[name].status for name in ("a/clip", "b/clip")} == {DONE}
    rows = {row["output"]: row for row in csv.DictReader((root / "jobs2" / BATCH_SUMMARY_CSV).open())}
    assert rows["a/clip"]["frames"] == "90" and rows["a/clip"]["detection_rate"] == "1.0"
    assert rows["broken"]["status"] == FAILED and rows["broken"]["frames"] == ""
    measured = [float(rows[name]["right_mean_deficit_deg"] or rows[name]["left_mean_deficit_deg"]) for name in CLIPS_OUT]
    assert all(5 < deficit < 25 for deficit in measured)  # the clips' 90-90 knee stops about 12° short of straight


def test_exports_read_back_as_opensim_files(two_runs):
    folder = two_runs[0] / "jobs2" / "a/clip"
    markers, motion = read_trc(folder / TRC_FILE), read_mot(folder / MOT_FILE)
    angles = read_angles_csv(folder / "angles.csv")
    assert len(markers.timestamps_s) == len(motion.timestamps_s) == len(angles["frame"]) == 90
    assert markers.header["Units"] == "px" and markers.header["NumFrames"] == "90" and len(markers.marker_names) == 33
    assert motion.column_names == ANGLE_COLUMNS and motion.in_degrees
    knee = np.array(angles["right_knee_extension_deficit_smoothed_deg"], dtype=float)
    assert np.allclose(motion.columns["right_knee_extension_deficit_deg"], knee, atol=0.01, equal_nan=True)


def test_a_rerun_skips_what_is_complete(two_runs, model_path):
    root, inputs, _ = two_runs
    before = (root / "jobs2" / "a/clip" / "angles.csv").stat().st_mtime_ns
    again = run_batch(inputs, root / "jobs2", _settings(model_path), jobs=2)
    assert again.skipped == 2 and again.records["broken"].status == FAILED
    assert (root / "jobs2" / "a/clip" / "angles.csv").stat().st_mtime_ns == before


def test_rescore_reproduces_the_results_then_applies_new_options(two_runs, tmp_path):
    root = two_runs[0]
    original = {name: (root / "jobs1" / name / TEST90_JSON).read_text() for name in CLIPS_OUT}
    rescore_batch(root / "jobs1")
    assert {name: (root / "jobs1" / name / TEST90_JSON).read_text() for name in CLIPS_OUT} == original
    rescore_batch(root / "jobs1", hip_tolerance_deg=3.0)
    settings = [json.loads((root / "jobs1" / name / TEST90_JSON).read_text())["settings"] for name in CLIPS_OUT]
    assert {s["hip_tolerance_deg"] for s in settings} == {3.0}
    assert load_state(root / "jobs1")["settings"]["protocol"]["options"]["hip_tolerance_deg"] == 3.0


def _done_inputs(out: Path) -> int:
    try:
        state = json.loads((out / BATCH_JSON).read_text())
    except (OSError, ValueError):
        return 0
    return sum(entry["status"] == DONE for entry in state["inputs"].values())


def test_kill_9_then_rerun_completes_the_rest(model_path, shared_dir, tmp_path):
    study = _study(shared_dir, tmp_path / "study", {"c.mp4": "synthetic/ray3d_supine9090.mp4"})
    out = tmp_path / "out"
    command = [sys.executable, "-m", "hamflex", "test90", str(study), "--out", str(out), "--jobs", "1", "-q"]
    env = dict(os.environ, HAMFLEX_MODEL=str(model_path))
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _done_inputs(out) < 1 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed_done = _done_inputs(out)
    assert 1 <= killed_done < 3, "killed halfway"
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    assert rerun.returncode == 3, rerun.stderr
    assert f"{killed_done} input(s) already complete" in rerun.stderr
    state = json.loads((out / BATCH_JSON).read_text())
    assert {name: entry["status"] for name, entry in state["inputs"].items()} == {
        "a/clip": DONE, "b/clip": DONE, "c": DONE, "broken": FAILED}
    for name in ("a/clip", "b/clip", "c"):
        assert json.loads((out / name / TEST90_JSON).read_text())["frames"] == 90
        assert len(read_angles_csv(out / name / "angles.csv")["frame"]) == 90
        assert len(read_landmarks_npz(out / name / LANDMARKS_NPZ)["frame_index"]) == 90
    assert not list(out.rglob("*.part"))  # no temporary file left behind as an output


def test_a_leg_raise_batch_builds_its_protocol_and_summary_columns():
    from hamflex.pipelines.research import summary_columns
    from hamflex.protocols.slr import SlrProtocol

    protocol = ProtocolSpec("slr", {"side": "left", "trials": 2}).build()
    assert isinstance(protocol, SlrProtocol) and protocol.kind == "slr" and protocol.trials_per_side == 2
    columns = summary_columns("slr")
    assert {"left_mean_hip_flexion_deg", "right_grade", "asymmetry_deg"} <= set(columns)
    with pytest.raises(ValueError, match="side must be one of"):
        ProtocolSpec("slr", {"side": "up"}).build()
