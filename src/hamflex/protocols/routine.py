"""A guided routine: the steps of a plan run one after another, each a :class:`HoldProtocol`.

A plan is a TOML file of ``[[step]]`` tables (``stretch`` = a catalog name, optional ``side``,
``hold_s``, ``reps``, ``rest_s``) with an optional ``title`` and ``warm_up`` reminder; the
packaged default is the classic low-back routine (``data/routine_low_back.toml``). The
protocol moves to the next step when the current one is finished (every rep done and
released), when the live ``n`` key skips it, or when the next step's stretch is held for
``switch_s`` valid seconds while the current one is not being held — which is how the steps are
found in order in a recording of a whole routine, done with fewer reps than planned. Each step's
result is the wrapped hold's (valid seconds, reps as in ``hold.json``) with where it lies on the
recording's clock. Pure logic, no I/O beyond reading the plan.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from hamflex.errors import HamflexError, InputError, NothingToScoreError
from hamflex.outputs.names import ROUTINE_JSON
from hamflex.protocols.base import CUE_SWITCH_SIDES, Feedback, FrameSample, SessionFields
from hamflex.protocols.catalog import MIN_HOLD_S, Stretch, load_catalog, lookup_stretch
from hamflex.protocols.hold import SAFETY_ADVICE, SIDE_CHOICES, HoldProtocol, RepSummary

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROUTINE_SCHEMA_VERSION = 1
DEFAULT_PLAN = "routine_low_back.toml"
SWITCH_S = 3.0  # valid seconds of the next step's stretch that show the person moved on to it
COUNTING_STATES = frozenset({"holding", "rep_done"})  # the hold's states while it counts
STEP_KEYS = frozenset({"stretch", "side", "hold_s", "reps", "rest_s"})


class PlanError(InputError):
    """A routine plan is malformed: the message names the file, the step and the field."""


@dataclass(frozen=True)
class RoutineStep:
    """One step of a plan: a catalog stretch, its side and its dose."""

    stretch: Stretch
    side: str | None = None
    hold_s: float | None = None
    reps: int | None = None


@dataclass(frozen=True)
class RoutineSchedule:
    """How often the plan is meant to be done: sessions on a stretching day, and after how many
    stretching days in a row a rest day is due (None: no rest day asked for)."""

    sessions_per_day: tuple[int, int] = (1, 2)
    rest_day_after: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"sessions_per_day": list(self.sessions_per_day), "rest_day_after": self.rest_day_after}


@dataclass(frozen=True)
class RoutinePlan:
    """A routine: its title, the warm-up reminder said first, its steps in order, its schedule."""

    title: str
    warm_up: str
    steps: tuple[RoutineStep, ...]
    schedule: RoutineSchedule = RoutineSchedule()


def _parse_step(raw: Any, number: int, catalog: dict[str, Stretch], where: str) -> RoutineStep:
    here = f"{where}: step {number}"
    if not isinstance(raw, dict) or not isinstance(raw.get("stretch"), str):
        raise PlanError(f"{here}: needs a text 'stretch' (a name from `hamflex stretches`)")
    unknown = sorted(set(raw) - STEP_KEYS)
    if unknown:
        raise PlanError(f"{here}: unknown field {unknown[0]!r} (known: {', '.join(sorted(STEP_KEYS))})")
    try:
        stretch = lookup_stretch(raw["stretch"], catalog)
    except HamflexError as error:
        raise PlanError(f"{here}: {error}") from None
    side = raw.get("side")
    if side is not None and side not in SIDE_CHOICES:
        raise PlanError(f"{here}: side must be one of {', '.join(SIDE_CHOICES)}")
    hold_s, reps, rest_s = raw.get("hold_s"), raw.get("reps"), raw.get("rest_s")
    if hold_s is not None and not (isinstance(hold_s, (int, float)) and hold_s >= MIN_HOLD_S):
        raise PlanError(f"{here}: hold_s must be a number of at least {MIN_HOLD_S:g}")
    if reps is not None and not (isinstance(reps, int) and reps >= 1):
        raise PlanError(f"{here}: reps must be a whole number >= 1")
    if rest_s is not None and not (isinstance(rest_s, (int, float)) and rest_s >= 0):
        raise PlanError(f"{here}: rest_s must be a number >= 0")
    if rest_s is not None:
        stretch = replace(stretch, rest_s=float(rest_s))
    return RoutineStep(stretch, side, None if hold_s is None else float(hold_s), reps)


def _parse_schedule(raw: Any, where: str) -> RoutineSchedule:
    if not isinstance(raw, dict):
        raise PlanError(f"{where}: [schedule] must be a table")
    per_day = raw.get("sessions_per_day", list(RoutineSchedule.sessions_per_day))
    rest = raw.get("rest_day_after")
    if not (isinstance(per_day, list) and len(per_day) == 2 and all(isinstance(n, int) for n in per_day)
            and 1 <= per_day[0] <= per_day[1]):
        raise PlanError(f"{where}: schedule.sessions_per_day must be [fewest, most], e.g. [1, 2]")
    if rest is not None and not (isinstance(rest, int) and rest >= 1):
        raise PlanError(f"{where}: schedule.rest_day_after must be a whole number >= 1")
    return RoutineSchedule((per_day[0], per_day[1]), rest)


def parse_plan(data: dict, catalog: dict[str, Stretch], where: str = "plan") -> RoutinePlan:
    """A plan from its parsed TOML; :class:`PlanError` naming the step and field when malformed."""
    steps = data.get("step", [])
    if not isinstance(steps, list) or not steps:
        raise PlanError(f"{where}: needs at least one [[step]]")
    return RoutinePlan(
        title=str(data.get("title", "Stretching routine")),
        warm_up=str(data.get("warm_up", SAFETY_ADVICE)),
        steps=tuple(_parse_step(raw, i, catalog, where) for i, raw in enumerate(steps, start=1)),
        schedule=_parse_schedule(data.get("schedule", {}), where),
    )


def load_plan(path: str | Path | None = None, catalog: str | Path | None = None) -> RoutinePlan:
    """The plan in ``path`` (default: the packaged low-back routine), its stretches from the
    packaged catalog plus ``catalog``."""
    where = str(path) if path is not None else DEFAULT_PLAN
    try:
        if path is None:
            text = resources.files("hamflex").joinpath("data", DEFAULT_PLAN).read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as error:
        raise InputError(f"{where}: cannot read the routine plan ({error.strerror or error})") from None
    except tomllib.TOMLDecodeError as error:
        raise PlanError(f"{where}: not valid TOML ({error})") from None
    return parse_plan(data, load_catalog(catalog), where)


@dataclass
class StepResult:
    """One step as reported (``routine.json``'s ``steps[]``): the hold's seconds and reps, and
    its window on the recording's clock (first rep's start to last rep's end; null if none)."""

    stretch: str = ""
    title: str = ""
    side: str = "auto"
    status: str = "not_reached"  # done, partial (moved on before the last rep), skipped, not_reached
    valid_seconds_total: float = 0.0
    reps_completed: int = 0
    reps_target: int = 0
    reps: list[RepSummary] = field(default_factory=list)
    start_s: float | None = None
    end_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) if f.name != "reps" else [r.to_dict() for r in self.reps]
                for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepResult:
        own = {f.name for f in fields(cls)} - {"reps"}
        return cls(**{name: data[name] for name in own if name in data},
                   reps=[RepSummary.from_dict(rep) for rep in data.get("reps", [])])


@dataclass(kw_only=True)
class RoutineResult(SessionFields):
    """A routine's result (``routine.json``): every step of the plan, in order."""

    schema_version: int = ROUTINE_SCHEMA_VERSION
    title: str = ""
    schedule: dict[str, Any] = field(default_factory=dict)  # the plan's RoutineSchedule, for the history
    steps: list[StepResult] = field(default_factory=list)
    steps_done: int = 0
    valid_seconds_total: float = 0.0
    finished: bool = False
    no_valid_reason: str | None = None

    NOTHING_FIELD: ClassVar[str] = "no_valid_reason"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoutineResult:
        """A result read back from ``routine.json``."""
        own = {f.name for f in fields(cls)} - {f.name for f in fields(SessionFields)} - {"steps"}
        return cls(**cls.session_kwargs(data), **{name: data[name] for name in own if name in data},
                   steps=[StepResult.from_dict(step) for step in data.get("steps", [])])


def _step_result(step: RoutineStep, hold: HoldProtocol | None, status: str) -> StepResult:
    if hold is None:
        return StepResult(stretch=step.stretch.name, title=step.stretch.title, side=step.side or "auto",
                          status=status)
    held = hold.result()
    return StepResult(
        stretch=held.stretch, title=held.title, side=held.side, status=status,
        valid_seconds_total=held.valid_seconds_total, reps_completed=held.reps_completed,
        reps_target=held.reps_target, reps=held.reps,
        start_s=held.reps[0].start_s if held.reps else None, end_s=held.reps[-1].end_s if held.reps else None,
    )


class RoutineProtocol:
    """The plan's steps in order, each a wrapped :class:`HoldProtocol` (FrameProtocol)."""

    kind = "routine"
    setup_posture: str | None = None  # the posture changes from step to step
    evidence_states: tuple[str, ...] = ()  # no per-trial pictures

    def __init__(self, plan: RoutinePlan, *, switch_s: float = SWITCH_S) -> None:
        self.plan = plan
        self.switch_s = switch_s
        self.title = f"hamflex routine: {plan.title}"
        self.restart()

    @staticmethod
    def _hold(step: RoutineStep) -> HoldProtocol:
        return HoldProtocol(step.stretch, side=step.side, hold_s=step.hold_s, reps=step.reps)

    def restart(self) -> None:
        """Forget everything: the routine from its first step."""
        self._index = 0
        self._holds: list[HoldProtocol | None] = [self._hold(self.plan.steps[0])] + [None] * (len(self.plan.steps) - 1)
        self._status = ["not_reached"] * len(self.plan.steps)
        self._next = self._lookahead()
        self._announce = [self.plan.warm_up, self._step_line(0)]

    def switch_side(self) -> None:
        """The live ``s`` key: the current step's hold moves to the other side."""
        if self._index < len(self.plan.steps):
            self._holds[self._index].switch_side()

    def skip_step(self) -> None:
        """The live ``n`` key: leave the current step as it is and start the next."""
        if self._index < len(self.plan.steps):
            self._advance("skipped")

    def _lookahead(self) -> HoldProtocol | None:
        """A hold of the next step, fed alongside, to see the person move on to it (not when the
        next step is the same stretch: that one starts only once the current is done)."""
        following = self._index + 1
        if following >= len(self.plan.steps):
            return None
        if self.plan.steps[following].stretch.name == self.plan.steps[self._index].stretch.name:
            return None
        return self._hold(self.plan.steps[following])

    def _step_line(self, index: int) -> str:
        step = self.plan.steps[index]
        side = f", {step.side} side" if step.side in ("left", "right") else (", both sides" if step.side == "both" else "")
        line = f"next: {step.stretch.title}{side}"
        if index > 0 and step.stretch.view != self.plan.steps[index - 1].stretch.view:
            line += f" — turn so the camera sees you from the {step.stretch.view}"
        return line

    def _advance(self, status: str, started: HoldProtocol | None = None) -> None:
        """Close the current step with ``status`` and start the next (``started``: its hold,
        already fed); after the last step the routine is finished."""
        self._status[self._index] = status
        self._index += 1
        if self._index < len(self.plan.steps):
            self._holds[self._index] = started or self._hold(self.plan.steps[self._index])
            self._next = self._lookahead()
            self._announce.append(self._step_line(self._index))

    def update(self, sample: FrameSample) -> Feedback:
        if self._index >= len(self.plan.steps):
            return Feedback("finished", (self.plan.title, "routine done — well done"), finished=True)
        current = self._holds[self._index]
        self._status[self._index] = "partial"
        feedback = current.update(sample)
        holding = feedback.state in COUNTING_STATES
        if self._next is not None:
            if holding:  # in the current stretch: nothing of the next one yet
                self._next.restart()
            self._next.update(sample)
        if current.finished:  # the next step keeps what its lookahead saw since the release
            self._advance("done", started=self._next)
        elif not holding and self._next is not None and self._next.reps and self._next.reps[-1].valid_s >= self.switch_s:
            self._advance("partial", started=self._next)
        spoken = (*self._announce, *feedback.spoken)
        cues = feedback.cues + ((CUE_SWITCH_SIDES,) if self._announce else ())
        self._announce = []
        step_line = f"step {min(self._index + 1, len(self.plan.steps))}/{len(self.plan.steps)}"
        done = self._index >= len(self.plan.steps)
        return Feedback("finished" if done else feedback.state, (step_line, *feedback.guidance), cues, spoken,
                        finished=done)

    def score_photo(self, sample: FrameSample) -> Feedback:
        """A photo holds no seconds: checked against the first step like any frame."""
        return self.update(sample)

    def result(self) -> RoutineResult:
        steps = [_step_result(step, hold, status)
                 for step, hold, status in zip(self.plan.steps, self._holds, self._status)]
        total = round(sum(step.valid_seconds_total for step in steps), 2)
        return RoutineResult(
            title=self.plan.title, schedule=self.plan.schedule.to_dict(), steps=steps, steps_done=sum(step.status == "done" for step in steps),
            valid_seconds_total=total, finished=self._index >= len(self.plan.steps),
            no_valid_reason=None if total > 0 else "no step of the routine counted a valid second",
        )

    def nothing_scored(self, result: RoutineResult) -> HamflexError | None:
        """Not one valid second in any step: the error saying so."""
        if result.valid_seconds_total > 0:
            return None
        return NothingToScoreError(f"no valid hold second in any step of the routine (see {ROUTINE_JSON})")
