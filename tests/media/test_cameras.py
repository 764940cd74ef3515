"""Live sources: realtime pacing with frame dropping, monotonic timestamps, faults."""

from __future__ import annotations

import time

import numpy as np
import pytest

from hamflex.media.cameras import LiveSource
from hamflex.media.sources import VideoSource
from hamflex.errors import CameraError

CLIP = "videos/real/physioplus_bridging_supine_side.mp4"  # 640x480, 30 fps, 91 frames, 3 s


def _drain(source: LiveSource, work_s: float = 0.0, ages_ms: list | None = None) -> list:
    """All frames a consumer spending ``work_s`` per frame gets; each frame's age when taken."""
    frames = []
    with source:
        for frame in source:
            if ages_ms is not None:
                ages_ms.append((time.monotonic() - frame.captured_s) * 1000)
            frames.append(frame)
            time.sleep(work_s)
    return frames


def test_realtime_file_plays_at_its_own_pace_and_drops_frames_when_the_consumer_is_slow(shared_dir):
    started = time.monotonic()
    source = LiveSource(str(shared_dir / CLIP), realtime=True)
    ages_ms: list[float] = []
    frames = _drain(source, work_s=0.07, ages_ms=ages_ms)  # about 14 fps of "processing" against a 30 fps clip
    elapsed_s = time.monotonic() - started
    assert source.end_reason == "ended" and not source.lost
    assert source.frames_captured == 91
    assert 15 <= len(frames) <= 50
    assert source.frames_dropped == 91 - len(frames)
    assert 2.8 <= elapsed_s <= 4.5  # the clip's own 3 s, not as fast as decoding allows
    indices = [f.frame_index for f in frames]
    assert indices == sorted(indices) and max(np.diff(indices)) >= 2  # older frames were skipped
    timestamps = np.array([f.timestamp_ms for f in frames])
    assert np.all(np.diff(timestamps) > 0)
    assert 2700 <= timestamps[-1] <= 3600
    # only the newest frame is kept: it is at most about one frame (33 ms) old when taken,
    # where a queue would make the age grow to seconds
    assert max(ages_ms[3:]) < 150
    frame = frames[0]
    assert frame.rgb.shape == (480, 640, 3) and np.array_equal(frame.rgb[..., ::-1], frame.bgr)


def test_file_without_realtime_delivers_every_frame_at_the_files_own_times(shared_dir):
    source = LiveSource(str(shared_dir / CLIP))
    frames = _drain(source, work_s=0.002)
    assert len(frames) == 91 and source.frames_dropped == 0
    assert [f.frame_index for f in frames] == list(range(91))
    with VideoSource(shared_dir / CLIP) as offline:
        assert [f.timestamp_ms for f in frames] == [f.timestamp_ms for f in offline]  # as offline analysis


def test_a_camera_pulled_mid_stream_is_reported_lost(shared_dir):
    source = LiveSource(str(shared_dir / CLIP), realtime=True, fail_after_frames=12)
    frames = _drain(source)
    assert source.lost and source.end_reason == "lost"
    assert 1 <= len(frames) <= 12


@pytest.mark.parametrize(
    ("camera", "expected"),
    [
        ("7", ["camera 7 could not be opened", "tried device 7 with"]),
        ("rtsp://127.0.0.1:9/stream", ["could not be opened", "tried FFmpeg"]),
        ("no_such_video.mp4", ["not a device index", "not a URL", "no such video file"]),
    ],
)
def test_a_camera_that_cannot_be_opened_says_what_was_tried(camera, expected, capfd):
    with pytest.raises(CameraError) as raised:
        LiveSource(camera)
    assert raised.value.exit_code == 6
    for text in expected:
        assert text in str(raised.value)
    assert "WARN" not in capfd.readouterr().err  # OpenCV's own backend chatter is silenced
