"""The live loop end to end on a real clip played as a webcam (realtime, real model):
outputs, recording and replay, cues, every way a session can end, and the window under Xvfb."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from hamflex.outputs.audio import read_wav
from hamflex.camera.profile import CameraProfile
from hamflex.media.cameras import LiveSource
from hamflex.errors import CameraProfileError
from hamflex.errors import EXIT_INTERRUPTED
from hamflex.outputs.overlay import DISPLAY_MAX_SIZE_PX, Hud, compose_overlay
from hamflex.outputs.recording import read_recorded_poses
from hamflex.outputs.terminal import TerminalView
from hamflex.outputs.window import WindowView
from hamflex.pipelines.live import LiveSessionResult, key_action, replay_recording, run_live_session
from hamflex.pipelines.options import LiveOptions, RunOptions
from hamflex.outputs.tables import CSV_COLUMNS
from hamflex.media.pose import PoseFrame
from hamflex.protocols.base import CUE_DONE, Feedback
from tests.support.counting_protocol import CountingProtocol
from tests.support.synthetic_poses import make_pose, to_pose_frames

CLIP = "videos/real/physioplus_bridging_supine_side.mp4"  # 640x480, 30 fps, 3 s, a person lying down


def _read_csv(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or ()), list(reader)


def _session(camera, protocol, out_dir, model_path, camera_profile=None, **live) -> LiveSessionResult:
    """``run_live_session`` with sound off and ``live`` as LiveOptions fields."""
    return run_live_session(camera, protocol, out_dir, live=LiveOptions(**{"audio": False, **live}),
                            options=RunOptions(model=model_path, camera_profile=camera_profile))


def _run(shared_dir, model_path, tmp_path, protocol, **options) -> LiveSessionResult:
    camera = options.pop("camera", str(shared_dir / CLIP))
    return _session(camera, protocol, tmp_path / "out", model_path, **{"display": False, "realtime": True, **options})


@pytest.mark.model
def test_headless_session_on_a_clip_records_everything_and_replays_identically(shared_dir, model_path, tmp_path, capsys):
    protocol = CountingProtocol(done_at=30)
    result = _run(shared_dir, model_path, tmp_path, protocol, record=tmp_path / "rec")

    assert result.ended_by == "finished" and result.exit_code == 0
    assert 20 <= result.frames <= 91 and result.frames == protocol.updates
    assert result.frames + result.frames_dropped == result.frames_captured == 91
    assert protocol.detected >= 0.9 * result.frames
    assert np.all(np.diff(protocol.timestamps_s) > 0)
    assert protocol.timestamps_s[-1] == pytest.approx(3.0, abs=0.5)  # monotonic capture time: real pace

    saved = json.loads((tmp_path / "out" / "live_session.json").read_text())
    assert saved["ended_by"] == "finished" and saved["frames_processed"] == result.frames
    assert saved["announced_result"] == pytest.approx(protocol.result())  # what was said live
    assert saved["protocol_result"]["updates"] == protocol.updates  # the same frames, scored again
    assert saved["latency_ms_median"] > 0

    columns, rows = _read_csv(tmp_path / "rec" / "angles.csv")
    assert tuple(columns) == CSV_COLUMNS and len(rows) == result.frames
    assert np.all(np.diff([int(r["timestamp_ms"]) for r in rows]) > 0)
    _, landmark_rows = _read_csv(tmp_path / "rec" / "landmarks.csv")
    assert len(landmark_rows) == result.frames
    video = cv2.VideoCapture(str(tmp_path / "rec" / "raw.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == result.frames
    assert (video.get(cv2.CAP_PROP_FRAME_WIDTH), video.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (640, 480)
    video.release()

    replayed = replay_recording(tmp_path / "rec", CountingProtocol(done_at=30))
    assert replayed == result.protocol_result  # exactly: same landmarks, timestamps and filters

    samples, rate = read_wav(tmp_path / "rec" / "cues.wav")  # the chime sits at the trial's time
    chime = samples[int(protocol.done_time_s * rate): int((protocol.done_time_s + 0.1) * rate)]
    spectrum = np.abs(np.fft.rfft(chime * np.hanning(len(chime)), n=8 * len(chime)))
    assert np.fft.rfftfreq(8 * len(chime), 1 / rate)[np.argmax(spectrum)] == pytest.approx(523.25, abs=6)

    printed = capsys.readouterr().err
    assert "frames 1" in printed and "recorded" in printed  # guidance and cue text on the terminal (stderr)


@pytest.mark.model
def test_camera_pulled_mid_session_saves_the_session(shared_dir, model_path, tmp_path, capsys):
    source = LiveSource(str(shared_dir / CLIP), realtime=True, fail_after_frames=20)
    protocol = CountingProtocol()
    result = _run(shared_dir, model_path, tmp_path, protocol, camera=source, record=tmp_path / "rec")
    assert result.ended_by == "camera_lost" and result.exit_code == 6
    assert 1 <= result.frames <= 20 and protocol.updates == result.frames
    assert any("lost" in w for w in result.warnings)
    assert "lost" in capsys.readouterr().err
    saved = json.loads((tmp_path / "out" / "live_session.json").read_text())
    assert saved["ended_by"] == "camera_lost" and saved["protocol_result"]["updates"] == result.frames
    assert len(_read_csv(tmp_path / "rec" / "landmarks.csv")[1]) == result.frames


@pytest.mark.model
def test_ctrl_c_saves_what_was_measured_then_interrupts(shared_dir, model_path, tmp_path):
    # the session returns with the KeyboardInterrupt in ``failure``, for the caller to raise once saved
    result = _run(shared_dir, model_path, tmp_path, CountingProtocol(interrupt_at=8), record=tmp_path / "rec")
    assert isinstance(result.failure, KeyboardInterrupt)
    assert result.ended_by == "interrupted" and result.exit_code == EXIT_INTERRUPTED
    saved = json.loads((tmp_path / "out" / "live_session.json").read_text())
    assert saved["ended_by"] == "interrupted" and saved["protocol_result"]["updates"] == 8
    assert saved["frames_processed"] == 7  # the eighth frame was cut short
    assert len(_read_csv(tmp_path / "rec" / "landmarks.csv")[1]) == 7


@pytest.mark.model
def test_a_finished_protocol_ends_the_session(shared_dir, model_path, tmp_path):
    result = _run(shared_dir, model_path, tmp_path, CountingProtocol(finish_at=12))
    assert result.ended_by == "finished" and result.frames == 12


def test_keys_map_to_actions():
    assert [key_action(k) for k in (ord("q"), 27, ord(" "), ord("s"), ord("r"), -1, ord("x"))] == [
        "quit", "quit", "pause", "switch_side", "restart", None, None]
    assert key_action(0x100000 | ord("q")) == "quit"  # modifier bits some backends add


def _blank_pose(width: int, height: int) -> PoseFrame:
    return PoseFrame(0, 0, width, height)


def _overlay(image: np.ndarray, pose: PoseFrame, **kwargs) -> np.ndarray:
    """The live window's picture of ``pose`` on ``image`` (no angle labels), as the loop composes it."""
    return compose_overlay(image, pose.landmarks_px, pose.visibility, {}, max_size_px=DISPLAY_MAX_SIZE_PX, **kwargs)


def test_mirrored_overlay_flips_the_picture_but_not_the_text():
    image = np.zeros((480, 640, 3), np.uint8)
    guidance = ("HOLD", "straighten your knee")  # Feedback("hold", ("straighten your knee",)) as the loop shows it
    hud = Hud(fps=29.5, latency_ms=31)
    blank = _blank_pose(640, 480)
    plain = _overlay(image, blank, guidance=guidance, hud=hud, mirror=False)
    mirrored = _overlay(image, blank, guidance=guidance, hud=hud, mirror=True)
    assert plain.any() and np.array_equal(plain, mirrored)  # text drawn after the flip: readable

    frame = to_pose_frames(make_pose(np.array([90.0]), np.array([20.0]), centre_px=(300.0, 300.0)), [0])[0]
    assert frame.image_width <= 1280 and frame.image_height <= 1280  # drawn at full size
    wide = np.zeros((frame.image_height, frame.image_width, 3), np.uint8)
    with_pose = _overlay(wide, frame, hud=hud, mirror=True)
    knee_x, knee_y = frame.landmarks_px[26]  # right knee
    mirrored_x = frame.image_width - 1 - int(round(knee_x))
    assert abs(mirrored_x - knee_x) > 50
    assert with_pose[int(knee_y), mirrored_x].any()  # the skeleton is mirrored with the picture
    assert not with_pose[int(knee_y), int(round(knee_x))].any()


def test_large_frames_are_scaled_down_for_the_window():
    image = np.zeros((1920, 1080, 3), np.uint8)
    shown = _overlay(image, _blank_pose(1080, 1920), hud=Hud(30, 20))
    assert max(shown.shape[:2]) == 1280


@pytest.fixture
def virtual_display(monkeypatch):
    """An Xvfb X server for the window tests (skipped when Xvfb is not installed)."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    number = 90 + os.getpid() % 100
    process = subprocess.Popen([xvfb, f":{number}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"Xvfb did not start on :{number}")
        time.sleep(0.05)
    monkeypatch.setenv("DISPLAY", f":{number}")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    yield f":{number}"
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.model
def test_window_session_with_keys_under_a_virtual_display(shared_dir, model_path, tmp_path, virtual_display, monkeypatch):
    visible: list[float] = []
    protocol = CountingProtocol(probe=lambda n: visible.append(cv2.getWindowProperty("hamflex test", cv2.WND_PROP_VISIBLE)) if n == 5 else None,
                                title="hamflex test")  # the window's title
    script = {5: ord("s"), 10: ord(" "), 16: ord(" "), 20: ord("r"), 25: ord("q")}
    shown = {"frames": 0}
    original_show = WindowView.show

    def scripted_show(self, image):  # the real window, with keys pressed at chosen frames
        original_show(self, image)
        shown["frames"] += 1
        return script.get(shown["frames"], -1)

    monkeypatch.setattr(WindowView, "show", scripted_show)
    # every frame of the file (not realtime), so the keys land on the same frames however loaded the machine is
    result = _run(shared_dir, model_path, tmp_path, protocol, display=True, mirror=True,
                  record=tmp_path / "rec", realtime=False)

    assert visible == [1.0]  # the window was really on the (virtual) screen
    assert result.ended_by == "quit" and result.frames == 25
    assert not any("display" in w for w in result.warnings)
    assert protocol.switches == 1 and protocol.restarts == 1
    assert protocol.updates == 25 - 6  # frames 11-16 were shown paused, not measured
    assert replay_recording(tmp_path / "rec", CountingProtocol()) == result.protocol_result


def test_terminal_prints_guidance_changes_not_every_new_number():
    stream = io.StringIO()
    view = TerminalView(stream)
    for i in range(30):
        view.feedback(i / 30, Feedback("extend", (f"thigh {90 + i % 3}°  knee {30 - i}° short of straight",)))
    view.feedback(1.0, Feedback("hold", ("Hold still", "3 s")))
    view.cues(1.0, [CUE_DONE], ["well done"])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert "extend: thigh 90°  knee 30°" in lines[0] and "hold: Hold still | 3 s" in lines[1]
    assert lines[2].endswith(">> recorded; well done")


@pytest.mark.model
def test_without_a_display_the_window_falls_back_to_headless(shared_dir, model_path, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    result = _run(shared_dir, model_path, tmp_path, CountingProtocol(finish_at=5), display=True)
    assert result.ended_by == "finished" and result.frames == 5
    assert sum("no display" in w for w in result.warnings) == 1
    captured = capsys.readouterr()
    assert "no display" in captured.err and "frames 1" in captured.err  # guidance went to the terminal


@pytest.mark.model
def test_a_camera_profile_undistorts_every_pose_before_anything_else(shared_dir, model_path, tmp_path):
    profile = CameraProfile(640, 480, fx=600.0, fy=600.0, cx=320.0, cy=240.0,
                            dist_coeffs=(-0.3, 0.1, 0.0, 0.0, 0.0), rms_reprojection_error_px=0.3)
    profile_path = profile.save(tmp_path / "profile.json")
    clip = str(shared_dir / CLIP)
    for name, camera_profile in (("plain", None), ("undistorted", profile_path)):
        _session(clip, CountingProtocol(finish_at=8), tmp_path / name, model_path, display=False,
                 record=tmp_path / name / "rec", camera_profile=camera_profile)
    plain = [pose for pose, _, _ in read_recorded_poses(tmp_path / "plain" / "rec")]
    undistorted = [pose for pose, _, _ in read_recorded_poses(tmp_path / "undistorted" / "rec")]
    assert len(plain) == len(undistorted) == 8  # a file without --realtime: the same frames and times
    for before, after in zip(plain, undistorted):
        expected = profile.undistort_pose(before)
        np.testing.assert_allclose(after.landmarks_norm, expected.landmarks_norm, atol=1e-5)
        assert np.nanmax(np.abs(after.landmarks_px - before.landmarks_px)) > 1.0

    portrait = CameraProfile(480, 640, fx=600.0, fy=600.0, cx=240.0, cy=320.0,
                             dist_coeffs=(0.0, 0.0, 0.0, 0.0, 0.0), rms_reprojection_error_px=0.3)
    wrong = _session(clip, CountingProtocol(), tmp_path / "wrong", model_path, display=False, camera_profile=portrait)
    assert isinstance(wrong.failure, CameraProfileError)  # returned after saving, for the caller to raise
    assert json.loads((tmp_path / "wrong" / "live_session.json").read_text())["frames_processed"] == 0


@pytest.mark.parametrize("clip", ["synthetic/ray3d_supine9090.mp4", "synthetic/dev_test90.mp4"])
def test_a_recording_played_as_a_camera_gives_the_offline_trials(clip, analyzed_clip, shared_dir, model_path, tmp_path):
    """The same recording, analysed as a file and played as a camera (every frame delivered), gives
    the same trials: the same count, sides and verdicts, each deficit within 1.5° — on a short clip
    whose only hold is cut by the end of the recording, and on a 42 s recording of three trials."""
    from hamflex.pipelines.api import run_test90
    from hamflex.pipelines.run import score_analysis
    from hamflex.protocols.test90 import Test90Protocol

    offline = score_analysis(analyzed_clip(clip), Test90Protocol()).trials
    live = run_test90(str(shared_dir / clip), tmp_path, options=RunOptions(model=model_path),
                      live=LiveOptions(display=False, audio=False))
    assert live.mode == "live" and len(live.trials) == len(offline) >= 1
    for seen, expected in zip(live.trials, offline):
        assert (seen.side, seen.valid, seen.reason) == (expected.side, expected.valid, expected.reason)
        assert seen.knee_extension_deficit_deg == pytest.approx(expected.knee_extension_deficit_deg, abs=1.5)
    saved = json.loads((tmp_path / "live_session.json").read_text())
    assert saved["frames_dropped"] == 0 and saved["frames_processed"] == len(analyzed_clip(clip).poses)
    pictured = [t for t in live.trials if t.picture]  # live keeps the frames of each trial's end position
    assert len(pictured) == len(live.trials) and all((tmp_path / t.picture).is_file() for t in pictured)


class _FailsWhenScoredAgain(CountingProtocol):
    """A protocol whose end-of-session copy breaks: the session is then saved as announced."""

    def __deepcopy__(self, memo):
        return CountingProtocol(interrupt_at=3)


def test_a_session_that_cannot_be_scored_again_is_saved_as_announced(shared_dir, model_path, tmp_path):
    protocol = _FailsWhenScoredAgain()
    result = _run(shared_dir, model_path, tmp_path, protocol, realtime=False)
    assert result.ended_by == "finished" and result.failure is None
    assert result.protocol_result == protocol.result() and result.protocol_result["updates"] == result.frames
    assert any("could not be scored again" in w for w in result.warnings)
