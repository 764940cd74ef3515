"""The end-position rule both tests share, on measure series of known truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from hamflex.protocols.endpoint import EndPlateau
from hamflex.protocols.slr import SlrSettings
from hamflex.protocols.test90 import Test90Settings


@dataclass(frozen=True)
class Point:
    t_s: float
    value: float


def _series(still_s: float, fps: float = 30.0, sign: float = 1.0) -> list[Point]:
    """A measure falling linearly from 60 to 20 over 1 s, still for ``still_s``, then rising back."""
    times_s = np.arange(0.0, 1.0 + still_s + 1.0, 1.0 / fps)
    values = np.interp(times_s, [0.0, 1.0, 1.0 + still_s, 2.0 + still_s], [60.0, 20.0, 20.0, 60.0])
    return [Point(float(t), sign * float(v)) for t, v in zip(times_s, values)]


def _first_hold(points: list[Point], measure, settings) -> tuple[float, list[Point]] | None:
    """When the plateau first reports a new end position, and that end position."""
    plateau = EndPlateau(measure, settings, 0)
    for index in range(len(points)):
        if plateau.stop(points, index, far_enough=True) == "new":
            return points[index].t_s, plateau.end_position(points)
    return None


@pytest.mark.parametrize("settings", [Test90Settings(), SlrSettings()])
def test_a_stop_of_half_a_second_is_the_end_position_a_shorter_one_is_not(settings):
    found = _first_hold(_series(0.8), lambda p: p.value, settings)
    assert found is not None
    when_s, end = found
    assert 1.0 + settings.end_hold_s - 0.05 <= when_s <= 1.0 + settings.end_hold_s + 0.1
    assert np.median([p.value for p in end]) == pytest.approx(20.0, abs=0.5)
    assert _first_hold(_series(0.3), lambda p: p.value, settings) is None


def test_the_rule_reads_a_rising_measure_through_its_negation():
    # The leg raise feeds minus the hip flexion: a series rising to a still top is found the same way.
    falling = _first_hold(_series(0.8), lambda p: p.value, SlrSettings())
    rising = _first_hold(_series(0.8, sign=-1.0), lambda p: -p.value, SlrSettings())
    assert falling is not None and rising is not None
    assert falling[0] == rising[0] and [p.t_s for p in falling[1]] == [p.t_s for p in rising[1]]
