"""Set-up check: is the camera placed so that the angles can be trusted?

A 2D joint angle is only right when the joints move in a plane square to the camera: with
the camera off to the side by more than ~20°, the thigh looks shorter and the knee straighter
than they are. With the person standing side-on for a few seconds (or lying in the test
position), :func:`check_poses` reports, each with pass/fail and what to change:

- ``view``: side-on (sagittal) or frontal, from how wide the shoulders and hips look in the
  picture relative to the trunk (compared with the same ratio in MediaPipe's metric world
  landmarks), averaged with the direction of the shoulder and hip lines in those world
  landmarks (side-on: they point into the camera);
- ``roll``: how far the body's vertical (standing) or the trunk (lying) leans in the
  picture: a camera rolled about its axis tilts every angle measured against the horizontal;
- ``framing``: whether the whole body is in the picture, and how much of it it fills;
- ``visibility``: MediaPipe's visibility of the leg nearer the camera;
- ``light``: brightness around the person, and backlight (optional: needs the pixels);
- ``detection``: in how many frames a person was found.

The checks are pure functions of a :class:`~hamflex.core.series.PoseSequence` (only
:func:`measure_light` reads pixels); ``hamflex check-setup`` runs them through the
pipeline's set-up protocol, and every protocol run checks the start of its session with
:func:`startup_report`; see docs/setup.md.
"""

from __future__ import annotations

import warnings as _warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hamflex.core.geometry import knee_flexion_deg, pair_midpoint, segment_to_horizontal_deg, trunk_direction
from hamflex.core.landmarks import DEFAULT_MIN_VISIBILITY, INDEX, LEG_JOINTS, SIDES, side_index
from hamflex.core.series import PoseSequence, leg_visibility

SIDE_ON_MAX_DEG = 25.0
"""Largest deviation from a side-on view that passes (joints ~20° out of the camera's plane
already read visibly wrong; the estimate itself is good to roughly ±10°)."""
FRONTAL_MIN_DEG = 60.0
"""From this deviation on the view is called frontal (front or back), below it oblique."""
TYPICAL_SHOULDER_TO_TRUNK = 0.72
TYPICAL_HIP_TO_TRUNK = 0.46
"""Shoulder and hip widths over trunk length (mid-hip to mid-shoulder) in MediaPipe's world
landmarks: medians of 0.64-0.82 and 0.38-0.54 over the shared real and rendered clips."""
ROLL_MAX_DEG = 5.0
ROLL_MAX_LYING_DEG = 8.0
MIN_BODY_FRACTION = 0.4
"""The person should fill at least this fraction of the frame (height standing, width lying)."""
MAX_BODY_FRACTION = 0.95
EDGE_MARGIN = 0.01
"""Landmarks closer than this fraction of the frame to an edge count as cut off."""
CUT_OFF_FRAME_FRACTION = 0.2
MIN_LEG_VISIBILITY = 0.8
MIN_DETECTION_RATE = 0.9
MIN_LUMA = 50.0
MAX_LUMA = 225.0
MIN_PERSON_TO_FRAME_LUMA = 0.6
"""Person region darker than this fraction of the whole picture: lit from behind."""
MAX_LEAN_SPREAD_DEG = 4.0
"""Interquartile range of the lean above which the person moved too much to judge the roll."""
MIN_STEADY_FRAMES = 5
STRAIGHT_KNEE_MAX_DEG = 20.0
"""Frames count as standing upright when both knees are straighter than this."""

FRAMING_LANDMARKS = (
    "nose", "left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_knee", "right_knee",
    "left_ankle", "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
_FRAMING = [INDEX[name] for name in FRAMING_LANDMARKS]
_SHOULDERS = (INDEX["left_shoulder"], INDEX["right_shoulder"])
_HIPS = (INDEX["left_hip"], INDEX["right_hip"])
POSTURES = ("standing", "seated", "lying")


@dataclass(frozen=True)
class CheckResult:
    """One check: ``passed`` is None when it could not be judged; ``advice`` says what to change."""

    name: str
    passed: bool | None
    value: float | None
    unit: str
    message: str
    advice: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "value": self.value, "unit": self.unit,
                "message": self.message, "advice": self.advice}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        return cls(data["name"], data["passed"], data["value"], data["unit"], data["message"], data.get("advice", ""))


@dataclass(frozen=True)
class SetupReport:
    """All checks of one recording, the view's name and which side faces the camera."""

    checks: tuple[CheckResult, ...]
    view: str  # "side-on", "oblique", "frontal" or "unknown"
    posture: str  # "standing" or "lying"
    near_side: str | None
    frames: int
    source: str = ""
    checked_from_s: float | None = None  # the recording's time span the checks read
    checked_to_s: float | None = None

    @property
    def passed(self) -> bool:
        """True when no check failed (checks that could not be judged do not fail)."""
        return all(check.passed is not False for check in self.checks)

    @property
    def warnings(self) -> list[str]:
        """One line per failed check: what is wrong and what to change (for overlays)."""
        return [f"{check.message}: {check.advice}" for check in self.checks if check.passed is False]

    def check(self, name: str) -> CheckResult:
        return next(check for check in self.checks if check.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "passed": self.passed, "view": self.view, "posture": self.posture,
            "near_side": self.near_side, "frames": self.frames,
            "checked_from_s": self.checked_from_s, "checked_to_s": self.checked_to_s,
            "checks": [check.to_dict() for check in self.checks],
        }

    def with_session(self, *, source: str | None = None, **_session: Any) -> SetupReport:
        """The report naming its recording or camera (the rest of a run's details do not apply)."""
        return replace(self, source=source or self.source)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SetupReport:
        """A report read back from ``setup_check.json`` (or a result's ``setup``)."""
        return cls(tuple(CheckResult.from_dict(c) for c in data.get("checks", [])), data.get("view", "unknown"),
                   data.get("posture", "unknown"), data.get("near_side"), int(data.get("frames", 0)),
                   data.get("source", ""), data.get("checked_from_s"), data.get("checked_to_s"))


# --- per-frame measurements ------------------------------------------------------------


def _nanmedian(values: np.ndarray) -> float:
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else float("nan")


def _distance(points: np.ndarray, pair: tuple[int, int]) -> np.ndarray:
    return np.linalg.norm(points[..., pair[0], :] - points[..., pair[1], :], axis=-1)


def view_deviation_deg(landmarks_px: np.ndarray, world_m: np.ndarray) -> np.ndarray:
    """Per frame, how far the view is from side-on: 0° side-on (sagittal), 90° frontal.

    The angle between the body's left-right axis and the camera's line of sight, estimated
    two ways and averaged: (1) shoulder and hip widths relative to the trunk in the picture,
    divided by the same ratios in the metric world landmarks (1 = full width = frontal,
    0 = side-on), as an arcsine; (2) the direction of the shoulder and hip lines in the world
    landmarks (side-on: along the depth axis z). Input ``(T, 33, 2)`` and ``(T, 33, 3)``;
    without world landmarks (NaN), (1) uses typical body proportions instead.
    """
    landmarks_px = np.asarray(landmarks_px, dtype=np.float64)
    world_m = np.asarray(world_m, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"), _warnings.catch_warnings():
        _warnings.simplefilter("ignore", RuntimeWarning)
        trunk_px = np.linalg.norm(trunk_direction(landmarks_px), axis=-1)
        trunk_m = np.linalg.norm(trunk_direction(world_m), axis=-1)
        width_fractions = []
        for pair, typical in ((_SHOULDERS, TYPICAL_SHOULDER_TO_TRUNK), (_HIPS, TYPICAL_HIP_TO_TRUNK)):
            full_width = _distance(world_m, pair) / trunk_m
            full_width = np.where(np.isfinite(full_width), full_width, typical)
            width_fractions.append((_distance(landmarks_px, pair) / trunk_px) / full_width)
        from_widths = np.degrees(np.arcsin(np.clip(np.nanmean(width_fractions, axis=0), 0.0, 1.0)))
        axis = sum(
            (world_m[..., b, :] - world_m[..., a, :]) / _distance(world_m, (a, b))[..., None] for a, b in (_SHOULDERS, _HIPS)
        )
        from_depth = np.degrees(np.arctan2(np.hypot(axis[..., 0], axis[..., 1]), np.abs(axis[..., 2])))
        return np.nanmean([from_widths, from_depth], axis=0)


def body_lean_deg(landmarks_px: np.ndarray, posture: str) -> np.ndarray:
    """Per frame, the signed lean in the picture of a line that is vertical or horizontal in
    the room, degrees: what a rolled camera shows.

    Standing: mid-ankle → mid-shoulder against the image vertical (positive leans right).
    Lying: mid-hip → mid-shoulder, seated: mid-hip → mid-ankle (legs on the floor), against
    the image horizontal (positive: the right-hand end is higher).
    """
    points = np.asarray(landmarks_px, dtype=np.float64)
    if posture == "standing":
        delta = pair_midpoint(points, "shoulder") - pair_midpoint(points, "ankle")
        return np.degrees(np.arctan2(delta[..., 0], -delta[..., 1]))
    end = "shoulder" if posture == "lying" else "ankle"
    delta = pair_midpoint(points, end) - pair_midpoint(points, "hip")
    delta = np.where(delta[..., :1] < 0, -delta, delta)  # point rightwards
    return np.degrees(np.arctan2(-delta[..., 1], delta[..., 0]))


def steady_lean_deg(lean_deg: np.ndarray) -> float:
    """The median lean when it held steady (a still person shows the camera's roll; a moving
    one does not), else NaN."""
    values = np.asarray(lean_deg, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size < MIN_STEADY_FRAMES:
        return float("nan")
    low, high = np.percentile(values, [25, 75])
    return float(np.median(values)) if high - low <= MAX_LEAN_SPREAD_DEG else float("nan")


def first_seconds(poses: PoseSequence, seconds: float) -> PoseSequence:
    """The frames of the first ``seconds`` of a recording (e.g. to check the set-up at start)."""
    if len(poses) == 0:
        return poses
    return _frames_where(poses, poses.timestamp_s - poses.timestamp_s[0] < seconds)


def first_seconds_seen(poses: PoseSequence, seconds: float) -> PoseSequence:
    """``seconds`` of a recording from the first frame with a person in it: a title card, a logo
    or an empty room before are not the set-up being checked."""
    seen = np.flatnonzero(poses.detected)
    if seen.size == 0:
        return first_seconds(poses, seconds)
    start_s = poses.timestamp_s[seen[0]]
    return _frames_where(poses, (poses.timestamp_s >= start_s) & (poses.timestamp_s - start_s < seconds))


def _frames_where(poses: PoseSequence, keep: np.ndarray) -> PoseSequence:
    """The frames of ``poses`` where ``keep`` is true."""
    return replace(
        poses,
        frame_index=poses.frame_index[keep], timestamp_ms=poses.timestamp_ms[keep], detected=poses.detected[keep],
        landmarks_px=poses.landmarks_px[keep], world_landmarks_m=poses.world_landmarks_m[keep],
        visibility=poses.visibility[keep], presence=poses.presence[keep],
    )


STARTUP_CHECK_S = 3.0
"""Seconds at the start of a session (from when a person is first seen) that the set-up check reads."""


def startup_report(poses: PoseSequence, posture: str = "auto", seconds: float = STARTUP_CHECK_S) -> SetupReport:
    """The set-up checks on the first ``seconds`` in which a person is seen: what the 90-90 test
    and the holds run at start to warn about the camera (side-on, level, framing, visibility)."""
    return check_poses(first_seconds_seen(poses, seconds), posture=posture, source="start of session")


# --- the checks ------------------------------------------------------------------------


def _elevation_deg(delta: np.ndarray) -> float:
    """Median elevation above the picture's horizontal of direction vectors ``delta``."""
    return _nanmedian(segment_to_horizontal_deg(np.zeros_like(delta), delta))


def guess_posture(landmarks_px: np.ndarray) -> str:
    """Standing (trunk and legs upright), seated (trunk upright, legs not) or lying."""
    points = np.asarray(landmarks_px, dtype=np.float64)
    if _elevation_deg(trunk_direction(points)) < 45:
        return "lying"
    return "standing" if _elevation_deg(pair_midpoint(points, "ankle") - pair_midpoint(points, "hip")) >= 45 else "seated"


def _near_side(poses: PoseSequence) -> str | None:
    """The side whose leg is better seen; ties broken by depth (nearer: smaller world z)."""
    seen = {side: _nanmedian(leg_visibility(poses.visibility[poses.detected], side)) for side in SIDES}
    if not all(np.isfinite(list(seen.values()))):
        return None
    if abs(seen["left"] - seen["right"]) >= 0.05:
        return max(seen, key=seen.get)
    depth = {
        side: _nanmedian(poses.world_landmarks_m[poses.detected][:, [side_index(side, j) for j in LEG_JOINTS], 2])
        for side in SIDES
    }
    return min(depth, key=depth.get)


def check_view(deviation_deg: float) -> tuple[str, CheckResult]:
    if not np.isfinite(deviation_deg):
        return "unknown", CheckResult("view", None, None, "deg", "view could not be judged (no shoulders and hips seen)")
    view = "side-on" if deviation_deg <= SIDE_ON_MAX_DEG else "frontal" if deviation_deg >= FRONTAL_MIN_DEG else "oblique"
    message = f"view is {view} ({deviation_deg:.0f}° from side-on)"
    if view == "side-on":
        return view, CheckResult("view", True, deviation_deg, "deg", message)
    advice = (
        "place the camera square to the side of the body, level with the hips, so the shoulders "
        "and hips overlap in the picture"
    )
    if view == "frontal":
        advice = "the camera sees the front or back of the body: move it a quarter turn round, to the side; " + advice
    return view, CheckResult("view", False, deviation_deg, "deg", message, advice)


def check_roll(lean_deg: float, posture: str, frames_seen: int | None = None) -> CheckResult:
    if frames_seen is not None and frames_seen < MIN_STEADY_FRAMES:
        return CheckResult("roll", None, None, "deg", f"camera roll cannot be judged from {frames_seen} frame(s)",
                           "check the set-up on a few seconds of video of the person holding still")
    if not np.isfinite(lean_deg):
        what = "stand still and upright, knees straight," if posture == "standing" else f"stay still ({posture})"
        return CheckResult("roll", None, None, "deg", "camera roll could not be judged: the person moved",
                           f"for this check, {what} for a few seconds")
    limit = ROLL_MAX_DEG if posture == "standing" else ROLL_MAX_LYING_DEG
    direction = "right" if lean_deg > 0 else "left"
    if posture == "standing":
        message = f"the standing body leans {abs(lean_deg):.1f}° to the {direction} of the picture's vertical"
    else:
        line = "the trunk is" if posture == "lying" else "the legs are"
        message = f"{line} {abs(lean_deg):.1f}° off the picture's horizontal (higher on the {direction})"
    if abs(lean_deg) <= limit:
        return CheckResult("roll", True, lean_deg, "deg", message)
    return CheckResult(
        "roll", False, lean_deg, "deg", message,
        f"level the camera: turn it about its lens axis by {abs(lean_deg):.0f}° (use a spirit level or the phone's grid)",
    )


def _edges_cut_off(points_px: np.ndarray, width: int, height: int) -> list[str]:
    """Edges of the picture beyond which key landmarks lie in many frames."""
    x, y = points_px[..., 0] / width, points_px[..., 1] / height
    edges = {
        "top": y < EDGE_MARGIN, "bottom": y > 1 - EDGE_MARGIN, "left": x < EDGE_MARGIN, "right": x > 1 - EDGE_MARGIN,
    }
    return [edge for edge, outside in edges.items() if np.mean(outside.any(axis=-1)) > CUT_OFF_FRAME_FRACTION]


def check_framing(poses: PoseSequence, posture: str) -> CheckResult:
    points = poses.landmarks_px[poses.detected][:, _FRAMING].astype(np.float64)
    if len(points) == 0:
        return CheckResult("framing", None, None, "fraction", "framing could not be judged (nobody found)")
    axis, length = (1, poses.image_height) if posture == "standing" else (0, poses.image_width)
    extent = np.nanmax(points[..., axis], axis=-1) - np.nanmin(points[..., axis], axis=-1)
    fraction = _nanmedian(extent / length)
    dimension = "height" if posture == "standing" else "width"
    message = f"the person fills {fraction:.0%} of the picture's {dimension}"
    cut = _edges_cut_off(points, poses.image_width, poses.image_height)
    if cut:
        return CheckResult(
            "framing", False, fraction, "fraction", f"the body is cut off at the {' and '.join(cut)} ({message})",
            "move the camera further away or aim it so the whole body, head to feet, is in the picture",
        )
    if fraction < MIN_BODY_FRACTION:
        return CheckResult(
            "framing", False, fraction, "fraction", message,
            f"move the camera closer (or zoom in) until the person fills {MIN_BODY_FRACTION:.0%}-90% of the {dimension}",
        )
    if fraction > MAX_BODY_FRACTION:
        return CheckResult("framing", False, fraction, "fraction", message,
                           "move the camera a little further away: leave a margin round the body")
    return CheckResult("framing", True, fraction, "fraction", f"whole body in the picture; {message}")


def check_visibility(poses: PoseSequence, near_side: str | None) -> CheckResult:
    if near_side is None:
        return CheckResult("visibility", None, None, "score", "leg visibility could not be judged (nobody found)")
    value = _nanmedian(leg_visibility(poses.visibility[poses.detected], near_side))
    message = f"the {near_side} leg (nearer the camera) is seen with visibility {value:.2f}"
    if value >= MIN_LEG_VISIBILITY:
        return CheckResult("visibility", True, value, "score", message)
    return CheckResult(
        "visibility", False, value, "score", message,
        "light the legs from the camera's side, wear close-fitting clothes that contrast with the background, "
        "and keep blankets and furniture off the legs",
    )


def check_light(person_luma: float | None, frame_luma: float | None) -> CheckResult:
    if person_luma is None or frame_luma is None or not np.isfinite(person_luma):
        return CheckResult("light", None, None, "luma", "light not measured")
    message = f"brightness around the person {person_luma:.0f}/255 (whole picture {frame_luma:.0f})"
    if person_luma < MIN_LUMA:
        return CheckResult("light", False, person_luma, "luma", message + ": too dark",
                           "add light in front of the person (on the camera's side), not behind")
    if person_luma > MAX_LUMA:
        return CheckResult("light", False, person_luma, "luma", message + ": overexposed",
                           "reduce direct light on the person or the camera's exposure")
    if frame_luma > 0 and person_luma / frame_luma < MIN_PERSON_TO_FRAME_LUMA:
        return CheckResult("light", False, person_luma, "luma", message + ": backlit",
                           "avoid a window or lamp behind the person; light them from the camera's side")
    return CheckResult("light", True, person_luma, "luma", message)


def check_detection(poses: PoseSequence) -> CheckResult:
    rate = float(np.mean(poses.detected)) if len(poses) else 0.0
    message = f"a person was found in {rate:.0%} of {len(poses)} frames"
    if rate >= MIN_DETECTION_RATE:
        return CheckResult("detection", True, rate, "fraction", message)
    return CheckResult("detection", False, rate, "fraction", message,
                       "make sure the whole person is in the picture, well lit, and nobody else is in front")


def check_poses(
    poses: PoseSequence,
    *,
    posture: str = "auto",
    person_luma: float | None = None,
    frame_luma: float | None = None,
    source: str = "",
    min_visibility: float = DEFAULT_MIN_VISIBILITY,
) -> SetupReport:
    """Run every check on a recording's poses.

    ``posture`` is what the person does during the check: "standing" (``hamflex
    check-setup``), "lying" (90-90 test, supine holds), "seated", or "auto" to guess it.
    ``person_luma``/``frame_luma`` come from :func:`measure_light` (None: light not checked).
    """
    if posture != "auto" and posture not in POSTURES:
        raise ValueError(f"posture must be auto or one of {', '.join(POSTURES)}, got {posture!r}")
    landmarks_px, world_m = poses.masked(min_visibility)
    detected = poses.detected
    if posture == "auto":
        posture = guess_posture(landmarks_px[detected]) if detected.any() else "standing"
    per_frame_view = view_deviation_deg(landmarks_px, world_m)
    view, view_check = check_view(_nanmedian(per_frame_view[detected]))
    lean = body_lean_deg(landmarks_px, posture)
    if posture == "standing":
        knees = [
            knee_flexion_deg(*(landmarks_px[:, side_index(side, j)] for j in LEG_JOINTS)) for side in SIDES
        ]
        upright = detected & (np.fmax(*knees) <= STRAIGHT_KNEE_MAX_DEG)
        lean = np.where(upright, lean, np.nan)
    near_side = _near_side(poses) if detected.any() else None
    checks = (
        check_detection(poses),
        view_check,
        check_roll(steady_lean_deg(lean[detected]), posture, int(detected.sum())),
        check_framing(poses, posture),
        check_visibility(poses, near_side),
        check_light(person_luma, frame_luma),
    )
    span_s = (round(float(poses.timestamp_s[0]), 2), round(float(poses.timestamp_s[-1]), 2)) if len(poses) else (None, None)
    return SetupReport(checks, view, posture, near_side, len(poses), source, *span_s)


# --- light (needs the pixels) ---------------------------------------------------------


def measure_light(video: str | Path, poses: PoseSequence, samples: int = 8) -> tuple[float | None, float | None]:
    """Mean brightness (0-255) in the box round the person and in the whole picture, over a
    few evenly spaced frames with a person."""
    frames = np.flatnonzero(poses.detected)
    if frames.size == 0:
        return None, None
    wanted = set(poses.frame_index[frames[np.linspace(0, frames.size - 1, min(samples, frames.size)).astype(int)]].tolist())
    rows = {int(poses.frame_index[i]): i for i in frames}
    person, whole = [], []
    capture = cv2.VideoCapture(str(video))
    try:
        index = 0
        while wanted and capture.grab():
            if index in wanted:
                ok, bgr = capture.retrieve()
                if ok:
                    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
                    points = poses.landmarks_px[rows[index]]
                    low = np.clip(np.floor(np.nanmin(points, axis=0)).astype(int), 0, [gray.shape[1] - 1, gray.shape[0] - 1])
                    high = np.clip(np.ceil(np.nanmax(points, axis=0)).astype(int) + 1, 1, [gray.shape[1], gray.shape[0]])
                    if (high > low).all():
                        person.append(float(gray[low[1] : high[1], low[0] : high[0]].mean()))
                        whole.append(float(gray.mean()))
                wanted.discard(index)
            index += 1
    finally:
        capture.release()
    if not person:
        return None, None
    return float(np.mean(person)), float(np.mean(whole))
