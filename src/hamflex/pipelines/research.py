"""Research outputs of an analysed recording: OpenSim ``.trc`` / ``.mot`` exports, the
study table's row, and the analysis rebuilt from saved landmarks (``hamflex rescore``:
the protocols and tables again, without running the pose model)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hamflex.core.landmarks import DEFAULT_MIN_VISIBILITY
from hamflex.core.series import AngleSeries, PoseSequence
from hamflex.media.sources import VideoInfo, is_photo
from hamflex.outputs.names import LANDMARKS_NPZ, MOT_FILE, SUMMARY_JSON, TRC_FILE
from hamflex.outputs.opensim import metres_from_pixels, read_landmarks_npz, write_mot, write_trc
from hamflex.outputs.tables import ANGLE_COLUMNS
from hamflex.pipelines.offline import AnalysisResult
from hamflex.protocols.hold import HoldResult
from hamflex.protocols.slr import SlrResult
from hamflex.protocols.test90 import Test90Result

EXPORT_FORMATS = ("trc", "mot")
STATISTICS = ("min", "max", "mean", "median")
_BASE_COLUMNS = ("path", "output", "status", "error", "frames", "frames_with_pose", "detection_rate", "duration_s")
_MEAN_FIELDS = {Test90Result: "mean_deficit_deg", SlrResult: "mean_hip_flexion_deg"}  # each side's score


def _side_columns(mean_field: str) -> tuple[str, ...]:
    """The per-side columns of a trial-based test, then its asymmetry."""
    return (*(f"{side}_{name}" for side in ("left", "right")
              for name in (mean_field, "sd_deg", "grade", "valid_trials", "invalid_trials")), "asymmetry_deg")


_PROTOCOL_COLUMNS = {
    "analyze": (),
    "test90": _side_columns(_MEAN_FIELDS[Test90Result]),
    "slr": _side_columns(_MEAN_FIELDS[SlrResult]),
    "hold": ("valid_seconds_total", "reps_completed", "percent_time_valid", "bounces_total"),
}


def _statistic_column(angle: str, statistic: str) -> str:
    """``left_knee_flexion_deg`` + ``mean`` → ``left_knee_flexion_mean_deg``."""
    return f"{angle.removesuffix('_deg')}_{statistic}_deg"


def summary_columns(kind: str) -> tuple[str, ...]:
    """summary.csv's columns for a batch scored by protocol ``kind``."""
    angles = tuple(_statistic_column(a, s) for a in ANGLE_COLUMNS for s in STATISTICS)
    return (*_BASE_COLUMNS, *angles, *_PROTOCOL_COLUMNS[kind])


def _protocol_row(result: Any) -> dict[str, Any]:
    """The protocol's main result as summary.csv cells."""
    if isinstance(result, (Test90Result, SlrResult)):
        mean_field = _MEAN_FIELDS[type(result)]
        row: dict[str, Any] = {"asymmetry_deg": result.asymmetry_deg}
        for side, entry in result.sides.items():
            row.update({f"{side}_{mean_field}": getattr(entry, mean_field), f"{side}_sd_deg": entry.sd_deg,
                        f"{side}_grade": entry.grade, f"{side}_valid_trials": entry.trials,
                        f"{side}_invalid_trials": entry.invalid_trials})
        return row
    if isinstance(result, HoldResult):
        return {name: getattr(result, name) for name in _PROTOCOL_COLUMNS["hold"]}
    return {}


def summary_row(analysis: AnalysisResult, result: Any) -> dict[str, Any]:
    """One input's summary.csv cells (beside path, output, status and error): frames, detection,
    duration, each angle's statistics, and the protocol ``result``'s main numbers."""
    summary = analysis.to_dict()
    row = {key: summary[key] for key in _BASE_COLUMNS[4:]}
    for angle, statistics in summary["angles"].items():
        row.update({_statistic_column(angle, s): value for s, value in statistics.items()})
    return {**row, **_protocol_row(result)}


def write_exports(analysis: AnalysisResult, target_dir: Path, formats: tuple[str, ...] | list[str],
                  height_m: float | None = None) -> dict[str, Path]:
    """``trc``: the landmark trajectories (pixels, or metres scaled by the person's stature
    ``height_m``: give it with a camera profile, so the landmarks are undistorted); ``mot``:
    the smoothed joint angles in degrees. Returns the files written."""
    unknown = set(formats) - set(EXPORT_FORMATS)
    if unknown:
        raise ValueError(f"unknown export format(s): {', '.join(sorted(unknown))}")
    poses, files = analysis.poses, {}
    rate_hz = analysis.info.fps if analysis.info is not None and analysis.info.fps > 0 else None
    if "trc" in formats:
        points, units = (poses.landmarks_px, "px") if height_m is None else (
            metres_from_pixels(poses.landmarks_px, height_m), "m")
        files["trc"] = write_trc(target_dir / TRC_FILE, poses.timestamp_s, points, units=units, camera_rate_hz=rate_hz)
    if "mot" in formats:
        columns = {name: analysis.angles.smoothed[name] for name in ANGLE_COLUMNS}
        files["mot"] = write_mot(target_dir / MOT_FILE, poses.timestamp_s, columns)
    return files


def saved_analysis(target_dir: str | Path, min_visibility: float = DEFAULT_MIN_VISIBILITY) -> AnalysisResult:
    """The analysis of ``target_dir`` (its landmarks.npz and summary.json), angles recomputed:
    what the original run scored, exactly (the landmarks are stored at MediaPipe's precision)."""
    target_dir = Path(target_dir)
    summary = json.loads((target_dir / SUMMARY_JSON).read_text(encoding="utf-8"))
    stored = read_landmarks_npz(target_dir / LANDMARKS_NPZ)
    poses = PoseSequence(**{name: stored[name] for name in PoseSequence.__dataclass_fields__})
    source = Path(summary["video"])
    info = VideoInfo(poses.image_width, poses.image_height, 0.0, len(poses), "saved landmarks", is_photo(source))
    return AnalysisResult(
        source=source, model_path=Path(summary["model"]), poses=poses,
        angles=AngleSeries.from_poses(poses, min_visibility=min_visibility),
        processing_fps=summary["processing_fps"], complete=summary["complete"],
        camera_profile=summary["camera_profile"], warnings=list(summary["warnings"]), info=info,
    )
