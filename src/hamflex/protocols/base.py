"""The per-frame interface shared by protocols and the loops that drive them, and the fields
every protocol result carries.

Offline analysis and the live webcam loop both feed a protocol one :class:`FrameSample` at a
time and draw/speak the :class:`Feedback` it returns; ``result()`` gives the typed outcome at
any moment (so a session cut short still has its result), which
:func:`~hamflex.pipelines.run.run_protocol` completes with :class:`SessionFields` and saves.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar, Protocol

import numpy as np

from hamflex.camera.checks import SetupReport
from hamflex.errors import HamflexError


@dataclass(frozen=True)
class FrameSample:
    """What a protocol sees of one frame.

    ``angles_deg`` holds the geometry module's angle columns (``left_knee_flexion_deg``,
    ``trunk_to_horizontal_deg``, 3D ``*_3d_deg``, ...), NaN where unknown: smoothed
    zero-phase offline, One-Euro live. ``landmarks_px`` and ``visibility`` are the analysed
    person's ``(33, 2)`` pixel landmarks and ``(33,)`` visibility (NaN when nobody is seen);
    ``world_landmarks_m`` (optional) their ``(33, 3)`` world landmarks, whose depth tells which
    leg is nearer the camera.
    """

    timestamp_s: float
    detected: bool
    angles_deg: dict[str, float]
    landmarks_px: np.ndarray
    visibility: np.ndarray
    leg_visibility: dict[str, float] = field(default_factory=dict)
    world_landmarks_m: np.ndarray | None = None  # (33, 3) MediaPipe world landmarks; z < 0 is nearer the camera
    image_size_px: tuple[int, int] = (0, 0)  # (width, height) of the picture
    frame_index: int = -1  # the frame's number in its recording or camera stream


# Cue events a protocol may emit; the live loop maps them to sounds and spoken words.
CUE_POSITION_OK = "position_ok"
CUE_POSITION_BAD = "position_bad"
CUE_TICK = "tick"  # every 5 valid seconds
CUE_DONE = "done"  # a trial recorded or a rep completed
CUE_SWITCH_SIDES = "switch_sides"


@dataclass(frozen=True)
class Feedback:
    """What to show and say after a frame: state name, guidance lines, cue events."""

    state: str
    guidance: tuple[str, ...] = ()
    cues: tuple[str, ...] = ()
    spoken: tuple[str, ...] = ()
    finished: bool = False


def known_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``data`` that are fields of dataclass ``cls`` (a JSON read back may have
    more, from a newer version, or fewer, from an older one)."""
    return {f.name: data[f.name] for f in fields(cls) if f.name in data}


@dataclass(kw_only=True)
class SessionFields:
    """How a protocol result was obtained, filled in by ``run_protocol``; the JSON leaves out
    what is unknown (None) and ``complete`` while it is true."""

    source: str | None = None
    mode: str | None = None  # "video", "photo" or "live"
    frames: int | None = None
    frames_with_person: int | None = None
    ended_by: str | None = None  # live: finished, quit, interrupted, camera_lost, error
    complete: bool = True  # False when Ctrl-C cut the recording's analysis short
    setup: SetupReport | None = None  # the start-of-session set-up check
    warnings: list[str] = field(default_factory=list)

    OPTIONAL_FIELDS: ClassVar[tuple[str, ...]] = (
        "source", "mode", "frames", "frames_with_person", "ended_by", "setup")
    NOTHING_FIELD: ClassVar[str] = ""  # the field that says why nothing was scored

    def with_session(self, *, warnings: list[str] | tuple[str, ...] = (), setup: SetupReport | None = None,
                     nothing_reason: str | None = None, **session: Any):
        """A copy completed with how it was obtained; ``warnings`` (the run's) come first, then
        the protocol's own, then each failed set-up check as ``set-up: ...``."""
        merged = [*warnings, *self.warnings]
        if setup is not None:
            merged += [line for line in (f"set-up: {w}" for w in setup.warnings) if line not in merged]
        changes: dict[str, Any] = {**session, "setup": setup, "warnings": merged}
        if nothing_reason is not None:
            changes[self.NOTHING_FIELD] = nothing_reason
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``test90.json``, ``hold.json``): every field, nested results as dicts."""
        data = {f.name: _json_value(getattr(self, f.name)) for f in fields(self)}
        for name in self.OPTIONAL_FIELDS:
            if data.get(name) is None:
                data.pop(name, None)
        if data.get("complete"):
            data.pop("complete")
        return data

    @classmethod
    def session_kwargs(cls, data: dict[str, Any]) -> dict[str, Any]:
        """The :class:`SessionFields` part of a result's JSON, for ``from_dict``."""
        setup = data.get("setup")
        return {
            "source": data.get("source"), "mode": data.get("mode"), "frames": data.get("frames"),
            "frames_with_person": data.get("frames_with_person"), "ended_by": data.get("ended_by"),
            "complete": data.get("complete", True), "warnings": list(data.get("warnings", [])),
            "setup": SetupReport.from_dict(setup) if isinstance(setup, dict) and setup.get("checks") else None,
        }


def _json_value(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(item) for item in value]
    return value


class FrameProtocol(Protocol):
    """A protocol driven frame by frame (offline and live alike).

    ``kind`` names its result file (:data:`hamflex.outputs.names.PROTOCOL_FILES`), ``title``
    the live window, ``setup_posture`` the posture of the start-of-session set-up check (None:
    no check), ``evidence_states`` the states whose frames a live session keeps for the
    per-trial pictures. ``score_photo`` scores a single still picture; ``switch_side`` and ``restart``
    serve the live loop's keys (``s`` and ``r``); ``nothing_scored`` is the error to raise (after saving) when a result
    holds nothing to report, else None.
    """

    kind: str
    title: str
    setup_posture: str | None
    evidence_states: tuple[str, ...]

    def update(self, sample: FrameSample) -> Feedback: ...

    def score_photo(self, sample: FrameSample) -> Any: ...

    def result(self) -> Any: ...

    def nothing_scored(self, result: Any) -> HamflexError | None: ...

    def switch_side(self) -> None: ...

    def restart(self) -> None: ...
