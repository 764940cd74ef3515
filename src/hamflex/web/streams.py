"""Live sessions of the web app: the server's camera (a device index or a stream URL) or the
browser's own camera, its pictures sent over a WebSocket (docs/web.md, "Live sessions").

A live session is an analysis like an upload's (same table, same folder, same result files,
trial pictures and history entry), run by the same Python API with ``live`` options, on a
thread of the server: :func:`~hamflex.web.jobs.run_analysis` → ``run_protocol`` → the live loop
of :mod:`hamflex.pipelines.live`, which hands every overlay picture and its guidance to
:meth:`LiveRun.publish`. The browser's pictures come in through a
:class:`~hamflex.media.pushed.PushedSource`, so they take exactly the per-frame path a camera's do.
"""

from __future__ import annotations

import asyncio
import json
import struct
import threading
from pathlib import Path
from typing import Any

import cv2

from hamflex.errors import CameraError
from hamflex.media.pushed import PushedSource
from hamflex.pipelines.options import LiveOptions
from hamflex.web.jobs import Analysis, get_analysis, run_analysis

BROWSER_CAMERA = "browser"
BROWSER_DESCRIPTION = "browser camera"
OVERLAY_JPEG_QUALITY = 80
FRAME_TIME = struct.Struct("<d")  # a browser picture's first 8 bytes: its time in ms, little-endian
SEND_WAIT_S = 1.0
JOIN_TIMEOUT_S = 30.0


class LiveRun:
    """One running live session: its source, the newest overlay for the page, how it ended."""

    def __init__(self, analysis: Analysis, source: Any, max_duration_s: float | None) -> None:
        self.analysis, self.source, self.max_duration_s = analysis, source, max_duration_s
        self.frames_analysed = 0
        self._condition = threading.Condition()
        self._sequence = 0
        self._view: tuple[dict[str, Any], bytes] | None = None
        self._ended: dict[str, Any] | None = None
        self.thread: threading.Thread | None = None

    @property
    def browser(self) -> bool:
        return isinstance(self.source, PushedSource)

    def publish(self, frame, overlay_bgr, guidance: list[str]) -> None:
        """The live loop's view: keep the newest overlay (JPEG) and guidance for the page."""
        ok, jpeg = cv2.imencode(".jpg", overlay_bgr, [cv2.IMWRITE_JPEG_QUALITY, OVERLAY_JPEG_QUALITY])
        with self._condition:
            self.frames_analysed += 1
            self._sequence += 1
            message = {"type": "frame", "time_ms": frame.timestamp_ms, "guidance": guidance,
                       "frames_received": self.source.frames_captured, "frames_analysed": self.frames_analysed}
            self._view = (message, jpeg.tobytes() if ok else b"")
            self._condition.notify_all()
        if not self.browser and self.max_duration_s is not None and frame.timestamp_ms >= self.max_duration_s * 1000:
            self.source.stop()

    def finish(self, ended: dict[str, Any]) -> None:
        with self._condition:
            self._ended = ended
            self._condition.notify_all()

    def next_message(self, after: int, timeout_s: float = SEND_WAIT_S) -> tuple[int, dict[str, Any], bytes] | None:
        """The newest view after number ``after`` (waiting up to ``timeout_s``), then the ending
        (``picture`` empty); None when there is nothing new yet."""
        with self._condition:
            self._condition.wait_for(lambda: self._sequence > after or self._ended is not None, timeout=timeout_s)
            if self._sequence > after and self._view is not None:
                return self._sequence, *self._view
            return (after, self._ended, b"") if self._ended is not None else None

    def wait_ready(self, timeout_s: float = SEND_WAIT_S) -> bool:
        """Whether the analysis now waits for the browser's pictures (True at once for a server
        camera): before that, pictures would only be dropped while the model loads."""
        waiting = getattr(self.source, "waiting", None)
        return waiting is None or waiting.wait(timeout_s) or self._ended is not None

    def push(self, data: bytes) -> None:
        """A browser's picture: 8 bytes of time (ms, little-endian float64), then the JPEG."""
        if self.browser and len(data) > FRAME_TIME.size:
            self.source.push(FRAME_TIME.unpack_from(data)[0], data[FRAME_TIME.size:])

    def stop(self) -> None:
        """End the session (the page's stop button): what was measured is scored and saved."""
        self.source.stop()


def open_camera(camera: str, max_duration_s: float | None, every_frame: bool = False) -> Any:
    """The source of a live session: the browser's pushed pictures (``every_frame``: all of them,
    however late, else the newest), or the server's camera (a device index or a stream URL; never
    a file path). CameraError when it cannot be opened."""
    from hamflex.media.cameras import LiveSource

    if camera == BROWSER_CAMERA:
        return PushedSource(BROWSER_DESCRIPTION, max_duration_s=max_duration_s, every_frame=every_frame)
    if not (camera.strip().isdigit() or "://" in camera):
        raise CameraError(f"camera {camera!r}: give a device index (0, 1, ...), a stream URL or {BROWSER_CAMERA!r}")
    return LiveSource(camera.strip(), realtime=True)


def start_live(db_path: Path, data_dir: Path, analysis: Analysis, source: Any,
               max_duration_s: float | None) -> LiveRun:
    """Run the live session on a server thread; its state is the analysis's, as an upload's is."""
    run = LiveRun(analysis, source, max_duration_s)
    live = LiveOptions(display=False, audio=False, view=run.publish)

    def session() -> None:
        try:
            run_analysis(db_path, data_dir, analysis.id, source=source, live=live)
        finally:
            done = get_analysis(db_path, analysis.id)
            run.finish({"type": "ended", "id": done.id, "status": done.status, "error": done.error,
                        "frames_received": source.frames_captured, "frames_analysed": run.frames_analysed})

    run.thread = threading.Thread(target=session, name=f"hamflex-live-{analysis.id}", daemon=True)
    run.thread.start()
    return run


def stop_all(runs: dict[int, LiveRun]) -> None:
    """Stop every live session (the server is stopping) and wait until each has saved."""
    for run in runs.values():
        run.stop()
    for run in runs.values():
        if run.thread is not None:
            run.thread.join(timeout=JOIN_TIMEOUT_S)


async def _send_views(websocket, run: LiveRun) -> None:
    """Say when the analysis is ready for pictures, then send each new overlay (a JSON text
    message, then the JPEG) until the ending, then close."""
    while not await asyncio.to_thread(run.wait_ready):
        pass
    await websocket.send_text(json.dumps({"type": "ready", "id": run.analysis.id}))
    after = 0
    while True:
        found = await asyncio.to_thread(run.next_message, after)
        if found is None:
            continue
        after, message, picture = found
        await websocket.send_text(json.dumps(message))
        if picture:
            await websocket.send_bytes(picture)
        if message["type"] == "ended":
            await websocket.close()
            return


async def serve_socket(websocket, run: LiveRun) -> None:
    """One page's WebSocket to a live session: pictures in (browser camera), overlays out,
    ``{"type": "stop"}`` ends the session."""
    from starlette.websockets import WebSocketDisconnect

    await websocket.accept()
    sender = asyncio.create_task(_send_views(websocket, run))
    try:
        while not sender.done():
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            if message.get("bytes"):
                run.push(message["bytes"])
            elif message.get("text") and json.loads(message["text"]).get("type") == "stop":
                run.stop()
    except (WebSocketDisconnect, RuntimeError, ValueError):
        pass  # the page went away or sent nonsense: the session goes on (a lost camera ends it)
    finally:
        if not sender.done():
            sender.cancel()
