"""Cue sounds: distinct tones, a WAV cue track with the right notes at the right times,
playback that never blocks the caller, and the text fallback."""

from __future__ import annotations

import shutil
import threading
import time

import numpy as np
import pytest

from hamflex.outputs.audio import (
    CUE_SOUNDS,
    SAMPLE_RATE_HZ,
    AudioCues,
    read_wav,
    render_cue_track,
    speech_samples,
    synthesize_cue,
)
from hamflex.protocols.base import CUE_DONE, CUE_POSITION_BAD, CUE_POSITION_OK, CUE_SWITCH_SIDES, CUE_TICK


def _dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)), n=8 * len(samples)))
    return float(np.fft.rfftfreq(8 * len(samples), 1 / rate)[np.argmax(spectrum)])


def _onsets_s(samples: np.ndarray, rate: int, threshold: float = 0.05) -> list[float]:
    """Times where sound starts after at least 0.2 s of silence."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    starts = [loud[0]] + [b for a, b in zip(loud[:-1], loud[1:]) if b - a > 0.2 * rate]
    return [s / rate for s in starts]


def test_every_cue_has_a_sound_and_they_differ():
    assert set(CUE_SOUNDS) == {CUE_POSITION_OK, CUE_POSITION_BAD, CUE_TICK, CUE_DONE, CUE_SWITCH_SIDES}
    signatures = {tuple(n.frequency_hz for n in sound.notes) for sound in CUE_SOUNDS.values()}
    assert len(signatures) == len(CUE_SOUNDS)


def test_right_rises_and_wrong_falls():
    for cue, rising in ((CUE_POSITION_OK, True), (CUE_POSITION_BAD, False)):
        samples = synthesize_cue(cue)
        first = _dominant_hz(samples[: int(0.1 * SAMPLE_RATE_HZ)], SAMPLE_RATE_HZ)
        last = _dominant_hz(samples[-int(0.1 * SAMPLE_RATE_HZ):], SAMPLE_RATE_HZ)
        assert (last > first) is rising
    tick = synthesize_cue(CUE_TICK)
    assert len(tick) / SAMPLE_RATE_HZ < 0.1  # short
    assert np.abs(tick).max() < 0.5 * np.abs(synthesize_cue(CUE_DONE)).max()  # soft


def test_cue_track_has_each_cue_at_its_time_with_its_notes(tmp_path):
    events = [(0.5, CUE_POSITION_OK), (1.5, CUE_TICK), (2.0, CUE_DONE), (3.0, "unknown_cue")]
    path = render_cue_track(events, tmp_path / "cues.wav", duration_s=4.0)
    samples, rate = read_wav(path)
    assert rate == SAMPLE_RATE_HZ
    assert len(samples) / rate == pytest.approx(4.0, abs=0.01)
    assert _onsets_s(samples, rate) == pytest.approx([0.5, 1.5, 2.0], abs=0.01)

    def window(start_s: float, length_s: float) -> np.ndarray:
        return samples[int(start_s * rate): int((start_s + length_s) * rate)]

    assert _dominant_hz(window(0.51, 0.1), rate) == pytest.approx(660, abs=5)
    assert _dominant_hz(window(0.66, 0.1), rate) == pytest.approx(880, abs=5)
    assert _dominant_hz(window(1.505, 0.03), rate) == pytest.approx(1320, abs=20)
    assert _dominant_hz(window(2.01, 0.1), rate) == pytest.approx(523.25, abs=5)
    assert _dominant_hz(window(2.25, 0.25), rate) == pytest.approx(783.99, abs=5)
    assert np.abs(window(3.0, 0.9)).max() == 0  # unknown cues make no sound


def test_playing_never_blocks_the_caller():
    played: list[int] = []
    release = threading.Event()

    def slow_player(samples: np.ndarray, rate: int) -> None:
        release.wait(5)  # a sound device that takes its time
        played.append(len(samples))

    cues = AudioCues(player=slow_player, queue_size=4)
    started = time.perf_counter()
    for i in range(50):
        cues.cue(i * 0.1, [CUE_TICK])
    assert time.perf_counter() - started < 0.05
    assert cues.dropped >= 40 and len(cues.events) == 50
    release.set()
    cues.close()
    assert played and played[0] == len(synthesize_cue(CUE_TICK))


def test_a_failing_sound_device_falls_back_to_text_with_one_warning():
    def broken_player(samples: np.ndarray, rate: int) -> None:
        raise OSError("device unplugged")

    cues = AudioCues(player=broken_player)
    for i in range(5):
        cues.cue(float(i), [CUE_POSITION_OK])
        time.sleep(0.02)
    cues.close()
    assert cues.text_only
    assert len(cues.warnings) == 1 and "text only" in cues.warnings[0]


def test_audio_off_logs_cues_without_playing_or_warning():
    cues = AudioCues(enabled=False, voice=True)
    cues.cue(1.0, [CUE_DONE], ["well done"])
    cues.close()
    assert cues.text_only and not cues.speaks and cues.warnings == []
    assert cues.events == [(1.0, CUE_DONE)]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_spoken_cues_come_from_espeak_ng():
    samples, rate = speech_samples("straighten your knee")
    assert rate > 8000
    assert 0.5 < len(samples) / rate < 5
    assert np.sqrt(np.mean(samples**2)) > 0.01


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_voice_plays_spoken_words_through_the_player():
    lengths: list[float] = []
    cues = AudioCues(voice=True, player=lambda samples, rate: lengths.append(len(samples) / rate))
    assert cues.speaks
    cues.cue(0.0, [], ["hold"])
    cues.close(timeout_s=10)
    assert len(lengths) == 1 and lengths[0] > 0.2
