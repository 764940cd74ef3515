"""A rich progress bar on stderr for long work: frames done, frames per second, ETA."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class FramesPerSecondColumn(ProgressColumn):
    """Processing speed in frames per second."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:5.1f} fps" if task.speed else "  ... fps", style="cyan")


class FrameProgress:
    """Advance once per frame; does nothing when the bar is disabled."""

    def __init__(self, progress: Progress | None = None, task_id=None) -> None:
        self._progress = progress
        self._task_id = task_id

    def advance(self, frames: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task_id, frames)


ProgressCallback = Callable[[int, "int | None"], None]
"""Told (frames done, frames expected or None) after every frame: progress shown elsewhere (the web app)."""


class CallbackProgress(FrameProgress):
    """Frames done handed to a :data:`ProgressCallback` instead of a bar."""

    def __init__(self, callback: ProgressCallback, total_frames: int | None) -> None:
        super().__init__()
        self._callback, self._total, self._done = callback, total_frames, 0

    def advance(self, frames: int = 1) -> None:
        self._done += frames
        self._callback(self._done, self._total)


@contextlib.contextmanager
def frame_progress(description: str, total_frames: int | None,
                   enabled: bool | ProgressCallback = True) -> Iterator[FrameProgress]:
    """A progress bar for one video (``total_frames`` None for an unknown length); ``enabled`` a
    callable (``RunOptions.progress``) gets the frames done instead."""
    if callable(enabled):
        yield CallbackProgress(enabled, total_frames)
        return
    if not enabled:
        yield FrameProgress()
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        FramesPerSecondColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    with progress:
        yield FrameProgress(progress, progress.add_task(description, total=total_frames))


class BatchProgress:
    """The batch's one display: videos done of total, overall frames per second, ETA."""

    def __init__(self, progress: Progress | None = None, task_id=None) -> None:
        self._progress = progress
        self._task_id = task_id
        self._frames = 0
        self._started = time.perf_counter()

    def finished(self, frames: int) -> None:
        """One more input finished after analysing ``frames`` frames."""
        if self._progress is None:
            return
        self._frames += frames
        fps = self._frames / max(time.perf_counter() - self._started, 1e-9)
        self._progress.update(self._task_id, advance=1, fps=f"{fps:5.1f} fps")


@contextlib.contextmanager
def batch_progress(total: int, done: int, enabled: bool = True) -> Iterator[BatchProgress]:
    """A progress display for a batch of ``total`` inputs, ``done`` of them already complete."""
    if not enabled:
        yield BatchProgress()
        return
    progress = Progress(
        TextColumn("[bold]videos"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[cyan]{task.fields[fps]}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    with progress:
        yield BatchProgress(progress, progress.add_task("videos", total=total, completed=done, fps="  ... fps"))
