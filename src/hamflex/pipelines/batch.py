"""Batch analysis: many recordings (files, folders, globs) on every core, resumable.

``run_batch`` analyses each input into ``OUT/<its relative path>/`` (so same-named files in
different folders never collide), scores it with the batch's protocol, and records it in
``OUT/batch.json`` (atomically, after every input) and ``OUT/summary.csv`` (one row per
input). A rerun skips the inputs whose file (size, modification time), settings and outputs
are unchanged since they were complete; a bad input is recorded as failed and the others go
on. With ``jobs`` > 1 the inputs are queued to worker processes, each of which opens the pose
model once (:func:`worker_start`) and analyses input after input with it; with fewer inputs
than jobs, each long video is cut into time segments for those same workers and joined again
(:mod:`hamflex.pipelines.segments`). Every file is
written atomically, so a killed batch never leaves half a file that a rerun would trust.
"""

from __future__ import annotations

import csv
import glob
import json
import multiprocessing
import multiprocessing.util
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import cv2

from hamflex.errors import HamflexError, InputError, NothingToScoreError
from hamflex.media.pose import PoseEstimator
from hamflex.media.sources import PHOTO_SUFFIXES, is_photo
from hamflex.outputs.files import atomic_write, remove_stale_temporaries, write_json
from hamflex.outputs.names import BATCH_JSON, BATCH_SUMMARY_CSV
from hamflex.outputs.progress import batch_progress
from hamflex.pipelines.offline import AnalysisResult, analyze_video
from hamflex.pipelines.research import saved_analysis, summary_columns, summary_row, write_exports
from hamflex.pipelines.run import result_path, score_and_save
from hamflex.pipelines.segments import (
    MIN_SEGMENT_S, SegmentPoses, SplitInput, detect_segment, joined_analysis, joined_records, split_inputs,
)

BATCH_SCHEMA_VERSION = 1
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv"})
INPUT_SUFFIXES = VIDEO_SUFFIXES | PHOTO_SUFFIXES
"""What a folder's files are taken as inputs by (case-insensitive suffix)."""
DONE, FAILED, INTERRUPTED = "done", "failed", "interrupted"


@dataclass(frozen=True)
class BatchInput:
    """One recording or photo, and its output folder under OUT (its relative path, no suffix);
    ``given`` is its path as the user spelled it (printed), else ``path``."""

    path: Path
    name: str
    given: str | None = None

    @property
    def shown(self) -> str:
        return self.given if self.given is not None else str(self.path)


@dataclass(frozen=True)
class ProtocolSpec:
    """Which protocol scores every input, as plain options (picklable for the workers, kept in
    batch.json for ``hamflex rescore``): kind ``analyze`` (none), ``test90``, ``slr`` or ``hold``."""

    kind: str = "analyze"
    options: dict[str, Any] = field(default_factory=dict)

    def build(self):
        """A new protocol for one input, or None for ``analyze``."""
        from hamflex.pipelines.api import hold_protocol
        from hamflex.protocols.norms import load_norms
        from hamflex.protocols.slr import SlrProtocol
        from hamflex.protocols.test90 import Test90Protocol

        o = self.options
        if self.kind == "test90":
            return Test90Protocol.from_options(o.get("side"), o.get("trials"), o.get("sex"),
                                               o.get("hip_tolerance_deg"), load_norms(o.get("norms")))
        if self.kind == "slr":
            return SlrProtocol.from_options(o.get("side"), o.get("trials"), load_norms(o.get("norms")))
        if self.kind == "hold":
            return hold_protocol(o["stretch"], side=o.get("side"), hold_s=o.get("hold_s"), reps=o.get("reps"),
                                 catalog=o.get("catalog"))
        return None


@dataclass(frozen=True)
class BatchSettings:
    """Everything a worker needs besides the input; batch.json keeps it to tell whether a
    complete input was made with the same settings (else a rerun redoes it)."""

    model_path: str
    protocol: ProtocolSpec = ProtocolSpec()
    overlay: bool = False
    num_poses: int = 1
    camera_profile: str | None = None
    exports: tuple[str, ...] = ()
    height_m: float | None = None
    verbose: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("verbose")
        data["exports"] = list(self.exports)
        return data


@dataclass
class InputRecord:
    """One input's entry in batch.json (``to_dict``); ``row`` is its summary.csv row, ``segments``
    the number of parts it was analysed in side by side (1: whole)."""

    path: str
    size: int | None
    mtime_ns: int | None
    status: str
    error: str | None = None
    exit_code: int = 0
    outputs: list[str] = field(default_factory=list)
    row: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    frames: int = 0
    elapsed_s: float = 0.0
    segments: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputRecord:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


@dataclass
class BatchReport:
    """What ``run_batch`` did: every input's record (input order) and how many were skipped."""

    records: dict[str, InputRecord]
    skipped: int

    @property
    def exit_code(self) -> int:
        """0 when every input succeeded, else the first unsuccessful input's exit code."""
        return next((record.exit_code for record in self.records.values() if record.exit_code), 0)


# --------------------------------------------------------------------------- inputs


def _glob_base(pattern: str) -> Path:
    """The folder a glob's matches are named from: its leading parts without wildcards."""
    parts = Path(pattern).parts
    fixed = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts))
    return Path(*parts[:fixed]) if fixed else Path(".")


def _matches(argument: str) -> list[tuple[Path, Path]]:
    """The files an argument names, each with the folder its output name is relative to: a
    folder's videos and photos (recursive), a glob's matches, or the path itself (a missing
    file fails later, as that input's error)."""
    path = Path(argument)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES)
        if not found:
            raise InputError(f"{argument}: no videos or photos in this folder")
        return [(p, path) for p in found]
    if not path.exists() and glob.has_magic(argument):
        found = sorted(Path(p) for p in glob.glob(argument, recursive=True) if Path(p).is_file())
        if not found:
            raise InputError(f"{argument}: no file matches")
        return [(p, _glob_base(argument)) for p in found]
    return [(path, path.parent)]


def _clashing(names: list[str]) -> set[str]:
    return {name for name in names if names.count(name) > 1}


def expand_inputs(arguments: Sequence[str | Path]) -> list[BatchInput]:
    """Files, folders and globs → inputs, each named by its path relative to the folder or
    glob it was found in, without suffix (a file given: its stem). Where names clash, the
    clashing ones are named from the folder all inputs share (``a/1.jpg``, ``b/1.jpg`` →
    ``a/1``, ``b/1``), then the suffix kept (``1_jpg``, ``1_png``). A file named twice is one input."""
    found: dict[Path, Path] = {}
    given: dict[Path, str] = {}
    for argument in arguments:
        for path, base in _matches(str(argument)):
            found.setdefault(path.absolute(), base.absolute())
            given.setdefault(path.absolute(), str(argument) if path == Path(argument) else str(path))
    paths = list(found)
    if not paths:
        return []
    names = [p.relative_to(found[p]).with_suffix("").as_posix() for p in paths]
    shared = Path(os.path.commonpath([p.parent for p in paths]))
    clash = _clashing(names)
    names = [p.relative_to(shared).with_suffix("").as_posix() if n in clash else n for p, n in zip(paths, names)]
    clash = _clashing(names)
    names = [f"{n}_{p.suffix.lstrip('.')}" if n in clash else n for p, n in zip(paths, names)]
    return [BatchInput(p, name, given[p]) for p, name in zip(paths, names)]


# --------------------------------------------------------------------------- workers

_estimators: dict[bool, PoseEstimator] = {}  # this process's open estimators, by image mode
_settings: list[BatchSettings] = []
_stop_segments: list[Any] = []  # the driver's event: set on Ctrl-C, segments stop and send what they have


def worker_start(settings: BatchSettings, ignore_interrupt: bool = True, stop_segments: Any = None) -> None:
    """Prepare a worker process: the estimators open on first use and stay open for every
    input it takes. Ctrl-C is left to the driver, which stops the workers (``ignore_interrupt``
    False: the driver's own process, ``--jobs 1``, which keeps Ctrl-C and OpenCV's threads), or,
    for segments of a long video, sets ``stop_segments`` (a multiprocessing Event)."""
    if ignore_interrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        cv2.setNumThreads(1)  # one core per worker: OpenCV's own thread pool would fight the others
    _settings[:] = [settings]
    _stop_segments[:] = [stop_segments] if stop_segments is not None else []
    multiprocessing.util.Finalize(None, worker_stop, exitpriority=10)


def worker_join(settings: BatchSettings) -> None:
    """Make this (already running) process a worker for ``settings``, once: a Ray worker
    takes task after task, its estimators staying open while the settings stay the same."""
    if _settings != [settings]:
        worker_stop()
        worker_start(settings)


def worker_stop() -> None:
    """Close this process's estimators."""
    while _estimators:
        _estimators.popitem()[1].close()


def _estimator(photo: bool) -> PoseEstimator:
    if photo not in _estimators:
        settings = _settings[0]
        _estimators[photo] = PoseEstimator(settings.model_path, image_mode=photo, num_poses=settings.num_poses,
                                           verbose=settings.verbose).__enter__()
    return _estimators[photo]


Analyser = Callable[[BatchInput, BatchSettings, Path], AnalysisResult]


def _analysed(item: BatchInput, settings: BatchSettings, out_dir: Path) -> AnalysisResult:
    """One whole input analysed by this worker's estimator, its outputs written."""
    return analyze_video(item.path, out_dir, output_name=item.name, overlay=settings.overlay,
                         num_poses=settings.num_poses, camera_profile=settings.camera_profile,
                         estimator=_estimator(is_photo(item.path)))


def _analyse(item: BatchInput, settings: BatchSettings, out_dir: Path,
             analyser: Analyser) -> tuple[AnalysisResult, dict[str, Path], dict, NothingToScoreError | None]:
    """Analyse, export and score one input: (analysis, files written, summary row, the
    protocol's refusal when it found nothing to score: its result is saved and says why)."""
    target = out_dir / item.name
    analysis = analyser(item, settings, out_dir)
    files = {**analysis.files, **write_exports(analysis, target, settings.exports, settings.height_m)}
    return (analysis, files, *_scored(analysis, files, settings.protocol, target))


def _scored(analysis: AnalysisResult, files: dict[str, Path], spec: ProtocolSpec,
            target: Path) -> tuple[dict, NothingToScoreError | None]:
    """Score an analysis with the batch's protocol, if any: (summary row, refusal or None)."""
    protocol = spec.build()
    if protocol is None:
        return summary_row(analysis, None), None
    files["result"] = result_path(target, protocol)
    try:
        return summary_row(analysis, score_and_save(analysis, protocol, target)), None
    except NothingToScoreError as refusal:
        return summary_row(analysis, None), refusal


def process_input(item: BatchInput, settings: BatchSettings, out_dir: Path,
                  analyser: Analyser = _analysed) -> tuple[str, InputRecord]:
    """One input in a worker: (its name, its record). Its own errors become a failed record;
    a protocol that found nothing to score is complete (its result says why) but not a success.
    ``analyser`` makes its analysis (default: the whole input, here)."""
    stat = item.path.stat() if item.path.is_file() else None
    record = InputRecord(str(item.path), stat.st_size if stat else None, stat.st_mtime_ns if stat else None, FAILED)
    started = time.perf_counter()
    try:
        analysis, files, record.row, refusal = _analyse(item, settings, out_dir, analyser)
        record.status, record.frames, record.warnings = DONE, analysis.frames, list(analysis.warnings)
        if refusal is not None:
            record.error, record.exit_code = str(refusal), refusal.exit_code
    except HamflexError as error:
        record.error, record.exit_code, files = str(error), error.exit_code, None
    except Exception as error:  # a bug, or a file the pipeline cannot read: this input only
        record.error, record.exit_code = f"internal error: {type(error).__name__}: {error}", 1
        files = None
    record.outputs = sorted(Path(p).relative_to(out_dir).as_posix() for p in (files or {}).values())
    record.elapsed_s = round(time.perf_counter() - started, 3)
    return item.name, record


def _worker_context() -> multiprocessing.context.BaseContext:
    """Workers forked from a server process that imported the pipeline and MediaPipe once
    (quick to start, and the driver's threads are never forked); spawned where there is none."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, "mediapipe.tasks.python.vision"])
    return context


def _run_task(task: tuple[BatchInput, Any], settings: BatchSettings,
              out_dir: Path) -> tuple[str, InputRecord | SegmentPoses]:
    """One task in a worker: a whole input (segment None) → its record, or one segment of a
    long video → its poses (joined by the driver)."""
    item, segment = task
    if segment is None:
        return process_input(item, settings, out_dir)
    stop = _stop_segments[0].is_set if _stop_segments else None
    return item.name, detect_segment(item.path, segment, _estimator(False), settings.camera_profile, stop)


def _joined_input(split: SplitInput, parts: list[SegmentPoses], settings: BatchSettings,
                  out_dir: Path) -> tuple[str, InputRecord]:
    """A split input's record, in the driver: its segments joined, then exported and scored
    as any input (the time its segments took added to the record's)."""
    def analyser(item: BatchInput, settings: BatchSettings, out_dir: Path) -> AnalysisResult:
        return joined_analysis(split, parts, Path(settings.model_path), settings.camera_profile, out_dir / item.name)

    name, record = process_input(split.item, settings, out_dir, analyser)
    record.elapsed_s = round(record.elapsed_s + max(part.elapsed_s for part in parts), 3)
    record.segments = len(parts)
    return name, record


def local_records(todo: list[BatchInput], settings: BatchSettings, out_dir: Path, jobs: int,
                  min_segment_s: float = MIN_SEGMENT_S) -> Iterator[tuple[str, InputRecord]]:
    """The records as inputs finish: in this process (one job), or from a pool of ``jobs``
    worker processes taking tasks from a queue: whole inputs, or, when there are fewer inputs
    than jobs, the segments of each video of at least ``min_segment_s`` a part
    (:mod:`hamflex.pipelines.segments`)."""
    split = split_inputs(todo, jobs, settings.overlay, min_segment_s) if jobs > 1 else {}
    if jobs <= 1 or (len(todo) <= 1 and not split):
        worker_start(settings, ignore_interrupt=False)
        try:
            yield from map(partial(process_input, settings=settings, out_dir=out_dir), todo)
        finally:
            worker_stop()
        return
    tasks = [(item, segment) for item in todo
             for segment in (split[item.name].segments if item.name in split else (None,))]
    context = _worker_context()
    stop = context.Event()
    with context.Pool(min(jobs, len(tasks)), initializer=worker_start, initargs=(settings, True, stop)) as pool:
        results = pool.imap_unordered(partial(_run_task, settings=settings, out_dir=out_dir), tasks)
        yield from joined_records(results, split, partial(_joined_input, settings=settings, out_dir=out_dir), stop.set)


# --------------------------------------------------------------------------- state


def load_state(out_dir: Path) -> dict[str, Any]:
    """batch.json as a dict (an empty batch when there is none yet)."""
    path = Path(out_dir) / BATCH_JSON
    if not path.is_file():
        return {"schema_version": BATCH_SCHEMA_VERSION, "settings": None, "inputs": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def _complete(item: BatchInput, entry: dict | None, same_settings: bool, out_dir: Path) -> bool:
    """Whether an input's earlier record can be trusted: complete, same file, same settings,
    and every output it lists still there."""
    if not entry or entry.get("status") != DONE or not same_settings or not item.path.is_file():
        return False
    stat = item.path.stat()
    return (entry.get("size"), entry.get("mtime_ns")) == (stat.st_size, stat.st_mtime_ns) and all(
        (out_dir / output).is_file() for output in entry.get("outputs", []))


def _save_state(out_dir: Path, state: dict[str, Any], inputs: list[BatchInput]) -> None:
    """batch.json and summary.csv (this run's inputs, in order), both atomically."""
    write_json(out_dir / BATCH_JSON, state)
    records = [(item.name, state["inputs"].get(item.name)) for item in inputs]
    rows = [{"path": entry["path"], "output": name, "status": entry["status"], "error": entry["error"],
             **entry["row"]} for name, entry in records if entry is not None]
    columns = summary_columns(state["settings"]["protocol"]["kind"])
    with atomic_write(out_dir / BATCH_SUMMARY_CSV, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


RecordSource = Callable[[list[BatchInput], BatchSettings, Path, int], Iterator[tuple[str, InputRecord]]]


def run_batch(inputs: list[BatchInput], out_dir: str | Path, settings: BatchSettings, *, jobs: int = 1,
              force: bool = False, progress: bool = False,
              on_record: Callable[[BatchInput, InputRecord], None] | None = None,
              records: RecordSource = local_records) -> BatchReport:
    """Analyse every input not complete yet (all with ``force``) into ``out_dir``; returns the
    report. ``on_record`` is called as each input finishes; ``records`` runs the inputs (the
    local pool, or Ray's tasks). On Ctrl-C what finished is recorded, then it is raised."""
    settings.protocol.build()  # an unknown stretch or a bad option fails once, before any input
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out_dir)  # half-written files of a killed run, never trusted
    state = load_state(out_dir)
    same = state.get("settings") == settings.to_dict()
    state["settings"] = settings.to_dict()
    todo = [item for item in inputs if force or not _complete(item, state["inputs"].get(item.name), same, out_dir)]
    for item in todo:  # about to be rewritten: no longer trusted, even if this run is killed
        state["inputs"].pop(item.name, None)
    _save_state(out_dir, state, inputs)
    by_name = {item.name: item for item in inputs}
    try:
        with batch_progress(len(inputs), len(inputs) - len(todo), enabled=progress) as bar:
            for name, record in records(todo, settings, out_dir, jobs):
                state["inputs"][name] = record.to_dict()
                _save_state(out_dir, state, inputs)
                bar.finished(record.frames)
                if on_record is not None:
                    on_record(by_name[name], record)
    finally:
        _save_state(out_dir, state, inputs)
    return BatchReport({item.name: InputRecord.from_dict(state["inputs"][item.name]) for item in inputs
                        if item.name in state["inputs"]}, len(inputs) - len(todo))


def default_jobs() -> int:
    """The default number of worker processes: every core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def rescore_batch(out_dir: str | Path, **overrides: Any) -> BatchReport:
    """Score a finished batch again from its saved landmarks, without the pose model, with its
    protocol's options changed by ``overrides`` (None = unchanged, e.g. ``hip_tolerance_deg``);
    rewrites each input's result, batch.json and summary.csv."""
    out_dir = Path(out_dir)
    state = load_state(out_dir)
    if not state.get("settings"):
        raise InputError(f"{out_dir}: no {BATCH_JSON} here (not the output folder of a batch)")
    spec = ProtocolSpec(**state["settings"]["protocol"])
    if spec.kind != "test90" and any(v is not None for v in overrides.values()):
        raise InputError(f"{out_dir}: a {spec.kind} batch has no 90-90 options to change")
    spec = ProtocolSpec(spec.kind, {**spec.options, **{k: v for k, v in overrides.items() if v is not None}})
    spec.build()  # options that do not fit the protocol fail before anything is rewritten
    state["settings"]["protocol"] = asdict(spec)
    inputs = [BatchInput(Path(entry["path"]), name) for name, entry in state["inputs"].items()]
    for item in inputs:
        entry = state["inputs"][item.name]
        if entry["status"] == DONE:
            analysis = saved_analysis(out_dir / item.name)
            files = {output: out_dir / output for output in entry["outputs"]}
            entry["row"], refusal = _scored(analysis, files, spec, out_dir / item.name)
            entry["error"], entry["exit_code"] = (str(refusal), refusal.exit_code) if refusal else (None, 0)
    _save_state(out_dir, state, inputs)
    return BatchReport({item.name: InputRecord.from_dict(state["inputs"][item.name]) for item in inputs}, 0)
