"""The session history: an SQLite database of 90-90 tests, straight leg raises and stretch holds
per person.

The database lives in the user data directory (``platformdirs``), or at ``$HAMFLEX_DB``.
Its schema is versioned with ``PRAGMA user_version`` and migrated forward when opened;
every write is one transaction, and WAL journaling with a busy timeout lets two processes
record sessions at the same time without corrupting it.

On top of the stored sessions: :mod:`~hamflex.history.trends` (per-side deficit trends judged
against the test's minimal detectable change), :mod:`~hamflex.history.adherence` (stretching
against the coached advice) and :mod:`~hamflex.history.export` (CSV / JSON).
"""

from __future__ import annotations

import contextlib
import difflib
import json
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import platformdirs

from hamflex.errors import InputError
from hamflex.core.landmarks import SIDES
from hamflex.outputs.files import json_ready

DB_ENV_VAR = "HAMFLEX_DB"
KINDS = ("test90", "slr", "hold", "routine")
BUSY_TIMEOUT_S = 30.0
WAL_RETRY_S = 0.01

Z_95 = 1.96

# The stretching advice the hold coach enforces (docs/stretches.md, docs/reports.md).
ADVISED_SESSIONS_PER_DAY = (1, 2)
ADVISED_REPS = 5


class HistoryError(InputError):
    """The history database cannot be used (corrupt, or written by a newer hamflex)."""


def default_db_path() -> Path:
    """``$HAMFLEX_DB`` if set, else ``history.sqlite3`` in the user data directory."""
    override = os.environ.get(DB_ENV_VAR)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir("hamflex")) / "history.sqlite3"


def person_key(person: str) -> str:
    """How names are matched: case and repeated spaces do not make a new person."""
    return " ".join(person.split()).casefold()


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def side_results(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``sides`` of a test90 or slr result keyed by side (accepts a mapping or a list)."""
    sides = result.get("sides") or {}
    if isinstance(sides, list):
        return {str(entry.get("side")): entry for entry in sides if isinstance(entry, dict)}
    return {str(side): entry for side, entry in sides.items() if isinstance(entry, dict)}


def summary_values(kind: str, result: dict[str, Any]) -> dict[str, float | None]:
    """The numbers stored beside the full result for queries, trends and exports (the leg
    raise's from its result only: they are no database columns)."""
    values: dict[str, float | None] = {
        "left_deficit_deg": None,
        "right_deficit_deg": None,
        "valid_seconds_total": None,
        "reps_completed": None,
        "left_slr_hip_flexion_deg": None,
        "right_slr_hip_flexion_deg": None,
    }
    if kind in ("test90", "slr"):
        name, mean = ("deficit_deg", "mean_deficit_deg") if kind == "test90" else (
            "slr_hip_flexion_deg", "mean_hip_flexion_deg")
        for side, entry in side_results(result).items():
            if side in SIDES:
                values[f"{side}_{name}"] = _number(entry.get(mean))
    elif kind in ("hold", "routine"):
        values["valid_seconds_total"] = _number(result.get("valid_seconds_total"))
        steps = result.get("steps")
        reps = _number(result.get("reps_completed") if steps is None else
                       sum(_number(step.get("reps_completed")) or 0 for step in steps))
        values["reps_completed"] = int(reps) if reps is not None else None
    return values


# ---------------------------------------------------------------------------- schema
def _create_v1(connection: sqlite3.Connection) -> None:
    connection.execute(
        """CREATE TABLE sessions (
               id INTEGER PRIMARY KEY,
               kind TEXT NOT NULL,
               person TEXT NOT NULL,
               recorded_at TEXT NOT NULL,
               source TEXT NOT NULL,
               result_json TEXT NOT NULL
           )"""
    )


def _summary_columns_v2(connection: sqlite3.Connection) -> None:
    """v2: a normalised person key and the summary numbers as columns, backfilled."""
    for column in ("person_key TEXT", "left_deficit_deg REAL", "right_deficit_deg REAL",
                   "valid_seconds_total REAL", "reps_completed INTEGER"):
        connection.execute(f"ALTER TABLE sessions ADD COLUMN {column}")
    rows = connection.execute("SELECT id, kind, person, result_json FROM sessions").fetchall()
    for session_id, kind, person, result_json in rows:
        values = summary_values(kind, json.loads(result_json))
        connection.execute(
            "UPDATE sessions SET person_key = ?, left_deficit_deg = ?, right_deficit_deg = ?,"
            " valid_seconds_total = ?, reps_completed = ? WHERE id = ?",
            (person_key(person), values["left_deficit_deg"], values["right_deficit_deg"],
             values["valid_seconds_total"], values["reps_completed"], session_id),
        )
    connection.execute("CREATE INDEX sessions_person_time ON sessions (person_key, recorded_at)")


def _people_v3(connection: sqlite3.Connection) -> None:
    """v3: the people of the web app (name, sex for the norms, note) and its analyses, each
    queued or run on an uploaded file; existing sessions are untouched."""
    connection.execute(
        """CREATE TABLE people (
               id INTEGER PRIMARY KEY,
               name TEXT NOT NULL,
               person_key TEXT NOT NULL,
               sex TEXT,
               note TEXT NOT NULL DEFAULT '',
               created_at TEXT NOT NULL
           )"""
    )
    connection.execute(
        """CREATE TABLE analyses (
               id INTEGER PRIMARY KEY,
               person_id INTEGER NOT NULL REFERENCES people (id),
               protocol TEXT NOT NULL,
               stretch TEXT,
               status TEXT NOT NULL,
               progress REAL NOT NULL DEFAULT 0,
               error TEXT,
               folder TEXT NOT NULL,
               upload TEXT NOT NULL,
               session_id INTEGER REFERENCES sessions (id),
               created_at TEXT NOT NULL
           )"""
    )
    connection.execute("CREATE INDEX analyses_person ON analyses (person_id, created_at)")


# MIGRATIONS[i] takes a database from user_version i to i + 1.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_create_v1, _summary_columns_v2, _people_v3)
SCHEMA_VERSION = len(MIGRATIONS)


@contextlib.contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK on any error): writers queue on the busy timeout."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _schema_version(connection: sqlite3.Connection, path: Path) -> int:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise HistoryError(
            f"{path}: history schema version {version} is newer than this hamflex understands"
            f" ({SCHEMA_VERSION}); upgrade hamflex"
        )
    return version


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to date; the version is re-read under the write lock, so two
    processes opening an old database migrate it once."""
    if _schema_version(connection, path) == SCHEMA_VERSION:
        return
    with transaction(connection):
        version = _schema_version(connection, path)
        for migration in MIGRATIONS[version:]:
            migration(connection)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _check_location(path: Path) -> None:
    """Refuse, in one line, a database path that is a folder or lies under a file."""
    if path.is_dir():
        raise HistoryError(f"{path}: is a folder, not a history database file"
                           f" (give a file name, e.g. {path / 'history.sqlite3'})")
    for folder in path.parents:
        if folder.exists():
            if not folder.is_dir():
                raise HistoryError(f"{path}: the history database cannot be created there:"
                                   f" {folder} is a file, not a folder")
            return


def _use_wal(connection: sqlite3.Connection) -> None:
    """Switch to WAL journaling. The switch needs an exclusive lock, and when two processes
    race to set up a new database SQLite answers "database is locked" at once instead of
    waiting on the busy timeout, so retry until that timeout."""
    deadline_s = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline_s:
                raise
            time.sleep(WAL_RETRY_S)


def history_exists(db_path: Path | None = None) -> bool:
    """Whether the database file exists (a bad location is a :class:`HistoryError`)."""
    path = Path(db_path) if db_path is not None else default_db_path()
    _check_location(path)
    return path.is_file()


@contextlib.contextmanager
def open_history(db_path: Path | None = None) -> Iterator[sqlite3.Connection]:
    """An open, migrated connection (autocommit mode; write with :func:`transaction`).

    Creates the database (and its folders) if missing: only writers should open one that
    may not exist yet (readers check :func:`history_exists` first).
    """
    path = Path(db_path) if db_path is not None else default_db_path()
    _check_location(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except (OSError, sqlite3.Error) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise HistoryError(f"{path}: the history database cannot be opened or created there ({reason})") from None
    try:
        try:
            connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            _use_wal(connection)
            connection.execute("PRAGMA synchronous = NORMAL")
            _migrate(connection, path)
        except sqlite3.DatabaseError as error:
            raise HistoryError(f"{path}: not a usable hamflex history database ({error})") from None
        yield connection
    finally:
        connection.close()


# -------------------------------------------------------------------------- sessions
@dataclass(frozen=True)
class Session:
    """One recorded test or stretch session."""

    id: int
    kind: str
    person: str
    recorded_at: datetime
    source: str
    result: dict[str, Any]

    def deficit_deg(self, side: str) -> float | None:
        """Mean knee extension deficit of a side (test90 sessions), None if not tested."""
        return summary_values(self.kind, self.result)[f"{side}_deficit_deg"]

    def summary(self) -> dict[str, float | None]:
        return summary_values(self.kind, self.result)


def _utc(moment: datetime | None) -> datetime:
    moment = moment or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc)


def record_session(kind: str, person: str, result: Any, source: str, db_path: Path | None = None,
                   *, recorded_at: datetime | None = None) -> int:
    """Store one session (``kind`` "test90", "slr", "hold" or "routine"; ``result`` typed or its JSON form) and
    return its id. ``recorded_at`` defaults to now; a naive datetime is taken as local time.
    """
    result = result.to_dict() if hasattr(result, "to_dict") else result
    if kind not in KINDS:
        raise ValueError(f"unknown session kind {kind!r}; expected one of {', '.join(KINDS)}")
    name = " ".join(str(person).split())
    if not name:
        raise ValueError("a person's name cannot be empty")
    values = summary_values(kind, result)
    result_json = json.dumps(json_ready(result), ensure_ascii=False, sort_keys=True)
    with open_history(db_path) as connection, transaction(connection):
        cursor = connection.execute(
            "INSERT INTO sessions (kind, person, person_key, recorded_at, source, result_json,"
            " left_deficit_deg, right_deficit_deg, valid_seconds_total, reps_completed)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, name, person_key(name), _utc(recorded_at).isoformat(timespec="seconds"), str(source),
             result_json, values["left_deficit_deg"], values["right_deficit_deg"],
             values["valid_seconds_total"], values["reps_completed"]),
        )
        return int(cursor.lastrowid)


def replace_session_result(session_id: int, result: Any, db_path: Path | None = None) -> None:
    """Store a revised result of a recorded session (a trial corrected by hand), summary included."""
    result = result.to_dict() if hasattr(result, "to_dict") else result
    with open_history(db_path) as connection, transaction(connection):
        kind = connection.execute("SELECT kind FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if kind is None:
            raise HistoryError(f"no session {session_id} in the history")
        values = summary_values(kind[0], result)
        connection.execute(
            "UPDATE sessions SET result_json = ?, left_deficit_deg = ?, right_deficit_deg = ?,"
            " valid_seconds_total = ?, reps_completed = ? WHERE id = ?",
            (json.dumps(json_ready(result), ensure_ascii=False, sort_keys=True), values["left_deficit_deg"],
             values["right_deficit_deg"], values["valid_seconds_total"], values["reps_completed"], session_id))


def list_sessions(person: str | None = None, kind: str | None = None,
                  db_path: Path | None = None) -> list[Session]:
    """Sessions in time order, optionally of one person (matched by :func:`person_key`) and kind.

    Only reads: a database that does not exist yet has no sessions and is not created.
    """
    if not history_exists(db_path):
        return []
    query = "SELECT id, kind, person, recorded_at, source, result_json FROM sessions WHERE 1 = 1"
    parameters: list[str] = []
    if person is not None:
        query += " AND person_key = ?"
        parameters.append(person_key(person))
    if kind is not None:
        query += " AND kind = ?"
        parameters.append(kind)
    query += " ORDER BY recorded_at, id"
    with open_history(db_path) as connection:
        rows = connection.execute(query, parameters).fetchall()
    return [
        Session(id=row[0], kind=row[1], person=row[2], recorded_at=datetime.fromisoformat(row[3]),
                source=row[4], result=json.loads(row[5]))
        for row in rows
    ]


def persons(sessions: Iterable[Session]) -> list[str]:
    """Distinct people in order of first appearance (their first spelling)."""
    seen: dict[str, str] = {}
    for session in sessions:
        seen.setdefault(person_key(session.person), session.person)
    return list(seen.values())


def known_persons(db_path: Path | None = None) -> list[str]:
    """Everyone in the database (first spelling), in order of their first session; reads only."""
    if not history_exists(db_path):
        return []
    with open_history(db_path) as connection:
        rows = connection.execute("SELECT person FROM sessions ORDER BY recorded_at, id").fetchall()
    seen: dict[str, str] = {}
    for (name,) in rows:
        seen.setdefault(person_key(name), name)
    return list(seen.values())


def closest_persons(person: str, known: Iterable[str], limit: int = 5) -> list[str]:
    """Up to ``limit`` stored names most like ``person``: those containing it (or one of its
    words), so a first name finds "Anna Smith"; if none does, the most similar spellings."""
    wanted = person_key(person)
    words = set(wanted.split())
    names = list(known)
    containing = [n for n in names if wanted and (wanted in person_key(n) or words & set(person_key(n).split()))]
    candidates = containing or names
    return sorted(candidates, key=lambda n: difflib.SequenceMatcher(None, wanted, person_key(n)).ratio(),
                  reverse=True)[:limit]


def empty_history_message(person: str | None = None, db_path: Path | None = None) -> str:
    """Why a query found no session, with the stored names closest to ``person`` to retry with."""
    path = Path(db_path) if db_path is not None else default_db_path()
    if not history_exists(path):
        return f"no sessions recorded yet: {path} does not exist (test90 or hold with --person creates it)"
    known = known_persons(path)
    if person is None or not known:
        return f"no sessions recorded yet in {path}"
    return f"no sessions recorded for {person!r} in {path}; known: {', '.join(closest_persons(person, known))}"
