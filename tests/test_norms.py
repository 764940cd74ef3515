"""The norms table: one editable file, its packaged copy, and the grades it gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from hamflex.protocols.norms import load_norms, packaged_table_text

REPO_TABLE = Path(__file__).resolve().parents[1] / "calibration" / "norms.toml"


def test_packaged_copy_is_identical_to_the_repository_table():
    assert packaged_table_text() == REPO_TABLE.read_text(encoding="utf-8")


def test_every_number_names_its_source():
    norms = load_norms()
    assert norms.path.endswith("norms.toml")
    for bands in norms.grades.values():
        assert all(band.source for band in bands)
    assert all(reference.source for reference in norms.references.values())
    assert "Reurink" in norms.error_source and "Hamid" in norms.error_source


@pytest.mark.parametrize(("deficit", "sex", "grade"), [
    (20.0, None, "normal"), (20.5, None, "tight"),
    (23.0, "female", "normal"), (24.0, "female", "tight"),
    (30.0, "male", "normal"), (34.0, "male", "tight"),
])
def test_grades_with_sex_specific_cut_offs(deficit, sex, grade):
    assert load_norms().grade(deficit, sex).name == grade


def test_an_edited_table_is_used(tmp_path):
    edited = REPO_TABLE.read_text(encoding="utf-8").replace("max_deficit_deg = 20.0", "max_deficit_deg = 25.0")
    path = tmp_path / "norms.toml"
    path.write_text(edited, encoding="utf-8")
    assert load_norms(path).grade(22.0).name == "normal"
    assert load_norms().grade(22.0).name == "tight"
