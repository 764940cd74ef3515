"""Frame sources: recorded videos and still photos, yielding RGB frames with timestamps.

A source is an iterable of :class:`Frame` and a context manager. Video decoding runs on its
own thread with a small bounded queue, so it overlaps with pose inference and memory does
not grow with the length of the video.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hamflex.media.native_log import native_stderr_silenced
from hamflex.errors import InputError

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".3gp"})
"""Recording types hamflex is known to read (OpenCV/FFmpeg may read more; the web app accepts these)."""


@dataclass(frozen=True)
class VideoInfo:
    """What every frame source tells about its pictures: size, rate and length (None = unknown)."""

    width: int
    height: int
    fps: float
    frame_count: int | None
    description: str
    photo: bool = False

    @property
    def duration_s(self) -> float | None:
        """Length from the announced frame count and rate, when both are known."""
        return self.frame_count / self.fps if self.frame_count and self.fps > 0 else None


@dataclass(frozen=True)
class Frame:
    """One decoded frame: RGB pixels and the container's presentation time."""

    frame_index: int
    timestamp_ms: int
    rgb: np.ndarray

    def __post_init__(self) -> None:
        if self.rgb.ndim != 3 or self.rgb.shape[2] != 3:
            raise ValueError(f"rgb must be (H, W, 3), got {self.rgb.shape}")

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


@contextlib.contextmanager
def quiet_opencv() -> Iterator[None]:
    """Hide OpenCV's and FFmpeg's own log lines (e.g. "moov atom not found" for a broken file)
    while opening media: the user gets hamflex's one clear line instead."""
    previous_level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        with native_stderr_silenced():
            yield
    finally:
        cv2.utils.logging.setLogLevel(previous_level)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a video or photo")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")


def is_photo(path: Path) -> bool:
    return Path(path).suffix.lower() in PHOTO_SUFFIXES


class TimestampClock:
    """Turns container times into strictly increasing integer milliseconds.

    MediaPipe's VIDEO mode rejects a repeated or decreasing timestamp; containers with
    rounding or missing times can produce one, so such a frame gets previous + 1 ms.
    """

    def __init__(self, fallback_fps: float) -> None:
        self._fallback_interval_ms = 1000.0 / fallback_fps if fallback_fps > 0 else 1000.0 / 30
        self._previous_ms: int | None = None

    def __call__(self, frame_index: int, container_ms: float) -> int:
        if frame_index > 0 and container_ms <= 0:  # backend has no timestamps
            container_ms = frame_index * self._fallback_interval_ms
        timestamp_ms = int(round(container_ms))
        if self._previous_ms is not None and timestamp_ms <= self._previous_ms:
            timestamp_ms = self._previous_ms + 1
        self._previous_ms = timestamp_ms
        return timestamp_ms


_END = object()


def _seek(capture: cv2.VideoCapture, frame_index: int) -> None:
    """Put the capture just before ``frame_index``. OpenCV's FFmpeg backend seeks to the key
    frame before it and decodes forward (frame-exact, same pixels and times as reading through,
    on every shared mp4 measured); when it reports another position, frames are decoded from
    the start and discarded instead."""
    capture.set(cv2.CAP_PROP_POS_FRAMES, frame_index)
    if int(capture.get(cv2.CAP_PROP_POS_FRAMES)) == frame_index:
        return
    capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
    for _ in range(frame_index):
        if not capture.grab():
            return


class VideoSource:
    """A recorded video file, decoded on a background thread.

    Rotation metadata (phone videos in portrait) is applied by OpenCV's FFmpeg backend;
    timestamps come from the container, not from an assumed frame rate. ``start_frame`` and
    ``stop_frame`` read only that part (one segment of a long video), each frame keeping its
    index and time in the whole video.
    """

    def __init__(self, path: str | Path, prefetch_frames: int = 4, start_frame: int = 0,
                 stop_frame: int | None = None) -> None:
        self.path = Path(path)
        _check_file(self.path)
        self.start_frame, self.stop_frame = start_frame, stop_frame
        with quiet_opencv():
            # One decoding thread: it runs beside inference on its own thread, and FFmpeg's
            # default of one thread per core slows the model more than it speeds decoding.
            capture = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
            if not capture.isOpened():
                capture = cv2.VideoCapture(str(self.path))
            if capture.isOpened():
                capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
                if start_frame:
                    _seek(capture, start_frame)
                ok, first_bgr = capture.read()
        if not capture.isOpened():
            raise InputError(f"{self.path}: not a readable video (corrupt, or an unsupported format)")
        if not ok or first_bgr is None:
            capture.release()
            raise InputError(f"{self.path}: contains no decodable frames (corrupt or truncated video)")
        self._capture = capture
        self._first_bgr = first_bgr
        self._first_ms = capture.get(cv2.CAP_PROP_POS_MSEC)
        self.fps = float(capture.get(cv2.CAP_PROP_FPS)) or 0.0
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count: int | None = count if count > 0 else None
        self.height, self.width = first_bgr.shape[:2]
        self.frames_read = 0
        self._queue: queue.Queue = queue.Queue(maxsize=prefetch_frames)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _decode(self) -> None:
        clock = TimestampClock(self.fps)
        bgr, container_ms, index = self._first_bgr, self._first_ms, self.start_frame
        self._first_bgr = None
        stop = self.stop_frame if self.stop_frame is not None else float("inf")
        try:
            while bgr is not None and index < stop and not self._stop.is_set():
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                self._put(Frame(index, clock(index, container_ms), rgb))
                ok, bgr = self._capture.read()
                bgr = bgr if ok else None
                container_ms = self._capture.get(cv2.CAP_PROP_POS_MSEC)
                index += 1
        except Exception as error:  # surfaced in the consumer's thread
            self._put(error)
        finally:
            self._put(_END)

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[Frame]:
        if self._thread is not None:
            raise RuntimeError("a VideoSource can be iterated once")
        self._thread = threading.Thread(target=self._decode, name="hamflex-decode", daemon=True)
        self._thread.start()
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, Exception):
                raise InputError(f"{self.path}: decoding failed: {item}") from item
            self.frames_read += 1
            yield item

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._capture.release()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def info(self) -> VideoInfo:
        return VideoInfo(self.width, self.height, self.fps, self.frame_count, str(self.path))

    @property
    def truncated(self) -> bool:
        """True when fewer frames decoded than the container announced (a cut-off file)."""
        if self.frame_count is None:
            return False
        end = min(self.frame_count, self.stop_frame) if self.stop_frame is not None else self.frame_count
        return self.frames_read < end - self.start_frame - 1


class PhotoSource:
    """A still photo as a one-frame source (EXIF orientation applied)."""

    fps = 0.0
    frame_count = 1
    truncated = False

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        _check_file(self.path)
        with quiet_opencv():
            bgr = cv2.imread(str(self.path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise InputError(f"{self.path}: not a readable image (corrupt, or an unsupported format)")
        self._rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        self.height, self.width = self._rgb.shape[:2]
        self.frames_read = 0

    @property
    def info(self) -> VideoInfo:
        return VideoInfo(self.width, self.height, 0.0, 1, str(self.path), photo=True)

    def __iter__(self) -> Iterator[Frame]:
        self.frames_read = 1
        yield Frame(0, 0, self._rgb)

    def close(self) -> None:
        pass

    def __enter__(self) -> PhotoSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_source(path: str | Path) -> VideoSource | PhotoSource:
    """A photo source for image files (by suffix), a video source for everything else."""
    return PhotoSource(path) if is_photo(Path(path)) else VideoSource(path)
