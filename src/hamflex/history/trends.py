"""Per-side deficit trends of a person's 90-90 tests, each change judged against the test's
minimal detectable change (MDC95 = 1.96 · √2 · SEM; docs/reports.md)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from hamflex.core.landmarks import SIDES
from hamflex.history.store import Session
from hamflex.protocols.norms import load_norms

Z_95 = 1.96


def minimal_detectable_change_deg(sem_deg: float | None = None) -> float:
    """MDC95 = 1.96 · √2 · SEM: the smallest change between two sessions beyond measurement error.

    The SEM defaults to the 90-90 test's, from the norms table (calibration/norms.toml;
    sources in docs/reports.md).
    """
    if sem_deg is None:
        sem_deg = load_norms().sem_deg
    return Z_95 * math.sqrt(2.0) * sem_deg


IMPROVEMENT = "real improvement"
LOSS = "real loss"
WITHIN_ERROR = "within measurement error"


def classify_change(change_deg: float, mdc_deg: float) -> str:
    """A deficit change (later − earlier; negative = more flexible) judged against the MDC."""
    if change_deg < -mdc_deg:
        return IMPROVEMENT
    if change_deg > mdc_deg:
        return LOSS
    return WITHIN_ERROR


@dataclass(frozen=True)
class SideTrend:
    """The knee extension deficit of one side across a person's test90 sessions."""

    side: str
    times: tuple[datetime, ...]
    deficits_deg: tuple[float, ...]
    mdc_deg: float

    @property
    def first_deg(self) -> float:
        return self.deficits_deg[0]

    @property
    def latest_deg(self) -> float:
        return self.deficits_deg[-1]

    @property
    def change_from_first_deg(self) -> float | None:
        return self.latest_deg - self.first_deg if len(self.deficits_deg) > 1 else None

    @property
    def change_from_previous_deg(self) -> float | None:
        return self.latest_deg - self.deficits_deg[-2] if len(self.deficits_deg) > 1 else None

    @property
    def verdict(self) -> str:
        """The change since the first session, judged against the MDC."""
        change = self.change_from_first_deg
        return "one session: no trend yet" if change is None else classify_change(change, self.mdc_deg)

    @property
    def verdict_since_previous(self) -> str:
        change = self.change_from_previous_deg
        return "one session: no trend yet" if change is None else classify_change(change, self.mdc_deg)


def deficit_trends(sessions: Sequence[Session], mdc_deg: float | None = None) -> list[SideTrend]:
    """Per-side trends of one person's test90 sessions (sides never measured are left out)."""
    mdc = minimal_detectable_change_deg() if mdc_deg is None else mdc_deg
    ordered = sorted((s for s in sessions if s.kind == "test90"), key=lambda s: (s.recorded_at, s.id))
    trends = []
    for side in SIDES:
        points = [(s.recorded_at, s.deficit_deg(side)) for s in ordered]
        points = [(time, value) for time, value in points if value is not None]
        if points:
            trends.append(SideTrend(side, tuple(t for t, _ in points), tuple(v for _, v in points), mdc))
    return trends




def usual_depth_deg(sessions: Sequence[Session], stretch: str, last: int = 3) -> float | None:
    """The depth a person usually holds ``stretch`` at: the median ``stretch_angle_deg`` of the
    reps of their ``last`` hold sessions of it (None without any), a starting estimate for the
    hold coach's own-range rule."""
    holds = [s for s in sessions if s.kind == "hold" and s.result.get("stretch") == stretch]
    depths = [rep["stretch_angle_deg"] for s in holds[-last:] for rep in s.result.get("reps", [])
              if isinstance(rep.get("stretch_angle_deg"), (int, float))]
    return float(np.median(depths)) if depths else None
