"""The session history with real SQLite files: migrations, concurrent writers, export, trends,
adherence."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import sqlite3
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from hamflex.history import store as history
from hamflex.history.trends import (
    IMPROVEMENT,
    LOSS,
    WITHIN_ERROR,
    classify_change,
    deficit_trends,
    minimal_detectable_change_deg,
)
from hamflex.history.adherence import MISSED, REST, STRETCHED, TODAY, TOO_MANY, stretching_adherence
from hamflex.history.store import (
    SCHEMA_VERSION,
    HistoryError,
    Session,
    closest_persons,
    empty_history_message,
    known_persons,
    list_sessions,
    record_session,
    replace_session_result,
)
from hamflex.history.export import export_sessions


def make_test90_result(left: float | None, right: float | None) -> dict:
    """A test90.json-shaped result with the given side means."""
    sides = {side: {"trials": 3, "mean_deficit_deg": value, "sd_deg": 1.0, "grade": "normal", "note": None}
             for side, value in (("left", left), ("right", right)) if value is not None}
    return {"schema_version": 1, "test": "90-90", "trials": [], "sides": sides}


def make_hold_result(valid_s: float = 150.0, reps: int = 5) -> dict:
    return {"schema_version": 1, "stretch": "hamstring_supine", "reps": [], "valid_seconds_total": valid_s,
            "reps_completed": reps, "percent_time_valid": 90.0}


def at(day: date, hour: int = 12) -> datetime:
    """Local noon of a day (the adherence rules work in local days)."""
    return datetime(day.year, day.month, day.day, hour).astimezone()


# ----------------------------------------------------------------------------- schema
def test_new_database_is_created_at_the_current_schema_with_wal(tmp_path):
    db = tmp_path / "sub" / "history.sqlite3"
    record_session("test90", "Anna", make_test90_result(20, 15), "clip.mp4", db)
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_version_1_database_is_migrated_forward_and_backfilled(tmp_path):
    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as connection:  # the v1 schema, written by hand
        connection.execute("CREATE TABLE sessions (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, person TEXT NOT NULL,"
                           " recorded_at TEXT NOT NULL, source TEXT NOT NULL, result_json TEXT NOT NULL)")
        connection.execute("INSERT INTO sessions (kind, person, recorded_at, source, result_json) VALUES (?, ?, ?, ?, ?)",
                           ("test90", "Anna  Smith", "2026-01-05T10:00:00+00:00", "a.mp4",
                            json.dumps(make_test90_result(24.5, 18.0))))
        connection.execute("INSERT INTO sessions (kind, person, recorded_at, source, result_json) VALUES (?, ?, ?, ?, ?)",
                           ("hold", "anna smith", "2026-01-06T10:00:00+00:00", "camera 0", json.dumps(make_hold_result(120, 4))))
        connection.execute("PRAGMA user_version = 1")
    connection.close()

    sessions = list_sessions("ANNA SMITH", db_path=db)

    assert [s.kind for s in sessions] == ["test90", "hold"]
    assert sessions[0].deficit_deg("left") == 24.5
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"people", "analyses"} <= tables  # v3: the web app's people and analyses, empty
        assert connection.execute("SELECT COUNT(*) FROM people").fetchone()[0] == 0
        rows = connection.execute("SELECT person_key, left_deficit_deg, right_deficit_deg, valid_seconds_total,"
                                  " reps_completed FROM sessions ORDER BY id").fetchall()
        indexes = [row[1] for row in connection.execute("PRAGMA index_list(sessions)")]
    connection.close()
    assert rows == [("anna smith", 24.5, 18.0, None, None), ("anna smith", None, None, 120.0, 4)]
    assert "sessions_person_time" in indexes
    # A new session lands beside the migrated ones.
    record_session("test90", "Anna Smith", make_test90_result(20, 17), "b.mp4", db)
    assert len(list_sessions("anna smith", db_path=db)) == 3


def test_a_revised_result_replaces_the_stored_one_and_its_summary(tmp_path):
    db = tmp_path / "h.sqlite3"
    first = record_session("test90", "Ann", make_test90_result(24.5, 18.0), "a.mp4", db)
    record_session("test90", "Ann", make_test90_result(30.0, 30.0), "b.mp4", db)
    replace_session_result(first, make_test90_result(10.0, 18.0), db)
    assert [s.deficit_deg("left") for s in list_sessions("Ann", db_path=db)] == [10.0, 30.0]
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT left_deficit_deg FROM sessions WHERE id = ?", (first,)).fetchone()[0] == 10.0
    connection.close()
    with pytest.raises(HistoryError, match="no session 99"):
        replace_session_result(99, make_test90_result(1.0, 1.0), db)


def test_a_database_from_a_newer_hamflex_is_refused(tmp_path):
    db = tmp_path / "future.sqlite3"
    with sqlite3.connect(db) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(HistoryError, match="newer"):
        list_sessions(db_path=db)


def test_a_file_that_is_not_a_database_is_reported(tmp_path):
    db = tmp_path / "garbage.sqlite3"
    db.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(HistoryError, match="not a usable hamflex history"):
        record_session("hold", "Anna", make_hold_result(), "x", db)
    assert HistoryError.exit_code == 3


def test_the_database_path_comes_from_HAMFLEX_DB(tmp_path, monkeypatch):
    db = tmp_path / "env.sqlite3"
    monkeypatch.setenv("HAMFLEX_DB", str(db))
    record_session("hold", "Anna", make_hold_result(), "camera 0")
    assert db.is_file()
    assert len(list_sessions()) == 1


def test_bad_sessions_are_refused_before_writing(tmp_path):
    db = tmp_path / "h.sqlite3"
    with pytest.raises(ValueError, match="kind"):
        record_session("yoga", "Anna", {}, "x", db)
    with pytest.raises(ValueError, match="empty"):
        record_session("hold", "   ", make_hold_result(), "x", db)
    assert list_sessions(db_path=db) == []


# ------------------------------------------------------------------- bad locations
def test_a_folder_given_as_the_database_is_one_clear_error(tmp_path):
    for use in (lambda: list_sessions(db_path=tmp_path), lambda: record_session("hold", "Anna", make_hold_result(), "x", tmp_path)):
        with pytest.raises(HistoryError, match=r"is a folder, not a history database file") as caught:
            use()
        assert str(tmp_path) in str(caught.value) and "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_a_database_under_a_regular_file_says_why_it_cannot_be_created(tmp_path):
    regular = tmp_path / "regfile"
    regular.write_text("not a folder", encoding="utf-8")
    db = regular / "sub" / "h.sqlite3"
    for use in (lambda: record_session("hold", "Anna", make_hold_result(), "x", db), lambda: list_sessions(db_path=db)):
        with pytest.raises(HistoryError, match=r"cannot be created there: .*regfile is a file, not a folder"):
            use()
    assert regular.read_text(encoding="utf-8") == "not a folder"


def test_read_only_queries_never_create_the_database(tmp_path):
    db = tmp_path / "deep" / "er" / "x.sqlite3"
    assert list_sessions("anna", db_path=db) == []
    assert known_persons(db) == []
    assert "no sessions recorded yet" in empty_history_message("anna", db)
    assert list(tmp_path.iterdir()) == []  # no folders, no empty database
    record_session("hold", "Anna", make_hold_result(), "x", db)  # only a writer creates it
    assert db.is_file()


# ------------------------------------------------------------------- unknown names
def test_an_unknown_name_lists_the_closest_stored_names(tmp_path):
    db = tmp_path / "h.sqlite3"
    for name in ("Anna Smith", "Ben Jones", "anna  SMITH", "Joanna Smithers"):
        record_session("hold", name, make_hold_result(), "x", db)
    assert known_persons(db) == ["Anna Smith", "Ben Jones", "Joanna Smithers"]
    assert list_sessions("anna", db_path=db) == []

    message = empty_history_message("anna", db)

    assert message.startswith("no sessions recorded for 'anna'") and message.endswith("known: Anna Smith, Joanna Smithers")
    assert closest_persons("bne jnoes", known_persons(db))[0] == "Ben Jones"  # no shared word: by spelling
    assert closest_persons("smith", ["Bob", "Anna Smith"], limit=1) == ["Anna Smith"]
    assert empty_history_message(None, db) != message


# ------------------------------------------------------------------ concurrent writers
def _write_many(db: str, person: str, count: int, start) -> None:
    start.wait(timeout=60)
    for i in range(count):
        record_session("hold", person, make_hold_result(100 + i), f"{person}-{i}", Path(db))


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    db = tmp_path / "shared.sqlite3"  # not created yet: both processes also race to create and migrate it
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)  # both begin writing at the same moment
    writers = [context.Process(target=_write_many, args=(str(db), name, 100, start)) for name in ("A", "B")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert [writer.exitcode for writer in writers] == [0, 0]

    sessions = list_sessions(db_path=db)
    assert len(sessions) == 200
    assert len({s.id for s in sessions}) == 200
    for name in ("A", "B"):
        assert sorted(s.source for s in sessions if s.person == name) == sorted(f"{name}-{i}" for i in range(100))
    ids = {name: [s.id for s in sessions if s.person == name] for name in ("A", "B")}
    assert min(ids["A"]) < max(ids["B"]) and min(ids["B"]) < max(ids["A"])  # the writes really interleaved
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    connection.close()


# ---------------------------------------------------------------------------- export
def test_export_round_trips_through_csv_and_json(tmp_path):
    db = tmp_path / "h.sqlite3"
    record_session("test90", "Zoë, \"the\" tester", make_test90_result(21.5, None), "videos/a,b.mp4", db,
                   recorded_at=datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc))
    record_session("hold", "Zoë, \"the\" tester", make_hold_result(142.25, 5), "line\nbreak", db,
                   recorded_at=datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc))
    sessions = list_sessions(db_path=db)

    def rebuilt(rows: list[dict], result_of) -> list[Session]:
        return [Session(id=int(r["id"]), kind=r["kind"], person=r["person"],
                        recorded_at=datetime.fromisoformat(r["recorded_at"]), source=r["source"],
                        result=result_of(r)) for r in rows]

    json_rows = json.loads(export_sessions(sessions, "json"))
    assert rebuilt(json_rows, lambda r: r["result"]) == sessions
    assert json_rows[0]["left_deficit_deg"] == 21.5 and json_rows[1]["valid_seconds_total"] == 142.25

    csv_rows = list(csv.DictReader(io.StringIO(export_sessions(sessions, "csv"))))
    assert rebuilt(csv_rows, lambda r: json.loads(r["result"])) == sessions
    assert csv_rows[0]["left_deficit_deg"] == "21.5" and csv_rows[0]["right_deficit_deg"] == ""

    with pytest.raises(ValueError, match="csv or json"):
        export_sessions(sessions, "xml")


# ---------------------------------------------------------------------------- trends
def test_mdc_follows_the_formula_with_the_norms_sem():
    assert minimal_detectable_change_deg(3.0) == pytest.approx(1.96 * 2 ** 0.5 * 3.0)
    assert minimal_detectable_change_deg() == pytest.approx(8.3, abs=0.05)  # norms.toml: SEM 3°


@pytest.mark.parametrize(
    ("change_deg", "verdict"),
    [(-9.0, IMPROVEMENT), (9.0, LOSS), (-8.0, WITHIN_ERROR), (8.0, WITHIN_ERROR), (0.0, WITHIN_ERROR),
     (-8.3, WITHIN_ERROR)],
)
def test_a_change_is_real_only_beyond_the_mdc(change_deg, verdict):
    assert classify_change(change_deg, 8.3) == verdict


def test_trends_per_side_from_recorded_sessions(tmp_path):
    db = tmp_path / "h.sqlite3"
    start = datetime(2026, 2, 1, 10, tzinfo=timezone.utc)
    for week, (left, right) in enumerate([(30.0, 20.0), (27.0, 21.0), (19.0, 22.0)]):
        record_session("test90", "Anna", make_test90_result(left, right), "a.mp4", db, recorded_at=start + timedelta(weeks=week))
    record_session("hold", "Anna", make_hold_result(), "camera 0", db, recorded_at=start)
    record_session("test90", "Ben", make_test90_result(50.0, 50.0), "b.mp4", db, recorded_at=start)

    trends = {t.side: t for t in deficit_trends(list_sessions("anna", db_path=db), mdc_deg=8.3)}

    assert trends["left"].deficits_deg == (30.0, 27.0, 19.0)
    assert trends["left"].change_from_first_deg == -11.0 and trends["left"].verdict == IMPROVEMENT
    assert trends["left"].change_from_previous_deg == -8.0 and trends["left"].verdict_since_previous == WITHIN_ERROR
    assert trends["right"].change_from_first_deg == 2.0 and trends["right"].verdict == WITHIN_ERROR
    only_one = deficit_trends(list_sessions("ben", db_path=db), mdc_deg=8.3)
    assert [t.verdict for t in only_one] == ["one session: no trend yet"] * 2


def test_a_side_never_tested_has_no_trend(tmp_path):
    db = tmp_path / "h.sqlite3"
    record_session("test90", "Anna", make_test90_result(None, 20.0), "a.mp4", db)
    assert [t.side for t in deficit_trends(list_sessions(db_path=db))] == ["right"]


# ------------------------------------------------------------------------- adherence
def sessions_on(days: dict[date, int], reps: int = 5) -> list[Session]:
    sessions = []
    for day, count in days.items():
        for i in range(count):
            sessions.append(Session(len(sessions) + 1, "hold", "Anna", at(day, 8 + i), "camera 0", make_hold_result(reps=reps)))
    return sessions


def test_daily_stretching_is_fully_on_plan():
    today = date(2026, 3, 28)
    sessions = sessions_on({today - timedelta(days=i): 1 for i in range(28)})
    adherence = stretching_adherence(sessions, today=today, weeks=4)
    assert len(adherence.days) == 28
    assert adherence.fraction_on_plan == 1.0
    assert adherence.sessions == 28 and adherence.full_sessions == 28
    assert adherence.sessions_per_day == pytest.approx(1.0)
    assert [rate for _, rate in adherence.weekly_sessions_per_day()] == [1.0] * 4


def test_a_single_rest_day_is_allowed_but_two_in_a_row_are_missed():
    today = date(2026, 3, 10)
    # Stretched on 1, 3 (rest on 2), 4 with three sessions, then nothing on 5 and 6, stretched 7-10.
    counts = {date(2026, 3, d): n for d, n in ((1, 1), (3, 2), (4, 3), (7, 1), (8, 1), (9, 1), (10, 1))}
    adherence = stretching_adherence(sessions_on(counts), today=today, weeks=2)
    status = {d.day.day: d.status for d in adherence.days}
    assert adherence.days[0].day == date(2026, 3, 1)  # days before the first session are not judged
    assert status == {1: STRETCHED, 2: REST, 3: STRETCHED, 4: TOO_MANY, 5: MISSED, 6: MISSED,
                      7: STRETCHED, 8: STRETCHED, 9: STRETCHED, 10: STRETCHED}
    assert adherence.missed_days == 2
    assert adherence.fraction_on_plan == pytest.approx(7 / 10)
    assert adherence.sessions == 10


def test_an_empty_today_is_not_judged_and_short_sessions_are_not_full():
    today = date(2026, 3, 10)
    adherence = stretching_adherence(sessions_on({date(2026, 3, 8): 1, date(2026, 3, 9): 2}, reps=3),
                                     today=today, weeks=1)
    assert adherence.days[-1].status == TODAY
    assert [d.day for d in adherence.judged_days] == [date(2026, 3, 8), date(2026, 3, 9)]
    assert adherence.sessions_per_day == pytest.approx(1.5)
    assert adherence.full_sessions == 0
    assert "0 sessions with 5 full reps" in adherence.summary


def test_no_stretching_at_all():
    adherence = stretching_adherence(sessions_on({}), today=date(2026, 3, 10), weeks=1)
    assert adherence.sessions == 0
    assert adherence.summary == "no stretch sessions in the last 7 days"


def test_test90_sessions_do_not_count_as_stretching(tmp_path):
    db = tmp_path / "h.sqlite3"
    record_session("test90", "Anna", make_test90_result(20, 20), "a.mp4", db)
    assert stretching_adherence(list_sessions(db_path=db)).sessions == 0
    assert history.persons(list_sessions(db_path=db)) == ["Anna"]


def test_history_command_suggests_known_names(tmp_path):
    from typer.testing import CliRunner

    from hamflex.cli import app

    db = tmp_path / "h.sqlite3"
    history.record_session("test90", "Anna Smith", {"trials": [], "sides": {}}, "clip.mp4", db_path=db)
    shown = CliRunner().invoke(app, ["history", "--person", "anna", "--db", str(db)])
    assert shown.exit_code == 0
    assert "known: Anna Smith" in shown.stdout


def test_a_leg_raise_is_stored_with_its_hip_flexion_and_exported(tmp_path):
    db = tmp_path / "h.sqlite3"
    result = {"test": "active straight leg raise", "trials": [],
              "sides": {"right": {"trials": 2, "invalid_trials": 0, "mean_hip_flexion_deg": 72.5}}}
    record_session("slr", "Ann", result, "raise.mp4", db)
    [session] = list_sessions("ann", "slr", db_path=db)
    summary = session.summary()
    assert summary["right_slr_hip_flexion_deg"] == 72.5 and summary["left_slr_hip_flexion_deg"] is None
    assert summary["right_deficit_deg"] is None  # a leg raise is no 90-90 deficit
    rows = list(csv.DictReader(io.StringIO(export_sessions([session], "csv"))))
    assert rows[0]["kind"] == "slr" and rows[0]["right_slr_hip_flexion_deg"] == "72.5"
