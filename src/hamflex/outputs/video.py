"""One video writer for every MP4 hamflex makes (overlay videos, live recordings).

Frames are encoded on a background thread with a small bounded queue, so drawing and
inference never wait for the encoder and memory stays flat; as a context manager the file is
always finished, also on Ctrl-C.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import cv2
import numpy as np

DEFAULT_FPS = 30.0  # used when a source does not say its rate (some webcams)


class VideoSink:
    """An MP4 file written frame by frame (BGR images of one size)."""

    def __init__(self, path: Path, fps: float, width: int, height: int, queue_frames: int = 16) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), fps or DEFAULT_FPS,
                                       (width, height))
        if not self._writer.isOpened():
            raise OSError(f"cannot write video {self.path}")
        self._queue: queue.Queue = queue.Queue(maxsize=queue_frames)
        self._thread = threading.Thread(target=self._write_loop, name="hamflex-video", daemon=True)
        self._thread.start()

    def _write_loop(self) -> None:
        while (image := self._queue.get()) is not None:
            self._writer.write(image)
        self._writer.release()

    def write(self, image_bgr: np.ndarray) -> None:
        self._queue.put(image_bgr)

    def close(self) -> None:
        """Finish the file (waits for the frames still queued)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def __enter__(self) -> VideoSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
