"""People of the web app in the history database."""

from __future__ import annotations

import pytest

from hamflex.history.store import record_session, list_sessions
from hamflex.web.people import Person, PersonError, add_person, get_person, list_people


def test_people_are_stored_found_and_searched(tmp_path):
    db = tmp_path / "h.sqlite3"
    bob = add_person(db, "  Bob   Jones ", "male", "runner")
    ann = add_person(db, "ann smith", None, "")
    assert bob.name == "Bob Jones" and bob.sex == "male" and get_person(db, bob.id) == bob
    assert [p.name for p in list_people(db)] == ["ann smith", "Bob Jones"]
    assert list_people(db, "RUNNER") == [bob] and list_people(db, "smi") == [ann]
    assert get_person(db, 999) is None
    assert Person.from_dict(bob.to_dict()) == bob


def test_people_live_beside_the_existing_sessions(tmp_path):
    db = tmp_path / "h.sqlite3"
    record_session("test90", "Ann", {"sides": {"left": {"mean_deficit_deg": 20.0}}}, "a.mp4", db)
    add_person(db, "Ann")
    assert [s.deficit_deg("left") for s in list_sessions(db_path=db)] == [20.0]


@pytest.mark.parametrize(("name", "sex", "note", "message"), [
    ("   ", None, "", "empty"),
    ("Ann", "other", "", "sex must be"),
    ("A" * 201, None, "", "at most"),
])
def test_bad_fields_are_refused(tmp_path, name, sex, note, message):
    with pytest.raises(PersonError, match=message):
        add_person(tmp_path / "h.sqlite3", name, sex, note)
