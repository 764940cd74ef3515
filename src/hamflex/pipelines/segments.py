"""One long video on every core: cut into time segments analysed side by side, then joined.

A batch with fewer inputs than workers (``hamflex analyze LONG.mp4 --jobs 2``) gives each
long enough video ``jobs // inputs`` parts (:func:`plan_segments`). A worker analyses its part
with its own freshly restarted landmarker, starting ``WARMUP_S`` before the part's first frame:
those warm-up frames settle MediaPipe's tracking and are then discarded. The parts' poses,
each with its frame index and time in the whole video, are joined in frame order into one
recording BEFORE the angles are computed, gap-filled, smoothed and scored, so everything after
detection is exactly what a single process does. Not split: photos, videos shorter than
``parts × MIN_SEGMENT_S``, videos of unknown length, and ``--overlay`` runs (the overlay video
is written while detecting).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hamflex.errors import HamflexError
from hamflex.media.pose import PoseEstimator, PoseFrame
from hamflex.media.sources import VideoInfo, VideoSource, is_photo
from hamflex.pipelines.offline import (
    AnalysisResult, analysis_result, detect_range, finish_analysis, interrupted_warning, truncated_warning,
)

MIN_SEGMENT_S = 10.0
"""The shortest part worth a worker of its own: a video is cut in N parts only when it lasts at
least N × this long (each part costs a landmarker start, a seek and its warm-up, ~1 s)."""
WARMUP_S = 1.0
"""Analysed before each part but the first, then discarded: a new landmarker runs its person
detector on the first frames and its landmark smoothing needs a few more to settle."""


@dataclass(frozen=True)
class Segment:
    """Frames ``warmup_start`` ≤ i < ``stop`` are analysed, ``start`` ≤ i < ``stop`` kept
    (``stop`` None: to the end of the video)."""

    warmup_start: int
    start: int
    stop: int | None


@dataclass(frozen=True)
class SplitInput:
    """One input cut into segments, with what the driver needs to join them."""

    item: Any  # the batch's BatchInput
    info: VideoInfo
    segments: tuple[Segment, ...]


@dataclass
class SegmentPoses:
    """What a worker sends back for one segment: the kept frames' poses, the seconds detection
    took, whether it was analysed to its end (not stopped by Ctrl-C), or the error that stopped it."""

    segment: Segment
    poses: list[PoseFrame] = field(default_factory=list)
    elapsed_s: float = 0.0
    error: BaseException | None = None
    complete: bool = True


def plan_segments(frame_count: int | None, fps: float, parts: int, min_segment_s: float = MIN_SEGMENT_S,
                  warmup_s: float = WARMUP_S) -> tuple[Segment, ...]:
    """Up to ``parts`` segments of a video of ``frame_count`` frames at ``fps``, each at least
    ``min_segment_s`` long, with ``warmup_s`` of warm-up before all but the first; each
    analyses the same number of frames (warm-up included), so the workers finish together. An
    empty tuple when the video is not worth splitting (too short, or its length unknown)."""
    if not frame_count or fps <= 0:
        return ()
    parts = min(parts, int(frame_count / (fps * min_segment_s)))
    if parts < 2:
        return ()
    warmup = int(round(warmup_s * fps))
    analysed = (frame_count + (parts - 1) * warmup) / parts
    starts = [0, *(int(round(analysed + k * (analysed - warmup))) for k in range(parts - 1))]
    stops: list[int | None] = [*starts[1:], None]  # the last reads to the end, whatever the header said
    return tuple(Segment(max(0, start - warmup), start, stop) for start, stop in zip(starts, stops))


def _video_info(path: Path) -> VideoInfo | None:
    """A video's size, rate and announced length; None for a file that cannot be opened (it
    fails later as that input's error, exactly as unsplit)."""
    try:
        with VideoSource(path) as source:
            return source.info
    except HamflexError:
        return None


def split_inputs(todo: Sequence, jobs: int, overlay: bool = False,
                 min_segment_s: float = MIN_SEGMENT_S) -> dict[str, SplitInput]:
    """The inputs to cut, by name: only when there are fewer inputs than ``jobs`` (otherwise
    whole inputs already keep every worker busy), each video in ``jobs // len(todo)`` parts."""
    if overlay or not todo or len(todo) >= jobs:
        return {}
    split = {}
    for item in todo:
        info = None if is_photo(item.path) else _video_info(item.path)
        segments = plan_segments(info.frame_count, info.fps, jobs // len(todo), min_segment_s) if info else ()
        if segments:
            split[item.name] = SplitInput(item, info, segments)
    return split


def detect_segment(path: Path, segment: Segment, estimator: PoseEstimator, camera_profile: str | None = None,
                   stop: Callable[[], bool] | None = None) -> SegmentPoses:
    """One segment in a worker: its frames' poses, warm-up frames dropped, up to where ``stop()``
    turned true if it did (errors returned, so the driver fails that input only)."""
    try:
        poses, interrupted, elapsed_s = detect_range(path, estimator, segment.warmup_start, segment.stop,
                                                     camera_profile, stop)
    except Exception as error:
        return SegmentPoses(segment, error=error)
    kept = [pose for pose in poses if pose.frame_index >= segment.start]
    return SegmentPoses(segment, kept, elapsed_s, complete=not interrupted)


def _measured(parts: list[SegmentPoses]) -> tuple[list[PoseFrame], bool]:
    """The parts' poses in frame order, and whether every part was analysed to its end; after
    Ctrl-C, the frames up to the first part that was stopped (no hole in the recording)."""
    poses = []
    for part in sorted(parts, key=lambda part: part.segment.start):
        if part.error is not None:
            raise part.error
        poses.extend(part.poses)
        if not part.complete:
            return poses, False
    return poses, True


def joined_analysis(split: SplitInput, parts: list[SegmentPoses], model_path: Path,
                    camera_profile: str | None, target_dir: Path | None) -> AnalysisResult:
    """The segments' poses as one recording, analysed as a single process would from there on
    (angles, smoothing, outputs in ``target_dir``, AnalysisInterrupted after writing a partial
    one); a segment's error is raised."""
    poses, complete = _measured(parts)
    elapsed_s = max(part.elapsed_s for part in parts)  # the parts ran side by side
    result = analysis_result(split.item.path, poses, split.info, model_path, elapsed_s,
                             camera_profile=camera_profile, complete=complete)
    count = split.info.frame_count
    if not complete:
        result.warnings.append(interrupted_warning(len(poses)))
    elif count is not None and len(poses) < count - 1:
        result.warnings.append(truncated_warning(len(poses), count))
    return finish_analysis(result, target_dir, str(split.item.path))


Finish = Callable[[SplitInput, list[SegmentPoses]], tuple[str, Any]]


def joined_records(results: Iterator[tuple[str, Any]], split: dict[str, SplitInput], finish: Finish,
                   interrupt: Callable[[], None] = lambda: None) -> Iterator[tuple[str, Any]]:
    """The workers' results (``(name, record)`` for a whole input, ``(name, SegmentPoses)`` for a
    segment) as whole inputs' records: a split input's record once its last segment is back.
    On Ctrl-C, ``interrupt()`` tells the workers to stop their segments; what they measured
    is joined and written (each split input raising AnalysisInterrupted), then Ctrl-C is raised."""
    pending: dict[str, list[SegmentPoses]] = defaultdict(list)
    unfinished = dict(split)
    try:
        for name, outcome in results:
            if name not in split:
                yield name, outcome
                continue
            pending[name].append(outcome)
            if len(pending[name]) == len(split[name].segments):
                yield finish(unfinished.pop(name), pending.pop(name))
    except KeyboardInterrupt:
        interrupt()
        yield from _stopped(results, unfinished, pending, finish)
        raise


def _stopped(results: Iterator[tuple[str, Any]], unfinished: dict[str, SplitInput],
             pending: dict[str, list[SegmentPoses]], finish: Finish) -> Iterator[tuple[str, Any]]:
    """After Ctrl-C: the split inputs under way, each joined from what its workers send back."""
    for name, outcome in results:
        if name not in unfinished:
            yield name, outcome  # a whole input that finished meanwhile
            continue
        pending[name].append(outcome)
        if len(pending[name]) == len(unfinished[name].segments):
            try:
                yield finish(unfinished.pop(name), pending.pop(name))
            except KeyboardInterrupt:  # its partial analysis, written
                pass
        if not unfinished:
            return
