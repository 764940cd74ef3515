"""The stretch catalog: every entry's posture checks on synthetic poses, the loader's validation,
the stretch measures, and `hamflex stretches`."""

from __future__ import annotations

import tomllib
from importlib import resources

import numpy as np
import pytest
from typer.testing import CliRunner

from hamflex.cli import app
from hamflex.protocols.hold import FAULT_MOVING, HoldProtocol
from hamflex.core.geometry import ankle_to_other_knee_ratio, stretch_measures
from hamflex.protocols.catalog import (
    MIN_HOLD_S,
    CatalogError,
    UnknownStretchError,
    lookup_stretch,
    load_catalog,
    parse_catalog,
)
from tests.support.synthetic_poses import make_pose
from tests.support.synthetic_stretches import STRETCH_POSES, correct_pose, samples, still

CATALOG = load_catalog()
FAULT_CASES = [(name, check) for name, spec in STRETCH_POSES.items() for check in spec["faults"]]


def packaged_document() -> dict:
    return tomllib.loads(resources.files("hamflex").joinpath("data", "stretches.toml").read_text(encoding="utf-8"))


def verdict_after_still(name: str, frames: int = 12, **changes):
    """The protocol's verdict on the last of ``frames`` frames of a still pose."""
    protocol = HoldProtocol(CATALOG[name])
    for sample in samples(still(correct_pose(name, **changes), frames), np.arange(frames) / 30.0):
        verdict = protocol.evaluate(sample)
    return verdict


def test_catalog_has_the_issue_stretches_by_group():
    groups = {}
    for stretch in CATALOG.values():
        groups.setdefault(stretch.group, set()).add(stretch.name)
    assert groups == {
        "hamstring": {"hamstring_supine", "hamstring_supine_bent_knee", "hamstring_standing", "hamstring_seated",
                      "hamstring_long_sit"},
        "glute": {"glute_seated_cross", "glute_kneeling_cross", "glute_figure4"},
        "piriformis": {"piriformis_knee_to_shoulder", "piriformis_cross_ankle"},
    }
    for stretch in CATALOG.values():
        assert stretch.view in ("side", "front")
        assert stretch.hold_s >= MIN_HOLD_S and stretch.reps >= 5
        assert all(check.cue for check in stretch.checks)


def test_every_check_has_a_synthetic_fault_case():
    """Adding a stretch or a check to the data must come with its synthetic poses here."""
    assert set(STRETCH_POSES) == set(CATALOG)
    for name, stretch in CATALOG.items():
        assert set(STRETCH_POSES[name]["faults"]) == {check.name for check in stretch.checks}, name


@pytest.mark.parametrize("name", sorted(STRETCH_POSES))
@pytest.mark.parametrize("tested_side", ["right", "left"])
def test_correct_pose_passes(name, tested_side):
    verdict = verdict_after_still(name, tested_side=tested_side)
    assert verdict.valid, verdict.faults


@pytest.mark.parametrize(("name", "check"), FAULT_CASES)
def test_each_fault_is_caught_with_its_cue(name, check):
    verdict = verdict_after_still(name, **STRETCH_POSES[name]["faults"][check])
    cue = next(c.cue for c in CATALOG[name].checks if c.name == check)
    assert not verdict.valid
    assert verdict.faults.get(check) == cue


@pytest.mark.parametrize("name", ["hamstring_supine", "glute_figure4"])
def test_posture_with_hidden_legs_is_not_visible(name):
    pose = still(correct_pose(name), 12)
    pose.visibility[..., 23:] = 0.1  # hips, knees, ankles, feet hidden
    protocol = HoldProtocol(CATALOG[name])
    for sample in samples(pose, np.arange(12) / 30.0):
        verdict = protocol.evaluate(sample)
    assert not verdict.valid and "not_visible" in verdict.faults


def test_a_pose_in_motion_is_not_yet_a_hold():
    hips = np.linspace(50.0, 85.0, 30)  # 35 degrees in one second: still moving in
    pose = correct_pose("hamstring_supine", hip=hips)
    protocol = HoldProtocol(CATALOG["hamstring_supine"])
    verdicts = [protocol.evaluate(s) for s in samples(pose, np.arange(30) / 30.0)]
    assert FAULT_MOVING in verdicts[-1].faults


def test_ankle_to_other_knee_ratio():
    crossed = correct_pose("glute_figure4").landmarks_px
    apart = make_pose(hip_flexion_deg=80.0).landmarks_px
    assert ankle_to_other_knee_ratio(crossed, "right") < 0.3
    assert ankle_to_other_knee_ratio(apart, "right") > 1.0
    sequence = np.stack([crossed, apart])
    np.testing.assert_allclose(
        ankle_to_other_knee_ratio(sequence, "right"),
        [ankle_to_other_knee_ratio(crossed, "right"), ankle_to_other_knee_ratio(apart, "right")],
    )
    hidden = np.ones(33)
    hidden[25] = 0.0  # left knee
    measures = stretch_measures(crossed, hidden)
    assert np.isnan(measures["right_ankle_to_other_knee_ratio"])
    assert np.isfinite(measures["left_ankle_to_other_knee_ratio"])
    assert np.isnan(ankle_to_other_knee_ratio(np.zeros((33, 2)), "left"))


def test_unknown_stretch_is_a_usage_error():
    with pytest.raises(UnknownStretchError, match="hamstring_supine") as error:
        lookup_stretch("toe_touch")
    assert error.value.exit_code == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["check"][0].update(column="elbow_flexion_deg"), "unknown"),
        (lambda s: s["check"][0].update(role="tested", column="trunk_to_horizontal_deg"), "unknown per-leg column"),
        (lambda s: s["check"][1].update(min=50.0, max=40.0), "min must be below max"),
        (lambda s: s["check"][1].pop("cue"), "cue"),
        (lambda s: s.update(hold_s=10), "hold_s"),
        (lambda s: s.update(view="top"), "view"),
        (lambda s: s.update(tested_leg={"rule": "largest"}), "rule"),
        (lambda s: s.update(stretch_angle={"column": "ankle_to_other_knee_ratio", "role": "tested"}), "angle"),
        (lambda s: s["check"].append({**s["check"][0]}), "unique"),
    ],
)
def test_malformed_catalog_is_refused(change, message):
    document = packaged_document()
    change(document["stretch"][0])
    with pytest.raises(CatalogError, match=message):
        parse_catalog(document)


def test_a_ratio_check_needs_its_own_hysteresis():
    document = packaged_document()
    figure4 = next(s for s in document["stretch"] if s["name"] == "glute_figure4")
    next(c for c in figure4["check"] if c["column"] == "ankle_to_other_knee_ratio").pop("hysteresis")
    with pytest.raises(CatalogError, match="hysteresis"):
        parse_catalog(document)


def test_adding_a_stretch_is_adding_data(tmp_path):
    """A user catalog's entry joins the built-in stretches and works with no code change; the
    packaged defaults fill what it leaves out (reps)."""
    text = """schema_version = 1

[[stretch]]
name = "hamstring_supine_bent_other"
group = "hamstring"
title = "Supine hamstring stretch, other knee bent"
description = "As the supine stretch, with the other foot flat on the floor."
view = "side"
hold_s = 25
tested_leg = { rule = "max", column = "hip_flexion_deg", margin = 10.0 }
stretch_angle = { column = "hip_flexion_deg", role = "tested" }

[[stretch.check]]
name = "knee_straight"
column = "knee_flexion_deg"
role = "tested"
max = 20.0
cue = "straighten your knee"

[[stretch.check]]
name = "other_knee_bent"
column = "knee_flexion_deg"
role = "other"
min = 60.0
cue = "bend your other knee"
"""
    path = tmp_path / "stretches.toml"
    path.write_text(text, encoding="utf-8")
    catalog = load_catalog(path)
    assert set(CATALOG) < set(catalog)
    stretch = catalog["hamstring_supine_bent_other"]
    assert stretch.hold_s == 25 and stretch.reps == 5
    protocol = HoldProtocol(stretch)
    pose = still(correct_pose("hamstring_supine", other_hip=45.0, other_knee=90.0), 12)
    for sample in samples(pose, np.arange(12) / 30.0):
        verdict = protocol.evaluate(sample)
    assert verdict.valid, verdict.faults


def test_stretches_command_lists_the_catalog():
    result = CliRunner().invoke(app, ["stretches", "--details"])
    assert result.exit_code == 0, result.output
    for name, stretch in CATALOG.items():
        assert name in result.output
        for check in stretch.checks:
            assert check.cue in result.output


@pytest.mark.parametrize(("name", "tested_side"), [("hamstring_supine_bent_knee", "right"),
                                                  ("hamstring_long_sit", "left"), ("glute_kneeling_cross", "right")])
def test_the_variants_count_a_steady_hold_and_not_the_way_in(name, tested_side):
    # 3 s with the depth check failing, then 21 s held still: about 21 valid seconds.
    t = np.arange(int(24 * 30)) / 30.0
    depth_check = next(check for check in CATALOG[name].checks if check.column == "hip_flexion_deg"
                       and check.role == "tested")
    fault = STRETCH_POSES[name]["faults"][depth_check.name]
    correct = STRETCH_POSES[name]["correct"]
    changes = {key: np.where(t < 3.0, fault[key], correct[key]) for key in fault}
    protocol = HoldProtocol(CATALOG[name])
    for sample in samples(correct_pose(name, tested_side=tested_side, **changes), t):
        protocol.update(sample)
    result = protocol.result()
    assert result.valid_seconds_total == pytest.approx(21.0, abs=2.0)
    assert result.reps_completed == 0 and result.reps[0].stretch_angle_deg == pytest.approx(correct["hip"], abs=2.0)
