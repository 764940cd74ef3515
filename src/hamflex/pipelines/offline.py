"""The offline pipeline: a recorded video or photo → poses → angles → tables and summary.

``analyze_video`` is the Python API behind ``hamflex analyze``. Whatever happens
(Ctrl-C, a video cut short), the frames measured so far are written before returning
or raising.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from hamflex.media.sources import PhotoSource, open_source
from hamflex.errors import NoPersonError
from hamflex.core.filters import OneEuroBank
from hamflex.core.geometry import hide_unseen, pose_angles_deg
from hamflex.media.models import resolve_model
from hamflex.outputs.files import write_json
from hamflex.outputs.overlay import OverlayVideoWriter, draw_angle_labels, draw_skeleton
from hamflex.outputs.summary import build_summary
from hamflex.outputs.tables import write_angles_csv
from hamflex.media.pose import PoseEstimator, PoseFrame
from hamflex.outputs.progress import frame_progress
from hamflex.core.landmarks import DEFAULT_MIN_VISIBILITY
from hamflex.core.series import AngleSeries, PoseSequence

if TYPE_CHECKING:
    from hamflex.camera.profile import CameraProfile


class AnalysisInterrupted(KeyboardInterrupt):
    """Ctrl-C during an analysis; ``result`` holds the frames measured before it (already
    written when an output directory was given), so callers can still score them."""

    def __init__(self, result: AnalysisResult) -> None:
        super().__init__()
        self.result = result


@dataclass
class AnalysisResult:
    """What ``analyze_video`` measured, and where it wrote it."""

    source: Path
    model_path: Path
    poses: PoseSequence
    angles: AngleSeries
    processing_fps: float
    complete: bool = True
    camera_profile: str | None = None  # the profile file used to undistort, if any
    warnings: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)

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
    def duration_s(self) -> float:
        if self.frames < 2:
            return 0.0
        interval_ms = float(np.median(np.diff(self.poses.timestamp_ms)))
        return float(self.poses.timestamp_ms[-1] - self.poses.timestamp_ms[0] + interval_ms) / 1000.0

    def summary(self) -> dict:
        return build_summary(self)


def _annotate(frame_rgb: np.ndarray, pose: PoseFrame, angles: dict[str, float], min_visibility: float) -> np.ndarray:
    image_bgr = cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR)
    draw_skeleton(image_bgr, pose.landmarks_px, pose.visibility, min_visibility)
    draw_angle_labels(image_bgr, pose.landmarks_px, angles)
    return image_bgr


def frame_angles_deg(pose: PoseFrame, min_visibility: float = DEFAULT_MIN_VISIBILITY) -> dict[str, float]:
    """Image-plane and world angles of one pose, poorly visible landmarks ignored (live use)."""
    points_px, world_m = hide_unseen(pose.visibility, min_visibility, pose.landmarks_px, pose.world_landmarks_m)
    return {name: float(value) for name, value in pose_angles_deg(points_px, world_m).items()}


def _profile_for(camera_profile: CameraProfile | str | Path | None, width: int, height: int) -> CameraProfile | None:
    """The camera profile fitted to ``width`` x ``height`` frames (imported lazily: optional)."""
    if camera_profile is None:
        return None
    from hamflex.camera.profile import load_profile

    return load_profile(camera_profile).for_image_size(width, height)


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
    ``KeyboardInterrupt`` carrying the partial result) is raised.
    """
    source = open_source(path)
    target_dir = Path(out_dir) / (output_name or Path(path).stem) if out_dir is not None else None
    try:  # everything that can fail before the work starts, so the source is never left open
        profile = _profile_for(camera_profile, source.width, source.height)
        model_path = resolve_model(model, offline=offline, progress=progress)
        if target_dir is not None:
            target_dir.mkdir(parents=True, exist_ok=True)  # an unwritable place fails now, not after the work
    except BaseException:
        source.close()
        raise
    photo = isinstance(source, PhotoSource)
    poses: list[PoseFrame] = []
    interrupted = stopped_early = False
    started = time.perf_counter()
    with source, PoseEstimator(model_path, image_mode=photo, num_poses=num_poses, verbose=verbose) as estimator:
        writer = None
        if overlay and target_dir is not None:
            overlay_path = target_dir / ("overlay.png" if photo else "overlay.mp4")
            writer = None if photo else OverlayVideoWriter(overlay_path, source.fps, source.width, source.height)
        live_smoother = OneEuroBank()
        try:
            total_frames = source.frame_count
            if max_duration_s is not None and total_frames and source.fps:
                total_frames = min(total_frames, int(max_duration_s * source.fps) + 1)
            with frame_progress(Path(path).name, total_frames, enabled=progress) as bar:
                for frame in source:
                    if max_duration_s is not None and poses and (
                        frame.timestamp_ms - poses[0].timestamp_ms >= max_duration_s * 1000
                    ):
                        stopped_early = True
                        break
                    pose = estimator.detect(frame)
                    if profile is not None:
                        pose = profile.undistort_pose(pose)
                    poses.append(pose)
                    if overlay and target_dir is not None:
                        angles = live_smoother(frame.timestamp_ms / 1000.0, frame_angles_deg(pose, min_visibility))
                        annotated = _annotate(frame.rgb, pose, angles, min_visibility)
                        if writer is not None:
                            writer.write(annotated)
                        else:
                            target_dir.mkdir(parents=True, exist_ok=True)
                            cv2.imwrite(str(overlay_path), annotated)
                    bar.advance()
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if writer is not None:
                writer.close()
    elapsed_s = time.perf_counter() - started
    sequence = PoseSequence.from_frames(poses, source.width, source.height)
    result = AnalysisResult(
        source=Path(path),
        model_path=model_path,
        poses=sequence,
        angles=AngleSeries.from_poses(sequence, min_visibility=min_visibility),
        processing_fps=len(poses) / elapsed_s if elapsed_s > 0 else 0.0,
        complete=not interrupted,
        camera_profile=str(camera_profile) if isinstance(camera_profile, (str, Path)) else (
            "given" if camera_profile is not None else None),
    )
    if interrupted:
        result.warnings.append(f"interrupted after {len(poses)} frames: results are partial")
    if source.truncated and not (interrupted or stopped_early):
        result.warnings.append(
            f"the video ended after {source.frames_read} of {source.frame_count} announced frames (truncated file?)"
        )
    if target_dir is not None:
        result.files = write_outputs(result, target_dir)
        if overlay:
            result.files["overlay"] = overlay_path
    if interrupted:
        raise AnalysisInterrupted(result)
    if result.frames_with_pose == 0:
        raise NoPersonError(f"{path}: no person found in {result.frames} frame(s)")
    return result


def write_outputs(result: AnalysisResult, target_dir: Path) -> dict[str, Path]:
    """Write ``angles.csv`` and ``summary.json`` for a result."""
    return {
        "angles_csv": write_angles_csv(target_dir / "angles.csv", result.angles, result.poses.frame_index),
        "summary_json": write_json(target_dir / "summary.json", result.summary()),
    }
