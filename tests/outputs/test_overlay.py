"""Overlay text stays readable on any background, with the OpenCV 5 fonts too."""

from __future__ import annotations

import numpy as np

from hamflex.outputs.overlay import put_text


def _span(columns: np.ndarray) -> tuple[int, int]:
    found = np.flatnonzero(columns)
    return int(found[0]), int(found[-1])


def test_text_has_a_dark_outline_that_lines_up_with_the_letters():
    image = np.full((80, 1000, 3), 128, np.uint8)
    put_text(image, "hold the thigh, straighten the knee", (10, 50))
    light = (image.min(axis=2) > 220).any(axis=0)
    dark = (image.max(axis=2) < 40).any(axis=0)
    assert light.sum() > 100 and dark.sum() > 100  # white letters, black outline
    (light_start, light_end), (dark_start, dark_end) = _span(light), _span(dark)
    # the outline hugs the letters: no wider ghost copy (OpenCV 5 draws thick text bold and wider)
    assert abs(light_start - dark_start) <= 4 and abs(light_end - dark_end) <= 4


def test_white_text_on_white_is_still_visible():
    image = np.full((80, 700, 3), 255, np.uint8)
    put_text(image, "position right", (10, 50))
    assert (image.max(axis=2) < 60).sum() > 100


def test_left_and_right_labels_do_not_cover_each_other_in_a_side_view():
    """Side-on, both hips (and knees) project to nearly the same pixel: the labels go to
    opposite sides of the joint."""
    from hamflex.core.landmarks import NUM_LANDMARKS, side_index
    from hamflex.outputs.overlay import draw_angle_labels

    image = np.zeros((480, 640, 3), np.uint8)
    points = np.full((NUM_LANDMARKS, 2), np.nan, np.float32)
    for side in ("left", "right"):
        points[side_index(side, "hip")] = (320, 240)
    draw_angle_labels(image, points, {"left_hip_flexion_deg": 10.0, "right_hip_flexion_deg": 20.0})
    drawn = image.max(axis=2) > 0
    left_half, right_half = drawn[:, :320], drawn[:, 320:]
    assert left_half[:240].any() and not left_half[240:].any()  # left label: up and to the left
    assert right_half[240:].any() and not right_half[:240].any()  # right label: down and to the right
