"""The JSON outputs on the shared clips stay what they were (tests/golden/), within 0.1° (0.1 s,
0.1 of any other number): summary.json, hold.json and setup_check.json as hamflex 0.1 wrote them
before the package was reorganised; test90.json as re-recorded after the 90-90 end position came
to be scored over its whole still plateau (0.2: dev_test90's trials 13.3° → 15.8°, 27.8° → 28.4°;
docs/test90.md says why), so that any later change to them is seen.

The short clips go through the command line end to end; the long ones reuse the session's
cached analyses (``analyzed_clip``) and score them with the same ``score_analysis`` the
pipeline uses, so the model does not run twice on them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hamflex.cli import app
from hamflex.outputs.files import json_ready

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
VOLATILE = {"source", "processing_fps", "model", "video", "table"}
TOLERANCE = 0.1

RUNS = {  # golden prefix → CLI arguments (the shared paths relative to ../shared)
    "test90_flat2d": ["test90", "synthetic/flat2d_supine9090.mp4"],
    "test90_mirror": ["test90", "synthetic/flat2d_supine9090_mirror.mp4"],
    "test90_photo": ["test90", "photos/free-exercise-db/Lying_Hamstring/1.jpg"],
    "setup_physio": ["check-setup", "videos/real/physioplus_bridging_supine_side.mp4"],
}
CACHED = {  # golden file → (clip, what to make of its cached analysis)
    "test90_dev__test90.json": ("synthetic/dev_test90.mp4", "test90"),
    "hold_seated__hold.json": ("synthetic/dev_hold_seated.mp4", "hamstring_seated"),
    "hold_supine__hold.json": ("synthetic/dev_hold_supine.mp4", "hamstring_supine"),
    "analyze__sports2d_demo__summary.json": ("videos/sports2d_demo.mp4", "summary"),
    "analyze__cam01__summary.json": ("videos/pose2sim_single_person/cam01.mp4", "summary"),
}
ADDED = {"hold.json": {"mode", "frames", "frames_with_person", "stretch_angle_deg", "plateau_spread_deg"}}
"""Fields 0.2 adds (hold.json now says how the session was recorded, as test90.json did; each
rep its depth, the settings the depth tracker's plateau spread), at any level."""
ADDED_ANYWHERE = frozenset({"checked_from_s", "checked_to_s"})
"""Fields 0.2 adds to every set-up report: the time span the checks read."""


def differences(expected, actual, where: str = "", added: frozenset[str] = frozenset()) -> list[str]:
    """Where two JSON values differ beyond the tolerance (volatile keys, and ``added`` keys that
    only ``actual`` has, ignored)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        keys = (set(expected) | set(actual)) - VOLATILE - ((added | ADDED_ANYWHERE) - set(expected))
        return [d for key in sorted(keys) for d in differences(expected.get(key, "<missing>"),
                                                               actual.get(key, "<missing>"), f"{where}.{key}", added)]
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{where}: {len(expected)} items, now {len(actual)}"]
        return [d for i, (e, a) in enumerate(zip(expected, actual)) for d in differences(e, a, f"{where}[{i}]", added)]
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (expected, actual))
    if numbers and math.isclose(expected, actual, abs_tol=TOLERANCE):
        return []
    return [] if expected == actual else [f"{where}: {expected!r}, now {actual!r}"]


@pytest.mark.parametrize("name", sorted(RUNS))
def test_outputs_match_version_0_1(name, shared_dir, model_path, tmp_path):
    command, *inputs = RUNS[name]
    args = [command, *(str(shared_dir / item) if "/" in item else item for item in inputs)]
    done = CliRunner().invoke(app, [*args, "--out", str(tmp_path), "-q"])
    assert done.exit_code in (0, 7), done.output
    goldens = sorted(GOLDEN.glob(f"{name}__*.json"))
    assert goldens
    for golden in goldens:
        produced = tmp_path.joinpath(*golden.name.removeprefix(f"{name}__").split("__"))
        found = differences(json.loads(golden.read_text()), json.loads(produced.read_text()),
                            added=frozenset(ADDED.get(produced.name, ())))
        assert not found, f"{golden.name}: " + "; ".join(found[:10])


def test_the_comparison_sees_a_change():
    assert differences({"a": 1.0, "b": [1, 2]}, {"a": 1.05, "b": [1, 2]}) == []
    assert differences({"a": 1.0}, {"a": 1.2}) and differences({"a": [1]}, {"a": [1, 2]})
    assert differences({"a": 1}, {"b": 1})


@pytest.mark.parametrize("golden_name", sorted(CACHED))
def test_scored_analyses_match_version_0_1(golden_name, analyzed_clip):
    from hamflex.pipelines.api import hold_protocol
    from hamflex.pipelines.run import score_analysis
    from hamflex.protocols.test90 import Test90Protocol

    clip, what = CACHED[golden_name]
    analysis = analyzed_clip(clip)
    if what == "summary":
        produced = analysis.to_dict()
    else:
        protocol = Test90Protocol() if what == "test90" else hold_protocol(what)
        produced = json_ready(score_analysis(analysis, protocol).to_dict())
    added = frozenset(ADDED.get(golden_name.rsplit("__", 1)[-1], ()))
    expected = json.loads((GOLDEN / golden_name).read_text())
    for trial in [*expected.get("trials", []), *produced.get("trials", [])]:
        trial.pop("picture", None)  # the pictures are drawn by the run, after scoring
    found = differences(expected, produced, added=added)
    assert not found, f"{golden_name}: " + "; ".join(found[:10])
