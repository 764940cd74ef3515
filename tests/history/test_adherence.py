"""Routine sessions in the history: stored with their reps, counted as stretching, and the
warning for a routine done on the plan's rest day (real SQLite files)."""

from __future__ import annotations

from datetime import date, datetime

from typer.testing import CliRunner

from hamflex.cli import app
from hamflex.history.adherence import STRETCHED, REST, rest_days_stretched_through, stretching_adherence
from hamflex.history.store import list_sessions, record_session
from hamflex.protocols.routine import RoutineProtocol, load_plan


def routine_result(valid_s: float = 600.0) -> dict:
    """A routine.json of the default plan (its schedule: a rest day after each stretching day)."""
    result = RoutineProtocol(load_plan()).result().to_dict()
    result["valid_seconds_total"] = valid_s
    for step in result["steps"]:
        step["reps_completed"] = 10
    return result


def record_on(db, days: list[int]) -> None:
    for day in days:
        record_session("routine", "Anna", routine_result(), "camera 0", db,
                       recorded_at=datetime(2026, 3, day, 9).astimezone())


def test_routine_sessions_are_stored_with_their_reps_and_count_as_stretching(tmp_path):
    db = tmp_path / "h.sqlite3"
    record_on(db, [1, 3, 5])
    sessions = list_sessions(db_path=db)
    assert [s.kind for s in sessions] == ["routine"] * 3
    assert sessions[0].summary()["reps_completed"] == 30 and sessions[0].summary()["valid_seconds_total"] == 600.0
    adherence = stretching_adherence(sessions, today=date(2026, 3, 5), weeks=1)
    assert [d.status for d in adherence.days] == [STRETCHED, REST, STRETCHED, REST, STRETCHED]
    assert rest_days_stretched_through(sessions) == []


def test_stretching_through_the_plans_rest_day_is_warned(tmp_path):
    db = tmp_path / "h.sqlite3"
    record_on(db, [1, 3, 4, 4, 6])
    assert rest_days_stretched_through(list_sessions(db_path=db)) == [date(2026, 3, 4)]
    shown = CliRunner().invoke(app, ["history", "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    assert "Anna stretched through the routine's rest day on 04 Mar" in " ".join(shown.stdout.split())


def test_the_usual_depth_is_the_median_of_the_last_hold_sessions_reps():
    from hamflex.history.store import Session
    from hamflex.history.trends import usual_depth_deg

    def hold(day: int, stretch: str, depths: list) -> Session:
        reps = [{"stretch_angle_deg": depth} for depth in depths]
        return Session(day, "hold", "Anna", datetime(2026, 3, day, 9).astimezone(), "x", {"stretch": stretch, "reps": reps})

    sessions = [hold(1, "hamstring_seated", [90.0]), hold(2, "hamstring_seated", [100.0, 102.0]),
                hold(3, "hamstring_supine", [70.0]), hold(4, "hamstring_seated", [104.0, None])]
    assert usual_depth_deg(sessions, "hamstring_seated", last=2) == 102.0
    assert usual_depth_deg(sessions, "glute_figure4") is None
