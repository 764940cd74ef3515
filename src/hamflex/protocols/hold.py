"""The stretch-hold coach, driven frame by frame (offline and live alike); pure logic, no I/O.

Per frame it decides whether the posture counts: the person and the checked joints are
seen, every posture check of the catalog entry passes (with hysteresis, so an angle on the
edge of its range does not flicker), the stretch angle is settled (not moving) and not
bouncing. A run of valid frames counts only once it lasts ``min_streak_s`` (then from its
first frame), so a flicker of a passing posture while moving in or out is no hold. Valid time
is summed from frame timestamps into repetitions: a rep completes when its valid seconds reach
the target; it closes when the person releases the stretch (the stretch angle out of its range,
or out of view); the rest until the next rep is measured; with both sides asked for, sides
alternate. When nothing counted, :func:`no_valid_reason` says why from what was seen.
Thresholds and why: docs/stretches.md.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, ClassVar

import numpy as np

from hamflex.protocols.base import (
    CUE_DONE,
    CUE_POSITION_BAD,
    CUE_POSITION_OK,
    CUE_SWITCH_SIDES,
    CUE_TICK,
    Feedback,
    FrameSample,
    SessionFields,
    known_fields,
)
from hamflex.protocols.sides import name_tested_side, right_side_facing_score, tested_leg_is_near
from hamflex.core.landmarks import other_side
from hamflex.core.geometry import stretch_measures
from hamflex.core.landmarks import DEFAULT_MIN_VISIBILITY
from hamflex.outputs.names import HOLD_JSON
from hamflex.errors import HamflexError, NothingToScoreError
from hamflex.protocols.catalog import MIN_HOLD_S, PostureCheck, Stretch

HOLD_SCHEMA_VERSION = 1
SIDE_CHOICES = ("left", "right", "both")

# Fault names beside the catalog's check names, with their cues.
FAULT_NOT_VISIBLE = "not_visible"
FAULT_MOVING = "moving"
FAULT_BOUNCING = "bouncing"
CUE_NOT_VISIBLE = "move so the camera sees your whole body"
CUE_MOVING = "ease in slowly, then hold still"
CUE_BOUNCING = "don't bounce — ease in slowly"
CUE_SWITCH = "switch sides"
CUE_RELEASE = "rep done — release and rest"
CUE_ALL_DONE = "all reps done — well done"

SAFETY_ADVICE = (
    "Warm up first (a few minutes of easy walking or cycling). Move into each stretch slowly and "
    "never bounce. Stop if it hurts: a stretch should feel like gentle tension, not pain. After "
    "recent back or hip surgery, ask your doctor or physiotherapist before stretching."
)


@dataclass(frozen=True)
class HoldSettings:
    """Thresholds of the hold timer and the bounce detector (reasons in docs/stretches.md)."""

    reversal_deg: float = 6.0  # a swing smaller than this is landmark jitter or sway, not a bounce
    bounce_window_s: float = 2.0  # reversals this close together form an oscillation
    min_reversals: int = 2  # deepen-ease-deepen: two reversals make a bounce
    moving_speed_deg_s: float = 10.0  # faster than this the stretch angle is still changing
    settled_speed_deg_s: float = 6.0  # ... and below this it is settled again (hysteresis)
    speed_baseline_s: float = 0.5  # speed measured over this span, so jitter averages out
    max_frame_gap_s: float = 0.5  # a longer gap between frames (stall, lost camera) counts nothing
    release_s: float = 2.0  # stretch angle out of range this long after a completed rep = released
    min_streak_s: float = 1.0  # valid posture must last this long before it counts (no flickers)
    tick_s: float = 5.0  # a tick cue every this many valid seconds
    plateau_spread_deg: float = 2.0  # a min_streak_s run of the stretch angle within this is a steady plateau

    def __post_init__(self) -> None:
        if not self.settled_speed_deg_s <= self.moving_speed_deg_s:
            raise ValueError("settled_speed_deg_s must not exceed moving_speed_deg_s")
        if min(self.reversal_deg, self.bounce_window_s, self.speed_baseline_s, self.max_frame_gap_s) <= 0:
            raise ValueError("thresholds must be positive")
        if self.min_streak_s < 0:
            raise ValueError("thresholds must be positive")
        if self.min_reversals < 2:
            raise ValueError("a bounce needs at least two reversals (min_reversals >= 2)")


class HysteresisCheck:
    """One posture check with hysteresis: fails outside [min, max], passes again only
    ``hysteresis`` inside. Starts failing, so a hold begins clearly inside the range."""

    def __init__(self, check: PostureCheck) -> None:
        self.check = check
        self.passing = False

    def update(self, value: float, floor_deg: float = -math.inf) -> bool:
        """New state for ``value``; a missing value (NaN) keeps the last state. ``floor_deg``
        raises the check's ``min`` (the person's own depth, :class:`DepthTracker`)."""
        if not math.isfinite(value):
            return self.passing
        margin = 0.0 if self.passing else self.check.hysteresis
        low = max(-math.inf if self.check.min is None else self.check.min, floor_deg) + margin
        high = math.inf if self.check.max is None else self.check.max - margin
        self.passing = low <= value <= high
        return self.passing


class DepthTracker:
    """The person's own end range: the deepest steady stretch angle reached, per side.

    A plateau is a run of steady frames (posture right, not moving, not bouncing) lasting
    ``plateau_s`` whose angles stay within ``spread_deg``; its median is its depth. The depth
    check then passes only within ``tolerance_deg`` of the deepest plateau so far (nothing
    before the first one), so a tight person's shallow but steady hold counts and a brief
    slump out of their range does not. ``start_deg`` (the depth of the person's last sessions)
    stands in until this session's first plateau, which then replaces it (a stiffer day counts).
    """

    def __init__(self, tolerance_deg: float, plateau_s: float, spread_deg: float,
                 start_deg: float | None = None) -> None:
        self.tolerance_deg, self.plateau_s, self.spread_deg = tolerance_deg, plateau_s, spread_deg
        self.start_deg = start_deg
        self.deepest_deg: dict[str | None, float] = {}
        self._run: deque[tuple[float, float]] = deque()

    def known(self, key: str | None) -> bool:
        """Whether a depth is known for ``key``: a plateau reached, or the start estimate."""
        return key in self.deepest_deg or self.start_deg is not None

    def floor_deg(self, key: str | None) -> float:
        """The lowest stretch angle that counts for ``key`` (a side), -inf before any plateau."""
        start = -math.inf if self.start_deg is None else self.start_deg
        return self.deepest_deg.get(key, start) - self.tolerance_deg

    def observe(self, key: str | None, timestamp_s: float, angle_deg: float, steady: bool) -> None:
        """One frame's stretch angle; a steady run long enough is a plateau."""
        if not steady or not math.isfinite(angle_deg):
            self._run.clear()
            return
        self._run.append((timestamp_s, angle_deg))
        while self._run and timestamp_s - self._run[0][0] > self.plateau_s:
            self._run.popleft()
        angles = [a for _, a in self._run]
        if timestamp_s - self._run[0][0] >= self.plateau_s * 0.9 and max(angles) - min(angles) <= self.spread_deg:
            depth = float(np.median(angles))
            self.deepest_deg[key] = max(self.deepest_deg.get(key, -math.inf), depth)


@dataclass(frozen=True)
class MotionState:
    """What the bounce detector says about the stretch angle at one frame."""

    speed_deg_s: float
    moving: bool
    bouncing: bool
    onset_s: float | None  # when a bounce episode starting at this frame began (earlier than now)
    new_reversals: int  # reversals registered at this frame


class BounceDetector:
    """Reads oscillation and speed from the stretch angle, one sample at a time (causal).

    Reversals are found with a dead band (a zigzag): the angle must come back
    ``reversal_deg`` from its last extreme before the turn counts, so jitter smaller than
    that never registers. ``min_reversals`` reversals within ``bounce_window_s`` is a bounce;
    a slow steady deepening has no reversal at all. Speed is the change over
    ``speed_baseline_s``, with hysteresis between moving and settled.
    """

    def __init__(self, settings: HoldSettings) -> None:
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        self._history: deque[tuple[float, float]] = deque()
        self._direction = 0
        self._extreme: tuple[float, float] | None = None  # (time, angle) of the running extreme
        self._anchor = math.nan  # the first angle, until a direction is established
        self.reversal_times: deque[float] = deque()
        self._moving = False
        self._bouncing = False

    def update(self, timestamp_s: float, angle_deg: float) -> MotionState:
        s = self.settings
        if not math.isfinite(angle_deg):
            self.reset()
            return MotionState(math.nan, False, False, None, 0)
        self._history.append((timestamp_s, angle_deg))
        while len(self._history) > 2 and self._history[1][0] <= timestamp_s - s.speed_baseline_s:
            self._history.popleft()
        first_t, first_angle = self._history[0]
        span_s = timestamp_s - first_t
        speed = abs(angle_deg - first_angle) / span_s if span_s >= s.speed_baseline_s / 2 else 0.0
        self._moving = speed > (s.settled_speed_deg_s if self._moving else s.moving_speed_deg_s)

        new_reversals = self._track_reversal(timestamp_s, angle_deg)
        while self.reversal_times and self.reversal_times[0] < timestamp_s - s.bounce_window_s:
            self.reversal_times.popleft()
        was_bouncing = self._bouncing
        self._bouncing = len(self.reversal_times) >= s.min_reversals
        onset = None
        if self._bouncing and not was_bouncing:
            times = list(self.reversal_times)
            # Bouncing about the held angle, the first swing out took about half the time
            # between two reversals (a quarter period).
            onset = times[0] - (times[1] - times[0]) / 2
        return MotionState(speed, self._moving, self._bouncing, onset, new_reversals)

    def _track_reversal(self, timestamp_s: float, angle_deg: float) -> int:
        threshold = self.settings.reversal_deg
        if self._extreme is None:
            self._extreme = (timestamp_s, angle_deg)
            self._anchor = angle_deg
            return 0
        extreme_t, extreme = self._extreme
        if self._direction == 0:
            if abs(angle_deg - self._anchor) >= threshold:
                self._direction = 1 if angle_deg > self._anchor else -1
                self._extreme = (timestamp_s, angle_deg)
            return 0
        if (angle_deg - extreme) * self._direction > 0:
            self._extreme = (timestamp_s, angle_deg)
            return 0
        if abs(angle_deg - extreme) >= threshold:
            self.reversal_times.append(extreme_t)
            self._direction = -self._direction
            self._extreme = (timestamp_s, angle_deg)
            return 1
        return 0


@dataclass
class Rep:
    """One repetition: its side, valid and elapsed seconds, bounces and seconds per fault."""

    side: str | None
    start_s: float  # frame timestamps: the first counting frame
    rest_before_s: float | None
    end_s: float = math.nan  # the release, or the last frame the rep has counted so far
    valid_s: float = 0.0
    total_s: float = 0.0
    bounces: int = 0
    completed: bool = False
    closed: bool = False
    faults_s: dict[str, float] = field(default_factory=dict)
    facing_scores: list[float] = field(default_factory=list)  # +1 right side faces the camera
    visibility_gaps: list[float] = field(default_factory=list)  # stretched leg minus other leg
    angles_deg: list[float] = field(default_factory=list)  # the stretch angle at counting frames

    def named_side(self) -> tuple[str | None, str]:
        """The declared side, else the side named from the body's orientation (protocols.sides)."""
        if self.side is not None:
            return self.side, "as declared"
        if not self.facing_scores:
            return None, "never in position"
        near = tested_leg_is_near(math.nan, float(np.median(self.visibility_gaps)))
        return name_tested_side(float(np.median(self.facing_scores)), near)

    def summary(self) -> RepSummary:
        side, side_note = self.named_side()
        return RepSummary(
            side=side,
            side_note=side_note,
            start_s=round(self.start_s, 3),
            end_s=round(self.start_s if math.isnan(self.end_s) else self.end_s, 3),
            valid_s=round(self.valid_s, 2),
            total_s=round(self.total_s, 2),
            bounces=self.bounces,
            completed=self.completed,
            faults={name: round(seconds, 2) for name, seconds in sorted(self.faults_s.items())},
            rest_before_s=None if self.rest_before_s is None else round(self.rest_before_s, 2),
            stretch_angle_deg=round(float(np.median(self.angles_deg)), 1) if self.angles_deg else None,
        )


@dataclass
class RepSummary:
    """One repetition as reported (``hold.json``'s ``reps[]``): seconds, bounces, faults by name."""

    side: str | None = None
    side_note: str = ""
    start_s: float = 0.0
    end_s: float = 0.0
    valid_s: float = 0.0
    total_s: float = 0.0
    bounces: int = 0
    completed: bool = False
    faults: dict[str, float] = field(default_factory=dict)
    rest_before_s: float | None = None
    stretch_angle_deg: float | None = None  # the depth held: median stretch angle of the counted frames

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RepSummary:
        return cls(**known_fields(cls, data))


@dataclass(kw_only=True)
class HoldResult(SessionFields):
    """A stretch hold's result (``hold.json``): valid seconds, reps, bounces and why nothing counted."""

    schema_version: int = HOLD_SCHEMA_VERSION
    stretch: str = ""
    title: str = ""
    view: str = ""
    side: str = "auto"
    hold_s_target: float = 0.0
    reps_target: int = 0
    reps: list[RepSummary] = field(default_factory=list)
    valid_seconds_total: float = 0.0
    reps_completed: int = 0
    percent_time_valid: float = 0.0
    bounces_total: int = 0
    duration_s: float = 0.0
    finished: bool = False
    fault_cues: dict[str, str] = field(default_factory=dict)
    no_valid_reason: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    NOTHING_FIELD: ClassVar[str] = "no_valid_reason"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HoldResult:
        """A result read back from ``hold.json``."""
        own = {f.name for f in fields(cls)} - {f.name for f in fields(SessionFields)} - {"reps"}
        return cls(**cls.session_kwargs(data), **{name: data[name] for name in own if name in data},
                   reps=[RepSummary.from_dict(rep) for rep in data.get("reps", [])])


@dataclass(frozen=True)
class FrameVerdict:
    """Why a frame counts or not: its faults (names → cues) and the tested leg's label."""

    valid: bool
    faults: dict[str, str]
    tested_side: str | None
    motion: MotionState | None
    angle_deg: float = math.nan  # the stretch angle


@dataclass(frozen=True)
class StreakFrame:
    """A valid frame waiting for its run to last ``min_streak_s`` before it counts."""

    timestamp_s: float
    dt_s: float
    side_evidence: tuple[float, float] | None  # (facing score, visibility gap) to name the side
    angle_deg: float = math.nan  # the stretch angle


def no_valid_reason(seen_s: dict[str, float], duration_s: float, frames: int, stretch: Stretch,
                    settings: HoldSettings) -> str:
    """Why no second counted, from the seconds each fault was seen (``seen_s``, plus
    ``in_position`` and ``brief`` for posture that matched but moved or did not last)."""
    if frames <= 1 or duration_s <= 0:
        return "a photo (or a single frame) has no duration: hold seconds need a video"
    cues = {c.name: c.cue for c in stretch.checks}
    if seen_s.get("in_position", 0.0) > 0:
        matched = f"the posture matched for {seen_s['in_position']:.1f} s but "
        if seen_s.get(FAULT_BOUNCING, 0.0) >= seen_s.get(FAULT_MOVING, 0.0) and seen_s.get(FAULT_BOUNCING, 0.0) > 0:
            return matched + f"the leg was bouncing ({CUE_BOUNCING})"
        if seen_s.get(FAULT_MOVING, 0.0) > 0:
            return matched + (f"the stretch angle ({stretch.stretch_angle.column.removesuffix('_deg').replace('_', ' ')}) never "
                              f"settled (moving > {settings.moving_speed_deg_s:g}°/s; {CUE_MOVING})")
        return matched + f"never for {settings.min_streak_s:g} s in a row (hold the position still)"
    posture = {name: seen_s.get(name, 0.0) for name in cues}
    if any(posture.values()):
        worst = max(posture, key=posture.get)
        share = 100.0 * posture[worst] / duration_s
        return f"posture never matched: {worst!r} failed {share:.0f}% of the time ({cues[worst]})"
    return f"the body was never seen well enough ({CUE_NOT_VISIBLE})"


class HoldProtocol:
    """The stretch coach as a :class:`~hamflex.protocols.base.FrameProtocol`.

    ``side`` is the leg being stretched (``left``/``right``), ``both`` to alternate, or None
    to take whichever leg the pose shows stretched. ``reps`` is per side.
    """

    kind = "hold"
    setup_posture = "auto"
    evidence_states: tuple[str, ...] = ()  # no per-trial pictures

    def __init__(
        self,
        stretch: Stretch,
        *,
        side: str | None = None,
        hold_s: float | None = None,
        reps: int | None = None,
        settings: HoldSettings | None = None,
        min_visibility: float = DEFAULT_MIN_VISIBILITY,
        start_depth_deg: float | None = None,
    ) -> None:
        if side is not None and side not in SIDE_CHOICES:
            raise ValueError(f"side must be one of {SIDE_CHOICES} or None, got {side!r}")
        self.stretch = stretch
        self.side = side
        self.hold_s = float(stretch.hold_s if hold_s is None else hold_s)
        self.reps_per_side = int(stretch.reps if reps is None else reps)
        if self.hold_s < MIN_HOLD_S:
            raise ValueError(f"hold_s must be at least {MIN_HOLD_S:g} s (shorter holds do not stretch)")
        if self.reps_per_side < 1:
            raise ValueError("reps must be at least 1")
        self.settings = settings or HoldSettings()
        self.min_visibility = min_visibility
        self.title = f"hamflex hold: {stretch.title}"
        self.sides: tuple[str | None, ...] = ("right", "left") if side == "both" else (side,)
        # Failing the stretch angle's own check (or leaving the view) is releasing the stretch;
        # any other fault (a bent knee with the leg still up) is a fault of the rep in progress.
        # An entry without such a check is released by any failing check.
        angle = stretch.stretch_angle
        release_checks = {c.name for c in stretch.checks if (c.column, c.role) == (angle.column, angle.role)}
        self._release_faults = frozenset({FAULT_NOT_VISIBLE} | (release_checks or {c.name for c in stretch.checks}))
        # The depth check: the first check of the stretch angle with a floor (its min).
        depth = [c for c in stretch.checks if c.name in release_checks and c.min is not None]
        self._depth_check = depth[0] if depth else None
        self.start_depth_deg = start_depth_deg  # the person's usual depth, from the history
        self.restart()

    # --- FrameProtocol ---------------------------------------------------------------------

    def restart(self) -> None:
        """Forget everything: a new session."""
        self._checks = {c.name: HysteresisCheck(c) for c in self.stretch.checks}
        self._bounce = BounceDetector(self.settings)
        self._depth = DepthTracker(self.stretch.stretch_angle.tolerance_deg, self.settings.min_streak_s,
                                   self.settings.plateau_spread_deg, self.start_depth_deg)
        self._tested_leg: str | None = None
        self._side_index = 0
        self.reps: list[Rep] = []
        self._first_s: float | None = None
        self._last_s: float | None = None
        self._last_closed_s: float | None = None
        self._clear_pending()
        self._recent: deque[tuple[float, float, Rep]] = deque()  # (time, valid seconds counted, rep)
        self._streak: list[StreakFrame] = []
        self._counting = False
        self._frames = 0
        self._seen_s: dict[str, float] = {}
        self._shown_faults: frozenset[str] = frozenset()
        self._episode_reversals = self._episode_bounces = 0
        self.finished = False

    def switch_side(self) -> None:
        """Close the rep in progress and move to the other side (the live ``s`` key)."""
        if self.reps and not self.reps[-1].closed:
            self._close_rep(self._last_s if self._last_s is not None else self.reps[-1].start_s)
        if len(self.sides) > 1:
            self._side_index = (self._side_index + 1) % len(self.sides)
        elif self.side in ("left", "right"):
            self.side = other_side(self.side)
            self.sides = (self.side,)

    def update(self, sample: FrameSample) -> Feedback:
        t = sample.timestamp_s
        dt = 0.0 if self._last_s is None else t - self._last_s
        if not 0.0 < dt <= self.settings.max_frame_gap_s:
            dt = 0.0
        self._first_s = t if self._first_s is None else self._first_s
        self._last_s = t
        if self.finished:
            return self._feedback(FrameVerdict(False, {}, None, None), cues=(), spoken=())
        verdict = self.evaluate(sample)
        self._frames += 1
        self._note_seen(verdict, dt)
        cues: list[str] = []
        spoken: list[str] = []
        self._count(sample, dt, verdict, cues, spoken)
        new_faults = [name for name in verdict.faults if name not in self._shown_faults]
        if new_faults and self._in_rep_or_waiting():
            spoken.append(verdict.faults[new_faults[0]])  # one correction at a time
        self._shown_faults = frozenset(verdict.faults)
        return self._feedback(verdict, tuple(cues), tuple(spoken))

    def result(self) -> HoldResult:
        valid_total = sum(rep.valid_s for rep in self.reps)
        in_reps = sum(rep.total_s for rep in self.reps)
        duration_s = (self._last_s or 0.0) - (self._first_s or 0.0)
        return HoldResult(
            stretch=self.stretch.name,
            title=self.stretch.title,
            view=self.stretch.view,
            side=self.side or "auto",
            hold_s_target=self.hold_s,
            reps_target=self.reps_per_side * len(self.sides),
            reps=[rep.summary() for rep in self.reps],
            valid_seconds_total=round(valid_total, 2),
            reps_completed=sum(rep.completed for rep in self.reps),
            percent_time_valid=round(100.0 * valid_total / in_reps, 1) if in_reps > 0 else 0.0,
            bounces_total=sum(rep.bounces for rep in self.reps),
            duration_s=round(duration_s, 2),
            finished=self.finished,
            fault_cues=self._fault_cues(),
            no_valid_reason=None if valid_total > 0 else no_valid_reason(
                self._seen_s, duration_s, self._frames, self.stretch, self.settings),
            settings=asdict(self.settings),
        )

    def score_photo(self, sample: FrameSample) -> Feedback:
        """A photo is one frame: checked like any other, but it holds no seconds."""
        return self.update(sample)

    def nothing_scored(self, result: HoldResult) -> HamflexError | None:
        """Not one valid second: the error saying why."""
        if result.valid_seconds_total > 0:
            return None
        reason = result.no_valid_reason or f"posture never matched {result.stretch!r}"
        return NothingToScoreError(f"no valid hold second ({reason}; see {HOLD_JSON} and `hamflex stretches --details`)")

    def _fault_cues(self) -> dict[str, str]:
        """The cue of every fault named in the reps (so a report can say what to correct)."""
        cues = {c.name: c.cue for c in self.stretch.checks}
        cues |= {FAULT_NOT_VISIBLE: CUE_NOT_VISIBLE, FAULT_MOVING: CUE_MOVING, FAULT_BOUNCING: CUE_BOUNCING}
        return {name: cues[name] for name in sorted({n for rep in self.reps for n in rep.faults_s}) if name in cues}

    def _note_seen(self, verdict: FrameVerdict, dt: float) -> None:
        """Session-wide seconds per fault (and in position), for :func:`no_valid_reason`."""
        for name in verdict.faults:
            self._seen_s[name] = self._seen_s.get(name, 0.0) + dt
        if not set(verdict.faults) - {FAULT_MOVING, FAULT_BOUNCING}:
            self._seen_s["in_position"] = self._seen_s.get("in_position", 0.0) + dt

    # --- posture ---------------------------------------------------------------------------

    def evaluate(self, sample: FrameSample) -> FrameVerdict:
        """Which faults this frame has (empty = the posture counts)."""
        values = dict(sample.angles_deg)
        if sample.detected:
            values.update(stretch_measures(sample.landmarks_px, sample.visibility, self.min_visibility))
        tested = self._choose_tested_leg(sample, values) if sample.detected else None
        if tested is None:
            self._bounce.reset()
            return FrameVerdict(False, {FAULT_NOT_VISIBLE: CUE_NOT_VISIBLE}, None, None)
        faults: dict[str, str] = {}
        missing = False
        depth_key = self._expected_side() or tested
        angle_deg = values.get(self.stretch.stretch_angle.column_for(tested), math.nan)
        for state in self._checks.values():
            value = values.get(state.check.column_for(tested), math.nan)
            missing |= not math.isfinite(value)
            floor_deg = self._depth.floor_deg(depth_key) if state.check is self._depth_check else -math.inf
            if not state.update(value, floor_deg):
                faults[state.check.name] = state.check.cue
        motion = self._bounce.update(sample.timestamp_s, angle_deg)
        if missing or not math.isfinite(motion.speed_deg_s):
            faults = {FAULT_NOT_VISIBLE: CUE_NOT_VISIBLE, **faults}
        if motion.bouncing:
            faults[FAULT_BOUNCING] = CUE_BOUNCING
        elif motion.moving:
            faults[FAULT_MOVING] = CUE_MOVING
        self._observe_depth(depth_key, sample.timestamp_s, angle_deg, faults)
        return FrameVerdict(not faults, faults, tested, motion, angle_deg)

    def _observe_depth(self, key: str | None, timestamp_s: float, angle_deg: float, faults: dict[str, str]) -> None:
        """Feed the depth tracker: steady means every other check passes and the angle is above
        the depth check's absolute floor (failing only the relative part still is steady)."""
        depth = self._depth_check
        others = set(faults) - ({depth.name} if depth is not None else set())
        above_floor = depth is None or angle_deg >= depth.min
        self._depth.observe(key, timestamp_s, angle_deg, not others and above_floor)

    def _choose_tested_leg(self, sample: FrameSample, values: dict[str, float]) -> str | None:
        """The stretched leg's MediaPipe label, kept until the other leg wins by the margin."""
        rule = self.stretch.tested_leg
        if rule.rule == "visible":
            scores = {side: sample.leg_visibility.get(side, math.nan) for side in ("left", "right")}
            margin = 0.1
        else:
            sign = 1.0 if rule.rule == "max" else -1.0
            scores = {side: sign * values.get(f"{side}_{rule.column}", math.nan) for side in ("left", "right")}
            margin = rule.margin
        finite = {side: score for side, score in scores.items() if math.isfinite(score)}
        if not finite:
            return None
        best = max(finite, key=finite.get)
        current = self._tested_leg
        if current in finite and best != current and finite[best] - finite[current] <= margin:
            best = current
        self._tested_leg = best
        return best

    # --- timing and repetitions ------------------------------------------------------------

    def _expected_side(self) -> str | None:
        return self.sides[self._side_index]

    def _in_rep_or_waiting(self) -> bool:
        return not self.reps or not self.reps[-1].closed or self._rest_remaining_s() <= 0

    def _rest_remaining_s(self) -> float:
        if self._last_closed_s is None or self._last_s is None:
            return 0.0
        return max(0.0, self.stretch.rest_s - (self._last_s - self._last_closed_s))

    def _count(self, sample: FrameSample, dt: float, verdict: FrameVerdict, cues: list[str], spoken: list[str]) -> None:
        t = sample.timestamp_s
        rep = self.reps[-1] if self.reps and not self.reps[-1].closed else None
        in_position = not (set(verdict.faults) - {FAULT_MOVING, FAULT_BOUNCING})
        self._track_bounces(verdict.motion if in_position else None, rep or (self.reps[-1] if self.reps else None))
        if verdict.valid:
            evidence = self._side_evidence(verdict.tested_side, sample) if verdict.tested_side else None
            self._streak.append(StreakFrame(t, dt, evidence, verdict.angle_deg))
            if self._counting or self._streak_ready(verdict.tested_side):
                self._count_streak(cues, spoken)
            return
        if self._counting and rep is not None:
            cues.append(CUE_POSITION_BAD)
        self._counting = False
        if rep is None:
            self._streak.clear()
            return
        # Time out of position joins the rep only if the person comes back into it (or, after
        # the target, if it came before the release), so a rep's window runs from its first to
        # its last counting frame (or to where the release began). A valid run too short to
        # count is time out of position.
        self._pending_s += sum(frame.dt_s for frame in self._streak)
        self._streak.clear()
        releasing = bool(self._release_faults & set(verdict.faults))
        if not releasing:
            self._release = None
        elif self._release is None:
            self._release = (t, self._pending_s, dict(self._pending_faults_s))
        self._pending_s += dt
        for name in verdict.faults:
            self._pending_faults_s[name] = self._pending_faults_s.get(name, 0.0) + dt
        if rep.completed and self._release is not None and t - self._release[0] >= self.settings.release_s:
            # After the target is reached, releasing the stretch ends the rep; faults seen
            # before the release began (a bent knee with the leg still up) are the rep's.
            released_at_s, before_s, before_faults_s = self._release
            self._join_pending(rep, before_s, before_faults_s)
            self._close_rep(released_at_s)
            self._after_close(cues, spoken)

    def _streak_ready(self, tested: str | None) -> bool:
        """A waiting run counts once it lasts ``min_streak_s`` and a steady depth is known; its
        frames shallower than the person's own range (the slow way in) are dropped first."""
        key = self._expected_side() or tested
        if self._depth_check is not None:
            if not self._depth.known(key):
                return False
            floor_deg = self._depth.floor_deg(key)
            while self._streak and not self._streak[0].angle_deg >= floor_deg:
                self._streak.pop(0)
        return bool(self._streak) and self._streak[-1].timestamp_s - self._streak[0].timestamp_s >= self.settings.min_streak_s

    def _count_streak(self, cues: list[str], spoken: list[str]) -> None:
        """Count the waiting valid frames (a run long enough to be a hold), opening a rep if none is."""
        rep = self.reps[-1] if self.reps and not self.reps[-1].closed else None
        first = self._streak[0]
        if rep is None:
            rest = None if self._last_closed_s is None else first.timestamp_s - self._last_closed_s
            rep = Rep(side=self._expected_side(), start_s=first.timestamp_s, rest_before_s=rest)
            self.reps.append(rep)
            self._streak[0] = replace(first, dt_s=0.0)  # the rep starts at this frame
        if not self._counting:
            cues.append(CUE_POSITION_OK)
            self._counting = True
        self._join_pending(rep, self._pending_s, self._pending_faults_s)
        self._clear_pending()
        for frame in self._streak:
            self._add_valid(rep, frame, cues, spoken)
        self._streak.clear()

    def _join_pending(self, rep: Rep, pending_s: float, pending_faults_s: dict[str, float]) -> None:
        rep.total_s += pending_s
        for name, seconds in pending_faults_s.items():
            rep.faults_s[name] = rep.faults_s.get(name, 0.0) + seconds

    def _add_valid(self, rep: Rep, frame: StreakFrame, cues: list[str], spoken: list[str]) -> None:
        """One counting frame: valid seconds, side evidence, tick and completion cues."""
        t, dt = frame.timestamp_s, frame.dt_s
        rep.total_s += dt
        rep.end_s = t
        before = rep.valid_s
        rep.valid_s += dt
        rep.angles_deg.append(frame.angle_deg)
        if frame.side_evidence is not None and rep.side is None:
            score, gap = frame.side_evidence
            rep.facing_scores.append(score)
            rep.visibility_gaps.append(gap)
        self._recent.append((t, dt, rep))
        if int(rep.valid_s // self.settings.tick_s) > int(before // self.settings.tick_s):
            cues.append(CUE_TICK)
        if not rep.completed and rep.valid_s >= self.hold_s:
            rep.completed = True
            cues.append(CUE_DONE)
            last = sum(r.completed for r in self.reps) >= self.reps_per_side * len(self.sides)
            spoken.append(CUE_ALL_DONE if last else CUE_RELEASE)
        while self._recent and self._recent[0][0] < t - 2 * self.settings.bounce_window_s:
            self._recent.popleft()

    def _track_bounces(self, motion: MotionState | None, rep: Rep | None) -> None:
        """Count bounces per episode (in position only, given to ``rep``: the open rep, else the
        last one); at an episode's onset, take back the valid seconds it already had."""
        if motion is None or not motion.bouncing:
            self._episode_reversals = self._episode_bounces = 0
            return
        if motion.onset_s is not None:
            self._episode_reversals = len(self._bounce.reversal_times)
            for when, counted, counted_rep in self._recent:
                if when > motion.onset_s and counted > 0:
                    counted_rep.valid_s -= counted
                    counted_rep.faults_s[FAULT_BOUNCING] = counted_rep.faults_s.get(FAULT_BOUNCING, 0.0) + counted
            self._recent.clear()
        else:
            self._episode_reversals += motion.new_reversals
        # One bounce = a deepen-and-ease cycle = two reversals (an odd one rounds up).
        bounces = (self._episode_reversals + 1) // 2
        if rep is not None:
            rep.bounces += bounces - self._episode_bounces
        self._episode_bounces = bounces

    @staticmethod
    def _side_evidence(tested: str, sample: FrameSample) -> tuple[float, float] | None:
        """Which way the body faces and the legs' visibility gap, to name the side later."""
        score = right_side_facing_score(sample.landmarks_px, raised_leg=tested)
        gap = sample.leg_visibility.get(tested, math.nan) - sample.leg_visibility.get(other_side(tested), math.nan)
        return (score, gap) if math.isfinite(score) and math.isfinite(gap) else None

    def _close_rep(self, end_s: float) -> None:
        rep = self.reps[-1]
        rep.closed = True
        rep.end_s = end_s
        self._last_closed_s = end_s
        self._clear_pending()
        self._streak.clear()
        self._counting = False
        self._checks = {c.name: HysteresisCheck(c) for c in self.stretch.checks}

    def _clear_pending(self) -> None:
        """Forget the time out of position since the last counting frame."""
        self._pending_s = 0.0
        self._pending_faults_s: dict[str, float] = {}
        # (when the release began, pending seconds and faults before it)
        self._release: tuple[float, float, dict[str, float]] | None = None

    def _after_close(self, cues: list[str], spoken: list[str]) -> None:
        if sum(r.completed for r in self.reps) >= self.reps_per_side * len(self.sides):
            self.finished = True
            return
        if len(self.sides) > 1:
            self._side_index = (self._side_index + 1) % len(self.sides)
            cues.append(CUE_SWITCH_SIDES)
            spoken.append(CUE_SWITCH)

    # --- guidance --------------------------------------------------------------------------

    def _feedback(self, verdict: FrameVerdict, cues: tuple[str, ...], spoken: tuple[str, ...]) -> Feedback:
        """State, guidance lines (header, valid-seconds counter or rest countdown, fault cues)."""
        done = sum(r.completed for r in self.reps)
        target = self.reps_per_side * len(self.sides)
        side = self._expected_side()
        header = f"{self.stretch.title}{f' ({side})' if side else ''} — reps {done}/{target}"
        if self.finished:
            return Feedback("finished", (header, CUE_ALL_DONE), cues, spoken, finished=True)
        rep = self.reps[-1] if self.reps and not self.reps[-1].closed else None
        if rep is None and self._last_closed_s is not None:
            remaining = self._rest_remaining_s()
            next_move = CUE_SWITCH if len(self.sides) > 1 else "get back into the stretch"
            lines = (header, f"rest {remaining:.0f} s" if remaining > 0 else next_move)
            if remaining <= 0:
                lines += tuple(verdict.faults.values())
            return Feedback("rest", lines, cues, spoken)
        if rep is None:
            waiting = ("hold still",) if verdict.valid else ()  # a valid run not yet long enough to count
            return Feedback("get_in_position", (header, *waiting, *verdict.faults.values()), cues, spoken)
        counter = f"valid {rep.valid_s:.0f} / {self.hold_s:.0f} s"
        if rep.completed:
            # Past the target, staying counts on ("rep_done"); leaving is the release.
            return Feedback("rep_done" if self._counting else "release", (header, counter, CUE_RELEASE), cues, spoken)
        state = "holding" if self._counting else "paused"
        return Feedback(state, (header, counter, *verdict.faults.values()), cues, spoken)
