"""Stretching adherence: hold sessions per day against the coached advice (once or twice a
day, every rep of the routine; docs/stretches.md, docs/reports.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hamflex.history.store import Session
from hamflex.protocols.catalog import catalog_defaults

ADVISED_SESSIONS_PER_DAY = (1, 2)
STRETCH_KINDS = ("hold", "routine")  # the session kinds that are stretching
ADVISED_REPS = int(catalog_defaults()["reps"])  # the catalog's default reps per stretch


STRETCHED = "stretched"
TOO_MANY = "more than twice"
REST = "rest day"
MISSED = "missed"
TODAY = "today (so far none)"


@dataclass(frozen=True)
class DayAdherence:
    day: date
    sessions: int
    status: str

    @property
    def on_plan(self) -> bool:
        return self.status in (STRETCHED, REST)


@dataclass(frozen=True)
class Adherence:
    """Stretch sessions per day over recent weeks, judged against the coached advice."""

    days: tuple[DayAdherence, ...]
    sessions: int
    full_sessions: int

    @property
    def judged_days(self) -> tuple[DayAdherence, ...]:
        """Days that count: an empty today is not over yet."""
        return tuple(d for d in self.days if d.status != TODAY)

    @property
    def sessions_per_day(self) -> float:
        return self.sessions / len(self.judged_days) if self.judged_days else 0.0

    @property
    def fraction_on_plan(self) -> float:
        judged = self.judged_days
        return sum(d.on_plan for d in judged) / len(judged) if judged else 0.0

    @property
    def missed_days(self) -> int:
        return sum(d.status == MISSED for d in self.days)

    def weekly_sessions_per_day(self) -> list[tuple[date, float]]:
        """(first day of the week, sessions per day) for each 7-day block, oldest first."""
        blocks = []
        for start in range(0, len(self.days), 7):
            block = [d for d in self.days[start:start + 7] if d.status != TODAY]
            if block:
                blocks.append((block[0].day, sum(d.sessions for d in block) / len(block)))
        return blocks

    @property
    def summary(self) -> str:
        judged = self.judged_days
        if self.sessions == 0:
            return f"no stretch sessions in the last {len(self.days)} days"
        return (
            f"{self.sessions} stretch sessions in {len(judged)} days ({self.sessions_per_day:.1f} a day); "
            f"{self.fraction_on_plan:.0%} of days on plan; {self.missed_days} missed days; "
            f"{self.full_sessions} sessions with {ADVISED_REPS} full reps"
        )


def _local_day(moment: datetime) -> date:
    return moment.astimezone().date()


def stretching_adherence(sessions: Iterable[Session], today: date | None = None, weeks: int = 4) -> Adherence:
    """Judge each of the last ``weeks`` × 7 days (local time) of hold sessions.

    A day with one or two sessions is on plan; a single day without between two stretched
    days is an allowed rest day; more than two is more than advised; other empty days are
    missed. Days before the first stretch session ever are not judged, nor an empty today.
    A session is *full* with ``ADVISED_REPS`` completed reps (each rep completes at 20-30
    valid seconds, see the hold coach).
    """
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    today = today or datetime.now().astimezone().date()
    holds = [s for s in sessions if s.kind in STRETCH_KINDS]
    per_day: dict[date, int] = {}
    for session in holds:
        day = _local_day(session.recorded_at)
        per_day[day] = per_day.get(day, 0) + 1
    start = today - timedelta(days=7 * weeks - 1)
    if per_day:
        start = min(max(start, min(per_day)), today)

    def status(day: date) -> str:
        count = per_day.get(day, 0)
        if count > ADVISED_SESSIONS_PER_DAY[1]:
            return TOO_MANY
        if count:
            return STRETCHED
        if day == today:
            return TODAY
        before, after = day - timedelta(days=1), day + timedelta(days=1)
        if per_day.get(before, 0) and (per_day.get(after, 0) or after == today):
            return REST
        return MISSED

    days = tuple(DayAdherence(start + timedelta(days=i), per_day.get(start + timedelta(days=i), 0),
                              status(start + timedelta(days=i))) for i in range((today - start).days + 1))
    in_window = [s for s in holds if start <= _local_day(s.recorded_at) <= today]
    full = sum((s.summary()["reps_completed"] or 0) >= ADVISED_REPS for s in in_window)
    return Adherence(days=days, sessions=len(in_window), full_sessions=full)




def rest_days_stretched_through(sessions: Iterable[Session]) -> list[date]:
    """Days a routine was done although its plan's schedule called for a rest day: after
    ``rest_day_after`` stretching days in a row (any stretch session counts as stretching)."""
    stretched = {_local_day(s.recorded_at) for s in sessions if s.kind in STRETCH_KINDS}
    through = []
    for session in sessions:
        rest_after = (session.result.get("schedule") or {}).get("rest_day_after") if session.kind == "routine" else None
        day = _local_day(session.recorded_at)
        if rest_after and day not in through and all(day - timedelta(days=i) in stretched
                                                     for i in range(1, rest_after + 1)):
            through.append(day)
    return sorted(through)
