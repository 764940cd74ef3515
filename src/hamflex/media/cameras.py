"""Live frame sources: a webcam (device index), a stream URL, or a video file played as a camera.

:class:`LiveSource` reads on its own thread and keeps only the newest frame, so a slow
consumer drops frames instead of building a backlog; timestamps are monotonic, as MediaPipe's
VIDEO mode needs; a camera that stops delivering is reported as lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hamflex.errors import CameraError
from hamflex.media.sources import Frame, TimestampClock, VideoInfo, quiet_opencv

LIVE_OPEN_TIMEOUT_S = 5.0
LIVE_LOST_AFTER_S = 2.0  # a camera that delivers nothing for this long is lost


@dataclass(frozen=True)
class LiveFrame(Frame):
    """A live frame: ``timestamp_ms`` is monotonic time since the source started (strictly
    increasing, as MediaPipe's VIDEO mode needs); ``captured_s`` the ``time.monotonic()`` of
    capture, for latency; ``bgr`` the same pixels in OpenCV's order, for drawing and recording."""

    captured_s: float = 0.0
    bgr: np.ndarray | None = None


def _is_url(camera: str) -> bool:
    return "://" in camera


def _camera_backends() -> list[tuple[str, int]]:
    """OpenCV capture backends to try for a device index, most specific first."""
    import sys

    if sys.platform.startswith("linux"):
        platform = [("V4L2", cv2.CAP_V4L2)]
    elif sys.platform == "darwin":
        platform = [("AVFoundation", cv2.CAP_AVFOUNDATION)]
    elif sys.platform == "win32":
        platform = [("MSMF", cv2.CAP_MSMF), ("DirectShow", cv2.CAP_DSHOW)]
    else:
        platform = []
    return [*platform, ("any backend", cv2.CAP_ANY)]


def _video_devices() -> list[str]:
    """Camera device files present (Linux), to say what exists when opening fails."""
    return sorted(str(p) for p in Path("/dev").glob("video*"))


def _open_capture(camera: str) -> tuple[cv2.VideoCapture, str]:
    """Open ``camera`` quietly: OpenCV's own warnings about failed backends would bury our one line."""
    with quiet_opencv():
        return _try_open_capture(camera)


def _try_open_capture(camera: str) -> tuple[cv2.VideoCapture, str]:
    """Open ``camera`` (device index, URL or file); CameraError lists every attempt on failure."""

    tried: list[str] = []
    if camera.strip().isdigit():
        index = int(camera)
        for name, backend in _camera_backends():
            capture = cv2.VideoCapture(index, backend)
            if capture.isOpened():
                capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # keep the driver's queue short
                return capture, f"camera {index} ({name})"
            capture.release()
            tried.append(f"device {index} with {name}")
        devices = _video_devices()
        found = f"video devices present: {', '.join(devices)}" if devices else "no /dev/video* device found"
        raise CameraError(f"camera {index} could not be opened (tried {', '.join(tried)}; {found})")
    if _is_url(camera):
        timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(LIVE_OPEN_TIMEOUT_S * 1000),
                    cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(LIVE_LOST_AFTER_S * 1000)]
        for name, backend in (("FFmpeg", cv2.CAP_FFMPEG), ("any backend", cv2.CAP_ANY)):
            capture = cv2.VideoCapture(camera, backend, timeouts)
            if capture.isOpened():
                return capture, f"stream {camera} ({name})"
            capture.release()
            tried.append(f"{name}")
        raise CameraError(f"stream {camera} could not be opened (tried {', '.join(tried)}; check the address and network)")
    path = Path(camera)
    if not path.is_file():
        raise CameraError(
            f"camera {camera!r} could not be opened: not a device index (0, 1, ...), not a URL "
            "(rtsp://, http://), and no such video file"
        )
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise CameraError(f"{path}: could not be opened as a video (corrupt, or an unsupported format)")
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return capture, f"video file {path}"


class LiveSource:
    """A camera, IP stream, or video file played in real time, captured on a background thread.

    Only the newest frame is kept: when processing is slower than the camera, older frames
    are dropped (counted in ``frames_dropped``), so latency stays near one frame and no
    backlog builds up. A video file with ``realtime`` is paced by its own timestamps, exactly
    like a webcam; without it every frame is delivered (no drops), as fast as consumed, and
    time-stamped with the file's own times (as offline analysis does).

    ``end_reason`` after iteration: ``"ended"`` (a file reached its end) or ``"lost"`` (the
    camera stopped delivering). ``fail_after_frames`` simulates a camera unplugged after that
    many frames (for tests and demonstrations of the fault handling).
    """

    def __init__(self, camera: str, *, realtime: bool = False, fail_after_frames: int | None = None,
                 lost_after_s: float = LIVE_LOST_AFTER_S, open_timeout_s: float = LIVE_OPEN_TIMEOUT_S) -> None:
        self.camera = str(camera)
        self.is_file = not (self.camera.strip().isdigit() or _is_url(self.camera))
        self.realtime = realtime or not self.is_file
        self._capture, self.description = _open_capture(self.camera)
        self.fps = max(float(self._capture.get(cv2.CAP_PROP_FPS)), 0.0)  # 0 = unknown (some webcams say -1)
        self._fail_after_frames = fail_after_frames
        self._lost_after_s = lost_after_s
        self._open_timeout_s = open_timeout_s
        self._condition = threading.Condition()
        self._newest: tuple[int, float, float, np.ndarray] | None = None  # index, monotonic s, file ms, BGR
        self._file_clock = TimestampClock(self.fps)
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.end_reason: str | None = None
        self.frames_captured = 0
        self.frames_delivered = 0
        self.started_s = 0.0
        self._previous_ms = -1
        self.width = self.height = 0

    # -- capture thread --
    def _publish(self, bgr: np.ndarray, file_ms: float) -> None:
        with self._condition:
            if self._newest is not None and not self.realtime:
                while self._newest is not None and not self._stopped.is_set():  # lossless file playback
                    self._condition.wait(0.1)
            self._newest = (self.frames_captured, time.monotonic(), file_ms, bgr)
            self.frames_captured += 1
            self._condition.notify_all()

    def _finish(self, reason: str) -> None:
        with self._condition:
            self.end_reason = self.end_reason or reason
            self._condition.notify_all()

    def _read_loop(self) -> None:
        start_ms: float | None = None
        last_good_s = time.monotonic()
        try:
            while not self._stopped.is_set():
                if self._fail_after_frames is not None and self.frames_captured >= self._fail_after_frames:
                    self._finish("lost")
                    return
                ok, bgr = self._capture.read()
                if not ok or bgr is None:
                    if self.is_file:
                        self._finish("ended")
                        return
                    if time.monotonic() - last_good_s > self._lost_after_s:
                        self._finish("lost")
                        return
                    time.sleep(0.01)
                    continue
                last_good_s = time.monotonic()
                position_ms = self._capture.get(cv2.CAP_PROP_POS_MSEC) if self.is_file else 0.0
                if self.is_file and self.realtime:  # play at the file's own pace
                    start_ms = position_ms if start_ms is None else start_ms
                    delay_s = self.started_s + (position_ms - start_ms) / 1000.0 - time.monotonic()
                    if delay_s > 0 and self._stopped.wait(delay_s):
                        return
                self._publish(bgr, position_ms)
        except Exception:  # a backend failing mid-stream is a lost camera
            self._finish("lost")

    # -- consumer side --
    def start(self) -> LiveSource:
        """Start capturing; CameraError if no first frame arrives within the open timeout."""

        if self._thread is None:
            self.started_s = time.monotonic()
            self._thread = threading.Thread(target=self._read_loop, name="hamflex-capture", daemon=True)
            self._thread.start()
            with self._condition:
                self._condition.wait_for(lambda: self._newest is not None or self.end_reason is not None,
                                         timeout=self._open_timeout_s)
                first = self._newest
            if first is None:
                self.close()
                raise CameraError(f"{self.description} opened but delivered no frame within {self._open_timeout_s:.0f} s")
            self.height, self.width = first[3].shape[:2]
        return self

    def next_frame(self) -> LiveFrame | None:
        """The newest frame not yet delivered (waiting for one), or None when the stream ends."""
        with self._condition:
            ready = self._condition.wait_for(
                lambda: self._newest is not None or self.end_reason is not None, timeout=self._lost_after_s + 1.0
            )
            if not ready:
                self.end_reason = "lost"  # the backend hangs: no frame, no error
                return None
            if self._newest is None:
                return None
            capture_index, captured_s, file_ms, bgr = self._newest
            self._newest = None
            self._condition.notify_all()
        if self.realtime:
            timestamp_ms = max(int(round((captured_s - self.started_s) * 1000.0)), self._previous_ms + 1)
        else:  # every frame of a file, at the file's own times
            timestamp_ms = self._file_clock(capture_index, file_ms)
        self._previous_ms = timestamp_ms
        self.frames_delivered += 1
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        return LiveFrame(capture_index, timestamp_ms, rgb, captured_s=captured_s, bgr=bgr)

    def __iter__(self) -> Iterator[LiveFrame]:
        self.start()
        while (frame := self.next_frame()) is not None:
            yield frame

    @property
    def info(self) -> VideoInfo:
        """Size and rate of the pictures (known once :meth:`start` returned)."""
        return VideoInfo(self.width, self.height, self.fps, None, self.description)

    @property
    def frames_dropped(self) -> int:
        return max(self.frames_captured - self.frames_delivered - (1 if self._newest is not None else 0), 0)

    @property
    def lost(self) -> bool:
        return self.end_reason == "lost"

    def stop(self) -> None:
        """End the stream as a file ends (not lost), e.g. a stop button: the loop finishes normally."""
        self._finish("ended")
        self._stopped.set()

    def close(self) -> None:
        self._stopped.set()
        with self._condition:
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._capture.release()

    def __enter__(self) -> LiveSource:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
