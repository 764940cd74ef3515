"""Atomic writes: the final name holds a whole file or nothing; a killed writer's leftovers go."""

from __future__ import annotations

import pytest

from hamflex.outputs.files import atomic_write, remove_stale_temporaries


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "summary.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("half a ")
        raise RuntimeError("killed")
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["summary.csv"]


def test_bytes_are_written_whole(tmp_path):
    with atomic_write(tmp_path / "a" / "picture.jpg", binary=True) as handle:
        handle.write(b"\xff\xd8data")
    assert (tmp_path / "a" / "picture.jpg").read_bytes() == b"\xff\xd8data"


def test_what_a_killed_writer_left_is_removed_and_nothing_else(tmp_path):
    (tmp_path / "clip").mkdir()
    leftovers = [tmp_path / ".summary.csv.x1y2.part", tmp_path / "clip" / ".angles.csv.k9.part"]
    kept = [tmp_path / "summary.csv", tmp_path / "clip" / "angles.csv", tmp_path / "notes.part"]
    for path in leftovers + kept:
        path.write_text("x")
    assert remove_stale_temporaries(tmp_path) == 2
    assert not any(path.exists() for path in leftovers) and all(path.exists() for path in kept)
