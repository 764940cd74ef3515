"""PushedSource: pictures pushed from another thread (the web app's WebSocket), read by the live loop."""

from __future__ import annotations

import threading

import cv2
import pytest

from hamflex.errors import CameraError
from hamflex.media.pushed import PushedSource
from tests.support.media import gradient_frames


def _jpeg(index: int) -> bytes:
    return cv2.imencode(".jpg", gradient_frames(index + 1)[index])[1].tobytes()


def test_in_real_time_only_the_newest_picture_is_analysed_at_the_senders_times():
    source = PushedSource("test camera")
    for index, time_ms in enumerate((0.0, 33.4, 66.6)):
        assert source.push(time_ms, _jpeg(index))
    source.start()
    frame = source.next_frame()
    assert (frame.frame_index, frame.timestamp_ms, frame.rgb.shape) == (2, 67, (90, 160, 3))
    assert frame.bgr.shape == (90, 160, 3) and source.frames_dropped == 2
    source.push(50.0, _jpeg(3))  # a time that goes back still gives MediaPipe an increasing one
    assert source.next_frame().timestamp_ms == 68
    source.stop()
    assert source.next_frame() is None and not source.lost and not source.push(100.0, _jpeg(4))


def test_every_frame_queues_them_all_and_a_duration_ends_the_stream():
    source = PushedSource("test camera", every_frame=True, max_duration_s=0.05)
    assert [source.push(t, _jpeg(i)) for i, t in enumerate((0.0, 33.0, 50.0, 66.0))] == [True, True, False, False]
    source.start()
    assert [source.next_frame().timestamp_ms, source.next_frame().timestamp_ms, source.next_frame()] == [0, 33, None]
    assert source.frames_captured == 2 and source.frames_dropped == 0 and source.end_reason == "ended"


def test_broken_pictures_are_skipped_and_a_silent_sender_is_a_lost_camera():
    source = PushedSource("test camera", lost_after_s=0.2)
    source.push(0.0, _jpeg(0))
    source.start()
    source.push(10.0, b"not a jpeg")
    threading.Timer(0.05, source.push, (20.0, _jpeg(1))).start()
    assert source.next_frame().timestamp_ms == 20
    assert source.next_frame() is None and source.lost


def test_no_picture_at_all_is_a_camera_error():
    with pytest.raises(CameraError, match="sent no picture"):
        PushedSource("browser camera", open_timeout_s=0.1).start()
