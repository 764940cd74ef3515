"""The active straight leg raise (ASLR) as a pure per-frame state machine.

The person lies on their back and raises one leg, knee straight, as far as it goes; the other
leg stays on the floor. The score is the hip flexion (trunk line to thigh, 0° = leg flat,
90° = vertical) at the end position: the still plateau that begins where the leg stops rising
for ``end_hold_s`` and lasts until it comes down — the 90-90 test's end-position rule
(:class:`~hamflex.protocols.endpoint.EndPlateau`) on minus the hip flexion.

States: ``position`` (waiting for someone lying on their back) → ``raise`` (waiting for a leg
to rise above ``raise_onset_deg``) → ``lift`` → ``hold`` (the leg stopped; the trial is
recorded and announced when stopped for ``end_hold_s``, then re-scored over the whole plateau;
a higher stop later replaces it) → back to ``raise`` when the leg comes down (an attempt that
never stopped is then recorded as not held). A trial is invalid when the knee bends more than
``max_knee_flexion_deg`` at the end position, the other leg lifts, or the pelvis or trunk
lifts. The tested leg is the raised one; its side is named from the body's orientation
(:mod:`hamflex.protocols.sides`) unless a side is forced. No I/O; thresholds: ``docs/slr.md``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np

from hamflex.errors import HamflexError, NothingToScoreError
from hamflex.protocols.base import (
    CUE_DONE,
    CUE_POSITION_OK,
    CUE_SWITCH_SIDES,
    Feedback,
    FrameSample,
    SessionFields,
    known_fields,
)
from hamflex.protocols.attempts import AttemptProtocol, OpenAttempt
from hamflex.protocols.endpoint import (
    FRAME_SLACK_S,
    EndPlateau,
    FrameFeatures,
    by_side,
    check_side_and_trials,
    interquartile_range,
    mean_and_sd,
    median,
    most_extreme_window,
    name_trial_side,
    posture_reasons,
    raise_near,
    rounded,
    side_notes,
    side_warnings,
    TrialRecord,
)
from hamflex.protocols.norms import Norms, load_norms
from hamflex.protocols.test90 import DEFAULT_TRIALS

SCHEMA_VERSION = 1
TEST_NAME = "active straight leg raise"


@dataclass(frozen=True)
class SlrSettings:
    """Thresholds of the leg raise (degrees, seconds, ratios); documented in docs/slr.md. The
    end-position rule's and the posture checks' have the 90-90 test's values."""

    supine_max_trunk_deg: float = 30.0  # trunk within this of horizontal = lying down
    raise_onset_deg: float = 15.0  # tested hip flexed more: a raise began; back below it: the leg is down
    min_raise_deg: float = 30.0  # an end position lower than this is no raise (a fidget, a knee drawn up)
    max_knee_flexion_deg: float = 15.0  # knee bent more at the end position: not a straight leg raise
    end_hold_s: float = 0.5  # leg still this long = end position (scored over its whole still plateau)
    score_window_s: float = 1.0  # a raise never held still: scored at its highest window this long
    still_range_deg: float = 4.0  # hip angle range within the hold window that counts as still
    still_speed_deg_s: float = 2.0  # hip speed (line fit over the hold window) above this is moving
    new_minimum_deg: float = 1.0  # leg rising further than this restarts the hold
    plateau_exit_s: float = 0.2  # hip beyond still_range_deg of the end position's median this long: it ended
    end_of_recording_hold_s: float = 0.25  # a shorter stop at the very end of a recording counts
    lowered_by_deg: float = 20.0  # leg lowered this much below its end position: trial over
    lowered_for_s: float = 0.2  # leg below raise_onset_deg this long: trial over
    max_dropout_s: float = 0.5  # frames without the person shorter than this are skipped
    max_other_hip_deg: float = 15.0  # other leg's hip flexion (median over the end position) above this = lifted
    max_trunk_rise_deg: float = 10.0  # trunk tilting up this much during the raise = lifted
    max_pelvis_rise_thighs: float = 0.2  # pelvis rising by this fraction of the thigh length
    min_leg_visibility: float = 0.6  # median MediaPipe visibility of the tested hip/knee/ankle
    max_missing_fraction: float = 0.3  # tested knee angle unknown in more of the trial frames
    max_body_width_ratio: float = 0.35  # shoulder/hip width seen over trunk length: turned body
    min_thigh_shank_ratio: float = 0.7  # thigh shorter than this times the shank: foreshortened
    max_2d_3d_knee_gap_deg: float = 20.0  # image vs world knee angle disagreement
    result_show_s: float = 3.0  # live: how long a trial's result stays the guidance
    # Near or far leg: MediaPipe's depth/visibility while the leg rises through this range.
    raise_cue_min_hip_deg: float = 20.0
    raise_cue_max_hip_deg: float = 45.0
    raise_cue_majority: float = 0.67
    raise_cue_window_s: float = 3.0  # frames kept from before a raise for that judgement


def _minus_hip_deg(frame: FrameFeatures) -> float:
    """The leg raise's end-position measure: minus the hip flexion (smaller = higher leg)."""
    return -frame.hip_deg


@dataclass
class SlrTrial(TrialRecord):
    """One scored raise (JSON-ready via :meth:`to_dict`); unknown numbers are NaN."""

    side: str | None = None
    hip_flexion_deg: float = float("nan")
    knee_flexion_deg: float = float("nan")
    valid: bool = False
    reason: str = ""
    start_s: float = float("nan")
    end_s: float = float("nan")
    leg: str | None = None  # "near"/"far" relative to the camera, when known
    side_from: str = "orientation"
    other_hip_flexion_deg: float = float("nan")
    end_position_s: tuple[float, float] = (float("nan"), float("nan"))
    ended_by: str = "held"  # "held", "end of recording", "photo", "not held"
    side_note: str = ""
    orientation_side: str | None = None  # the side named from the body's orientation (with --side)
    hip_flexion_spread_deg: float = float("nan")  # interquartile range over the end position
    picture: str | None = None  # the end-position picture beside slr.json (trial_<n>_end.jpg)

    def evidence_angles_deg(self) -> tuple[float, float]:
        """(knee short of straight, hip flexion) drawn on the trial's picture."""
        return self.knee_flexion_deg, self.hip_flexion_deg


@dataclass
class SlrSideSummary:
    """One side's valid raises: mean end-position hip flexion, SD and grade (None without one)."""

    trials: int
    invalid_trials: int
    mean_hip_flexion_deg: float | None = None
    sd_deg: float | None = None
    grade: str | None = None
    grade_source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SlrSideSummary:
        """A side's summary read back from its JSON."""
        return cls(**known_fields(cls, data))


@dataclass(kw_only=True)
class SlrResult(SessionFields):
    """The leg raise's result (``slr.json``): every trial, the per-side summary, the norms and
    settings used, and how the session went."""

    schema_version: int = SCHEMA_VERSION
    test: str = TEST_NAME
    trials: list[SlrTrial] = field(default_factory=list)
    sides: dict[str, SlrSideSummary] = field(default_factory=dict)
    asymmetry_deg: float | None = None  # left minus right mean hip flexion
    norms: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    no_trial_reason: str | None = None

    OPTIONAL_FIELDS: ClassVar[tuple[str, ...]] = (*SessionFields.OPTIONAL_FIELDS, "no_trial_reason")
    NOTHING_FIELD: ClassVar[str] = "no_trial_reason"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SlrResult:
        """A result read back from ``slr.json``."""
        return cls(
            **cls.session_kwargs(data), schema_version=data.get("schema_version", SCHEMA_VERSION),
            test=data.get("test", TEST_NAME), trials=[SlrTrial.from_dict(t) for t in data.get("trials", [])],
            sides={side: SlrSideSummary.from_dict(entry) for side, entry in data.get("sides", {}).items()},
            asymmetry_deg=data.get("asymmetry_deg"), norms=data.get("norms", {}), settings=data.get("settings", {}),
            notes=list(data.get("notes", [])), no_trial_reason=data.get("no_trial_reason"),
        )


def check_raise(frames: list[FrameFeatures], end: list[FrameFeatures], settings: SlrSettings) -> list[str]:
    """Reasons a raise is invalid (empty = valid): the knee bent at the end position, then the
    posture checks both tests share (:func:`~hamflex.protocols.endpoint.posture_reasons`)."""
    reasons = []
    knee_deg = median(f.knee_deg for f in end)
    if knee_deg > settings.max_knee_flexion_deg:
        reasons.append(f"knee bent {knee_deg:.0f}° at the end position (limit {settings.max_knee_flexion_deg:.0f}°): "
                       f"keep the knee straight")
    return reasons + posture_reasons(frames, end, settings)


@dataclass(kw_only=True)
class _OpenRaise(OpenAttempt):
    """The raise in progress: frames since the leg rose above ``raise_onset_deg``."""

    before: list[FrameFeatures]  # the frames just before it, for the near/far cue of the raise


class SlrProtocol(AttemptProtocol):
    """The active straight leg raise, frame by frame (a :class:`~hamflex.protocols.base.FrameProtocol`).

    ``side`` None or "both": each trial's side is named from the body's orientation; "left" or
    "right": every trial is that side. ``trials`` per side are asked for live; offline every
    trial is kept.
    """

    kind = "slr"
    title = "hamflex: straight leg raise"
    setup_posture = "lying"
    evidence_states = ("lift", "hold")  # live: frames kept for the trial pictures

    @classmethod
    def from_options(cls, side: str | None = None, trials: int | None = None,
                     norms: Norms | None = None) -> SlrProtocol:
        """A protocol from the user's options (None = the default), checked here so the CLI and API agree."""
        check_side_and_trials(side, trials)
        return cls(side=side, trials=DEFAULT_TRIALS if trials is None else trials, norms=norms)

    def __init__(self, side: str | None = None, trials: int = DEFAULT_TRIALS, settings: SlrSettings | None = None,
                 norms: Norms | None = None) -> None:
        self.norms = norms or load_norms()
        super().__init__(side, trials, settings or SlrSettings())

    # --- FrameProtocol -------------------------------------------------------------------
    def restart(self) -> None:
        """Forget every trial and start over."""
        super().restart()
        self._recent: deque[FrameFeatures] = deque()
        self._leg_up = False  # a raise ended with the leg still up: the next one starts once it is down
        self._seen["raised"] = 0

    def _lying(self, features: FrameFeatures) -> list[str]:
        if self._open is None:
            self._look_for_raise(features)
        return self._follow(features) if self._open is not None else []

    def _forget_before(self) -> None:
        self._recent.clear()

    def result(self) -> SlrResult:
        """The result so far; a raise still open counts if the leg had stopped."""
        if self._open is not None:
            self._rescore(self._open)
        trials = list(self._trials)
        provisional = self._end_of_recording_trial()
        if provisional is not None:
            trials.append(provisional)
        sides = by_side(trials, self._side_summary)
        return SlrResult(
            trials=trials, sides=sides, asymmetry_deg=_asymmetry_deg(sides),
            norms={"table": self.norms.path, "source": "; ".join(dict.fromkeys(b.source for b in self.norms.raise_grades))},
            settings=asdict(self.settings), notes=self._notes(trials), warnings=side_warnings(trials),
            no_trial_reason=None if trials else self.why_no_trial(),
        )

    def nothing_scored(self, result: SlrResult) -> HamflexError | None:
        """No raise found: the error saying why."""
        return None if result.trials else NothingToScoreError(f"no straight leg raise found: {result.no_trial_reason}")

    def score_photo(self, sample: FrameSample) -> SlrTrial | None:
        """Score one photo taken at the end position: one trial, the same checks."""
        features = self._photo_features(sample)
        if features is None or features.hip_deg < self.settings.min_raise_deg:
            return None
        self._seen["raised"] += 1
        trial = self._make_trial([features], [features], check_raise([features], [features], self.settings), "photo")
        self._trials.append(trial)
        return trial

    def why_no_trial(self) -> str:
        """Plain words on why no raise was found (empty when there are trials)."""
        seen, s = self._seen, self.settings
        if self._trials:
            return ""
        if self._why_not_lying():
            return self._why_not_lying()
        if seen["raised"] == 0:
            return f"lying down, but no leg was raised above {s.min_raise_deg:.0f}°"
        return f"a leg was raised but never held still for {s.end_hold_s:.1f} s"

    # --- internals -----------------------------------------------------------------------
    def _look_for_raise(self, f: FrameFeatures) -> None:
        """Open a raise when the leg rises above ``raise_onset_deg``, else remember the frame."""
        s = self.settings
        self._leg_up = self._leg_up and not f.hip_deg <= s.raise_onset_deg
        if f.hip_deg > s.raise_onset_deg and not self._leg_up:
            self._open = _OpenRaise(frames=[], before=list(self._recent), plateau=EndPlateau(_minus_hip_deg, s, 0))
            self._state = "lift"
            return
        self._recent.append(f)
        while self._recent and f.t_s - self._recent[0].t_s > s.raise_cue_window_s:
            self._recent.popleft()

    def _follow(self, f: FrameFeatures) -> list[str]:
        """Advance the open raise by one frame; returns cue events."""
        s, trial = self.settings, self._open
        assert trial is not None
        trial.frames.append(f)
        index = len(trial.frames) - 1
        if self._leg_down(trial, f) or not np.isfinite(f.hip_deg):
            return []
        if f.hip_deg >= s.min_raise_deg:
            self._seen["raised"] = 1
        if trial.plateau.best_hold is not None and self._lowered_from_end(trial, f):
            self._leg_up = True
            return self._ended_by_moving_back()
        return self._follow_plateau(trial, index, f.hip_deg >= s.min_raise_deg, "lift")

    def _leg_down(self, trial: _OpenRaise, f: FrameFeatures) -> bool:
        """Whether the leg is below ``raise_onset_deg`` (the frame is then not used); the raise
        ends once it has stayed there ``lowered_for_s``."""
        if f.hip_deg >= self.settings.raise_onset_deg:
            trial.lowered_since_s = None
            return False
        if trial.lowered_since_s is None:
            trial.lowered_since_s = f.t_s
        if f.t_s - trial.lowered_since_s >= self.settings.lowered_for_s - FRAME_SLACK_S:
            self._close_open(lowered=True)
        return True

    def _lowered_from_end(self, trial: _OpenRaise, f: FrameFeatures) -> bool:
        """The leg came down ``lowered_by_deg`` below its recorded end position."""
        start, stop = trial.plateau.best_hold
        return median(x.hip_deg for x in trial.frames[start:stop]) - f.hip_deg >= self.settings.lowered_by_deg

    def _record(self, trial: _OpenRaise, ended_by: str, hold: tuple[int, int] | None = None) -> SlrTrial:
        """Score the raise over its end position: the still plateau ``hold`` (default: the
        recorded one) without its settling in and coming down."""
        hold = hold or trial.plateau.best_hold
        end = trial.plateau.end_position(trial.frames, hold)
        moving = trial.frames[:hold[1]]
        near = raise_near([*trial.before, *trial.frames[:hold[0] + 1]], self.settings)
        record = self._make_trial(moving, end, check_raise(moving, end, self.settings), ended_by, near)
        return self._keep(trial, record, ended_by, hold)

    def _record_not_held(self, trial: _OpenRaise) -> None:
        """A raise above ``min_raise_deg`` that came down without a still end position: an
        invalid trial, scored at its highest moment (not dropped without a word)."""
        s = self.settings
        raised = [f for f in trial.frames if f.hip_deg >= s.min_raise_deg]
        if not raised:
            return
        end = most_extreme_window(raised, _minus_hip_deg, s.score_window_s)
        peak = trial.frames.index(end[0])
        reasons = [f"leg not held still at the end position (never still for {s.end_hold_s:.1f} s)",
                   *check_raise(trial.frames, end, s)]
        near = raise_near([*trial.before, *trial.frames[:peak + 1]], s)
        self._trials.append(self._make_trial(trial.frames, end, reasons, "not held", near))
        self._shown_until = self._last_t + s.result_show_s

    def _make_trial(self, frames, end, reasons, ended_by, near_by_raise=None) -> SlrTrial:
        naming = name_trial_side(frames, near_by_raise, self._forced_side)
        return SlrTrial(
            side=naming.side,
            hip_flexion_deg=median(f.hip_deg for f in end),
            knee_flexion_deg=median(f.knee_deg for f in end),
            valid=not reasons,
            reason="; ".join(reasons) if reasons else "ok",
            start_s=frames[0].t_s,
            end_s=frames[-1].t_s,
            leg=naming.leg,
            side_from=naming.side_from,
            other_hip_flexion_deg=median(f.other_hip_deg for f in end),
            end_position_s=(end[0].t_s, end[-1].t_s),
            ended_by=ended_by,
            side_note=naming.note,
            orientation_side=naming.orientation_side,
            hip_flexion_spread_deg=interquartile_range(f.hip_deg for f in end) if ended_by != "photo" else float("nan"),
        )

    def _score(self, record: SlrTrial) -> float:
        return record.hip_flexion_deg

    def _side_summary(self, trials: list[SlrTrial]) -> SlrSideSummary:
        """Mean, SD and grade of one side's valid raises."""
        hips = [t.hip_flexion_deg for t in trials if t.valid]
        entry = SlrSideSummary(trials=len(hips), invalid_trials=sum(1 for t in trials if not t.valid))
        if hips:
            mean, sd = mean_and_sd(hips)
            band = self.norms.grade_raise(mean)
            entry.mean_hip_flexion_deg, entry.sd_deg, entry.grade, entry.grade_source = (
                rounded(mean), rounded(sd), band.name, band.source)
        return entry

    @staticmethod
    def _notes(trials: list[SlrTrial]) -> list[str]:
        notes = side_notes(trials)
        if any(t.ended_by == "end of recording" for t in trials):
            notes.append("the last raise was cut short by the end of the recording: its end position is the last "
                         "still moment")
        return notes

    def _feedback(self, cues: list[str]) -> Feedback:
        state = "finished" if self._finished() else self._state
        if state == "finished":
            lines = ["Done: " + ", ".join(f"{side} {entry.mean_hip_flexion_deg:.0f}° ({entry.grade})"
                                          for side, entry in by_side(self._trials, self._side_summary).items()
                                          if entry.mean_hip_flexion_deg is not None)]
        elif self._trials and self._last_t <= self._shown_until and state in ("raise", "hold"):
            last = self._trials[-1]
            verdict = "valid" if last.valid else f"not valid: {last.reason}"
            lines = [f"Trial {len(self._trials)} ({last.side or '?'}): leg raised {last.hip_flexion_deg:.0f}°, {verdict}",
                     "Lower the leg and relax" if state == "hold" else "Raise the straight leg"]
        else:
            side_word = f" ({self._current_side} leg)" if self._current_side else ""
            lines = [{"position": "Lie on your back, side to the camera",
                      "raise": f"Raise the straight leg as far as it goes{side_word}",
                      "lift": "Keep the knee straight, the other leg down", "hold": "Hold"}[state]]
        if state in ("lift", "hold") and self._open is not None and self._open.frames:
            last_frame = self._open.frames[-1]
            lines.append(f"leg {last_frame.hip_deg:.0f}°  knee {last_frame.knee_deg:.0f}° bent")
        spoken = [lines[0]] if {CUE_DONE, CUE_POSITION_OK, CUE_SWITCH_SIDES} & set(cues) else []
        if CUE_SWITCH_SIDES in cues:
            lines.append(f"Switch sides: now the {self._current_side} leg")
            spoken.append(lines[-1])
        return Feedback(state=state, guidance=tuple(lines), cues=tuple(cues), spoken=tuple(spoken),
                        finished=state == "finished")


def _asymmetry_deg(sides: dict[str, SlrSideSummary]) -> float | None:
    """Left minus right mean hip flexion, None unless both sides have one."""
    means = [sides[side].mean_hip_flexion_deg for side in ("left", "right") if side in sides]
    return rounded(means[0] - means[1]) if len(means) == 2 and None not in means else None
