"""The norms table: one packaged file, a clinic's own through --norms / $HAMFLEX_NORMS, the grades it gives."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hamflex.cli import app
from hamflex.errors import InputError
from hamflex.protocols.norms import NORMS_ENV_VAR, PACKAGED_TABLE, load_norms, packaged_table_text


def test_every_number_names_its_source():
    norms = load_norms()
    assert norms.path == PACKAGED_TABLE
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


@pytest.fixture
def clinic_norms(tmp_path):
    path = tmp_path / "clinic_norms.toml"
    path.write_text(packaged_table_text().replace("max_deficit_deg = 20.0", "max_deficit_deg = 25.0"), encoding="utf-8")
    return path


def test_a_clinic_table_is_used_by_path_or_environment(clinic_norms, monkeypatch):
    assert load_norms(clinic_norms).grade(22.0).name == "normal"
    assert load_norms().grade(22.0).name == "tight"
    monkeypatch.setenv(NORMS_ENV_VAR, str(clinic_norms))
    assert load_norms().grade(22.0).name == "normal" and load_norms().path == str(clinic_norms)


@pytest.mark.parametrize("text", ["not = [toml", "[measurement_error]\nsem_deg = 3.0\n"])
def test_a_broken_table_is_one_clear_error(tmp_path, text):
    path = tmp_path / "norms.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="norms.toml"):
        load_norms(path)
    with pytest.raises(InputError, match="cannot read"):
        load_norms(tmp_path / "missing.toml")


def test_test90_grades_with_the_clinic_table(clinic_norms, shared_dir, model_path, tmp_path):
    done = CliRunner().invoke(app, ["test90", str(shared_dir / "synthetic" / "flat2d_supine9090.mp4"),
                                    "--norms", str(clinic_norms), "--out", str(tmp_path), "-q"])
    assert done.exit_code == 0, done.output
    saved = json.loads((tmp_path / "test90.json").read_text())
    assert saved["norms"]["table"] == str(clinic_norms)


@pytest.mark.parametrize(("hip_deg", "grade"), [(50.0, "tight"), (79.9, "tight"), (80.0, "normal"), (95.0, "normal")])
def test_straight_leg_raise_grades_name_their_source(hip_deg, grade):
    band = load_norms().grade_raise(hip_deg)
    assert band.name == grade and "Kendall 2005" in band.source


def test_a_clinic_table_without_leg_raise_grades_keeps_the_packaged_ones(tmp_path):
    text = packaged_table_text()
    path = tmp_path / "older.toml"
    path.write_text(text[:text.index("# The active straight leg raise")], encoding="utf-8")
    assert load_norms(path).grade_raise(85.0).name == "normal"
    path.write_text(text.replace("min_hip_flexion_deg = 80.0", "min_hip_flexion_deg = 70.0"), encoding="utf-8")
    assert load_norms(path).grade_raise(75.0).name == "normal"
