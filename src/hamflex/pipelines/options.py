"""The options every run shares, as two dataclasses: how frames become poses, and how a
live session behaves. The CLI builds them from its flags; the Python API takes them as they are."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunOptions:
    """Model and camera for any run (recording, photo or camera); ``progress`` shows a bar (or
    reports frames to a callable)."""

    model: str | Path | None = None  # a .task file or lite/full/heavy; None: $HAMFLEX_MODEL, cache, download
    offline: bool = False  # never download a model
    camera_profile: Any = None  # a CameraProfile or the path of one (hamflex calibrate)
    progress: Any = False  # True: a bar on stderr; or a callable told (frames done, expected) (outputs.progress)
    verbose: bool = False  # MediaPipe's own log lines
    max_duration_s: float | None = None  # a recording: read only its first seconds


@dataclass(frozen=True)
class LiveOptions:
    """A live session (``--camera``): see docs/live.md."""

    realtime: bool = False  # a video file played at its own pace, dropping frames like a webcam
    display: bool = True  # the overlay window
    audio: bool = True  # sound cues
    voice: bool = False  # spoken cues (espeak-ng)
    mirror: bool = False  # selfie view
    record: Path | None = None  # save raw video, landmarks and angles here
    view: Callable[[Any, Any, list[str]], None] | None = None  # (frame, overlay BGR, guidance) each frame: the web app
