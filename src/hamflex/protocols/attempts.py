"""The frame-by-frame bookkeeping the 90-90 test and the straight leg raise share: the attempt
in progress and its end plateau (:class:`~hamflex.protocols.endpoint.EndPlateau`), its record in
the trial list (kept, re-scored as the plateau grows, replaced by a further one), what was
announced, and the sides asked for live.

A test subclasses :class:`AttemptProtocol` and provides ``_lying`` (a frame of someone lying on
their back), ``_forget_before`` (nobody lying: drop what it kept from before an attempt),
``_record`` (score the attempt over a plateau), ``_record_not_held``, ``_score`` (a record's
announced number), ``_feedback`` and its states.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hamflex.core.landmarks import other_side
from hamflex.protocols.base import CUE_DONE, CUE_POSITION_BAD, CUE_POSITION_OK, CUE_SWITCH_SIDES, Feedback, FrameSample
from hamflex.protocols.endpoint import (
    EndPlateau,
    FrameFeatures,
    check_side_and_trials,
    frame_features,
    side_after,
    sides_finished,
)

MIN_LYING_S = 1.0  # shorter "lying" moments (a detection glitch, a fall) are not reported as lying


@dataclass(kw_only=True)
class OpenAttempt:
    """The attempt in progress: its frames, its end plateau once followed, and its record."""

    frames: list[FrameFeatures]
    plateau: EndPlateau | None = None
    record_index: int | None = None  # index in the protocol's trial list once recorded
    lowered_since_s: float | None = None  # when the leg went below the test's "down" angle (None: it is up)
    scored_hold: tuple[int, int] | None = None  # the plateau the saved record was scored on
    announced_deg: int | None = None  # the score last announced, in whole degrees


class AttemptProtocol:
    """What both tests do with their attempts (see the module docstring); ``side`` None or
    "both": each trial's side is named from the body's orientation; "left"/"right": every
    trial is that side; ``trials`` per side are asked for live."""

    def __init__(self, side: str | None, trials: int, settings: Any) -> None:
        check_side_and_trials(side, trials)
        self.settings = settings
        self.trials_per_side = trials
        self._forced_side = side if side in ("left", "right") else None
        self._expected = [self._forced_side] if self._forced_side else ["right", "left"]
        # The side being tested, for the guidance: known from the start when forced, else from
        # the first trial recorded.
        self._current_side: str | None = self._forced_side
        self.restart()

    def restart(self) -> None:
        """Forget every trial and start over (a test adds its own state)."""
        self._trials: list[Any] = []
        self._open: OpenAttempt | None = None
        self._state = "position"
        self._last_t = 0.0
        self._last_good_t: float | None = None
        self._shown_until = -1.0
        self._seen: dict[str, float] = {"person": 0, "supine_s": 0.0}
        self._supine_since: float | None = None

    def switch_side(self) -> None:
        """Live key ``s``: the next trials are the other side (a forced side flips too)."""
        self._current_side = other_side(self._current_side) if self._current_side else "right"
        if self._forced_side:
            self._forced_side = self._current_side
            self._expected = [self._forced_side]

    def update(self, sample: FrameSample) -> Feedback:
        """One frame: short dropouts keep the state, nobody lying on their back ends the open
        attempt, a frame of someone lying goes to the test (``_lying``)."""
        s = self.settings
        self._last_t = float(sample.timestamp_s)
        features = frame_features(sample)
        if features is None or not np.isfinite(features.trunk_deg):
            if self._last_good_t is not None and self._last_t - self._last_good_t <= s.max_dropout_s:
                return self._feedback([])  # a short dropout: keep the state
            features = None
        else:
            self._seen["person"] += 1
        if features is None or features.trunk_deg > s.supine_max_trunk_deg:
            cues = [CUE_POSITION_BAD] if self._open is not None or self._state != "position" else []
            self._close_open()
            self._forget_before()
            self._state = "position"
            self._supine_since = None
            return self._feedback(cues)
        if self._supine_since is None:
            self._supine_since = self._last_t
        self._seen["supine_s"] = max(self._seen["supine_s"], self._last_t - self._supine_since)
        self._last_good_t = self._last_t
        cues = []
        if self._state == "position":
            cues.append(CUE_POSITION_OK)
            self._state = "raise"
        return self._feedback(cues + self._lying(features))

    def _photo_features(self, sample: FrameSample) -> FrameFeatures | None:
        """A photo's features when it shows someone lying on their back (a photo is a moment:
        lying in it is enough), else None."""
        features = frame_features(sample)
        if features is None:
            return None
        self._seen["person"] += 1
        if features.trunk_deg > self.settings.supine_max_trunk_deg:
            return None
        self._seen["supine_s"] = float("inf")
        return features

    def _why_not_lying(self) -> str:
        """Why nothing could be tested at all: nobody seen, or nobody lying on their back ("" if someone was)."""
        if self._seen["person"] == 0:
            return "nobody was seen"
        if self._seen["supine_s"] < MIN_LYING_S:
            return (f"nobody lying on their back (trunk never within {self.settings.supine_max_trunk_deg:.0f}° of "
                    f"horizontal for {MIN_LYING_S:.0f} s)")
        return ""

    # --- for the tests -------------------------------------------------------------------
    def _lying(self, features: FrameFeatures) -> list[str]:
        """A frame of someone lying on their back; returns cue events."""
        raise NotImplementedError

    def _forget_before(self) -> None:
        """Nobody lying on their back: forget what was kept from before an attempt."""
        raise NotImplementedError

    def _feedback(self, cues: list[str]) -> Feedback:
        raise NotImplementedError

    def _score(self, record: Any) -> float:
        """The number a record announces (the 90-90 deficit, the raise's hip flexion)."""
        raise NotImplementedError

    def _record(self, trial: OpenAttempt, ended_by: str, hold: tuple[int, int] | None = None) -> Any:
        raise NotImplementedError

    def _record_not_held(self, trial: OpenAttempt) -> None:
        raise NotImplementedError

    def _keep(self, trial: OpenAttempt, record: Any, ended_by: str, hold: tuple[int, int]) -> Any:
        """A held record joins the trial list (or replaces the attempt's earlier one); others
        (end of recording) are only returned."""
        if ended_by == "held":
            trial.scored_hold = hold
            if trial.record_index is None:
                trial.record_index = len(self._trials)
                self._trials.append(record)
            else:
                self._trials[trial.record_index] = record
        return record

    def _follow_plateau(self, trial: OpenAttempt, index: int, far_enough: bool, moving_state: str) -> list[str]:
        """Frame ``index`` of the attempt once its movement began: grow the recorded plateau,
        or find a (further) end position and record and announce it; returns cue events."""
        plateau = trial.plateau
        if plateau.open:
            if plateau.grow(trial.frames, index):
                return []
            self._rescore(trial)
            if self._announced_differs(trial):  # re-scored over the whole plateau: say the saved number
                return [CUE_DONE]
        stop = plateau.stop(trial.frames, index, far_enough)
        self._state = moving_state if stop == "moving" else "hold"
        if stop != "new":  # the first, or a further, hold
            return []
        first = trial.record_index is None
        trial.announced_deg = round(self._score(self._record(trial, "held")))
        self._shown_until = trial.frames[index].t_s + self.settings.result_show_s
        # A later, further hold replaces the record: announced again, so what was said last is saved.
        return [CUE_DONE, *self._side_progress_cues()] if first else [CUE_DONE]

    def _ended_by_moving_back(self) -> list[str]:
        """The movement went back from its recorded end position: the attempt is over (re-scored
        over its whole plateau: the saved number is said if it changed)."""
        trial = self._open
        self._close_open()
        return [CUE_DONE] if self._announced_differs(trial) else []

    def _rescore(self, trial: OpenAttempt) -> None:
        """Re-score a recorded attempt whose plateau grew since (silently: no new announcement)."""
        if trial.record_index is not None and trial.plateau.best_hold != trial.scored_hold:
            self._record(trial, "held")

    def _announced_differs(self, trial: OpenAttempt) -> bool:
        """Whether the saved score, in whole degrees, is no longer the one announced (then it
        is taken as announced: the caller says it)."""
        saved_deg = round(self._score(self._trials[trial.record_index]))
        if saved_deg == trial.announced_deg:
            return False
        trial.announced_deg, self._shown_until = saved_deg, self._last_t + self.settings.result_show_s
        return True

    def _end_of_recording_trial(self) -> Any:
        """The open attempt scored as if the recording ended now, if its movement had stopped."""
        trial = self._open
        if (trial is None or trial.record_index is not None or trial.plateau is None
                or trial.lowered_since_s is not None):
            return None
        index = len(trial.frames) - 1
        if (not np.isfinite(trial.plateau.measure(trial.frames[index]))
                or trial.plateau.held_s < self.settings.end_of_recording_hold_s):
            return None
        return self._record(trial, "end of recording", (trial.plateau.hold_start(trial.frames, index), index + 1))

    def _close_open(self, lowered: bool = False) -> None:
        """End the open attempt: a recorded one is re-scored over its whole plateau; one ended by
        lowering the leg without a still end position is recorded as not held."""
        trial = self._open
        if trial is not None:
            self._rescore(trial)
            if lowered and trial.record_index is None:
                self._record_not_held(trial)
        self._open = None
        if self._state != "position":
            self._state = "raise"

    def _finished(self) -> bool:
        return sides_finished(self._trials, self._expected, self.trials_per_side)

    def _side_progress_cues(self) -> list[str]:
        if self._finished():
            return []
        self._current_side, switched = side_after(self._trials, self._current_side, self._expected, self.trials_per_side)
        return [CUE_SWITCH_SIDES] if switched else []
