"""Shared fixtures: the real pose model, the shared test media, cached analyses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.fail(f"the shared test assets are missing: expected {SHARED_DIR}")
    return SHARED_DIR


@pytest.fixture(scope="session")
def model_path(shared_dir: Path) -> Path:
    """The real MediaPipe model: $HAMFLEX_MODEL, else the shared full model; made absolute (in
    the environment too) so tests that change directory still find it."""
    path = Path(os.environ.get("HAMFLEX_MODEL") or shared_dir / "models" / "pose_landmarker_full.task").resolve()
    if not path.is_file():
        pytest.fail(f"pose model not found at {path}")
    os.environ["HAMFLEX_MODEL"] = str(path)
    return path


LONG_CLIPS = tuple(f"synthetic/{name}.mp4" for name in (
    "dev_test90", "dev_test90_far", "dev_hold_supine", "dev_hold_seated", "dev_hold_seated_tight", "dev_slr"))
"""The 26-56 s scripted scenes: analysed together on every core the first time one is asked for."""


def _analyze_long_clips(model_path: Path, out_dir: Path) -> dict[str, Path]:
    """Every long clip analysed by the batch pipeline (one worker per core); their output folders."""
    from hamflex.pipelines.batch import BatchInput, BatchSettings, run_batch

    inputs = [BatchInput(SHARED_DIR / clip, Path(clip).stem) for clip in LONG_CLIPS]
    report = run_batch(inputs, out_dir, BatchSettings(model_path=str(model_path)), jobs=max(1, os.cpu_count() or 1))
    assert report.exit_code == 0, report
    return {clip: out_dir / item.name for clip, item in zip(LONG_CLIPS, inputs)}


@pytest.fixture(scope="session")
def analyzed_clip(model_path: Path, tmp_path_factory):
    """``analyzed_clip(relative_path)`` → AnalysisResult, each shared file analysed once per run
    (the long clips all at once, in parallel, then read back from their saved landmarks)."""
    from hamflex.pipelines.offline import analyze_video
    from hamflex.pipelines.research import saved_analysis

    cache: dict[str, object] = {}
    long_dirs: dict[str, Path] = {}
    out_dir = tmp_path_factory.mktemp("analyzed")

    def analyze(relative_path: str):
        if relative_path in cache:
            return cache[relative_path]
        if relative_path in LONG_CLIPS:
            long_dirs.update(long_dirs or _analyze_long_clips(model_path, out_dir / "long"))
            cache[relative_path] = saved_analysis(long_dirs[relative_path])
        else:
            cache[relative_path] = analyze_video(SHARED_DIR / relative_path, out_dir, model=model_path)
        return cache[relative_path]

    return analyze


MODEL_FIXTURES = {"model_path", "analyzed_clip"}


def pytest_collection_modifyitems(items):
    """Every test that uses the real pose model is marked ``model``: ``-m "not model"`` runs the rest."""
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)
