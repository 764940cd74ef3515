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
