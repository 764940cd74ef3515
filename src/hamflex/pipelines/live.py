"""The live loop behind ``--camera``: camera → pose → angles → protocol → overlay, sound, record.

One frame at a time, on the main thread (``imshow``/``waitKey`` must run there on macOS):
the newest captured frame (:class:`~hamflex.media.cameras.LiveSource` drops older ones, so no
backlog builds up) → MediaPipe in VIDEO mode → :class:`~hamflex.pipelines.samples.AnglePipeline`
(causal One-Euro smoothing) → ``protocol.update`` → cues to
:class:`~hamflex.outputs.audio.AudioCues` (a background thread) → the overlay in a window
(unless ``display`` is off) and the guidance printed on the terminal.

Nothing measured is lost: when the camera is lost, on Ctrl-C, on an error or when the window
is closed, the loop stops, writes ``live_session.json`` (and the recording) and returns a
:class:`LiveSessionResult` whose ``ended_by`` says why and whose ``failure`` holds the
exception to raise once the caller has saved its own result.
"""

from __future__ import annotations

import copy
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hamflex.camera.checks import STARTUP_CHECK_S, SetupReport
from hamflex.camera.profile import load_profile
from hamflex.core.series import AngleSeries, PoseSequence
from hamflex.errors import EXIT_INTERRUPTED, CameraError
from hamflex.media.cameras import LiveFrame, LiveSource
from hamflex.media.models import resolve_model
from hamflex.media.pose import PoseEstimator, PoseFrame
from hamflex.media.pushed import PushedSource
from hamflex.outputs.audio import CUE_TEXT, AudioCues
from hamflex.outputs.files import write_json
from hamflex.outputs.names import LIVE_SESSION_JSON
from hamflex.outputs.overlay import DISPLAY_MAX_SIZE_PX, Hud, compose_overlay
from hamflex.outputs.recording import SessionRecorder, read_recorded_poses
from hamflex.outputs.terminal import TerminalView
from hamflex.outputs.window import WindowView, display_problem, open_window
from hamflex.pipelines.options import LiveOptions, RunOptions
from hamflex.pipelines.samples import AnglePipeline, samples_from_series
from hamflex.protocols.base import Feedback, FrameProtocol
from hamflex.protocols.setup_check import SetupCheckProtocol

ENDINGS = ("finished", "quit", "interrupted", "camera_lost", "error")
CUE_TEXT_SHOWN_S = 1.5
SETUP_WARNING_SHOWN_S = 10.0  # how long set-up warnings stay on the picture
EVIDENCE_JPEG_QUALITY = 90

# Keys of the window (waitKey codes) and what they do.
KEY_ACTIONS: dict[int, str] = {
    ord("q"): "quit", ord("Q"): "quit", 27: "quit",  # 27 = Esc
    ord(" "): "pause",
    ord("s"): "switch_side", ord("S"): "switch_side",
    ord("r"): "restart", ord("R"): "restart",
    ord("n"): "skip_step", ord("N"): "skip_step",  # a routine's next step
}
KEYS_HELP = "q quit  space pause  s side  r restart  n next step"


def key_action(key: int) -> str | None:
    """The action of a ``cv2.waitKey`` code (-1 = no key), or None."""
    return KEY_ACTIONS.get(key & 0xFF) if key >= 0 else None


@dataclass
class LiveSessionResult:
    """What a live session measured and why it ended (``ended_by`` one of :data:`ENDINGS`).

    ``latencies_ms`` holds each processed frame's capture-to-overlay-ready time; ``setup`` the
    start-of-session set-up check (when it ran); ``failure`` the exception that ended it.
    """

    protocol_result: Any  # the whole session scored like a recording (see score_session)
    frames: int
    ended_by: str
    announced_result: Any = None  # what the protocol said during the session (causal angles)
    warnings: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    frames_captured: int = 0
    frames_dropped: int = 0
    frames_with_person: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    cue_events: list[tuple[float, str]] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    setup: SetupReport | None = None
    failure: BaseException | None = None
    protocol_kind: str = ""  # which protocol's result ``protocol_result`` is (test90, hold, setup)
    poses: PoseSequence | None = None  # what was scored (not in the JSON)
    angles: AngleSeries | None = None
    evidence_jpegs: dict[int, bytes] = field(default_factory=dict)  # frame number → JPEG, for trial pictures

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

    def to_dict(self) -> dict[str, Any]:
        """live_session.json."""
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
            "protocol": self.protocol_kind,
            "protocol_result": self.protocol_result,
            "announced_result": self.announced_result,
        }


def apply_action(protocol: FrameProtocol, action: str | None) -> None:
    """Forward the ``s``/``r`` keys to the protocol, and ``n`` to a protocol with steps (a routine)."""
    if action == "switch_side":
        protocol.switch_side()
    elif action == "restart":
        protocol.restart()
    elif action == "skip_step" and hasattr(protocol, "skip_step"):
        protocol.skip_step()


def score_session(protocol: FrameProtocol, poses: list[PoseFrame], paused: list[bool],
                  actions: list[str | None]) -> tuple[Any, PoseSequence, AngleSeries]:
    """A session's frames scored the way a recording is: zero-phase smoothed angles of the whole
    session fed to ``protocol`` (a fresh one), with the same keys at the same frames and the paused
    frames left out. This is the result a live session saves, so a recording played as a camera
    gives the same trials as ``hamflex test90 FILE`` (the causal One-Euro angles drive only the live
    guidance, which lags at the very end of a stream). Returns the result, poses and angles."""
    sequence = PoseSequence.from_frames(poses)
    angles = AngleSeries.from_poses(sequence)
    for sample, is_paused, action in zip(samples_from_series(angles, sequence), paused, actions):
        apply_action(protocol, action)
        if not is_paused:
            protocol.update(sample)
    return protocol.result(), sequence, angles


def replay_recording(record_dir: Path, protocol: FrameProtocol) -> Any:
    """Score a ``--record`` directory's landmarks again, as the live session did: the same
    frames, timestamps, keys and pauses, so the same result as the session saved."""
    poses, paused, actions = [], [], []
    for pose, is_paused, action in read_recorded_poses(record_dir):
        poses.append(pose)
        paused.append(is_paused)
        actions.append(action)
    return score_session(protocol, poses, paused, actions)[0]


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


def _warn(warnings: list[str], message: str) -> None:
    warnings.append(message)
    print(f"hamflex: warning: {message}", file=sys.stderr, flush=True)


class _Session:
    """The state of one live session: its parts, what it measured so far, and how it ends."""

    def __init__(self, source: LiveSource, protocol: FrameProtocol, live: LiveOptions, title: str) -> None:
        self.source, self.protocol, self.live = source, protocol, live
        self.warnings: list[str] = []
        self.display = live.display
        if self.display and (problem := display_problem()) is not None:
            self.warn(f"{problem}: running headless, as with --no-display")
            self.display = False
        self.cues = AudioCues(enabled=live.audio, voice=live.voice)
        for message in self.cues.warnings:
            self.warn(message)
        self.title = title
        self.latencies_ms: list[float] = []
        self.frames_with_person = 0
        self.recorder: SessionRecorder | None = None
        self.window: WindowView | None = None
        self.setup_probe: SetupCheckProtocol | None = None
        self.setup: SetupReport | None = None
        self.terminal = TerminalView()
        self.started_s = time.monotonic()
        self.scorer = copy.deepcopy(protocol)  # untouched: scores the whole session at its end
        self.poses: list[PoseFrame] = []
        self.paused: list[bool] = []
        self.actions: list[str | None] = []
        self.evidence_jpegs: dict[int, bytes] = {}

    def warn(self, message: str) -> None:
        _warn(self.warnings, message)

    def open_outputs(self, camera_profile) -> Any:
        """Start the camera, then the recorder, window and set-up probe (they need its frame size)."""
        self.source.start()
        self.started_s = time.monotonic()
        info = self.source.info
        if camera_profile is not None:  # a profile for another frame shape fails here, not mid-session
            camera_profile = camera_profile.for_image_size(info.width, info.height)
        if self.live.record is not None:
            self.recorder = SessionRecorder(Path(self.live.record), info.fps, info.width, info.height)
        if self.display:
            self.window, problem = open_window(self.title)
            if problem:
                self.warn(problem)
        if self.protocol.setup_posture is not None:
            self.setup_probe = SetupCheckProtocol(seconds=STARTUP_CHECK_S, posture=self.protocol.setup_posture)
        return camera_profile

    def close(self) -> float:
        """Close window, camera and sound; the session's duration."""
        duration_s = time.monotonic() - self.started_s
        if self.window is not None:
            self.window.close()
        self.source.close()
        self.cues.close()
        for message in self.cues.warnings:
            if message not in self.warnings:
                self.warn(message)
        return duration_s


def run_live_session(camera: str | LiveSource | PushedSource, protocol: FrameProtocol, out_dir: Path, *,
                     live: LiveOptions = LiveOptions(), options: RunOptions = RunOptions()) -> LiveSessionResult:
    """Run ``protocol`` live on ``camera`` (device index "0", URL, or video file; or an
    already-made :class:`LiveSource` or :class:`~hamflex.media.pushed.PushedSource`) until it finishes, the stream ends, the person quits
    (q, Esc, closing the window) or the camera is lost.

    Writes ``out_dir/live_session.json`` (and the ``record`` directory) however it ends, and
    returns; an exception that ended the session (Ctrl-C included) is in ``failure``, for the
    caller to raise once it has saved its own result. Raises CameraError (before anything is
    measured) when the camera cannot be opened. The set-up checks run on the first seconds
    with a person in view (in the protocol's ``setup_posture``) and what fails is warned
    about on the terminal and in the overlay.
    """
    camera_profile = load_profile(options.camera_profile)
    model_path = resolve_model(options.model, offline=options.offline, progress=True)
    source = LiveSource(str(camera), realtime=live.realtime) if isinstance(camera, (str, int, Path)) else camera
    session = _Session(source, protocol, live, protocol.title)
    ended_by, failure = "finished", None
    try:
        with PoseEstimator(model_path, verbose=options.verbose) as estimator:
            camera_profile = session.open_outputs(camera_profile)
            ended_by = _loop(session, estimator, camera_profile)
    except KeyboardInterrupt as interrupt:
        failure, ended_by = interrupt, "interrupted"
    except Exception as error:
        failure, ended_by = error, ("camera_lost" if isinstance(error, CameraError) else "error")
    finally:
        duration_s = session.close()
    return _save_session(session, Path(out_dir), ended_by, failure, duration_s)


def _save_session(session: _Session, out_dir: Path, ended_by: str, failure: BaseException | None,
                  duration_s: float) -> LiveSessionResult:
    if session.source.lost and failure is None:
        ended_by = "camera_lost"
        session.warn(f"{session.source.description} was lost after {len(session.latencies_ms)} frames: "
                     "the session so far is saved")
    if failure is not None and not isinstance(failure, KeyboardInterrupt):
        session.warnings.append(f"stopped by an error: {failure}")
    try:
        scored, poses, angles = score_session(session.scorer, session.poses, session.paused, session.actions)
    except BaseException as error:  # a second Ctrl-C, or a protocol bug: keep what the session announced
        session.warn(f"the session could not be scored again ({type(error).__name__}): saved as announced")
        scored, poses, angles = session.protocol.result(), None, None
    result = LiveSessionResult(
        protocol_result=scored, poses=poses, angles=angles, evidence_jpegs=session.evidence_jpegs,
        announced_result=session.protocol.result(), frames=len(session.latencies_ms), ended_by=ended_by,
        warnings=session.warnings, duration_s=duration_s, frames_captured=session.source.frames_captured,
        frames_dropped=session.source.frames_dropped, frames_with_person=session.frames_with_person,
        latencies_ms=session.latencies_ms, cue_events=list(session.cues.events), setup=session.setup,
        failure=failure, protocol_kind=session.protocol.kind,
    )
    if session.recorder is not None:
        result.files.update(session.recorder.close(result.cue_events, duration_s))
        write_json(result.files["session_json"], result.to_dict())
    result.files["live_session_json"] = write_json(out_dir / LIVE_SESSION_JSON, result.to_dict())
    return result


@dataclass
class _LoopState:
    """What the loop carries from frame to frame."""

    paused: bool = False
    pending_action: str | None = None
    feedback: Feedback | None = None
    cue_text: str = ""
    cue_text_until_s: float = 0.0
    setup_lines: tuple[str, ...] = ()
    setup_lines_until_s: float = 0.0


def _loop(session: _Session, estimator: PoseEstimator, camera_profile) -> str:
    """Process frames until the session ends; returns how it ended."""
    rate, state, pipeline = _Rate(), _LoopState(), AnglePipeline()
    while (frame := session.source.next_frame()) is not None:
        pose = estimator.detect(frame)
        if camera_profile is not None:
            pose = camera_profile.undistort_pose(pose)
        action, state.pending_action = state.pending_action, None
        apply_action(session.protocol, action)
        sample, raw, smoothed = pipeline(pose)
        session.frames_with_person += int(pose.detected)
        session.poses.append(pose)
        session.paused.append(state.paused)
        session.actions.append(action)
        _probe_setup(session, state, sample, frame)
        if not state.paused:
            _feed(session, state, sample, frame)
        now_s = time.monotonic()
        hud = Hud(rate.tick(now_s), (now_s - frame.captured_s) * 1000.0, state.paused,
                  state.cue_text if now_s < state.cue_text_until_s else "", KEYS_HELP if session.window is not None else "")
        guidance = [state.feedback.state.replace("_", " ").upper(), *state.feedback.guidance] if state.feedback else []
        if now_s < state.setup_lines_until_s:
            guidance += state.setup_lines
        image = compose_overlay(frame.bgr, pose.landmarks_px, pose.visibility, smoothed, guidance=guidance, hud=hud,
                                mirror=session.live.mirror, max_size_px=DISPLAY_MAX_SIZE_PX)
        session.latencies_ms.append((time.monotonic() - frame.captured_s) * 1000.0)
        if session.live.view is not None:
            session.live.view(frame, image, guidance)
        if session.recorder is not None:
            session.recorder.write(frame.bgr, frame.frame_index, pose, raw, smoothed, sample.leg_visibility,
                                   state.paused, action)
        if state.feedback is not None and state.feedback.finished and not state.paused:
            return "finished"
        if session.window is not None and (ending := _handle_keys(session.window, image, state)) is not None:
            return ending
    return "camera_lost" if session.source.lost else "finished"


def _probe_setup(session: _Session, state: _LoopState, sample, frame: LiveFrame) -> None:
    """Feed the start-of-session set-up check; when it is done, warn about what failed."""
    if session.setup_probe is None or not session.setup_probe.update(sample).finished:
        return
    session.setup = session.setup_probe.result()
    session.setup_probe = None
    state.setup_lines = tuple(f"set-up: {warning}" for warning in session.setup.warnings)
    state.setup_lines_until_s = frame.captured_s + SETUP_WARNING_SHOWN_S
    for line in state.setup_lines:
        session.warn(line)


def _feed(session: _Session, state: _LoopState, sample, frame: LiveFrame) -> None:
    """One frame to the protocol; its cues to the speaker and the terminal; the frame kept (as
    JPEG) when the protocol is in a state whose frames its trial pictures may show."""
    state.feedback = feedback = session.protocol.update(sample)
    if feedback.state in session.protocol.evidence_states:
        ok, encoded = cv2.imencode(".jpg", frame.bgr, [cv2.IMWRITE_JPEG_QUALITY, EVIDENCE_JPEG_QUALITY])
        if ok:
            session.evidence_jpegs[frame.frame_index] = encoded.tobytes()
    session.cues.cue(sample.timestamp_s, feedback.cues, feedback.spoken)
    session.terminal.feedback(sample.timestamp_s, feedback)
    if session.cues.text_only:
        session.terminal.cues(sample.timestamp_s, feedback.cues, feedback.spoken)
        if feedback.cues:
            state.cue_text = "; ".join(CUE_TEXT.get(c, c) for c in feedback.cues)
            state.cue_text_until_s = frame.captured_s + CUE_TEXT_SHOWN_S


def _handle_keys(window: WindowView, image: np.ndarray, state: _LoopState) -> str | None:
    """Show the picture and act on the key pressed; "quit" when the person quits."""
    key = window.show(image)
    if window.closed:
        return "quit"
    action = key_action(key)
    if action == "quit":
        return "quit"
    if action == "pause":
        state.paused = not state.paused
    elif action is not None:
        state.pending_action = action  # applied before the next frame, as replay does
    return None
