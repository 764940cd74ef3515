"""A live frame source fed from outside: JPEG pictures pushed by another thread (the web app's
WebSocket, with a browser's camera behind it), read by the live loop like any camera.

It behaves as :class:`~hamflex.media.cameras.LiveSource` does: in real time only the newest
picture is kept (a slow analysis drops frames instead of building a backlog); with
``every_frame`` every picture is queued and analysed however late, as a video file played as a
camera without ``realtime`` is. Timestamps are strictly increasing milliseconds (the sender's
own frame times); a sender that stops delivering is a lost camera; ``stop()`` (or a frame
beyond ``max_duration_s``) ends it like a file's end, once the queued pictures are analysed.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import cv2
import numpy as np

from hamflex.errors import CameraError
from hamflex.media.cameras import LIVE_LOST_AFTER_S, LiveFrame
from hamflex.media.sources import VideoInfo

PUSHED_OPEN_TIMEOUT_S = 30.0  # the browser asks for its camera first: allow for the person's click
MAX_QUEUED_FRAMES = 900  # every_frame: at most 30 s of 30 fps pictures wait (the oldest go first)


class PushedSource:
    """Frames pushed with :meth:`push` (JPEG bytes and the sender's time in ms), delivered by
    :meth:`next_frame` to the live loop; the newest only."""

    def __init__(self, description: str, *, max_duration_s: float | None = None, every_frame: bool = False,
                 fps: float = 0.0, lost_after_s: float = LIVE_LOST_AFTER_S,
                 open_timeout_s: float = PUSHED_OPEN_TIMEOUT_S) -> None:
        self.description = description
        self.max_duration_s, self.every_frame = max_duration_s, every_frame
        self.fps = fps
        self._lost_after_s, self._open_timeout_s = lost_after_s, open_timeout_s
        self._condition = threading.Condition()
        self._queue: deque[tuple[int, float, float, bytes]] = deque(maxlen=MAX_QUEUED_FRAMES if every_frame else 1)
        # each queued picture: index, monotonic s of arrival, sender's ms, JPEG
        self.end_reason: str | None = None
        self.frames_captured = 0  # frames pushed (received)
        self.frames_delivered = 0  # frames handed to the analysis
        self.width = self.height = 0
        self._previous_ms = -1
        self.waiting = threading.Event()  # set once the analysis waits for pictures (its model loaded)

    def push(self, timestamp_ms: float, jpeg: bytes) -> bool:
        """Offer one picture; False once the source has ended (stopped, or past its duration)."""
        with self._condition:
            if self.end_reason is not None:
                return False
            if self.max_duration_s is not None and timestamp_ms >= self.max_duration_s * 1000.0:
                self.end_reason = "ended"
                self._condition.notify_all()
                return False
            self._queue.append((self.frames_captured, time.monotonic(), float(timestamp_ms), jpeg))
            self.frames_captured += 1
            self._condition.notify_all()
            return True

    def stop(self) -> None:
        """End the stream as a file ends (not lost): the loop scores what it has and finishes."""
        with self._condition:
            self.end_reason = self.end_reason or "ended"
            self._condition.notify_all()

    def start(self) -> PushedSource:
        """Wait for the first picture; CameraError when none arrives within the open timeout."""
        self.waiting.set()
        with self._condition:
            self._condition.wait_for(lambda: self._queue or self.end_reason is not None, timeout=self._open_timeout_s)
            first = self._queue[0] if self._queue else None
        picture = _decoded(first[3]) if first is not None else None
        if picture is None:
            raise CameraError(f"{self.description} sent no picture (JPEG) within {self._open_timeout_s:.0f} s")
        self.height, self.width = picture.shape[:2]
        return self

    def next_frame(self) -> LiveFrame | None:
        """The next picture (the newest, in real time), waiting for one; None when the stream ends."""
        while True:
            with self._condition:
                ready = self._condition.wait_for(lambda: self._queue or self.end_reason is not None,
                                                 timeout=self._lost_after_s)
                if not ready:
                    self.end_reason = "lost"
                if not self._queue:
                    return None
                index, captured_s, sent_ms, jpeg = self._queue.popleft()
            bgr = _decoded(jpeg)
            if bgr is not None and bgr.shape[:2] == (self.height, self.width):
                break  # a broken or resized picture is skipped, as a camera's glitch would be
        timestamp_ms = max(int(round(sent_ms)), self._previous_ms + 1)
        self._previous_ms = timestamp_ms
        self.frames_delivered += 1
        return LiveFrame(index, timestamp_ms, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), captured_s=captured_s, bgr=bgr)

    @property
    def info(self) -> VideoInfo:
        return VideoInfo(self.width, self.height, self.fps, None, self.description)

    @property
    def frames_dropped(self) -> int:
        return max(self.frames_captured - self.frames_delivered - len(self._queue), 0)

    @property
    def lost(self) -> bool:
        return self.end_reason == "lost"

    def close(self) -> None:
        self.stop()


def _decoded(jpeg: bytes) -> np.ndarray | None:
    """The BGR picture of JPEG (or PNG) bytes, None when they are not one."""
    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR) if jpeg else None
