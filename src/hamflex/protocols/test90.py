"""The 90-90 hamstring test (active knee extension) as a pure per-frame state machine.

The person lies on their back, raises one thigh to vertical (hip flexed 90°), holds it there
and straightens the knee as far as it goes. The score is the knee extension deficit (degrees
short of straight) at the end position: the still plateau that begins where the knee stops
moving for ``end_hold_s`` and lasts until it bends back (its median, and its spread).

States: ``position`` (waiting for someone lying on their back) → ``raise`` (waiting for a thigh
at 90° with the knee bent) → ``hold_thigh`` (thigh at 90°, knee not yet moving) → ``extend``
→ ``hold`` (knee stopped; the trial is recorded and announced when stopped for ``end_hold_s``,
then re-scored silently over the whole plateau; a straighter stop later replaces it and is
announced again) → back to ``raise`` when the knee bends again or the thigh comes down (an
attempt that never stopped is then recorded as not held). One recording can hold many
trials. The tested leg is the raised one whatever MediaPipe calls it (geometry, never the
toes' direction; MediaPipe swaps the legs' labels when a far leg is raised); its side is
named from the body's orientation (:mod:`hamflex.protocols.sides`) unless a side is forced.

Fed the same way offline (zero-phase smoothed angles) and live (One-Euro); no I/O.
Thresholds and their reasons: ``docs/test90.md``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from hamflex.protocols.attempts import AttemptProtocol, OpenAttempt
from hamflex.protocols.endpoint import (
    FRAME_SLACK_S,
    EndPlateau,
    by_side,
    check_side_and_trials,
    FrameFeatures,
    mean_and_sd,
    most_extreme_window,
    name_trial_side,
    posture_reasons,
    raise_near,
    side_notes,
    side_warnings,
    TrialRecord,
)
from hamflex.protocols.endpoint import median as _median
from hamflex.protocols.endpoint import rounded as _round
from hamflex.protocols.endpoint import interquartile_range
from hamflex.protocols.norms import SEXES, Norms, load_norms
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

SCHEMA_VERSION = 1
TEST_NAME = "90-90"
DEFAULT_TRIALS = 3  # trials per side asked for live (Gajdosik & Lusin 1983 averaged three)
MAX_HIP_TOLERANCE_DEG = 45.0


@dataclass(frozen=True)
class Test90Settings:
    """Thresholds of the protocol (degrees, seconds, ratios); documented in docs/test90.md."""

    __test__ = False  # not a pytest class, despite the name

    hip_target_deg: float = 90.0
    hip_tolerance_deg: float = 10.0  # thigh "at 90°" (start and end position)
    max_hip_drift_deg: float = 10.0  # thigh movement from its start during the extension
    supine_max_trunk_deg: float = 30.0  # trunk within this of horizontal = lying down
    min_start_knee_deg: float = 45.0  # the knee is bent when the thigh reaches 90°
    settle_s: float = 0.3  # thigh at 90° this long before a trial starts
    extension_onset_deg: float = 5.0  # knee straightened this much = extension started
    min_extension_deg: float = 15.0  # less is not an extension attempt
    end_hold_s: float = 0.5  # knee still this long = end position (scored over its whole still plateau)
    score_window_s: float = 1.0  # an attempt never held still: scored at its most extended window this long
    still_range_deg: float = 4.0  # knee angle range within the hold window that counts as still
    still_speed_deg_s: float = 2.0  # knee speed (line fit over the hold window) above this is moving
    new_minimum_deg: float = 1.0  # knee straightening further than this restarts the hold
    plateau_exit_s: float = 0.2  # knee beyond still_range_deg of the end position's median this long: it ended
    end_of_recording_hold_s: float = 0.25  # a shorter stop at the very end of a recording counts
    rebend_deg: float = 20.0  # knee bent again this much after the end position: trial over
    lowered_hip_deg: float = 45.0  # thigh lowered below this: trial over
    lowered_for_s: float = 0.2  # ... for this long (one frame of misplaced legs does not end a trial)
    max_dropout_s: float = 0.5  # frames without the person shorter than this are skipped
    max_other_hip_deg: float = 15.0  # other leg's hip flexion (median over the end position) above this = lifted
    max_trunk_rise_deg: float = 10.0  # trunk tilting up this much during the trial = lifted
    max_pelvis_rise_thighs: float = 0.2  # pelvis rising by this fraction of the thigh length
    min_leg_visibility: float = 0.6  # median MediaPipe visibility of the tested hip/knee/ankle
    max_missing_fraction: float = 0.3  # tested knee angle unknown in more of the trial frames
    max_body_width_ratio: float = 0.35  # shoulder/hip width seen over trunk length: turned body
    min_thigh_shank_ratio: float = 0.7  # thigh shorter than this times the shank: foreshortened
    max_2d_3d_knee_gap_deg: float = 20.0  # image vs world knee angle disagreement
    result_show_s: float = 3.0  # live: how long a trial's result stays the guidance
    # Near or far leg: MediaPipe's depth/visibility while the thigh rises through this range
    # (looking back this long before the trial) decides when this share of those frames agree;
    # otherwise the held trial's frames do (MediaPipe may relabel a raised far leg as the near one).
    raise_cue_min_hip_deg: float = 20.0
    raise_cue_max_hip_deg: float = 70.0
    raise_cue_window_s: float = 3.0
    raise_cue_majority: float = 0.67


@dataclass
class Trial(TrialRecord):
    """One scored attempt (JSON-ready via :meth:`to_dict`); unknown numbers are NaN."""

    side: str | None = None
    knee_extension_deficit_deg: float = float("nan")
    hip_flexion_deg: float = float("nan")
    start_s: float = float("nan")
    end_s: float = float("nan")
    valid: bool = False
    reason: str = ""
    leg: str | None = None  # "near"/"far" relative to the camera, when known
    side_from: str = "orientation"
    hip_drift_deg: float = float("nan")
    other_hip_flexion_deg: float = float("nan")
    end_position_s: tuple[float, float] = (float("nan"), float("nan"))
    ended_by: str = "held"  # "held", "end of recording", "photo", "not held"
    side_note: str = ""
    orientation_side: str | None = None  # the side named from the body's orientation (with --side)
    knee_extension_deficit_spread_deg: float = float("nan")  # interquartile range over the end position
    spread_note: str = ""  # set when that spread exceeds the test's measurement error (SEM)
    picture: str | None = None  # the end-position picture beside test90.json (trial_<n>_end.jpg)
    correction: dict[str, Any] | None = None  # landmarks corrected by hand: the points and the original values

    def evidence_angles_deg(self) -> tuple[float, float]:
        """(knee short of straight, hip flexion) drawn on the trial's picture."""
        return self.knee_extension_deficit_deg, self.hip_flexion_deg


@dataclass
class SideSummary:
    """One side's valid trials: mean deficit, spread and grade (None when no trial was valid)."""

    trials: int
    invalid_trials: int
    mean_deficit_deg: float | None = None
    sd_deg: float | None = None
    grade: str | None = None
    note: str | None = None
    grade_source: str | None = None
    reference: dict[str, Any] | None = None  # typical deficit of young adults of the given sex

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("grade_source", "reference"):
            if data[key] is None:
                del data[key]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SideSummary:
        """A side's summary read back from its JSON."""
        return cls(**known_fields(cls, data))


@dataclass(kw_only=True)
class Test90Result(SessionFields):
    """The 90-90 test's result (``test90.json``): every trial, the per-side summary, the norms
    and settings used, and how the session went."""

    __test__ = False  # not a pytest class, despite the name

    schema_version: int = SCHEMA_VERSION
    test: str = TEST_NAME
    trials: list[Trial] = field(default_factory=list)
    sides: dict[str, SideSummary] = field(default_factory=dict)
    asymmetry_deg: float | None = None
    sex: str | None = None
    norms: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    no_trial_reason: str | None = None

    OPTIONAL_FIELDS: ClassVar[tuple[str, ...]] = (*SessionFields.OPTIONAL_FIELDS, "no_trial_reason")
    NOTHING_FIELD: ClassVar[str] = "no_trial_reason"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Test90Result:
        """A result read back from ``test90.json``."""
        return cls(
            **cls.session_kwargs(data), schema_version=data.get("schema_version", SCHEMA_VERSION),
            test=data.get("test", TEST_NAME), trials=[Trial.from_dict(t) for t in data.get("trials", [])],
            sides={side: SideSummary.from_dict(entry) for side, entry in data.get("sides", {}).items()},
            asymmetry_deg=data.get("asymmetry_deg"), sex=data.get("sex"), norms=data.get("norms", {}),
            settings=data.get("settings", {}), notes=list(data.get("notes", [])),
            no_trial_reason=data.get("no_trial_reason"),
        )


def _asymmetry_deg(sides: dict[str, SideSummary]) -> float | None:
    """Left minus right mean deficit, None unless both sides have one."""
    means = [sides[side].mean_deficit_deg for side in ("left", "right") if side in sides]
    return _round(means[0] - means[1]) if len(means) == 2 and None not in means else None


def check_trial(frames: list[FrameFeatures], end: list[FrameFeatures], start_hip_deg: float,
                settings: Test90Settings) -> list[str]:
    """Reasons a trial is invalid (empty = valid).

    ``frames`` run from the start of the extension to the end of the end position, ``end`` are
    the end-position frames (both non-empty), ``start_hip_deg`` the thigh's angle before the
    knee moved (NaN for a photo, which has no before). NaN measurements fail no check.
    """
    s = settings
    reasons: list[str] = []
    end_hip = _median(f.hip_deg for f in end)
    off_target = abs(end_hip - s.hip_target_deg) > s.hip_tolerance_deg
    drift = end_hip - start_hip_deg
    if not np.isfinite(start_hip_deg):
        if off_target:
            reasons.append(f"thigh not at {s.hip_target_deg:.0f}° (hip {end_hip:.0f}°, must be "
                           f"{s.hip_target_deg:.0f} ± {s.hip_tolerance_deg:.0f}°)")
    else:
        # Two faults of one movement, each with its own number: one reason.
        thigh = []
        if np.isfinite(drift) and abs(drift) > s.max_hip_drift_deg:
            toward = "toward the head" if drift > 0 else "toward the feet"
            thigh.append(f"thigh drifted {abs(drift):.1f}° {toward} during the extension "
                         f"(limit {s.max_hip_drift_deg:.0f}°)")
        if off_target:
            thigh.append(f"{'was' if thigh else 'thigh'} not held at {s.hip_target_deg:.0f}°: hip {end_hip:.1f}° "
                         f"(must stay within {s.hip_target_deg:.0f} ± {s.hip_tolerance_deg:.0f}°)")
        if thigh:
            reasons.append(" and ".join(thigh))
    return reasons + posture_reasons(frames, end, s)


def _knee_deg(frame: FrameFeatures) -> float:
    """The 90-90 test's end-position measure: the knee extension deficit (smaller = straighter)."""
    return frame.knee_deg


@dataclass(kw_only=True)
class _OpenTrial(OpenAttempt):
    """The attempt in progress: frames since the thigh reached 90°; its plateau is followed once
    the knee began to straighten."""

    start_hip_deg: float  # the thigh when the knee began to move (until then: when it reached 90°)
    start_knee_deg: float
    min_knee_deg: float = float("inf")
    raise_near: bool | None = None  # the tested leg is the near one, by the cues while its thigh rose


class Test90Protocol(AttemptProtocol):
    """The 90-90 test, frame by frame (implements :class:`~hamflex.protocols.base.FrameProtocol`).

    ``side`` None or "both": each trial's side is named from the body's orientation; "left" or
    "right": every trial is that side. ``trials`` per side are asked for live (the session is
    finished when every expected side has that many valid trials); offline every trial is kept.
    """

    __test__ = False  # not a pytest class, despite the name

    kind = "test90"
    title = "hamflex: 90-90 test"
    setup_posture = "lying"
    evidence_states = ("hold_thigh", "extend", "hold")  # live: frames kept for the trial pictures

    @classmethod
    def from_options(cls, side: str | None = None, trials: int | None = None, sex: str | None = None,
                     hip_tolerance_deg: float | None = None, norms: Norms | None = None) -> Test90Protocol:
        """A protocol from the user's options (None = the default), checked here so the CLI and API agree."""
        check_side_and_trials(side, trials)
        if sex is not None and sex not in SEXES:
            raise ValueError(f"sex must be one of {', '.join(SEXES)}, not {sex!r}")
        settings = Test90Settings()
        if hip_tolerance_deg is not None:
            if not 0 < hip_tolerance_deg <= MAX_HIP_TOLERANCE_DEG:
                raise ValueError(f"hip tolerance must be between 0 and {MAX_HIP_TOLERANCE_DEG:g} degrees")
            settings = Test90Settings(hip_tolerance_deg=hip_tolerance_deg)
        return cls(side=side, trials=DEFAULT_TRIALS if trials is None else trials, sex=sex, settings=settings,
                   norms=norms)

    def __init__(self, side: str | None = None, trials: int = DEFAULT_TRIALS, sex: str | None = None,
                 settings: Test90Settings | None = None, norms: Norms | None = None) -> None:
        self.norms = norms or load_norms()
        self.sex = sex
        super().__init__(side, trials, settings or Test90Settings())

    # --- FrameProtocol -------------------------------------------------------------------
    def restart(self) -> None:
        """Forget every trial and start over."""
        super().restart()
        self._settle: list[FrameFeatures] = []
        self._recent: deque[FrameFeatures] = deque()  # frames before a trial, for the near/far cue of its raise
        self._seen.update(thigh_at_90=0, extensions=0)

    def _lying(self, features: FrameFeatures) -> list[str]:
        if self._open is not None:
            return self._follow(features)
        self._remember(features)
        self._look_for_start(features)
        return []

    def _forget_before(self) -> None:
        self._settle = []
        self._recent.clear()

    def result(self) -> Test90Result:
        """The result so far; an attempt still open counts if the knee had stopped."""
        if self._open is not None:
            self._rescore(self._open)
        trials = list(self._trials)
        provisional = self._end_of_recording_trial()
        if provisional is not None:
            trials.append(provisional)
        sides = self._aggregate(trials)
        return Test90Result(
            trials=trials,
            sides=sides,
            asymmetry_deg=_asymmetry_deg(sides),
            sex=self.sex,
            norms={"table": self.norms.path, "sem_deg": self.norms.sem_deg,
                   "min_real_change_deg": self.norms.min_real_change_deg, "source": self.norms.error_source},
            settings=asdict(self.settings),
            notes=self._notes(trials, sides),
            warnings=side_warnings(trials),
            no_trial_reason=None if trials else self.why_no_trial(),
        )

    def rescored(self, result: Test90Result) -> Test90Result:
        """``result`` with its sides, asymmetry and notes summarised again from its trials (after
        a trial was corrected by hand)."""
        sides = self._aggregate(result.trials)
        return replace(result, sides=sides, asymmetry_deg=_asymmetry_deg(sides), notes=self._notes(result.trials, sides))

    def nothing_scored(self, result: Test90Result) -> HamflexError | None:
        """No trial found: the error saying why."""
        return None if result.trials else NothingToScoreError(f"no 90-90 trial found: {result.no_trial_reason}")

    # --- photo mode ----------------------------------------------------------------------
    def score_photo(self, sample: FrameSample) -> Trial | None:
        """Score one photo taken at the end position: one trial, the same checks (no drift)."""
        features = self._photo_features(sample)
        if features is None or features.hip_deg < self.settings.lowered_hip_deg:
            return None
        self._seen["thigh_at_90"] += 1
        reasons = check_trial([features], [features], float("nan"), self.settings)
        # The knee starts at about 90°: less than the smallest extension from there is no end position.
        if features.knee_deg > 90.0 - self.settings.min_extension_deg:
            reasons.insert(0, f"knee not straightened ({features.knee_deg:.0f}° short): the photo must show "
                              f"the end position")
        trial = self._make_trial([features], [features], [features], float("nan"), reasons, "photo")
        self._trials.append(trial)
        return trial

    def why_no_trial(self) -> str:
        """Plain words on why no trial was found (empty when there are trials)."""
        seen, s = self._seen, self.settings
        if self._trials:
            return ""
        if self._why_not_lying():
            return self._why_not_lying()
        if seen["thigh_at_90"] == 0:
            return (f"lying down, but no thigh was raised to {s.hip_target_deg:.0f} ± {s.hip_tolerance_deg:.0f}° "
                    f"with the knee bent")
        if seen["extensions"] == 0:
            return "the thigh was raised to 90°, but the knee was not straightened"
        return f"the knee was straightened but never held still for {s.end_hold_s:.1f} s"

    # --- internals -----------------------------------------------------------------------
    def _in_zone(self, f: FrameFeatures) -> bool:
        return abs(f.hip_deg - self.settings.hip_target_deg) <= self.settings.hip_tolerance_deg

    def _look_for_start(self, f: FrameFeatures) -> None:
        s = self.settings
        if self._in_zone(f) and f.knee_deg >= s.min_start_knee_deg:
            self._settle.append(f)
            if f.t_s - self._settle[0].t_s >= s.settle_s:
                self._seen["thigh_at_90"] += 1
                self._open = _OpenTrial(
                    frames=list(self._settle),
                    start_hip_deg=_median(x.hip_deg for x in self._settle),
                    start_knee_deg=_median(x.knee_deg for x in self._settle),
                    raise_near=raise_near(self._recent, self.settings),
                )
                self._settle = []
                self._state = "hold_thigh"
            return
        self._settle = []

    def _remember(self, f: FrameFeatures) -> None:
        """Keep the last ``raise_cue_window_s`` of frames seen while no trial is open."""
        self._recent.append(f)
        while self._recent and f.t_s - self._recent[0].t_s > self.settings.raise_cue_window_s:
            self._recent.popleft()

    def _follow(self, f: FrameFeatures) -> list[str]:
        """Advance the open trial by one frame; returns cue events."""
        s, trial = self.settings, self._open
        assert trial is not None
        trial.frames.append(f)
        index = len(trial.frames) - 1
        if self._thigh_lowered(trial, f) or not np.isfinite(f.knee_deg):
            return []  # a missing knee is kept: it counts as a frame where the knee was not seen
        if trial.plateau is None:
            if f.knee_deg <= trial.start_knee_deg - s.extension_onset_deg:
                trial.plateau = EndPlateau(_knee_deg, s, index)
                # The thigh's reference: where it was held just before the knee moved.
                trial.start_hip_deg = _median(x.hip_deg for x in trial.frames if x.t_s >= f.t_s - s.settle_s)
                self._seen["extensions"] += 1
                self._state = "extend"
            return []
        trial.min_knee_deg = min(trial.min_knee_deg, f.knee_deg)
        if trial.plateau.best_hold is not None and f.knee_deg - trial.min_knee_deg >= s.rebend_deg:
            return self._ended_by_moving_back()
        return self._follow_plateau(trial, index, trial.start_knee_deg - f.knee_deg >= s.min_extension_deg, "extend")

    def _thigh_lowered(self, trial: _OpenTrial, f: FrameFeatures) -> bool:
        """Whether the thigh is below ``lowered_hip_deg`` (the frame is then not used); the trial
        ends once it has stayed there ``lowered_for_s``."""
        s = self.settings
        if f.hip_deg >= s.lowered_hip_deg:
            trial.lowered_since_s = None
            return False
        if trial.lowered_since_s is None:
            trial.lowered_since_s = f.t_s
        if f.t_s - trial.lowered_since_s >= s.lowered_for_s - FRAME_SLACK_S:
            self._close_open(lowered=True)
        return True

    def _record(self, trial: _OpenTrial, ended_by: str, hold: tuple[int, int] | None = None) -> Trial:
        """Score the trial over its end position: the still plateau ``hold`` (default: the
        recorded one) without its settling in and bending back (:meth:`EndPlateau.end_position`)."""
        plateau = trial.plateau
        assert plateau is not None
        hold = hold or plateau.best_hold
        s, end = self.settings, plateau.end_position(trial.frames, hold)
        moving = trial.frames[plateau.first_index:hold[1]]
        reasons = check_trial(moving, end, trial.start_hip_deg, s)
        record = self._make_trial(trial.frames[:hold[1]], moving, end, trial.start_hip_deg, reasons, ended_by,
                                  trial.raise_near)
        return self._keep(trial, record, ended_by, hold)

    def _record_not_held(self, trial: _OpenTrial) -> None:
        """An attempt that straightened the knee with the thigh at 90° but ended without a still
        end position: an invalid trial, scored at its most extended moment with the thigh at 90°
        (not dropped without a word)."""
        s = self.settings
        if trial.plateau is None:
            return
        moving = [f for f in trial.frames[trial.plateau.first_index:] if f.hip_deg >= s.lowered_hip_deg]
        at_90 = [f for f in moving if self._in_zone(f) and np.isfinite(f.knee_deg)]
        if not at_90 or trial.start_knee_deg - min(f.knee_deg for f in at_90) < s.min_extension_deg:
            return  # no extension attempt at 90° (a knee straightening while the leg comes down is none)
        end = most_extreme_window(at_90, _knee_deg, s.score_window_s)
        reasons = [f"knee not held still at the end position (never still for {s.end_hold_s:.1f} s)",
                   *check_trial(moving, end, trial.start_hip_deg, s)]
        self._trials.append(self._make_trial(trial.frames, moving, end, trial.start_hip_deg, reasons, "not held",
                                             trial.raise_near))
        self._shown_until = self._last_t + s.result_show_s

    def _make_trial(self, frames, moving, end, start_hip_deg, reasons, ended_by, near_by_raise=None) -> Trial:
        naming = name_trial_side(frames, near_by_raise, self._forced_side)
        end_hip = _median(f.hip_deg for f in end)
        spread_deg = interquartile_range(f.knee_deg for f in end) if ended_by != "photo" else float("nan")
        return Trial(
            side=naming.side,
            knee_extension_deficit_deg=_median(f.knee_deg for f in end),
            hip_flexion_deg=end_hip,
            start_s=frames[0].t_s,
            end_s=frames[-1].t_s,
            valid=not reasons,
            reason="; ".join(reasons) if reasons else "ok",
            leg=naming.leg,
            side_from=naming.side_from,
            hip_drift_deg=end_hip - start_hip_deg,
            other_hip_flexion_deg=_median(f.other_hip_deg for f in end),
            end_position_s=(end[0].t_s, end[-1].t_s),
            ended_by=ended_by,
            side_note=naming.note,
            orientation_side=naming.orientation_side,
            knee_extension_deficit_spread_deg=spread_deg,
            spread_note=self._spread_note(spread_deg),
        )

    def _spread_note(self, spread_deg: float) -> str:
        """A note when the knee moved over the end position more than the test's error (SEM)."""
        if not spread_deg > self.norms.sem_deg:
            return ""
        return (f"the knee angle varied over the end position (interquartile range {spread_deg:.1f}° > the test's "
                f"measurement error {self.norms.sem_deg:.0f}°): its score is uncertain, hold the end position still")

    def _score(self, record: Trial) -> float:
        return record.knee_extension_deficit_deg

    def _aggregate(self, trials: list[Trial]) -> dict[str, SideSummary]:
        return by_side(trials, self._side_summary)

    def _side_summary(self, trials: list[Trial]) -> SideSummary:
        """Mean, SD and grade of one side's valid trials."""
        deficits = [t.knee_extension_deficit_deg for t in trials if t.valid]
        entry = SideSummary(trials=len(deficits), invalid_trials=sum(1 for t in trials if not t.valid))
        if not deficits:
            return entry
        mean, sd = mean_and_sd(deficits)
        band = self.norms.grade(mean, self.sex)
        entry.mean_deficit_deg, entry.sd_deg, entry.grade, entry.grade_source = _round(mean), _round(sd), band.name, band.source
        if np.isfinite(sd) and sd > self.norms.sem_deg:
            entry.note = (f"trials differ more than the test's measurement error "
                          f"(SD {sd:.1f}° > {self.norms.sem_deg:.0f}°): repeat the test")
        reference = self.norms.references.get(self.sex or "")
        if reference is not None:
            entry.reference = {"mean_deficit_deg": reference.mean_deficit_deg, "sd_deg": reference.sd_deg,
                               "source": reference.source}
        return entry

    def _notes(self, trials: list[Trial], sides: dict[str, SideSummary]) -> list[str]:
        notes = side_notes(trials)
        if {"left", "right"} <= sides.keys():
            left, right = sides["left"].mean_deficit_deg, sides["right"].mean_deficit_deg
            if left is not None and right is not None and abs(left - right) < self.norms.min_real_change_deg:
                notes.append(f"left-right difference {abs(left - right):.1f}° is within the test's measurement "
                             f"error (< {self.norms.min_real_change_deg:.0f}°)")
        if any(t.ended_by == "end of recording" for t in trials):
            notes.append("the last trial was cut short by the end of the recording: its end position is the last "
                         "still moment")
        return notes

    def _feedback(self, cues: list[str]) -> Feedback:
        state = "finished" if self._finished() else self._state
        lines: list[str] = []
        spoken: list[str] = []
        side_word = f" ({self._current_side} leg)" if self._current_side else ""
        if state == "finished":
            lines.append("Done: " + ", ".join(
                f"{side} {entry.mean_deficit_deg:.0f}° ({entry.grade})"
                for side, entry in self._aggregate(self._trials).items() if entry.mean_deficit_deg is not None))
        elif self._trials and self._last_t <= self._shown_until and state in ("raise", "hold"):
            last = self._trials[-1]
            verdict = "valid" if last.valid else f"not valid: {last.reason}"
            lines.append(f"Trial {len(self._trials)} ({last.side or '?'}): "
                         f"{last.knee_extension_deficit_deg:.0f}° short of straight, {verdict}")
            lines.append("Lower the leg and relax" if state == "hold" else "Raise the thigh to vertical")
        else:
            lines.append({
                "position": "Lie on your back, side to the camera",
                "raise": f"Raise the thigh to vertical{side_word}",
                "hold_thigh": "Hold the thigh, straighten the knee",
                "extend": "Hold the thigh, straighten the knee",
                "hold": "Hold",
            }[state])
        if state in ("hold_thigh", "extend", "hold") and self._open is not None:
            last = self._open.frames[-1]
            lines.append(f"thigh {last.hip_deg:.0f}°  knee {last.knee_deg:.0f}° short of straight")
            if state == "hold" and self._open.record_index is None:
                lines.append(f"hold {max(self.settings.end_hold_s - self._open.plateau.held_s, 0):.1f} s")
        if CUE_DONE in cues or CUE_POSITION_OK in cues or CUE_SWITCH_SIDES in cues:
            spoken.append(lines[0])
        if CUE_SWITCH_SIDES in cues:
            lines.append(f"Switch sides: now the {self._current_side} leg")
            spoken.append(lines[-1])
        return Feedback(state=state, guidance=tuple(lines), cues=tuple(cues), spoken=tuple(spoken),
                        finished=state == "finished")
