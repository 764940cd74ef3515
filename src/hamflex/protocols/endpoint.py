"""What the 90-90 test and the active straight leg raise share: the raised leg's features in one
frame, the end-position rule, the posture checks and the naming of the tested side.

Both tests move one leg of a person lying on their back toward an extreme (the knee straighter,
the leg higher) and score the end position: the still plateau that begins where the measure
stops moving for ``end_hold_s`` (within ``still_range_deg``, slower than ``still_speed_deg_s``)
and lasts until it moves back, without its settling in and bending back. :class:`EndPlateau`
follows it frame by frame on a *measure* that decreases toward the goal: the knee extension
deficit for the 90-90 test, minus the hip flexion for the leg raise. Thresholds and their
reasons: ``docs/test90.md`` and ``docs/slr.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from hamflex.core.geometry import trunk_direction
from hamflex.core.landmarks import LEG_JOINTS, SIDES, other_side, side_index
from hamflex.protocols.base import FrameSample
from hamflex.protocols.sides import leg_depth_m, name_tested_side, right_side_facing_score, tested_leg_is_near

FRAME_SLACK_S = 0.02  # timestamps are whole milliseconds: allow for rounding in durations
SIDE_CHOICES = ("left", "right", "both")


@dataclass(frozen=True)
class FrameFeatures:
    """What a protocol reads from one frame with a person, for the raised (tested) leg."""

    t_s: float
    raised: str  # MediaPipe's label of the raised leg (its name is decided elsewhere)
    hip_deg: float
    knee_deg: float
    knee_3d_deg: float
    other_hip_deg: float
    trunk_deg: float
    pelvis_y_px: float
    thigh_px: float
    shank_px: float
    body_width_ratio: float
    leg_visibility: float
    right_facing: float
    depth_gap_m: float
    visibility_gap: float


def _length(points: np.ndarray, a: int, b: int) -> float:
    return float(np.linalg.norm(points[a] - points[b]))


def frame_features(sample: FrameSample) -> FrameFeatures | None:
    """Features of the raised leg (the one with the larger hip flexion, whatever MediaPipe calls
    it), or None when nobody is seen or no hip angle is known."""
    if not sample.detected:
        return None
    angles = sample.angles_deg
    hips = {leg: angles.get(f"{leg}_hip_flexion_deg", float("nan")) for leg in SIDES}
    finite_hips = {leg: value for leg, value in hips.items() if np.isfinite(value)}
    if not finite_hips:
        return None
    raised = max(finite_hips, key=finite_hips.get)
    other = other_side(raised)
    points = np.asarray(sample.landmarks_px, dtype=np.float64)
    hip_i, knee_i, ankle_i = (side_index(raised, j) for j in LEG_JOINTS)
    trunk_px = float(np.linalg.norm(trunk_direction(points)))
    width_px = (_length(points, side_index("left", "shoulder"), side_index("right", "shoulder"))
                + _length(points, side_index("left", "hip"), side_index("right", "hip"))) / 2
    visibility = sample.leg_visibility
    return FrameFeatures(
        t_s=float(sample.timestamp_s),
        raised=raised,
        hip_deg=float(hips[raised]),
        knee_deg=float(angles.get(f"{raised}_knee_flexion_deg", np.nan)),
        knee_3d_deg=float(angles.get(f"{raised}_knee_flexion_3d_deg", np.nan)),
        other_hip_deg=float(hips[other]),
        trunk_deg=float(angles.get("trunk_to_horizontal_deg", np.nan)),
        pelvis_y_px=float((points[side_index("left", "hip"), 1] + points[side_index("right", "hip"), 1]) / 2),
        thigh_px=_length(points, hip_i, knee_i),
        shank_px=_length(points, knee_i, ankle_i),
        body_width_ratio=width_px / trunk_px if trunk_px > 0 else float("nan"),
        leg_visibility=float(visibility.get(raised, np.nan)),
        right_facing=right_side_facing_score(points, raised),
        depth_gap_m=leg_depth_m(sample.world_landmarks_m, raised) - leg_depth_m(sample.world_landmarks_m, other),
        visibility_gap=float(visibility.get(raised, np.nan)) - float(visibility.get(other, np.nan)),
    )


def finite(values: Iterable[float]) -> np.ndarray:
    """The finite ones of ``values`` (an iterable of numbers), as an array."""
    values = np.asarray(list(values), dtype=np.float64)
    return values[np.isfinite(values)]


def median(values: Iterable[float]) -> float:
    """Median of the finite ``values`` (NaN when there are none)."""
    values = finite(values)
    return float(np.median(values)) if values.size else float("nan")


def rounded(value: float, digits: int = 1) -> float | None:
    """``value`` rounded for the JSON, None when unknown."""
    return round(float(value), digits) if np.isfinite(value) else None


def interquartile_range(values: Iterable[float]) -> float:
    """Spread of the finite ``values``: 75th minus 25th percentile (NaN when there are none)."""
    values = finite(values)
    return float(np.subtract(*np.percentile(values, [75, 25]))) if values.size else float("nan")


def mean_and_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample SD of a side's trial scores (SD NaN with one trial)."""
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")


def settled_start(measures: np.ndarray, new_minimum_deg: float) -> int:
    """First index from which the measure never falls by more than ``new_minimum_deg``.

    What comes before is the measure still settling toward its end position; NaN is skipped.
    """
    measures = np.asarray(measures, dtype=np.float64)
    lowest_after = np.fmin.accumulate(measures[::-1])[::-1]
    settled = measures - lowest_after <= new_minimum_deg
    return int(np.argmax(settled)) if settled.any() else 0


def end_position_slice(measures, settling_deg: float, bending_back_deg: float) -> slice:
    """The scored part of a still plateau (measures in time order): without the leading frames
    more than ``settling_deg`` above the plateau's median (still settling in) and the trailing
    ones more than ``bending_back_deg`` above it (moving back)."""
    measures = np.asarray(measures, dtype=np.float64)
    middle = median(measures)
    if not np.isfinite(middle):
        return slice(0, len(measures))
    settled = np.flatnonzero(~(measures > middle + settling_deg))
    held = np.flatnonzero(~(measures > middle + bending_back_deg))
    start = int(settled[0]) if settled.size else 0
    stop = int(held[-1]) + 1 if held.size else len(measures)
    return slice(start, stop) if stop > start else slice(0, len(measures))


def most_extreme_window(frames: list, measure: Callable[[Any], float], window_s: float) -> list:
    """An attempt never held still: its ``window_s`` window (or all of ``frames`` if shorter)
    with the smallest median measure."""
    times_s = np.array([f.t_s for f in frames])
    values = np.array([measure(f) for f in frames])
    stops = np.searchsorted(times_s, times_s + window_s - FRAME_SLACK_S)
    best, best_value = slice(0, len(frames)), median(values)
    for start, stop in enumerate(stops):
        if stop >= len(frames):
            break
        value = median(values[start:stop + 1])
        if value < best_value:
            best, best_value = slice(start, stop + 1), value
    return frames[best]


@dataclass
class EndPlateau:
    """The end position of one attempt, followed frame by frame over its frames (objects with
    ``t_s``), from ``first_index`` (where the movement began) on.

    ``rule`` is the protocol's settings (``still_range_deg``, ``still_speed_deg_s``,
    ``new_minimum_deg``, ``end_hold_s``, ``plateau_exit_s``, ``end_of_recording_hold_s``);
    ``measure`` a frame's value, smaller = further toward the goal.
    """

    measure: Callable[[Any], float]
    rule: Any
    first_index: int
    held_s: float = 0.0  # how long the measure has been still at a far enough position
    best_hold: tuple[int, int] | None = None  # [start, stop) of the end position's still plateau
    open: bool = False  # the measure is still on the recorded plateau: it grows frame by frame
    off_index: int | None = None  # first frame of the current excursion off the plateau

    def hold_start(self, frames: list, index: int) -> int:
        """First index of the measure's current stop, ending at ``index`` (``index`` itself = moving).

        The stop is the longest run after the movement began whose measures stay within
        ``still_range_deg``, cut after the last frame from which the measure still fell by more
        than ``new_minimum_deg``; a measure whose speed over the last ``end_hold_s`` of it is
        above ``still_speed_deg_s`` has not stopped. A slow end of a movement (eased, or lagged
        by the live One-Euro filter) passes the range test alone, never all three.
        """
        s = self.rule
        low = high = self.measure(frames[index])
        start = index
        while start > self.first_index:
            value = self.measure(frames[start - 1])
            if not np.isfinite(value) or max(high, value) - min(low, value) > s.still_range_deg:
                break
            low, high, start = min(low, value), max(high, value), start - 1
        values = np.array([self.measure(f) for f in frames[start:index + 1]])
        start += settled_start(values, s.new_minimum_deg)
        times_s = np.array([f.t_s for f in frames[start:index + 1]])
        recent = times_s >= times_s[-1] - s.end_hold_s
        if np.count_nonzero(recent) >= 3:
            speed_deg_s = np.polyfit(times_s[recent] - times_s[-1], values[-len(times_s):][recent], 1)[0]
            if abs(speed_deg_s) > s.still_speed_deg_s:
                return index
        return start

    def grow(self, frames: list, index: int) -> bool:
        """Add frame ``index`` to the open plateau while the measure stays within
        ``still_range_deg`` of the plateau's median (a slow sway or creep of a few degrees is
        still the end position); once it has been out for ``plateau_exit_s`` the plateau ends
        there (closed) and False is returned: the caller re-scores the trial."""
        s = self.rule
        assert self.best_hold is not None
        start, f = self.best_hold[0], frames[index]
        if abs(self.measure(f) - median(self.measure(x) for x in frames[start:index])) <= s.still_range_deg:
            self.off_index = None
        elif self.off_index is None:
            self.off_index = index
        off = self.off_index
        if off is None or f.t_s - frames[off].t_s < s.plateau_exit_s - FRAME_SLACK_S:
            self.best_hold = (start, index + 1)
            return True
        self.best_hold, self.open = (start, off), False
        return False

    def stop(self, frames: list, index: int, far_enough: bool) -> str:
        """Where the movement is at frame ``index``: ``moving`` (not ``far_enough``, or stopped
        less than ``end_of_recording_hold_s``), ``stopping`` (stopped, but not yet for
        ``end_hold_s``, or not further than the recorded plateau), ``new`` (a first, or a
        further, end position held ``end_hold_s``: it is now the open plateau)."""
        s = self.rule
        tail = self.hold_start(frames, index)
        held_s = frames[index].t_s - frames[tail].t_s
        self.held_s = held_s if far_enough else 0.0
        if not far_enough or held_s < s.end_of_recording_hold_s:
            return "moving"
        if held_s < s.end_hold_s - FRAME_SLACK_S:
            return "stopping"
        best = self.best_hold
        if best is not None and tail < best[1]:  # only frames after the recorded plateau make a new one
            tail = best[1]
            if frames[index].t_s - frames[tail].t_s < s.end_hold_s - FRAME_SLACK_S:
                return "stopping"
        if best is not None and (median(self.measure(x) for x in frames[tail:index + 1])
                                 >= median(self.measure(x) for x in frames[best[0]:best[1]]) - s.still_range_deg / 2):
            return "stopping"
        self.best_hold, self.open = (tail, index + 1), True
        return "new"

    def end_position(self, frames: list, hold: tuple[int, int] | None = None) -> list:
        """The scored frames of the plateau ``hold`` (default: the recorded one), without its
        settling in and moving back (:func:`end_position_slice`)."""
        hold = hold or self.best_hold
        assert hold is not None
        plateau = frames[hold[0]:hold[1]]
        s = self.rule
        return plateau[end_position_slice([self.measure(f) for f in plateau], s.new_minimum_deg, s.still_range_deg / 2)]


def near_from_raise_and_hold(raise_near: bool | None, hold_near: bool | None) -> tuple[bool | None, str]:
    """Near or far leg from MediaPipe's cues while the leg rose and while it was held.

    The raise wins: once a far leg is high MediaPipe tends to give it the near side's labels
    (and depth), as on the rendered ``dev_test90_far``; while it rises they still follow the
    leg. The note says when the two disagreed.
    """
    if raise_near is None:
        return hold_near, ""
    if hold_near is not None and hold_near != raise_near:
        return raise_near, ("judged while the thigh rose: MediaPipe labelled the raised leg as the "
                            f"{'near' if hold_near else 'far'} one once it was up")
    return raise_near, ""


def raise_near(frames: Iterable[FrameFeatures], rule: Any) -> bool | None:
    """Whether the raised leg is the near one, by the frames where its hip last rose from below
    ``raise_cue_min_hip_deg`` up to ``raise_cue_max_hip_deg`` (first passage): None unless a
    ``raise_cue_majority`` of those that tell agree."""
    s, frames = rule, list(frames)
    rest = max((i for i, f in enumerate(frames) if f.hip_deg < s.raise_cue_min_hip_deg), default=None)
    votes = []
    for f in frames[rest + 1:] if rest is not None else []:
        if f.hip_deg > s.raise_cue_max_hip_deg:
            break
        near = tested_leg_is_near(f.depth_gap_m, f.visibility_gap)
        if near is not None:
            votes.append(near)
    near_share = float(np.mean(votes)) if votes else float("nan")
    if near_share >= s.raise_cue_majority:
        return True
    return False if near_share <= 1.0 - s.raise_cue_majority else None


@dataclass(frozen=True)
class SideNaming:
    """The tested side of a trial and how it was named."""

    side: str | None
    note: str
    leg: str | None  # "near"/"far", when known
    side_from: str = "orientation"
    orientation_side: str | None = None  # the side named from the body's orientation (with --side)


def name_trial_side(frames: list[FrameFeatures], near_by_raise: bool | None, forced_side: str | None) -> SideNaming:
    """The trial's side: from the body's orientation and near/far cues over ``frames`` (the raise
    wins, :func:`near_from_raise_and_hold`), or ``forced_side`` (``--side``) when given."""
    hold_near = tested_leg_is_near(median(f.depth_gap_m for f in frames), median(f.visibility_gap for f in frames))
    near, near_note = near_from_raise_and_hold(near_by_raise, hold_near)
    side, note = name_tested_side(median(f.right_facing for f in frames), near)
    note = f"{note} ({near_note})" if near_note else note
    leg = None if near is None else ("near" if near else "far")
    if forced_side:
        return SideNaming(forced_side, "side given by the user", leg, "--side", side)
    return SideNaming(side, note, leg)


def posture_reasons(frames: list[FrameFeatures], end: list[FrameFeatures], rule: Any) -> list[str]:
    """Reasons a trial is invalid whatever the test: the other leg lifted, the pelvis or trunk
    lifted, the tested leg poorly seen, the camera not side-on (empty = none).

    ``frames`` run from the start of the movement to the end of the end position, ``end`` are
    the end-position frames (both non-empty). NaN measurements fail no check.
    """
    s, reasons = rule, []
    # At the end position, where the stretch pulls the pelvis round; a median, because a raised far
    # leg makes MediaPipe swap the legs' labels for moments (the smoothing blends the two legs there).
    other_deg = median(f.other_hip_deg for f in end)
    if other_deg > s.max_other_hip_deg:
        reasons.append(f"other leg lifted (its hip flexed {other_deg:.0f}° at the end position, "
                       f"limit {s.max_other_hip_deg:.0f}°)")
    trunk, pelvis_y = finite(f.trunk_deg for f in frames), finite(f.pelvis_y_px for f in frames)
    trunk_rise = float(trunk.max() - trunk[0]) if trunk.size else float("nan")
    thigh_px = median(f.thigh_px for f in frames)
    pelvis_rise = float(pelvis_y[0] - pelvis_y.min()) / thigh_px if pelvis_y.size else float("nan")
    if trunk_rise > s.max_trunk_rise_deg or pelvis_rise > s.max_pelvis_rise_thighs:
        reasons.append(f"pelvis or trunk lifted off the floor (trunk rose {max(trunk_rise, 0):.0f}°, "
                       f"pelvis {max(pelvis_rise, 0) * 100:.0f}% of a thigh length)")
    visibility = median(f.leg_visibility for f in frames)
    missing = float(np.mean([not np.isfinite(f.knee_deg) for f in frames]))
    if visibility < s.min_leg_visibility or missing > s.max_missing_fraction:
        reasons.append(f"tested leg poorly visible (visibility {visibility:.2f}, knee unknown in "
                       f"{missing:.0%} of frames): light it, keep it in view")
    return reasons + _camera_reasons(end, s)


def _camera_reasons(end: list[FrameFeatures], s: Any) -> list[str]:
    """The camera is not side-on: the body seen turned, the thigh foreshortened, or image and 3D
    knee angles disagreeing (at most one reason)."""
    width = median(f.body_width_ratio for f in end)
    thigh_ratio = median(f.thigh_px / f.shank_px if f.shank_px > 0 else np.nan for f in end)
    gap = median(abs(f.knee_deg - f.knee_3d_deg) for f in end)
    if width > s.max_body_width_ratio:
        return [f"camera is not side-on (the body is seen turned: shoulders/hips {width:.0%} of the trunk length)"]
    if thigh_ratio < s.min_thigh_shank_ratio:
        return [f"camera is not side-on (thigh foreshortened to {thigh_ratio:.0%} of the shank)"]
    if gap > s.max_2d_3d_knee_gap_deg:
        return [f"camera is not side-on (image and 3D knee angles differ by {gap:.0f}°)"]
    return []


def check_side_and_trials(side: str | None, trials: int | None) -> None:
    """The options both tests take, checked (ValueError): ``side`` one of :data:`SIDE_CHOICES`
    or None, ``trials`` per side at least 1 or None."""
    if side is not None and side not in SIDE_CHOICES:
        raise ValueError(f"side must be one of {', '.join(SIDE_CHOICES)}, not {side!r}")
    if trials is not None and trials < 1:
        raise ValueError("trials must be at least 1")


def by_side(trials: list[Any], summarise: Callable[[list[Any]], Any]) -> dict[str, Any]:
    """``summarise`` of each named side's trials, sides in alphabetical order."""
    return {side: summarise([t for t in trials if t.side == side])
            for side in sorted({t.side for t in trials if t.side is not None})}


def valid_counts(trials: Iterable[Any]) -> dict[str, int]:
    """Valid trials per side."""
    counts = {"left": 0, "right": 0}
    for trial in trials:
        if trial.valid and trial.side in counts:
            counts[trial.side] += 1
    return counts


def sides_finished(trials: list[Any], expected: list[str], per_side: int) -> bool:
    """Whether every ``expected`` side has ``per_side`` valid trials (a live session is done)."""
    counts = valid_counts(trials)
    return all(counts[side] >= per_side for side in expected)


def side_after(trials: list[Any], current: str | None, expected: list[str], per_side: int) -> tuple[str | None, bool]:
    """The side to test next after a trial was recorded (the last trial's when none was known),
    and whether that is a switch because ``current`` has its ``per_side`` valid trials."""
    counts = valid_counts(trials)
    if current is None:
        current = trials[-1].side
    if current is not None and counts[current] >= per_side:
        return next(side for side in expected if counts[side] < per_side), True
    return current, False


def side_warnings(trials: list[Any]) -> list[str]:
    """One warning per trial whose --side disagrees with the side the body's orientation names
    (--side still names the trial: the orientation can be wrong, the user can mistype)."""
    return [f"trial {number}: --side says {trial.side}, but the body's orientation says the {trial.orientation_side} "
            f"leg was tested (kept {trial.side}): check the side"
            for number, trial in enumerate(trials, start=1)
            if trial.side_from == "--side" and trial.orientation_side not in (None, trial.side)]


def side_notes(trials: list[Any]) -> list[str]:
    """The notes on naming the trials' sides and on a last trial cut short, shared by both tests."""
    notes = []
    if any(t.side is None for t in trials):
        notes.append("some trials have no side name (body orientation unclear): use --side")
    if any(t.leg is None and t.side_from == "orientation" for t in trials):
        notes.append("near/far leg not measurable: assumed the tested leg is nearest the camera")
    return notes


class TrialRecord:
    """What a trial dataclass of either test does with its JSON (a mixin)."""

    def to_dict(self) -> dict[str, Any]:
        """The trial as JSON (:func:`trial_dict`)."""
        return trial_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """A trial read back from its JSON (unknown numbers as NaN)."""
        return cls(**trial_kwargs(cls, data))


def trial_dict(trial: Any) -> dict[str, Any]:
    """A trial dataclass as JSON: degrees to 0.1, seconds to 0.01, NaN as None; ``correction``
    only when a trial was corrected by hand."""
    data = asdict(trial)
    if data.get("correction", 0) is None:
        del data["correction"]
    for key, value in data.items():
        if key.endswith("_s") and isinstance(value, (list, tuple)):
            data[key] = [rounded(v, 2) for v in value]
        elif key.endswith(("_deg", "_s")) and isinstance(value, (int, float)) and not isinstance(value, bool):
            data[key] = rounded(value, 1 if key.endswith("_deg") else 2)
    return data


def trial_kwargs(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The fields of trial dataclass ``cls`` from its JSON (unknown numbers as NaN)."""
    known = {f.name for f in fields(cls)}
    values = {key: (float("nan") if value is None and key.endswith(("_deg", "_s")) else value)
              for key, value in data.items() if key in known}
    values["end_position_s"] = tuple(float("nan") if v is None else v for v in data.get("end_position_s") or (None, None))
    return values
