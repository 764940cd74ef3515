"""The people of the web app, stored in the history database (``people`` table, schema v3)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hamflex.history.store import open_history, person_key, transaction

SEXES = ("female", "male")
MAX_NAME_CHARS = 200
MAX_NOTE_CHARS = 2000


class PersonError(ValueError):
    """A person's fields are not acceptable (empty name, unknown sex, too long)."""


@dataclass(frozen=True)
class Person:
    """One person: ``sex`` (None = not given) picks the norms' cut-offs."""

    id: int
    name: str
    sex: str | None
    note: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Person:
        return cls(**{key: data[key] for key in ("id", "name", "sex", "note", "created_at")})


_COLUMNS = "id, name, sex, note, created_at"


def _checked(name: str, sex: str | None, note: str) -> tuple[str, str | None, str]:
    name = " ".join(str(name).split())
    if not name:
        raise PersonError("a person's name cannot be empty")
    if len(name) > MAX_NAME_CHARS or len(note) > MAX_NOTE_CHARS:
        raise PersonError(f"name at most {MAX_NAME_CHARS} characters, note at most {MAX_NOTE_CHARS}")
    sex = sex or None
    if sex is not None and sex not in SEXES:
        raise PersonError(f"sex must be one of {', '.join(SEXES)} or empty, not {sex!r}")
    return name, sex, str(note).strip()


def add_person(db_path: Path, name: str, sex: str | None = None, note: str = "") -> Person:
    """Store a new person and return it with its id."""
    name, sex, note = _checked(name, sex, note)
    created_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with open_history(db_path) as connection, transaction(connection):
        cursor = connection.execute(
            "INSERT INTO people (name, person_key, sex, note, created_at) VALUES (?, ?, ?, ?, ?)",
            (name, person_key(name), sex, note, created_at))
        return Person(int(cursor.lastrowid), name, sex, note, created_at)


def list_people(db_path: Path, query: str = "") -> list[Person]:
    """Everyone, by name; ``query`` keeps those whose name or note contains it (any case)."""
    with open_history(db_path) as connection:
        rows = connection.execute(f"SELECT {_COLUMNS} FROM people ORDER BY person_key, id").fetchall()
    people = [Person(*row) for row in rows]
    wanted = person_key(query)
    return [p for p in people if wanted in person_key(p.name) or wanted in person_key(p.note)]


def get_person(db_path: Path, person_id: int) -> Person | None:
    """The person with this id, None if there is none."""
    with open_history(db_path) as connection:
        row = connection.execute(f"SELECT {_COLUMNS} FROM people WHERE id = ?", (person_id,)).fetchone()
    return Person(*row) if row else None
