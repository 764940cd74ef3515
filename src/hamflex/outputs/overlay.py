"""Drawing on frames: skeleton, angle labels, text; one compositor for offline overlays and the live window."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hamflex.core.landmarks import DEFAULT_MIN_VISIBILITY, LEG_JOINTS, POSE_CONNECTIONS, SIDES, other_side, side_index
from hamflex.outputs.files import atomic_write

SKELETON_BGR = (255, 255, 255)
LEFT_BGR = (255, 160, 0)  # blue-ish: left side
RIGHT_BGR = (0, 140, 255)  # orange: right side
TEXT_BGR = (255, 255, 255)
OUTLINE_BGR = (0, 0, 0)


def _scale(image: np.ndarray) -> float:
    return max(image.shape[0], image.shape[1]) / 1000.0


def _font(image: np.ndarray, scale: float) -> tuple[float, int]:
    """OpenCV font scale and thickness for ``image``; small frames keep readable text."""
    font_scale = 0.6 * scale * max(_scale(image), 0.8)
    return font_scale, max(1, int(round(2 * font_scale)))


# Hershey fonts are ASCII only: these are spelled out, and "°" is drawn as a small ring.
_ASCII_FOR = {"±": "+/-", "≤": "<=", "≥": ">=", "–": "-", "—": "-", "×": "x", "→": "->"}
DEGREE = "°"


def _ascii_text(text: str) -> str:
    for symbol, spelled in _ASCII_FOR.items():
        text = text.replace(symbol, spelled)
    return "".join(c if c.isascii() or c == DEGREE else "?" for c in text)


def _degree_radius_px(font_scale: float) -> int:
    return max(2, int(round(4 * font_scale)))


def _runs_width_px(text: str, font_scale: float, thickness: int) -> int:
    """Width of ``text`` (ASCII plus "°") drawn by :func:`_draw_runs`."""
    parts = text.split(DEGREE)
    width = sum(cv2.getTextSize(part, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)[0][0] for part in parts if part)
    return width + (len(parts) - 1) * (2 * _degree_radius_px(font_scale) + thickness + 2)


def _draw_runs(image: np.ndarray, text: str, origin: tuple[int, int], font_scale: float, thickness: int,
               color: tuple[int, int, int]) -> None:
    """``text`` at ``origin`` (baseline left), each "°" as a ring at the digits' top."""
    x, y = origin
    radius = _degree_radius_px(font_scale)
    digit_h = cv2.getTextSize("0", cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)[0][1]
    parts = text.split(DEGREE)
    for i, part in enumerate(parts):
        if part:
            cv2.putText(image, part, (x, y), cv2.FONT_HERSHEY_SIMPLEX, font_scale, color, thickness, cv2.LINE_AA)
            x += cv2.getTextSize(part, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)[0][0]
        if i < len(parts) - 1:
            centre = (x + radius + thickness // 2 + 1, y - digit_h + radius)
            cv2.circle(image, centre, radius, color, max(1, thickness // 2 + 1), cv2.LINE_AA)
            x += 2 * radius + thickness + 2


def text_width_px(image: np.ndarray, text: str, scale: float = 1.0) -> int:
    """How wide :func:`put_text` draws ``text`` on ``image``."""
    font_scale, thickness = _font(image, scale)
    return _runs_width_px(_ascii_text(text), font_scale, thickness)


def text_box_px(image: np.ndarray, text: str, origin: tuple[int, int], scale: float = 1.0) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` enclosing what :func:`put_text` draws at ``origin``, outline included."""
    font_scale, thickness = _font(image, scale)
    (_, height), baseline = cv2.getTextSize("Ay", cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
    margin = 2 * max(1, thickness) + 1
    x, y = origin
    width = _runs_width_px(_ascii_text(text), font_scale, thickness)
    return x - margin, y - height - margin, x + width + margin, y + baseline + margin


def put_text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float = 1.0,
             color: tuple[int, int, int] = TEXT_BGR) -> None:
    """Text with a dark outline, readable on any background; scaled to the image size.
    "°" is drawn as a ring and other non-ASCII symbols are spelled out (Hershey fonts are ASCII)."""
    font_scale, thickness = _font(image, scale)
    text = _ascii_text(text)
    # The outline is the text itself shifted diagonally, at the same thickness: OpenCV 5
    # draws its fonts bold from thickness 2 (wider glyphs), so a thicker copy would not line up.
    shift = max(1, thickness)
    x, y = origin
    for dx, dy in ((-shift, -shift), (shift, -shift), (-shift, shift), (shift, shift)):
        _draw_runs(image, text, (x + dx, y + dy), font_scale, thickness, OUTLINE_BGR)
    _draw_runs(image, text, origin, font_scale, thickness, color)


LEG_PARTS = ("hip", "knee", "ankle", "heel", "foot_index")
_LEG_EDGES = (("hip", "knee"), ("knee", "ankle"), ("ankle", "heel"), ("heel", "foot_index"), ("ankle", "foot_index"))
_LEG_CONNECTIONS = frozenset(frozenset((side_index(side, a), side_index(side, b))) for side in SIDES for a, b in _LEG_EDGES)
SIDE_BGR = {"left": LEFT_BGR, "right": RIGHT_BGR}
SIDE_LABEL_SCALE = 1.0
Box = tuple[int, int, int, int]


def _shade(image: np.ndarray, box: Box, alpha: float = 0.6) -> None:
    """Darken ``box`` of ``image`` in place (a backdrop that keeps text readable on any frame)."""
    height_px, width_px = image.shape[:2]
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(width_px, box[2]), min(height_px, box[3])
    if x1 > x0 and y1 > y0:
        image[y0:y1, x0:x1] = (image[y0:y1, x0:x1] * (1.0 - alpha)).astype(image.dtype)


def _point(landmarks_px: np.ndarray, index: int) -> tuple[int, int] | None:
    """Landmark ``index`` as integer pixels, or None when it is not finite."""
    x, y = (float(v) for v in landmarks_px[index])
    return (int(round(x)), int(round(y))) if math.isfinite(x) and math.isfinite(y) else None


def _dashed_line(image: np.ndarray, a: tuple[int, int], b: tuple[int, int], color: tuple[int, int, int],
                 thickness_px: int, dash_px: int) -> None:
    """A line of ``dash_px`` dashes with gaps of the same length."""
    length_px = math.hypot(b[0] - a[0], b[1] - a[1])
    steps = max(1, int(length_px // dash_px))
    for i in range(0, steps, 2):
        t0, t1 = i / steps, min(1.0, (i + 1) / steps)
        p0 = (int(round(a[0] + (b[0] - a[0]) * t0)), int(round(a[1] + (b[1] - a[1]) * t0)))
        p1 = (int(round(a[0] + (b[0] - a[0]) * t1)), int(round(a[1] + (b[1] - a[1]) * t1)))
        cv2.line(image, p0, p1, color, thickness_px, cv2.LINE_AA)


def _leg_roles(tested_side: str | None, tested_leg_label: str | None) -> dict[str, tuple[str, str]]:
    """MediaPipe leg label → (side name shown, role: "tested", "other" or "plain")."""
    for value in (tested_side, tested_leg_label):
        if value not in (None, *SIDES):
            raise ValueError(f"a tested side is left, right or None, not {value!r}")
    if tested_side is None:
        return {side: (side, "plain") for side in SIDES}
    label = tested_leg_label or tested_side
    return {label: (tested_side, "tested"), other_side(label): (other_side(tested_side), "other")}


def _draw_leg(image: np.ndarray, landmarks_px: np.ndarray, visible: np.ndarray, label: str,
              color: tuple[int, int, int], thickness_px: int) -> None:
    """One leg, hip to toes, wherever its landmarks are finite; poorly visible parts dashed."""
    for start, end in _LEG_EDGES:
        i, j = side_index(label, start), side_index(label, end)
        a, b = _point(landmarks_px, i), _point(landmarks_px, j)
        if a is None or b is None:
            continue
        if visible[i] and visible[j]:
            cv2.line(image, a, b, color, thickness_px, cv2.LINE_AA)
        else:
            _dashed_line(image, a, b, color, thickness_px, dash_px=max(4, 3 * thickness_px))
    for joint in LEG_JOINTS:
        centre = _point(landmarks_px, side_index(label, joint))
        if centre is not None:
            filled = -1 if visible[side_index(label, joint)] else max(1, thickness_px // 2)
            cv2.circle(image, centre, thickness_px + 3, color, filled, cv2.LINE_AA)


def _boxes_overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _candidate_origins(size: tuple[int, int, int], anchor: tuple[int, int], gap_px: int,
                       order: Sequence[str]) -> list[tuple[int, int]]:
    """Text origins (baseline left) beside ``anchor`` in the upper/lower, left/right quadrants;
    ``size`` is the text box's width and its extent above and below the baseline."""
    width, above, below = size
    x, y = anchor
    origins = {"ur": (x + gap_px, y - gap_px - below), "ll": (x - gap_px - width, y + gap_px + above),
               "ul": (x - gap_px - width, y - gap_px - below), "lr": (x + gap_px, y + gap_px + above)}
    return [origins[key] for key in order]


def _first_free(image: np.ndarray, text: str, origin: tuple[int, int], scale: float, taken: list[Box],
                step_px: int) -> tuple[tuple[int, int], Box]:
    """``origin`` moved by ``step_px`` at a time until its box covers none of ``taken``
    (always ends: past the last taken box nothing is covered)."""
    box = text_box_px(image, text, origin, scale)
    while any(_boxes_overlap(box, other) for other in taken):
        origin = (origin[0], origin[1] + step_px)
        box = text_box_px(image, text, origin, scale)
    return origin, box


def _crosses(box: Box, segments: Sequence[tuple[tuple[int, int], tuple[int, int]]]) -> bool:
    """Whether any segment passes through ``box``."""
    rect = (box[0], box[1], box[2] - box[0], box[3] - box[1])
    return any(cv2.clipLine(rect, a, b)[0] for a, b in segments)


def leg_segments_px(landmarks_px: np.ndarray) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Both legs' drawn segments (hip to toes) whose ends are finite, in integer pixels."""
    segments = []
    for side in SIDES:
        for start, end in _LEG_EDGES:
            a, b = _point(landmarks_px, side_index(side, start)), _point(landmarks_px, side_index(side, end))
            if a is not None and b is not None:
                segments.append((a, b))
    return segments


def place_label(image: np.ndarray, text: str, anchor_px: tuple[int, int], taken: list[Box],
                scale: float = 1.0, order: Sequence[str] = ("ur", "ll", "ul", "lr"),
                segments: Sequence[tuple[tuple[int, int], tuple[int, int]]] = ()) -> tuple[tuple[int, int], Box]:
    """Where to put ``text`` beside ``anchor_px`` covering none of the ``taken`` boxes: the first
    quadrant in ``order`` (kept inside the image) that is free and crosses none of ``segments``,
    else the first free one, else the first moved down (or up when down leaves the image) until
    free. Returns origin and box, and adds the box to ``taken``."""
    probe = text_box_px(image, text, (0, 0), scale)
    size = (probe[2] - probe[0], -probe[1], probe[3])
    gap_px = int(8 * max(_scale(image), 0.8))
    height_px, width_px = image.shape[:2]

    def clamped(origin: tuple[int, int]) -> tuple[int, int]:
        x = min(max(origin[0], -probe[0]), width_px - probe[2])
        return x, min(max(origin[1], -probe[1]), height_px - probe[3])

    origins = [clamped(o) for o in _candidate_origins(size, anchor_px, gap_px, order)]
    for avoid_segments in (True, False):
        for origin in origins:
            box = text_box_px(image, text, origin, scale)
            if not any(_boxes_overlap(box, other) for other in taken) and not (avoid_segments and _crosses(box, segments)):
                taken.append(box)
                return origin, box
    step_px = probe[3] - probe[1] + 1
    origin, box = _first_free(image, text, origins[0], scale, taken, step_px)
    if box[3] > height_px:
        up_origin, up_box = _first_free(image, text, origins[0], scale, taken, -step_px)
        if up_box[1] >= 0:
            origin, box = up_origin, up_box
    taken.append(box)
    return origin, box


def draw_skeleton(image_bgr: np.ndarray, landmarks_px: np.ndarray, visibility: np.ndarray,
                  min_visibility: float = DEFAULT_MIN_VISIBILITY, tested_side: str | None = None,
                  tested_leg_label: str | None = None, taken: list[Box] | None = None) -> dict[str, Box]:
    """Draw the pose in place: trunk, arms and head where visible; BOTH legs wherever their
    landmarks are finite (poorly visible parts dashed), each labelled with its side near the knee.

    ``tested_side`` (anatomical) is drawn thick, the other leg thin. ``tested_leg_label`` is
    MediaPipe's label of the tested leg's landmarks when it differs from ``tested_side`` (a far
    leg side-on is often labelled with the near side's name): the legs are then named and
    coloured by their anatomical side. Labels avoid ``taken`` boxes and each other; returns
    the label boxes ``(x0, y0, x1, y1)`` by side name.
    """
    taken = [] if taken is None else taken
    if not np.isfinite(landmarks_px).any():
        return {}
    base_px = max(1, int(round(3 * _scale(image_bgr))))
    visible = np.nan_to_num(np.asarray(visibility, dtype=np.float64), nan=0.0) >= min_visibility
    for start, end in POSE_CONNECTIONS:
        a, b = _point(landmarks_px, start), _point(landmarks_px, end)
        if frozenset((start, end)) in _LEG_CONNECTIONS or a is None or b is None:  # legs: below
            continue
        if visible[start] and visible[end]:
            cv2.line(image_bgr, a, b, SKELETON_BGR, base_px, cv2.LINE_AA)
    for side in SIDES:
        shoulder = _point(landmarks_px, side_index(side, "shoulder"))
        if shoulder is not None and visible[side_index(side, "shoulder")]:
            cv2.circle(image_bgr, shoulder, 2 * base_px + 2, SIDE_BGR[side], -1, cv2.LINE_AA)
    roles = _leg_roles(tested_side, tested_leg_label)
    widths_px = {"tested": 2 * base_px + 1, "other": max(1, base_px - 1), "plain": base_px}
    drawing_order = sorted(roles, key=lambda label: roles[label][1] == "tested")  # tested on top
    for label in drawing_order:
        name, role = roles[label]
        _draw_leg(image_bgr, landmarks_px, visible, label, SIDE_BGR[name], widths_px[role])
    boxes: dict[str, Box] = {}
    segments = leg_segments_px(landmarks_px)
    for label in sorted(roles, key=lambda label: roles[label][1] != "tested"):  # tested label placed first
        name, _ = roles[label]
        knee = _point(landmarks_px, side_index(label, "knee"))
        if knee is not None:
            order = ("ur", "ll", "ul", "lr") if name == "left" else ("ll", "ur", "lr", "ul")
            origin, boxes[name] = place_label(image_bgr, name, knee, taken, SIDE_LABEL_SCALE, order, segments)
            _shade(image_bgr, boxes[name], 0.45)
            put_text(image_bgr, name, origin, SIDE_LABEL_SCALE, SIDE_BGR[name])
    return boxes


def draw_angle_labels(image_bgr: np.ndarray, landmarks_px: np.ndarray, angles: Mapping[str, float]) -> None:
    """Label each hip and knee with its flexion (image plane) next to the joint: left-side
    labels above and to the left, right-side ones below and to the right, so the two legs'
    labels never cover each other when a side view puts their joints together."""
    offset = int(14 * max(_scale(image_bgr), 0.8))
    for side, color in zip(SIDES, (LEFT_BGR, RIGHT_BGR)):
        for joint, key in (("hip", "hip_flexion_deg"), ("knee", "knee_flexion_deg")):
            value = angles.get(f"{side}_{key}", math.nan)
            point = landmarks_px[side_index(side, joint)]
            if not (math.isfinite(value) and np.isfinite(point).all()):
                continue
            text = f"{side[0].upper()} {joint} {value:.0f}"
            if side == "left":
                origin = (int(point[0]) - offset - text_width_px(image_bgr, text), int(point[1]) - offset)
            else:
                origin = (int(point[0]) + offset, int(point[1]) + 2 * offset)
            put_text(image_bgr, text, origin, 1.0, color)


def draw_text_lines(image_bgr: np.ndarray, lines: Sequence[str], corner: str = "top-left") -> None:
    """Stack lines of text in a corner (guidance, counters, HUD)."""
    step = int(32 * max(_scale(image_bgr), 0.8))
    x = step // 2
    if corner == "top-left":
        y0 = step
    else:
        y0 = image_bgr.shape[0] - step * len(lines) + step // 2
    for i, line in enumerate(lines):
        put_text(image_bgr, line, (x, y0 + i * step))


DISPLAY_MAX_SIZE_PX = 1280  # live: the window's frame is scaled down to this (faster drawing)
CAPTION_SCALE = 1.1
MEASURE_SCALE = 1.1


def _wrap_text(image: np.ndarray, text: str, scale: float, max_width_px: int) -> list[str]:
    """``text`` split at spaces into lines no wider than ``max_width_px`` (a longer word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and text_width_px(image, f"{lines[-1]} {word}", scale) <= max_width_px:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def _caption_layout(image: np.ndarray, caption: str) -> tuple[list[tuple[str, tuple[int, int]]], Box]:
    """The caption's wrapped lines with their origins, and the band behind them (top of the image)."""
    margin_px = int(10 * max(_scale(image), 0.8))
    lines = _wrap_text(image, caption, CAPTION_SCALE, image.shape[1] - 2 * margin_px)
    x0, y0, x1, y1 = text_box_px(image, "Ay", (0, 0), CAPTION_SCALE)
    step_px = y1 - y0
    placed = [(line, (margin_px, margin_px - y0 + i * step_px)) for i, line in enumerate(lines)]
    return placed, (0, 0, image.shape[1], 2 * margin_px + step_px * len(lines))


def _draw_straight_reference(image: np.ndarray, landmarks_px: np.ndarray, label: str) -> None:
    """A dashed line continuing the thigh past the knee, as long as the shank: where a straight
    knee would put the ankle, so the gap to the shank shows the deficit."""
    hip, knee, ankle = (_point(landmarks_px, side_index(label, joint)) for joint in LEG_JOINTS)
    if hip is None or knee is None or ankle is None:
        return
    thigh = np.subtract(knee, hip, dtype=np.float64)
    thigh_px = float(np.linalg.norm(thigh))
    if thigh_px < 1:
        return
    shank_px = float(np.linalg.norm(np.subtract(ankle, knee, dtype=np.float64)))
    end = tuple(int(round(v)) for v in np.add(knee, thigh / thigh_px * shank_px))
    thickness_px = max(1, int(round(2 * _scale(image))))
    _dashed_line(image, knee, end, TEXT_BGR, thickness_px, dash_px=max(5, 4 * thickness_px))


def _measurement_texts(landmarks_px: np.ndarray, label: str | None, knee_extension_deficit_deg: float,
                       hip_flexion_deg: float) -> list[tuple[str, tuple[int, int], tuple[str, ...]]]:
    """(text, anchor pixel, preferred quadrants) of the hip and knee values that are known."""
    def joint_px(joint: str) -> tuple[int, int] | None:
        if label is not None:
            return _point(landmarks_px, side_index(label, joint))
        both = np.asarray([landmarks_px[side_index(side, joint)] for side in SIDES], dtype=np.float64)
        middle = both[np.isfinite(both).all(axis=1)].mean(axis=0) if np.isfinite(both).all(axis=1).any() else None
        return None if middle is None else (int(round(middle[0])), int(round(middle[1])))

    texts = []
    hip, knee = joint_px("hip"), joint_px("knee")
    if hip is not None and math.isfinite(hip_flexion_deg):
        texts.append((f"hip flexion {hip_flexion_deg:.0f}°", hip, ("lr", "ll", "ur", "ul")))
    if knee is not None and math.isfinite(knee_extension_deficit_deg):
        texts.append((f"knee {knee_extension_deficit_deg:.0f}° short of straight", knee, ("ur", "ul", "lr", "ll")))
    return texts


def draw_trial_evidence(image_bgr: np.ndarray, landmarks_px: np.ndarray, visibility: np.ndarray,
                        tested_side: str | None, knee_extension_deficit_deg: float, hip_flexion_deg: float,
                        caption: str, tested_leg_label: str | None = None,
                        min_visibility: float = DEFAULT_MIN_VISIBILITY) -> np.ndarray:
    """A copy of the end-position frame showing what was measured: both legs (tested one thick),
    a dashed "straight knee" line, the hip flexion at the hip, "knee N° short of straight" at the
    knee, and ``caption`` (trial, side, valid or why not) in a band at the top.

    ``tested_leg_label``: MediaPipe's label of the tested leg's landmarks when it differs from
    ``tested_side`` (see :func:`draw_skeleton`). NaN values are left out.
    """
    image = image_bgr.copy()
    caption_lines, caption_box = _caption_layout(image, caption)
    label = tested_leg_label or tested_side
    if label is not None:
        _draw_straight_reference(image, landmarks_px, label)
    taken = [caption_box]
    draw_skeleton(image, landmarks_px, visibility, min_visibility, tested_side, tested_leg_label, taken)
    for text, anchor, order in _measurement_texts(landmarks_px, label, knee_extension_deficit_deg, hip_flexion_deg):
        origin, box = place_label(image, text, anchor, taken, MEASURE_SCALE, order, leg_segments_px(landmarks_px))
        _shade(image, box)
        put_text(image, text, origin, MEASURE_SCALE)
    _shade(image, caption_box)
    for line, origin in caption_lines:
        put_text(image, line, origin, CAPTION_SCALE)
    return image


def write_trial_picture(path: str | Path, image_bgr: np.ndarray, jpeg_quality: int = 90) -> Path:
    """Write ``image_bgr`` as a JPEG at ``path`` atomically (temporary file beside it, then
    ``os.replace``): a crash never leaves half a picture under the final name."""
    path = Path(path)
    ok, encoded = cv2.imencode(".jpg", image_bgr, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
    if not ok:
        raise OSError(f"cannot encode {path.name} as JPEG")
    with atomic_write(path, binary=True) as handle:
        handle.write(encoded.tobytes())
    return path



@dataclass(frozen=True)
class Hud:
    """The live heads-up lines: processing speed, capture-to-overlay latency, keys."""

    fps: float
    latency_ms: float
    paused: bool = False
    cue_text: str = ""
    keys_help: str = ""

    def lines(self) -> list[str]:
        line = f"{self.fps:4.1f} fps  {self.latency_ms:3.0f} ms" + ("  PAUSED" if self.paused else "")
        return [text for text in (self.cue_text, line, self.keys_help) if text]


def compose_overlay(frame_bgr: np.ndarray, landmarks_px: np.ndarray, visibility: np.ndarray,
                    angles: Mapping[str, float], *, guidance: Sequence[str] = (), hud: Hud | None = None,
                    mirror: bool = False, max_size_px: int | None = None,
                    min_visibility: float = DEFAULT_MIN_VISIBILITY) -> np.ndarray:
    """The annotated picture, offline and live alike: skeleton, hip/knee angles, ``guidance``
    lines (top left) and the ``hud`` (bottom left), on a copy of ``frame_bgr``.

    ``max_size_px`` scales the picture down first (live window); with ``mirror`` it is flipped
    (selfie view) before any text is drawn, so the labels stay readable.
    """
    height, width = frame_bgr.shape[:2]
    scale = 1.0 if max_size_px is None else min(1.0, max_size_px / max(height, width))
    if scale < 1.0:
        size = (int(round(width * scale)), int(round(height * scale)))
        image = cv2.resize(frame_bgr, size, interpolation=cv2.INTER_LINEAR)
    else:
        image = frame_bgr.copy()
    points = np.asarray(landmarks_px, dtype=np.float32) * np.float32(scale)
    if mirror:
        image = cv2.flip(image, 1)
        points = points.copy()
        points[:, 0] = image.shape[1] - 1 - points[:, 0]
    draw_skeleton(image, points, visibility, min_visibility)
    draw_angle_labels(image, points, angles)
    if guidance:
        draw_text_lines(image, list(guidance), "top-left")
    if hud is not None:
        draw_text_lines(image, hud.lines(), "bottom-left")
    return image
