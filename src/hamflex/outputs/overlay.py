"""Drawing on frames: skeleton, angle labels, text; one compositor for offline overlays and the live window."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from hamflex.core.landmarks import DEFAULT_MIN_VISIBILITY, POSE_CONNECTIONS, SIDES, side_index

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


def text_width_px(image: np.ndarray, text: str, scale: float = 1.0) -> int:
    """How wide :func:`put_text` draws ``text`` on ``image``."""
    font_scale, thickness = _font(image, scale)
    return cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)[0][0]


def put_text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float = 1.0,
             color: tuple[int, int, int] = TEXT_BGR) -> None:
    """Text with a dark outline, readable on any background; scaled to the image size."""
    font_scale, thickness = _font(image, scale)
    # The outline is the text itself shifted diagonally, at the same thickness: OpenCV 5
    # draws its fonts bold from thickness 2 (wider glyphs), so a thicker copy would not line up.
    shift = max(1, thickness)
    x, y = origin
    for dx, dy in ((-shift, -shift), (shift, -shift), (-shift, shift), (shift, shift)):
        cv2.putText(image, text, (x + dx, y + dy), cv2.FONT_HERSHEY_SIMPLEX, font_scale, OUTLINE_BGR, thickness, cv2.LINE_AA)
    cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, color, thickness, cv2.LINE_AA)


def draw_skeleton(image_bgr: np.ndarray, landmarks_px: np.ndarray, visibility: np.ndarray,
                  min_visibility: float = DEFAULT_MIN_VISIBILITY) -> None:
    """Draw the pose's edges and joints in place; poorly visible landmarks are skipped."""
    if not np.isfinite(landmarks_px).any():
        return
    thickness = max(1, int(round(3 * _scale(image_bgr))))
    visible = visibility >= min_visibility
    for start, end in POSE_CONNECTIONS:
        if visible[start] and visible[end]:
            a = tuple(int(v) for v in landmarks_px[start])
            b = tuple(int(v) for v in landmarks_px[end])
            cv2.line(image_bgr, a, b, SKELETON_BGR, thickness, cv2.LINE_AA)
    for side, color in zip(SIDES, (LEFT_BGR, RIGHT_BGR)):
        for joint in ("shoulder", "hip", "knee", "ankle"):
            index = side_index(side, joint)
            if visible[index]:
                centre = tuple(int(v) for v in landmarks_px[index])
                cv2.circle(image_bgr, centre, 2 * thickness + 2, color, -1, cv2.LINE_AA)


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
