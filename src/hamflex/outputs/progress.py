"""A rich progress bar on stderr for long work: frames done, frames per second, ETA."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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


@contextlib.contextmanager
def frame_progress(description: str, total_frames: int | None, enabled: bool = True) -> Iterator[FrameProgress]:
    """A progress bar for one video (``total_frames`` None for an unknown length)."""
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
