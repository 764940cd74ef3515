"""Batches on Ray: a real local cluster with 2 CPUs gives what the local run gives."""

from __future__ import annotations

import os

import pytest

import sys

from hamflex.errors import MissingExtraError
from hamflex.outputs.names import BATCH_SUMMARY_CSV, TEST90_JSON
from hamflex.pipelines.batch import DONE, BatchSettings, ProtocolSpec, expand_inputs, run_batch
from hamflex.pipelines.cluster import RAY_INSTALL_HINT, ray_records


def test_without_ray_it_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what an interpreter without Ray does on import
    with pytest.raises(MissingExtraError, match=RAY_INSTALL_HINT.replace("[", r"\[").replace("]", r"\]")) as error:
        ray_records("local")
    assert error.value.exit_code == 9


def test_ray_local_writes_what_the_local_run_writes(model_path, shared_dir, tmp_path):
    ray = pytest.importorskip("ray")
    study = tmp_path / "study"
    for name, clip in {"a/clip.mp4": "flat2d_supine9090.mp4", "b/clip.mp4": "flat2d_supine9090_mirror.mp4"}.items():
        (study / name).parent.mkdir(parents=True)
        os.symlink(shared_dir / "synthetic" / clip, study / name)
    inputs = expand_inputs([study])
    settings = BatchSettings(model_path=str(model_path), protocol=ProtocolSpec("test90", {}))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = run_batch(inputs, tmp_path / "ray", settings, jobs=2, records=ray_records("local"))
    finally:
        ray.shutdown()
    local = run_batch(inputs, tmp_path / "local", settings, jobs=1)
    assert {record.status for record in on_ray.records.values()} == {DONE}
    for item in inputs:
        for name in ("angles.csv", TEST90_JSON):
            assert (tmp_path / "ray" / item.name / name).read_bytes() == (tmp_path / "local" / item.name / name).read_bytes()
    assert (tmp_path / "ray" / BATCH_SUMMARY_CSV).read_bytes() == (tmp_path / "local" / BATCH_SUMMARY_CSV).read_bytes()
    assert local.skipped == on_ray.skipped == 0
