"""The frame-by-frame bookkeeping the 90-90 test and the straight leg raise share: the attempt
in progress and its end plateau (:class:`~hamflex.protocols.endpoint.EndPlateau`), its record in
the trial list (kept, re-scored as the plateau grows, replaced by a further one), what was
announced, and the sides asked for live.

A test subclasses :class:`AttemptProtocol` and provides ``_record`` (score the attempt over a
plateau), ``_record_not_held``, ``_score`` (a record's announced number) and its states.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hamflex.core.landmarks import other_side
from hamflex.protocols.base import CUE_DONE, CUE_SWITCH_SIDES
from hamflex.protocols.endpoint import EndPlateau, FrameFeatures, check_side_and_trials, side_after, sides_finished


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
        self._shown_until = -1.0

    def switch_side(self) -> None:
        """Live key ``s``: the next trials are the other side (a forced side flips too)."""
        self._current_side = other_side(self._current_side) if self._current_side else "right"
        if self._forced_side:
            self._forced_side = self._current_side
            self._expected = [self._forced_side]

    # --- for the tests -------------------------------------------------------------------
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
