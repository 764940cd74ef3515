"""Find the MediaPipe pose model: ``--model`` > ``HAMFLEX_MODEL`` > user cache > download.

Downloads come from Google's model store at pinned (versioned) URLs and are checked against
their SHA-256; pooch writes atomically and shows a progress bar. ``--offline`` or
``HAMFLEX_OFFLINE=1`` never downloads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from hamflex.errors import ModelUnavailableError

MODEL_ENV_VAR = "HAMFLEX_MODEL"
OFFLINE_ENV_VAR = "HAMFLEX_OFFLINE"
DEFAULT_VARIANT = "full"

_STORE = "https://storage.googleapis.com/mediapipe-models/pose_landmarker"


@dataclass(frozen=True)
class ModelSpec:
    variant: str
    sha256: str

    @property
    def filename(self) -> str:
        return f"pose_landmarker_{self.variant}.task"

    @property
    def url(self) -> str:
        return f"{_STORE}/pose_landmarker_{self.variant}/float16/1/{self.filename}"


MODELS = {
    spec.variant: spec
    for spec in (
        ModelSpec("lite", "59929e1d1ee95287735ddd833b19cf4ac46d29bc7afddbbf6753c459690d574a"),
        ModelSpec("full", "5134a3aad27a58b93da0088d431f366da362b44e3ccfbe3462b3827a839011b1"),
        ModelSpec("heavy", "64437af838a65d18e5ba7a0d39b465540069bc8aae8308de3e318aad31fcbc7b"),
    )
}

HOW_TO_SUPPLY = (
    f"pass --model PATH to a pose_landmarker_*.task file, set {MODEL_ENV_VAR}=PATH, "
    "or run 'hamflex models --download full' once with internet"
)


def cache_dir() -> Path:
    """Where downloaded models live (the user cache directory, per platform)."""
    return Path(platformdirs.user_cache_dir("hamflex")) / "models"


def offline_requested(offline: bool = False) -> bool:
    return offline or os.environ.get(OFFLINE_ENV_VAR, "").strip().lower() in {"1", "true", "yes"}


def _existing_model_file(path: Path, origin: str) -> Path:
    if not path.is_file():
        raise ModelUnavailableError(f"model file {path} (from {origin}) does not exist; {HOW_TO_SUPPLY}")
    return path


def cached_models() -> dict[str, Path]:
    """Variants present in the user cache."""
    return {
        variant: cache_dir() / spec.filename
        for variant, spec in MODELS.items()
        if (cache_dir() / spec.filename).is_file()
    }


def download_model(variant: str = DEFAULT_VARIANT, progress: bool = True) -> Path:
    """Download one official model into the cache (hash-checked, atomic) and return its path."""
    import pooch  # imported lazily: only needed when downloading

    spec = MODELS[variant]
    try:
        return Path(
            pooch.retrieve(
                spec.url,
                known_hash=f"sha256:{spec.sha256}",
                fname=spec.filename,
                path=cache_dir(),
                progressbar=progress,
            )
        )
    except Exception as error:  # network errors, hash mismatch, disk full: all one message
        raise ModelUnavailableError(
            f"could not download the {variant} pose model ({type(error).__name__}); {HOW_TO_SUPPLY}"
        ) from error


def resolve_model(model: str | Path | None = None, offline: bool = False, progress: bool = True) -> Path:
    """The model file to load, following the documented order.

    ``model`` is a path or a variant name (``lite``, ``full``, ``heavy``).
    """
    variant = DEFAULT_VARIANT
    if model is not None and str(model) in MODELS:
        variant = str(model)
    elif model is not None:
        return _existing_model_file(Path(model).expanduser(), "--model")
    elif os.environ.get(MODEL_ENV_VAR):
        return _existing_model_file(Path(os.environ[MODEL_ENV_VAR]).expanduser(), MODEL_ENV_VAR)
    cached = cache_dir() / MODELS[variant].filename
    if cached.is_file():
        return cached
    if offline_requested(offline):
        raise ModelUnavailableError(f"no {variant} pose model is cached and downloads are off (offline); {HOW_TO_SUPPLY}")
    return download_model(variant, progress=progress)
