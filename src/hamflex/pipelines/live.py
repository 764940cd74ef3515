"""The live loop behind ``--camera``: camera → pose → angles → protocol → overlay, sound, record.

One frame at a time, on the main thread (``imshow``/``waitKey`` must run there on macOS):
the newest captured frame (:class:`~hamflex.media.cameras.LiveSource` drops older ones, so no
backlog builds up) → MediaPipe in VIDEO mode → ``frame_angles_deg`` → causal One-Euro
smoothing → :class:`~hamflex.protocols.base.FrameSample` → ``protocol.update`` → cues to
:class:`~hamflex.outputs.audio.AudioCues` (a background thread) → the overlay in a window (unless
``display=False``) and the guidance printed on the terminal.

Nothing measured is lost: when the camera is lost, on Ctrl-C, or when the window is closed,
the loop stops, writes ``live_session.json`` (and the recording) and returns a
:class:`LiveSessionResult` whose ``ended_by`` says why.
"""

from __future__ import annotations

import math
import os
import queue
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hamflex.pipelines.offline import frame_angles_deg
from hamflex.outputs.audio import CUE_TEXT, AudioCues, render_cue_track
from hamflex.media.cameras import LiveFrame, LiveSource
from hamflex.errors import EXIT_INTERRUPTED, CameraError
from hamflex.core.filters import OneEuroBank
from hamflex.core.landmarks import LANDMARK_NAMES, NUM_LANDMARKS, SIDES
from hamflex.outputs.files import write_json
from hamflex.outputs.overlay import draw_angle_labels, draw_skeleton, draw_text_lines
from hamflex.outputs.tables import CSV_COLUMNS, CsvSink, angle_row
from hamflex.media.pose import PoseFrame
from hamflex.protocols.base import Feedback, FrameProtocol, FrameSample
from hamflex.core.landmarks import DEFAULT_MIN_VISIBILITY
from hamflex.core.series import leg_visibility
from hamflex.camera.checks import STARTUP_CHECK_S, SetupCheckProtocol

ENDINGS = ("finished", "quit", "interrupted", "camera_lost", "error")
DISPLAY_MAX_SIZE_PX = 1280  # the window's frame is scaled down to this (faster drawing)
CUE_TEXT_SHOWN_S = 1.5
SETUP_WARNING_SHOWN_S = 10.0  # how long set-up warnings stay on the picture

# Keys of the window (waitKey codes) and what they do.
KEY_ACTIONS: dict[int, str] = {
    ord("q"): "quit", ord("Q"): "quit", 27: "quit",  # 27 = Esc
    ord(" "): "pause",
    ord("s"): "switch_side", ord("S"): "switch_side",
    ord("r"): "restart", ord("R"): "restart",
}
KEYS_HELP = "q quit  space pause  s side  r restart"


def key_action(key: int) -> str | None:
    """The action of a ``cv2.waitKey`` code (-1 = no key), or None."""
    return KEY_ACTIONS.get(key & 0xFF) if key >= 0 else None


@dataclass
class LiveSessionResult:
    """What a live session measured and why it ended (``ended_by`` one of :data:`ENDINGS`).

    ``latencies_ms`` holds each processed frame's capture-to-overlay-ready time.
    """

    protocol_result: dict[str, Any]
    frames: int
    ended_by: str
    warnings: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    frames_captured: int = 0
    frames_dropped: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    cue_events: list[tuple[float, str]] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ended_by not in ENDINGS:
            raise ValueError(f"ended_by must be one of {ENDINGS}, got {self.ended_by!r}")
        if self.latencies_ms and len(self.latencies_ms) != self.frames:
            raise ValueError(f"latencies_ms has {len(self.latencies_ms)} values for {self.frames} frames")

    @property
    def processing_fps(self) -> float:
        return self.frames / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def exit_code(self) -> int:
        """The CLI's exit code for this ending (docs/cli.md): lost camera 6, Ctrl-C 130, error 1."""
        return {"camera_lost": CameraError.exit_code, "interrupted": EXIT_INTERRUPTED, "error": 1}.get(self.ended_by, 0)

    def summary(self) -> dict[str, Any]:
        latencies = self.latencies_ms
        return {
            "ended_by": self.ended_by,
            "frames_processed": self.frames,
            "frames_captured": self.frames_captured,
            "frames_dropped": self.frames_dropped,
            "duration_s": round(self.duration_s, 3),
            "processing_fps": round(self.processing_fps, 2),
            "latency_ms_median": round(statistics.median(latencies), 1) if latencies else None,
            "latency_ms_p90": round(float(np.percentile(latencies, 90)), 1) if latencies else None,
            "cues": [{"time_s": round(t, 3), "cue": cue} for t, cue in self.cue_events],
            "warnings": self.warnings,
            "files": {name: str(path) for name, path in self.files.items()},
            "protocol_result": self.protocol_result,
        }


class AnglePipeline:
    """pose → angles → causal One-Euro smoothing → FrameSample: the same in live and replay."""

    def __init__(self, min_visibility: float = DEFAULT_MIN_VISIBILITY) -> None:
        self._min_visibility = min_visibility
        self._smoother = OneEuroBank()

    def __call__(self, pose: PoseFrame) -> tuple[FrameSample, dict[str, float], dict[str, float]]:
        """The protocol's sample, the raw angles and the smoothed angles of one pose."""
        timestamp_s = pose.timestamp_ms / 1000.0
        raw = frame_angles_deg(pose, self._min_visibility)
        smoothed = self._smoother(timestamp_s, raw)
        sample = FrameSample(
            timestamp_s=timestamp_s,
            detected=pose.detected,
            angles_deg=smoothed,
            landmarks_px=pose.landmarks_px,
            visibility=pose.visibility,
            leg_visibility={side: float(leg_visibility(pose.visibility, side)) for side in SIDES},
            world_landmarks_m=pose.world_landmarks_m,
        )
        return sample, raw, smoothed


def apply_action(protocol: FrameProtocol, action: str | None) -> None:
    """Forward the ``s``/``r`` keys to the protocol."""
    if action == "switch_side":
        protocol.switch_side()
    elif action == "restart":
        protocol.restart()


# --- drawing ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hud:
    """The small heads-up line: processing speed and capture-to-overlay latency."""

    fps: float
    latency_ms: float
    paused: bool = False
    cue_text: str = ""

    def lines(self) -> list[str]:
        line = f"{self.fps:4.1f} fps  {self.latency_ms:3.0f} ms" + ("  PAUSED" if self.paused else "")
        return [self.cue_text, line, KEYS_HELP] if self.cue_text else [line, KEYS_HELP]


def render_overlay(frame_bgr: np.ndarray, pose: PoseFrame, angles: dict[str, float], feedback: Feedback | None,
                   hud: Hud, mirror: bool = False, max_size_px: int = DISPLAY_MAX_SIZE_PX,
                   min_visibility: float = DEFAULT_MIN_VISIBILITY, notes: Sequence[str] = ()) -> np.ndarray:
    """The window's image: skeleton, hip/knee angles, the protocol's state and guidance,
    ``notes`` (set-up warnings) and the HUD.

    With ``mirror`` the picture is flipped (selfie view) before any text is drawn, so the
    labels stay readable; the landmarks are flipped with it.
    """
    height, width = frame_bgr.shape[:2]
    scale = min(1.0, max_size_px / max(height, width))
    if scale < 1.0:
        image = cv2.resize(frame_bgr, (int(round(width * scale)), int(round(height * scale))), interpolation=cv2.INTER_LINEAR)
    else:
        image = frame_bgr.copy()
    points = pose.landmarks_px * np.float32(scale)
    if mirror:
        image = cv2.flip(image, 1)
        points = points.copy()
        points[:, 0] = image.shape[1] - 1 - points[:, 0]
    draw_skeleton(image, points, pose.visibility, min_visibility)
    draw_angle_labels(image, points, angles)
    top_lines = [feedback.state.replace("_", " ").upper(), *feedback.guidance] if feedback is not None else []
    if top_lines or notes:
        draw_text_lines(image, [*top_lines, *notes], "top-left")
    draw_text_lines(image, hud.lines(), "bottom-left")
    return image


# --- outputs ------------------------------------------------------------------------------

def _landmark_columns() -> tuple[str, ...]:
    per_landmark = ("x", "y", "z", "world_x_m", "world_y_m", "world_z_m", "visibility", "presence")
    return tuple(f"{name}_{part}" for name in LANDMARK_NAMES for part in per_landmark)


LANDMARK_CSV_COLUMNS: tuple[str, ...] = (
    "frame", "capture_index", "timestamp_ms", "image_width", "image_height", "people_in_view", "paused", "action",
    *_landmark_columns(),
)


def _exact(value: float) -> str:
    """float32 to text that reads back to the same float32 (9 significant digits)."""
    return "" if not math.isfinite(value) else format(float(value), ".9g")


def _landmark_row(row_index: int, capture_index: int, pose: PoseFrame, paused: bool, action: str | None) -> dict:
    row: dict[str, object] = {
        "frame": row_index, "capture_index": capture_index, "timestamp_ms": pose.timestamp_ms,
        "image_width": pose.image_width, "image_height": pose.image_height,
        "people_in_view": pose.people_in_view, "paused": int(paused), "action": action or "",
    }
    values = np.column_stack([pose.landmarks_norm, pose.world_landmarks_m, pose.visibility, pose.presence])
    for column, value in zip(_landmark_columns(), values.ravel()):
        row[column] = _exact(value)
    return row


class _VideoRecorder:
    """The raw frames of the session as MP4, encoded on a background thread."""

    def __init__(self, path: Path, fps: float, width: int, height: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps or 30.0, (width, height))
        if not self._writer.isOpened():
            raise OSError(f"cannot write {path}")
        self._queue: queue.Queue = queue.Queue(maxsize=16)
        self._thread = threading.Thread(target=self._write_loop, name="hamflex-record", daemon=True)
        self._thread.start()

    def _write_loop(self) -> None:
        while (image := self._queue.get()) is not None:
            self._writer.write(image)
        self._writer.release()

    def write(self, image_bgr: np.ndarray) -> None:
        self._queue.put(image_bgr)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()


class SessionRecorder:
    """``--record DIR``: raw.mp4 (the analysed frames), landmarks.csv (exact landmarks, pause
    and key actions, to replay the session), angles.csv (raw and One-Euro angles, the
    columns of ``hamflex analyze``), and at the end cues.wav and session.json."""

    def __init__(self, directory: Path, fps: float, width: int, height: int) -> None:
        self.directory = Path(directory)
        self.files = {
            "raw_video": self.directory / "raw.mp4",
            "landmarks_csv": self.directory / "landmarks.csv",
            "angles_csv": self.directory / "angles.csv",
        }
        self._video = _VideoRecorder(self.files["raw_video"], fps, width, height)
        self._landmarks = CsvSink(self.files["landmarks_csv"], LANDMARK_CSV_COLUMNS).__enter__()
        self._angles = CsvSink(self.files["angles_csv"], CSV_COLUMNS).__enter__()
        self.rows = 0

    def write(self, frame: LiveFrame, pose: PoseFrame, sample: FrameSample, raw: dict[str, float],
              smoothed: dict[str, float], paused: bool, action: str | None) -> None:
        self._video.write(frame.bgr)
        self._landmarks.write_row(_landmark_row(self.rows, frame.frame_index, pose, paused, action))
        self._angles.write_row(angle_row(self.rows, pose.timestamp_ms, pose.detected, raw, smoothed,
                                         sample.leg_visibility))
        self.rows += 1

    def close(self, result: LiveSessionResult) -> dict[str, Path]:
        self._video.close()
        self._landmarks.__exit__(None, None, None)
        self._angles.__exit__(None, None, None)
        files = dict(self.files)
        files["cues_wav"] = render_cue_track(result.cue_events, self.directory / "cues.wav", duration_s=result.duration_s)
        files["session_json"] = self.directory / "session.json"
        return files


def read_recorded_poses(record_dir: Path) -> Iterator[tuple[PoseFrame, bool, str | None]]:
    """The poses of a recording's landmarks.csv, with each frame's pause flag and key action."""
    import csv

    columns = _landmark_columns()
    with open(Path(record_dir) / "landmarks.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            values = np.array([float(row[c]) if row[c] != "" else np.nan for c in columns], dtype=np.float32)
            values = values.reshape(NUM_LANDMARKS, 8)
            pose = PoseFrame(
                int(row["capture_index"]), int(row["timestamp_ms"]), int(row["image_width"]), int(row["image_height"]),
                landmarks_norm=values[:, 0:3].copy(), world_landmarks_m=values[:, 3:6].copy(),
                visibility=values[:, 6].copy(), presence=values[:, 7].copy(),
                people_in_view=int(row["people_in_view"]),
            )
            yield pose, row["paused"] == "1", row["action"] or None


def replay_recording(record_dir: Path, protocol: FrameProtocol) -> dict[str, Any]:
    """Feed a ``--record`` directory's landmarks through the live pipeline and ``protocol``
    again: the same frames, timestamps, keys and filters, so the same result as live."""
    pipeline = AnglePipeline()
    for pose, paused, action in read_recorded_poses(record_dir):
        apply_action(protocol, action)
        sample, _, _ = pipeline(pose)
        if not paused:
            protocol.update(sample)
    return protocol.result()


# --- views --------------------------------------------------------------------------------

def display_problem() -> str | None:
    """Why no window can open here, or None. On Linux this is tried in a child process:
    OpenCV's Qt backend aborts the whole process when it cannot reach the display."""
    if not sys.platform.startswith("linux"):
        return None
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display found (DISPLAY is not set)"
    probe = "import cv2; cv2.namedWindow('hamflex'); cv2.waitKey(1); cv2.destroyAllWindows()"
    try:
        completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        return f"cannot test the display ({type(error).__name__})"
    if completed.returncode != 0:
        return f"cannot open a window on display {os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY')}"
    return None


class WindowView:
    """An OpenCV window on the main thread; ``show`` returns the key pressed (or -1)."""

    def __init__(self, title: str) -> None:
        self.title = title
        cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
        self._shown = False

    def show(self, image_bgr: np.ndarray) -> int:
        cv2.imshow(self.title, image_bgr)
        self._shown = True
        return cv2.waitKey(1)

    @property
    def closed(self) -> bool:
        """True once the person closed the window with its close button."""
        try:
            return self._shown and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:
            return True

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass


def _open_window(title: str, warnings: list[str]) -> WindowView | None:
    try:
        return WindowView(title)
    except cv2.error as error:  # an OpenCV build without a GUI backend
        _warn(warnings, f"cannot open a window ({str(error).strip().splitlines()[-1]}): running headless")
        return None


_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


class TerminalView:
    """Guidance printed on the terminal (stderr) when it changes (with or without a window),
    and the cues as text when they cannot be heard.

    Numbers are ignored when deciding whether guidance changed: angles and counters move
    every frame, and printing each would flood the terminal.
    """

    def __init__(self, stream=None) -> None:
        self._stream_override = stream
        self._last: tuple[str, ...] | None = None

    @property
    def _stream(self):
        """stderr by default, like progress: stdout stays for results (``--json``)."""
        return self._stream_override or sys.stderr

    def feedback(self, time_s: float, feedback: Feedback) -> None:
        shape = tuple(_NUMBER.sub("#", line) for line in (feedback.state, *feedback.guidance))
        if shape != self._last:
            self._last = shape
            print(f"[{time_s:7.1f} s] {feedback.state}: {' | '.join(feedback.guidance)}", file=self._stream, flush=True)

    def cues(self, time_s: float, cues: Sequence[str], spoken: Sequence[str]) -> None:
        words = [CUE_TEXT.get(cue, cue) for cue in cues] + list(spoken)
        if words:
            print(f"[{time_s:7.1f} s] >> {'; '.join(words)}", file=self._stream, flush=True)


class _Rate:
    """Frames per second as an exponential moving average of frame intervals."""

    def __init__(self, weight: float = 0.1) -> None:
        self._weight = weight
        self._interval_s: float | None = None
        self._last_s: float | None = None

    def tick(self, now_s: float) -> float:
        if self._last_s is not None:
            interval = now_s - self._last_s
            self._interval_s = interval if self._interval_s is None else (
                self._weight * interval + (1 - self._weight) * self._interval_s)
        self._last_s = now_s
        return 1.0 / self._interval_s if self._interval_s else 0.0


# --- the loop -----------------------------------------------------------------------------

def _warn(warnings: list[str], message: str) -> None:
    warnings.append(message)
    print(f"hamflex: warning: {message}", file=sys.stderr, flush=True)


def run_live_session(
    camera: str | LiveSource,
    protocol: FrameProtocol,
    out_dir: Path,
    *,
    realtime: bool = False,
    display: bool = True,
    audio: bool = True,
    voice: bool = False,
    mirror: bool = False,
    record: Path | None = None,
    camera_profile=None,
    model=None,
    offline: bool = False,
    verbose: bool = False,
    title: str = "hamflex",
    setup_posture: str | None = "auto",
) -> LiveSessionResult:
    """Run ``protocol`` live on ``camera`` (device index "0", URL, or video file; or an
    already-made :class:`LiveSource`) until it finishes, the stream ends, the person quits
    (q, Esc, closing the window) or the camera is lost. ``camera_profile`` is a
    ``CameraProfile`` or the path of one.

    Writes ``out_dir/live_session.json`` (and the ``record`` directory) however it ends. On
    Ctrl-C it saves first, then raises ``KeyboardInterrupt`` again (exit code 130). Raises
    CameraError when the camera cannot be opened.

    Unless ``setup_posture`` is None, the set-up checks (``hamflex check-setup``) run on the
    first seconds with a person in view ("lying", "standing", "seated" or "auto"), and what
    fails is warned about on the terminal and in the overlay.
    """
    from hamflex.media.models import resolve_model
    from hamflex.media.pose import PoseEstimator

    from hamflex.camera.profile import load_profile

    warnings: list[str] = []
    camera_profile = load_profile(camera_profile)
    model_path = resolve_model(model, offline=offline, progress=True)
    source = camera if isinstance(camera, LiveSource) else LiveSource(str(camera), realtime=realtime)
    if display and (problem := display_problem()) is not None:
        _warn(warnings, f"{problem}: running headless, as with --no-display")
        display = False
    cues = AudioCues(enabled=audio, voice=voice)
    for message in cues.warnings:
        _warn(warnings, message)
    latencies_ms: list[float] = []
    ended_by = "finished"
    failure: BaseException | None = None
    recorder: SessionRecorder | None = None
    window: WindowView | None = None
    started_s = time.monotonic()
    try:
        with PoseEstimator(model_path, verbose=verbose) as estimator:
            source.start()
            started_s = time.monotonic()
            if camera_profile is not None:  # a profile for another frame shape fails here, not mid-session
                camera_profile = camera_profile.for_image_size(source.width, source.height)
            if record is not None:
                recorder = SessionRecorder(Path(record), source.fps, source.width, source.height)
            window = _open_window(title, warnings) if display else None
            setup_probe = None
            if setup_posture is not None:
                setup_probe = SetupCheckProtocol(source.width, source.height, seconds=STARTUP_CHECK_S,
                                                 posture=setup_posture)
            ended_by = _loop(source, estimator, AnglePipeline(), protocol, cues, window, TerminalView(), recorder,
                             camera_profile, mirror, latencies_ms, setup_probe, lambda m: _warn(warnings, m))
    except KeyboardInterrupt as interrupt:  # saved below, then raised again
        failure, ended_by = interrupt, "interrupted"
    except Exception as error:  # saved below, then raised again
        failure, ended_by = error, ("camera_lost" if isinstance(error, CameraError) else "error")
    finally:
        duration_s = time.monotonic() - started_s
        if window is not None:
            window.close()
        source.close()
        cues.close()
    for message in cues.warnings:
        if message not in warnings:
            _warn(warnings, message)
    if source.lost and failure is None:
        ended_by = "camera_lost"
        _warn(warnings, f"{source.description} was lost after {len(latencies_ms)} frames: the session so far is saved")
    result = LiveSessionResult(
        protocol_result=protocol.result(), frames=len(latencies_ms), ended_by=ended_by, warnings=warnings,
        duration_s=duration_s, frames_captured=source.frames_captured, frames_dropped=source.frames_dropped,
        latencies_ms=latencies_ms, cue_events=list(cues.events),
    )
    if failure is not None and not isinstance(failure, KeyboardInterrupt):
        result.warnings.append(f"stopped by an error: {failure}")
    if recorder is not None:
        result.files.update(recorder.close(result))
        write_json(result.files["session_json"], result.summary())
    result.files["live_session_json"] = write_json(Path(out_dir) / "live_session.json", result.summary())
    if failure is not None:
        raise failure
    return result


def _loop(source: LiveSource, estimator, pipeline: AnglePipeline, protocol: FrameProtocol, cues: AudioCues,
          window: WindowView | None, terminal: TerminalView, recorder: SessionRecorder | None,
          camera_profile, mirror: bool, latencies_ms: list[float], setup_probe: SetupCheckProtocol | None = None,
          warn=print) -> str:
    """Process frames until the session ends; returns how it ended."""
    rate = _Rate()
    setup_lines: list[str] = []
    setup_lines_until_s = 0.0
    paused = False
    pending_action: str | None = None
    feedback: Feedback | None = None
    cue_text, cue_text_until_s = "", 0.0
    while (frame := source.next_frame()) is not None:
        pose = estimator.detect(frame)
        if camera_profile is not None:
            pose = camera_profile.undistort_pose(pose)
        action, pending_action = pending_action, None
        apply_action(protocol, action)
        sample, raw, smoothed = pipeline(pose)
        if setup_probe is not None and setup_probe.update(sample).finished:
            setup_lines = [f"set-up: {warning}" for warning in setup_probe.report().warnings]
            setup_lines_until_s = frame.captured_s + SETUP_WARNING_SHOWN_S
            for line in setup_lines:
                warn(line)
            setup_probe = None
        if not paused:
            feedback = protocol.update(sample)
            cues.cue(sample.timestamp_s, feedback.cues, feedback.spoken)
            terminal.feedback(sample.timestamp_s, feedback)
            if cues.text_only:
                terminal.cues(sample.timestamp_s, feedback.cues, feedback.spoken)
            if feedback.cues and cues.text_only:
                cue_text = "; ".join(CUE_TEXT.get(c, c) for c in feedback.cues)
                cue_text_until_s = frame.captured_s + CUE_TEXT_SHOWN_S
        now_s = time.monotonic()
        hud = Hud(rate.tick(now_s), (now_s - frame.captured_s) * 1000.0, paused,
                  cue_text if now_s < cue_text_until_s else "")
        image = render_overlay(frame.bgr, pose, smoothed, feedback, hud, mirror,
                               notes=setup_lines if now_s < setup_lines_until_s else ())
        latencies_ms.append((time.monotonic() - frame.captured_s) * 1000.0)
        if recorder is not None:
            recorder.write(frame, pose, sample, raw, smoothed, paused, action)
        if feedback is not None and feedback.finished and not paused:
            return "finished"
        if window is not None:
            key = window.show(image)
            if window.closed:
                return "quit"
            next_action = key_action(key)
            if next_action == "quit":
                return "quit"
            if next_action == "pause":
                paused = not paused
            elif next_action is not None:
                pending_action = next_action  # applied before the next frame, as replay does
    return "camera_lost" if source.lost else "finished"

