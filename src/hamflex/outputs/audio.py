"""Cue sounds and spoken cues for live sessions, for a person lying on the floor.

Each protocol cue (``protocols/base.py`` ``CUE_*``) has a distinct sound: a rising pair of
notes when the position becomes right, a falling low pair when it becomes wrong, a soft
short tick every 5 valid seconds, a three-note chime when a trial is recorded or a rep is
complete, a double beep to switch sides. Spoken cues come from espeak-ng when installed.

Playback runs on a background thread fed by a small queue: the live loop never waits for
sound (a full queue drops the cue). Output goes through ``sounddevice`` (PortAudio) when it
works, else ``aplay``/``paplay``; with no sound output at all, cues become text with one
warning. ``render_cue_track`` writes the cue track of a session to a WAV file (tests, records).
"""

from __future__ import annotations

import io
import queue
import shutil
import subprocess
import tempfile
import threading
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hamflex.protocols.base import CUE_DONE, CUE_POSITION_BAD, CUE_POSITION_OK, CUE_SWITCH_SIDES, CUE_TICK

SAMPLE_RATE_HZ = 22050
_FADE_S = 0.005  # attack/release ramps: no clicks at note edges


@dataclass(frozen=True)
class Note:
    frequency_hz: float
    duration_s: float
    amplitude: float = 0.5


@dataclass(frozen=True)
class CueSound:
    """A short sequence of sine notes separated by ``gap_s`` of silence."""

    notes: tuple[Note, ...]
    gap_s: float = 0.03


CUE_SOUNDS: dict[str, CueSound] = {
    CUE_POSITION_OK: CueSound((Note(660.0, 0.12), Note(880.0, 0.16))),  # rising: good
    CUE_POSITION_BAD: CueSound((Note(440.0, 0.15), Note(294.0, 0.22))),  # falling, low: wrong
    CUE_TICK: CueSound((Note(1320.0, 0.04, amplitude=0.15),)),  # soft: every 5 valid seconds
    CUE_DONE: CueSound((Note(523.25, 0.12), Note(659.25, 0.12), Note(783.99, 0.30)), gap_s=0.0),  # C-E-G chime
    CUE_SWITCH_SIDES: CueSound((Note(587.33, 0.1), Note(587.33, 0.1)), gap_s=0.08),
}

# What a cue means in words: shown as text when there is no sound output.
CUE_TEXT: dict[str, str] = {
    CUE_POSITION_OK: "position right",
    CUE_POSITION_BAD: "position wrong",
    CUE_TICK: "+5 valid seconds",
    CUE_DONE: "recorded",
    CUE_SWITCH_SIDES: "switch sides",
}

Player = Callable[[np.ndarray, int], None]
"""Plays mono float32 samples in -1..1 at a sample rate, blocking until done."""


def _tone(note: Note, sample_rate_hz: int) -> np.ndarray:
    times_s = np.arange(int(round(note.duration_s * sample_rate_hz))) / sample_rate_hz
    wave_ = note.amplitude * np.sin(2 * np.pi * note.frequency_hz * times_s)
    ramp = min(int(_FADE_S * sample_rate_hz), len(wave_) // 2)
    if ramp > 0:
        envelope = np.ones_like(wave_)
        envelope[:ramp] = np.linspace(0.0, 1.0, ramp)
        envelope[-ramp:] = np.linspace(1.0, 0.0, ramp)
        wave_ *= envelope
    return wave_.astype(np.float32)


def synthesize_cue(cue: str, sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """The samples of one cue's sound (KeyError for an unknown cue)."""
    sound = CUE_SOUNDS[cue]
    gap = np.zeros(int(round(sound.gap_s * sample_rate_hz)), dtype=np.float32)
    parts: list[np.ndarray] = []
    for i, note in enumerate(sound.notes):
        if i:
            parts.append(gap)
        parts.append(_tone(note, sample_rate_hz))
    return np.concatenate(parts)


def wav_bytes(samples: np.ndarray, sample_rate_hz: int) -> bytes:
    """Mono 16-bit PCM WAV of float samples in -1..1 (clipped)."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate_hz)
        writer.writeframes(pcm.tobytes())
    return buffer.getvalue()


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono 16-bit WAV → float samples in -1..1 and the sample rate."""
    with wave.open(str(path), "rb") as reader:
        rate = reader.getframerate()
        pcm = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32767.0, rate


def render_cue_track(events: Sequence[tuple[float, str]], path: Path, sample_rate_hz: int = SAMPLE_RATE_HZ,
                     duration_s: float | None = None) -> Path:
    """Mix ``(time_s, cue)`` events into one WAV file; each cue starts at its time."""
    sounds = [(max(time_s, 0.0), synthesize_cue(cue, sample_rate_hz)) for time_s, cue in events if cue in CUE_SOUNDS]
    end_s = max((t + len(s) / sample_rate_hz for t, s in sounds), default=0.0)
    track = np.zeros(int(np.ceil(max(end_s, duration_s or 0.0) * sample_rate_hz)) + 1, dtype=np.float32)
    for time_s, sound in sounds:
        start = int(round(time_s * sample_rate_hz))
        track[start:start + len(sound)] += sound[: len(track) - start]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wav_bytes(track, sample_rate_hz))
    return path


def speech_samples(text: str, espeak: str | None = None) -> tuple[np.ndarray, int] | None:
    """``text`` spoken by espeak-ng as samples, or None when espeak-ng is not installed or fails."""
    espeak = espeak or shutil.which("espeak-ng")
    if espeak is None:
        return None
    try:
        completed = subprocess.run([espeak, "--stdout", "-s", "150", text], capture_output=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    # espeak-ng streams its WAV, so the header's length is a placeholder: read the data chunk.
    data = completed.stdout
    marker = data.find(b"data")
    if not data.startswith(b"RIFF") or marker < 0:
        return None
    with wave.open(io.BytesIO(data[: marker + 8]), "rb") as reader:
        rate = reader.getframerate()
    pcm = np.frombuffer(data[marker + 8: marker + 8 + (len(data) - marker - 8) // 2 * 2], dtype="<i2")
    return pcm.astype(np.float32) / 32767.0, rate


def _sounddevice_player() -> Player | None:
    try:
        import sounddevice
    except (ImportError, OSError):  # OSError: the PortAudio library is missing
        return None
    try:
        sounddevice.query_devices(kind="output")
    except Exception:  # no output device
        return None

    def play(samples: np.ndarray, sample_rate_hz: int) -> None:
        sounddevice.play(samples, sample_rate_hz, blocking=True)

    return play


def _command_player(command: str) -> Player:
    def play(samples: np.ndarray, sample_rate_hz: int) -> None:
        with tempfile.NamedTemporaryFile(suffix=".wav") as handle:
            handle.write(wav_bytes(samples, sample_rate_hz))
            handle.flush()
            subprocess.run([command, handle.name], capture_output=True, timeout=10, check=True)

    return play


def find_player() -> tuple[Player | None, str]:
    """The first working sound output: sounddevice, else aplay/paplay; and what it is."""
    player = _sounddevice_player()
    if player is not None:
        return player, "sounddevice"
    for command in ("paplay", "aplay"):
        path = shutil.which(command)
        if path is None:
            continue
        player = _command_player(path)
        try:  # installed is not enough: without a sound card or server they fail at once
            player(np.zeros(SAMPLE_RATE_HZ // 100, dtype=np.float32), SAMPLE_RATE_HZ)
        except (OSError, subprocess.SubprocessError):
            continue
        return player, command
    return None, "no PortAudio output device, no working paplay or aplay"


class AudioCues:
    """Cue sounds and spoken words played on a background thread; ``cue()`` never blocks.

    Every cue is logged in ``events`` as ``(time_s, cue)`` (for ``render_cue_track``),
    whether or not it could be played. ``text_only`` is True when nothing can be heard;
    ``warnings`` then says why, once.
    """

    def __init__(self, enabled: bool = True, voice: bool = False, player: Player | None = None,
                 sample_rate_hz: int = SAMPLE_RATE_HZ, queue_size: int = 8) -> None:
        self.events: list[tuple[float, str]] = []
        self.warnings: list[str] = []
        self.dropped = 0
        self._sample_rate_hz = sample_rate_hz
        self._espeak = shutil.which("espeak-ng") if voice and enabled else None
        self._voice = voice and enabled
        if enabled and player is None:
            player, name = find_player()
            if player is None:
                self.warnings.append(f"no sound output ({name}): cues are shown as text only")
        if self._voice and self._espeak is None and player is not None:
            self.warnings.append("--voice: espeak-ng is not installed; spoken cues are shown as text only")
        self._player = player if enabled else None
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        if self._player is not None:
            self._thread = threading.Thread(target=self._play_loop, name="hamflex-audio", daemon=True)
            self._thread.start()

    @property
    def text_only(self) -> bool:
        return self._player is None

    @property
    def speaks(self) -> bool:
        return self._player is not None and self._espeak is not None

    def cue(self, time_s: float, cues: Sequence[str] = (), spoken: Sequence[str] = ()) -> None:
        """Queue the sounds of ``cues`` and the words of ``spoken`` (dropped if the queue is full)."""
        for name in cues:
            self.events.append((time_s, name))
            if name in CUE_SOUNDS:
                self._enqueue(("cue", name))
        if self.speaks:
            for text in spoken:
                self._enqueue(("say", text))

    def _enqueue(self, item: tuple[str, str]) -> None:
        if self._player is None:
            return
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1

    def _play_loop(self) -> None:
        while (item := self._queue.get()) is not None:
            kind, value = item
            if kind == "cue":
                samples, rate = synthesize_cue(value, self._sample_rate_hz), self._sample_rate_hz
            else:
                speech = speech_samples(value, self._espeak)
                if speech is None:
                    continue
                samples, rate = speech
            try:
                self._player(samples, rate)
            except Exception as error:  # the device went away: carry on silently, say so once
                self.warnings.append(f"sound output failed ({type(error).__name__}): cues are shown as text only")
                self._player = None
                return

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop the audio thread (sounds still queued are dropped after ``timeout_s``)."""
        if self._thread is not None:
            while True:
                try:
                    self._queue.put(None, timeout=timeout_s)
                    break
                except queue.Full:
                    try:
                        self._queue.get_nowait()
                    except queue.Empty:
                        pass
            self._thread.join(timeout=timeout_s)
            self._thread = None

    def __enter__(self) -> AudioCues:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
