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
    """The real MediaPipe model: $HAMFLEX_MODEL, else the shared full model."""
    path = Path(os.environ.get("HAMFLEX_MODEL") or shared_dir / "models" / "pose_landmarker_full.task")
    if not path.is_file():
        pytest.fail(f"pose model not found at {path}")
    os.environ.setdefault("HAMFLEX_MODEL", str(path))
    return path


@pytest.fixture(scope="session")
def analyzed_clip(model_path: Path, tmp_path_factory):
    """``analyzed_clip(relative_path)`` → AnalysisResult, each shared file analysed once per run."""
    from hamflex.pipelines.offline import analyze_video

    cache: dict[str, object] = {}
    out_dir = tmp_path_factory.mktemp("analyzed")

    def analyze(relative_path: str):
        if relative_path not in cache:
            cache[relative_path] = analyze_video(SHARED_DIR / relative_path, out_dir, model=model_path)
        return cache[relative_path]

    return analyze


MODEL_FIXTURES = {"model_path", "analyzed_clip"}


def pytest_collection_modifyitems(items):
    """Every test that uses the real pose model is marked ``model``: ``-m "not model"`` runs the rest."""
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)
