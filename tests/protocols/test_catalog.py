"""A clinic's own stretches (``--catalog`` / $HAMFLEX_CATALOG) join the built-in ones; a stretch's
own ``hold_s`` / ``reps`` take effect unless the user gives others; bad entries are one clear line."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hamflex.cli import app
from hamflex.pipelines.api import hold_protocol
from hamflex.protocols.catalog import CATALOG_ENV_VAR, CatalogError, UnknownStretchError, load_catalog

CLINIC_STRETCH = """schema_version = 1

[[stretch]]
name = "clinic_long_sit"
group = "hamstring"
title = "Long-sitting reach (clinic)"
description = "Sit with both legs straight and reach for the toes."
view = "side"
hold_s = 25
reps = 3
tested_leg = { rule = "visible" }
stretch_angle = { column = "hip_flexion_deg", role = "tested" }

[[stretch.check]]
name = "knee_straight"
column = "knee_flexion_deg"
role = "tested"
max = 20.0
cue = "straighten your knee"
"""


@pytest.fixture
def clinic_file(tmp_path):
    path = tmp_path / "clinic.toml"
    path.write_text(CLINIC_STRETCH, encoding="utf-8")
    return path


def test_a_user_catalog_adds_to_the_built_in_stretches(clinic_file):
    built_in = load_catalog()
    catalog = load_catalog(clinic_file)
    assert set(catalog) == set(built_in) | {"clinic_long_sit"}
    assert catalog["clinic_long_sit"].rest_s == built_in["hamstring_supine"].rest_s  # packaged defaults fill gaps


def test_the_stretch_s_own_hold_and_reps_take_effect(clinic_file):
    protocol = hold_protocol("clinic_long_sit", catalog=clinic_file)
    assert (protocol.hold_s, protocol.reps_per_side) == (25.0, 3)
    result = protocol.result()
    assert (result.hold_s_target, result.reps_target) == (25.0, 3)
    chosen = hold_protocol("clinic_long_sit", catalog=clinic_file, hold_s=40, reps=2)
    assert (chosen.hold_s, chosen.reps_per_side) == (40.0, 2)


def test_the_environment_variable_names_the_catalog(clinic_file, monkeypatch):
    monkeypatch.setenv(CATALOG_ENV_VAR, str(clinic_file))
    assert "clinic_long_sit" in load_catalog()
    monkeypatch.delenv(CATALOG_ENV_VAR)
    with pytest.raises(UnknownStretchError):
        hold_protocol("clinic_long_sit")


@pytest.mark.parametrize(("change", "names"), [
    (lambda text: text.replace('name = "clinic_long_sit"', 'name = "hamstring_supine"'), ["hamstring_supine", "twice"]),
    (lambda text: text + text.split("schema_version = 1", 1)[1], ["clinic_long_sit", "twice"]),
    (lambda text: text.replace('column = "knee_flexion_deg"', 'column = "knee_bend_deg"'),
     ["clinic_long_sit", "knee_straight", "knee_bend_deg"]),
    (lambda text: text.replace('cue = "straighten your knee"\n', ""), ["clinic_long_sit", "knee_straight", "'cue'"]),
    (lambda text: text.replace("hold_s = 25", "hold_s = 5"), ["clinic_long_sit", "hold_s"]),
    (lambda text: text.replace("[[stretch]]", "[[stretch]"), ["TOML"]),
])
def test_a_bad_catalog_is_one_line_naming_file_entry_and_field(clinic_file, change, names):
    clinic_file.write_text(change(CLINIC_STRETCH), encoding="utf-8")
    with pytest.raises(CatalogError) as refused:
        load_catalog(clinic_file)
    message = str(refused.value)
    assert message.startswith(str(clinic_file)) and "\n" not in message
    for name in names:
        assert name in message


def test_the_cli_lists_and_refuses_through_the_catalog_option(clinic_file, tmp_path):
    runner = CliRunner()
    listed = runner.invoke(app, ["stretches", "--catalog", str(clinic_file)])
    assert listed.exit_code == 0 and "clinic_long_sit" in listed.stdout and "hamstring_supine" in listed.stdout
    broken = tmp_path / "broken.toml"
    broken.write_text(CLINIC_STRETCH.replace("view = \"side\"", "view = \"above\""), encoding="utf-8")
    refused = runner.invoke(app, ["stretches", "--catalog", str(broken)])
    assert refused.exit_code == 3
    assert refused.stderr.startswith("hamflex: error: ") and str(broken) in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    missing = runner.invoke(app, ["stretches", "--catalog", str(tmp_path / "none.toml")])
    assert missing.exit_code == 3 and "none.toml" in missing.stderr


def test_hold_command_without_hold_s_uses_the_stretch_s_own(clinic_file, shared_dir, model_path, tmp_path):
    import json

    done = CliRunner().invoke(app, ["hold", "clinic_long_sit", str(shared_dir / "synthetic" / "flat2d_seated.mp4"),
                                    "--catalog", str(clinic_file), "--out", str(tmp_path), "-q"])
    assert done.exit_code in (0, 7), done.output
    saved = json.loads((tmp_path / "hold.json").read_text())
    assert (saved["hold_s_target"], saved["reps_target"]) == (25, 3)
