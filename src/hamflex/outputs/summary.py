"""The JSON summary of one analysed recording."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from hamflex.outputs.tables import ANGLE_COLUMNS

if TYPE_CHECKING:
    from hamflex.pipelines.offline import AnalysisResult

SUMMARY_SCHEMA_VERSION = 1


def angle_statistics(values: np.ndarray) -> dict[str, float | None]:
    """min / max / mean / median of the finite values, None when there are none."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {"min": None, "max": None, "mean": None, "median": None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return {
            "min": round(float(finite.min()), 2),
            "max": round(float(finite.max()), 2),
            "mean": round(float(finite.mean()), 2),
            "median": round(float(np.median(finite)), 2),
        }


def build_summary(result: AnalysisResult) -> dict[str, Any]:
    """Everything in summary.json, from an analysis result."""
    detected = result.angles.detected
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "video": str(result.source),
        "complete": result.complete,
        "frames": result.frames,
        "frames_with_pose": result.frames_with_pose,
        "detection_rate": round(result.detection_rate, 4),
        "duration_s": round(result.duration_s, 3),
        "processing_fps": round(result.processing_fps, 2),
        "image_size": [result.poses.image_width, result.poses.image_height],
        "model": result.model_path.name,
        "camera_profile": result.camera_profile,
        "warnings": list(result.warnings),
        "angles": {name: angle_statistics(result.angles.raw[name][detected]) for name in ANGLE_COLUMNS},
    }
