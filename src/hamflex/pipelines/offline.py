"""The offline pipeline: a recorded video or photo → poses → angles → tables and summary.

``analyze_video`` is the Python API behind ``hamflex analyze`` and the first half of every
protocol run on a recording. Whatever happens (Ctrl-C, a video cut short), the frames measured
so far are written before returning or raising.
"""

from __future__ import annotations

import contextlib
import time
import warnings as _warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hamflex.camera.profile import CameraProfile, load_profile
from hamflex.core.filters import OneEuroBank
from hamflex.core.landmarks import DEFAULT_MIN_VISIBILITY
from hamflex.core.series import AngleSeries, PoseSequence
from hamflex.errors import NoPersonError
from hamflex.media.models import resolve_model
from hamflex.media.pose import PoseEstimator, PoseFrame
from hamflex.media.sources import Frame, PhotoSource, VideoInfo, VideoSource, open_source
from hamflex.outputs.files import write_json
from hamflex.outputs.names import ANGLES_CSV, LANDMARKS_NPZ, OVERLAY_IMAGE, OVERLAY_VIDEO, SUMMARY_JSON
from hamflex.outputs.opensim import write_landmarks_npz
from hamflex.outputs.overlay import compose_overlay
from hamflex.outputs.progress import frame_progress
from hamflex.outputs.tables import ANGLE_COLUMNS, write_angles_csv
from hamflex.outputs.video import VideoSink
from hamflex.pipelines.samples import frame_angles_deg

SUMMARY_SCHEMA_VERSION = 1


class AnalysisInterrupted(KeyboardInterrupt):
    """Ctrl-C during an analysis; ``result`` holds the frames measured before it (already
    written when an output directory was given), so callers can still score them."""

    def __init__(self, result: AnalysisResult) -> None:
        super().__init__()
        self.result = result


def angle_statistics(values: np.ndarray) -> dict[str, float | None]:
    """min / max / mean / median of the finite values, None when there are none."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {"min": None, "max": None, "mean": None, "median": None}
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", RuntimeWarning)
        return {name: round(float(stat(finite)), 2)
                for name, stat in (("min", np.min), ("max", np.max), ("mean", np.mean), ("median", np.median))}


@dataclass
class AnalysisResult:
    """What ``analyze_video`` measured, and where it wrote it (``to_dict`` = summary.json)."""

    source: Path
    model_path: Path
    poses: PoseSequence
    angles: AngleSeries
    processing_fps: float
    complete: bool = True
    camera_profile: str | None = None  # the profile file used to undistort, if any
    warnings: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    info: VideoInfo | None = None

    @property
    def frames(self) -> int:
        return len(self.poses)

    @property
    def frames_with_pose(self) -> int:
        return int(self.poses.detected.sum())

    @property
    def detection_rate(self) -> float:
        return self.frames_with_pose / self.frames if self.frames else 0.0

    @property
    def photo(self) -> bool:
        return self.info is not None and self.info.photo

    @property
    def duration_s(self) -> float:
        if self.frames < 2:
            return 0.0
        interval_ms = float(np.median(np.diff(self.poses.timestamp_ms)))
        return float(self.poses.timestamp_ms[-1] - self.poses.timestamp_ms[0] + interval_ms) / 1000.0

    def to_dict(self) -> dict[str, Any]:
        """Everything in summary.json."""
        detected = self.angles.detected
        return {
            "schema_version": SUMMARY_SCHEMA_VERSION,
            "video": str(self.source),
            "complete": self.complete,
            "frames": self.frames,
            "frames_with_pose": self.frames_with_pose,
            "detection_rate": round(self.detection_rate, 4),
            "duration_s": round(self.duration_s, 3),
            "processing_fps": round(self.processing_fps, 2),
            "image_size": [self.poses.image_width, self.poses.image_height],
            "model": self.model_path.name,
            "camera_profile": self.camera_profile,
            "warnings": list(self.warnings),
            "angles": {name: angle_statistics(self.angles.raw[name][detected]) for name in ANGLE_COLUMNS},
        }


class _OverlaySink:
    """``--overlay``: every analysed frame annotated (one compositor with the live window),
    as overlay.mp4, or overlay.png for a photo."""

    def __init__(self, target_dir: Path, info: VideoInfo, min_visibility: float) -> None:
        self.path = target_dir / (OVERLAY_IMAGE if info.photo else OVERLAY_VIDEO)
        self._video = None if info.photo else VideoSink(self.path, info.fps, info.width, info.height)
        self._smoother = OneEuroBank()  # causal, like live: the overlay is drawn as frames come
        self._min_visibility = min_visibility

    def write(self, frame: Frame, pose: PoseFrame) -> None:
        angles = self._smoother(frame.timestamp_ms / 1000.0, frame_angles_deg(pose, self._min_visibility))
        image = compose_overlay(cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR), pose.landmarks_px, pose.visibility,
                                angles, min_visibility=self._min_visibility)
        if self._video is not None:
            self._video.write(image)
        else:
            cv2.imwrite(str(self.path), image)

    def close(self) -> None:
        if self._video is not None:
            self._video.close()


def _frame_limit(source: VideoSource | PhotoSource, max_duration_s: float | None) -> int | None:
    """Frames the progress bar expects: the whole video, or its first ``max_duration_s``."""
    total = source.frame_count
    if max_duration_s is not None and total and source.fps:
        total = min(total, int(max_duration_s * source.fps) + 1)
    return total


def _detect_all(source, estimator: PoseEstimator, profile: CameraProfile | None, overlay: _OverlaySink | None,
                progress: bool, max_duration_s: float | None,
                stop: Callable[[], bool] | None = None) -> tuple[list[PoseFrame], bool, bool]:
    """Every frame's pose: (poses, interrupted — by Ctrl-C or ``stop()`` turning true —,
    stopped_early at ``max_duration_s``)."""
    poses: list[PoseFrame] = []
    try:
        with frame_progress(source.path.name, _frame_limit(source, max_duration_s), enabled=progress) as bar:
            for frame in source:
                if max_duration_s is not None and poses and (
                        frame.timestamp_ms - poses[0].timestamp_ms >= max_duration_s * 1000):
                    return poses, False, True
                if stop is not None and stop():
                    return poses, True, False
                pose = estimator.detect(frame)
                poses.append(profile.undistort_pose(pose) if profile is not None else pose)
                if overlay is not None:
                    overlay.write(frame, poses[-1])
                bar.advance()
    except KeyboardInterrupt:
        return poses, True, False
    finally:
        if overlay is not None:
            overlay.close()
    return poses, False, False


def _prepare(source, camera_profile, model, offline: bool, progress: bool, target_dir: Path | None,
             estimator: PoseEstimator | None):
    """Everything that can fail before the work starts (the source is closed if it does)."""
    try:
        profile = load_profile(camera_profile)
        profile = profile.for_image_size(source.width, source.height) if profile is not None else None
        model_path = estimator.model_path if estimator is not None else resolve_model(
            model, offline=offline, progress=progress)
        if target_dir is not None:
            target_dir.mkdir(parents=True, exist_ok=True)  # an unwritable place fails now, not after the work
    except BaseException:
        source.close()
        raise
    return profile, model_path


def _opened_estimator(estimator: PoseEstimator | None, model_path: Path, photo: bool, num_poses: int,
                      verbose: bool) -> contextlib.AbstractContextManager[PoseEstimator]:
    """The caller's open estimator, restarted (the caller closes it), or a new one for this input."""
    if estimator is not None:
        if estimator.image_mode != photo:
            raise ValueError("the estimator's image mode does not suit this input")
        return contextlib.nullcontext(estimator.restart())
    return PoseEstimator(model_path, image_mode=photo, num_poses=num_poses, verbose=verbose)


def _profile_label(camera_profile: CameraProfile | str | Path | None) -> str | None:
    if isinstance(camera_profile, (str, Path)):
        return str(camera_profile)
    return "given" if camera_profile is not None else None


def analyze_video(
    path: str | Path,
    out_dir: str | Path | None = None,
    *,
    overlay: bool = False,
    model: str | Path | None = None,
    offline: bool = False,
    num_poses: int = 1,
    min_visibility: float = DEFAULT_MIN_VISIBILITY,
    progress: bool = False,
    verbose: bool = False,
    output_name: str | None = None,
    camera_profile: CameraProfile | str | Path | None = None,
    max_duration_s: float | None = None,
    estimator: PoseEstimator | None = None,
) -> AnalysisResult:
    """Analyse one video or photo; with ``out_dir``, write ``angles.csv``, ``summary.json``
    (and ``overlay.mp4``) to ``out_dir/<output_name or the file's stem>/``. With
    ``max_duration_s`` only the first seconds of a video are read.

    Raises :class:`~hamflex.errors.InputError` for unreadable input and
    :class:`~hamflex.errors.NoPersonError` when nobody is found (after writing the outputs).
    A ``camera_profile`` (a :class:`~hamflex.camera.profile.CameraProfile` or its JSON path)
    undistorts every pose's image landmarks right after detection; one for another frame
    shape raises :class:`~hamflex.errors.CameraProfileError` before any frame is analysed.
    On Ctrl-C the frames so far are written, then :class:`AnalysisInterrupted` (a
    ``KeyboardInterrupt`` carrying the partial result) is raised. An open ``estimator`` (a
    batch worker's, loaded once) is restarted and used instead of loading the model again.
    """
    source = open_source(path)
    target_dir = Path(out_dir) / (output_name or Path(path).stem) if out_dir is not None else None
    profile, model_path = _prepare(source, camera_profile, model, offline, progress, target_dir, estimator)
    info = source.info
    started = time.perf_counter()
    with source, _opened_estimator(estimator, model_path, info.photo, num_poses, verbose) as opened:
        sink = _OverlaySink(target_dir, info, min_visibility) if overlay and target_dir is not None else None
        poses, interrupted, stopped_early = _detect_all(source, opened, profile, sink, progress, max_duration_s)
    result = analysis_result(path, poses, info, model_path, time.perf_counter() - started,
                             min_visibility=min_visibility, camera_profile=camera_profile, complete=not interrupted)
    if interrupted:
        result.warnings.append(interrupted_warning(len(poses)))
    if source.truncated and not (interrupted or stopped_early):
        result.warnings.append(truncated_warning(source.frames_read, source.frame_count))
    if sink is not None:
        result.files["overlay"] = sink.path
    return finish_analysis(result, target_dir, str(path))


def analysis_result(path: str | Path, poses: list[PoseFrame], info: VideoInfo, model_path: Path, elapsed_s: float, *,
                    min_visibility: float = DEFAULT_MIN_VISIBILITY,
                    camera_profile: CameraProfile | str | Path | None = None, complete: bool = True) -> AnalysisResult:
    """The analysis of a recording's poses (in frame order): its angles, raw and smoothed over
    the whole recording. ``elapsed_s`` is the time detection took."""
    sequence = PoseSequence.from_frames(poses, info.width, info.height)
    return AnalysisResult(
        source=Path(path), model_path=model_path, poses=sequence,
        angles=AngleSeries.from_poses(sequence, min_visibility=min_visibility),
        processing_fps=len(poses) / elapsed_s if elapsed_s > 0 else 0.0, complete=complete,
        camera_profile=_profile_label(camera_profile), info=info,
    )


def interrupted_warning(frames: int) -> str:
    return f"interrupted after {frames} frames: results are partial"


def truncated_warning(frames_read: int, frame_count: int | None) -> str:
    return f"the video ended after {frames_read} of {frame_count} announced frames (truncated file?)"


def finish_analysis(result: AnalysisResult, target_dir: Path | None, shown_path: str) -> AnalysisResult:
    """Write an analysis's outputs to ``target_dir`` (if any), then raise
    :class:`AnalysisInterrupted` for an incomplete one, or NoPersonError (naming the recording
    as ``shown_path``, the user's spelling) when nobody was found."""
    if target_dir is not None:
        result.files = {**write_outputs(result, target_dir), **result.files}
    if not result.complete:
        raise AnalysisInterrupted(result)
    if result.frames_with_pose == 0:
        raise NoPersonError(f"{shown_path}: no person found in {result.frames} frame(s)")
    return result


def detect_range(path: str | Path, estimator: PoseEstimator, start_frame: int, stop_frame: int | None,
                 camera_profile: CameraProfile | str | Path | None = None,
                 stop: Callable[[], bool] | None = None) -> tuple[list[PoseFrame], bool, float]:
    """The poses of frames ``start_frame`` to ``stop_frame`` (excluded; None: the end) of a video,
    each with its index and time in the whole video, by an open VIDEO-mode estimator restarted
    first (fresh tracking): one segment of a long video (:mod:`hamflex.pipelines.segments`).
    Returns (poses, whether it was interrupted by ``stop()`` turning true, seconds taken)."""
    source = VideoSource(path, start_frame=start_frame, stop_frame=stop_frame)
    profile, _ = _prepare(source, camera_profile, None, False, False, None, estimator)
    started = time.perf_counter()
    with source:
        poses, interrupted, _ = _detect_all(source, estimator.restart(), profile, None, False, None, stop)
    return poses, interrupted, time.perf_counter() - started


def write_outputs(result: AnalysisResult, target_dir: Path) -> dict[str, Path]:
    """Write ``angles.csv``, ``landmarks.npz`` (every frame's landmarks: ``hamflex rescore``
    scores them again without the model) and ``summary.json`` for a result."""
    poses = result.poses
    return {
        "angles_csv": write_angles_csv(target_dir / ANGLES_CSV, result.angles, poses.frame_index),
        "landmarks_npz": write_landmarks_npz(
            target_dir / LANDMARKS_NPZ, frame_index=poses.frame_index, timestamp_ms=poses.timestamp_ms,
            detected=poses.detected, landmarks_px=poses.landmarks_px, world_landmarks_m=poses.world_landmarks_m,
            visibility=poses.visibility, presence=poses.presence, image_width=poses.image_width,
            image_height=poses.image_height),
        "summary_json": write_json(target_dir / SUMMARY_JSON, result.to_dict()),
    }
