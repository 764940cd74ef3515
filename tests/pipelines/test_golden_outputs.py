"""The JSON outputs on the shared clips are those of hamflex 0.1 (tests/golden/, written by the
0.1 code before the package was reorganised), within 0.1° (0.1 s, 0.1 of any other number)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hamflex.cli import app

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
VOLATILE = {"source", "processing_fps", "model", "video", "table"}
TOLERANCE = 0.1

RUNS = {  # golden prefix → CLI arguments (the shared paths relative to ../shared)
    "test90_flat2d": ["test90", "synthetic/flat2d_supine9090.mp4"],
    "test90_mirror": ["test90", "synthetic/flat2d_supine9090_mirror.mp4"],
    "test90_photo": ["test90", "photos/free-exercise-db/Lying_Hamstring/1.jpg"],
    "hold_seated": ["hold", "hamstring_seated", "synthetic/dev_hold_seated.mp4"],
    "setup_physio": ["check-setup", "videos/real/physioplus_bridging_supine_side.mp4"],
    "analyze": ["analyze", "videos/sports2d_demo.mp4", "videos/real/physioplus_bridging_supine_side.mp4",
                "videos/pose2sim_single_person/cam01.mp4"],
}
ADDED = {"hold.json": {"mode", "frames", "frames_with_person"}}
"""Fields 0.2 adds (hold.json now says how the session was recorded, as test90.json did)."""


def differences(expected, actual, where: str = "", added: frozenset[str] = frozenset()) -> list[str]:
    """Where two JSON values differ beyond the tolerance (volatile keys, and ``added`` top-level
    keys that only ``actual`` has, ignored)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        keys = (set(expected) | set(actual)) - VOLATILE - (added - set(expected))
        return [d for key in sorted(keys) for d in differences(expected.get(key, "<missing>"),
                                                               actual.get(key, "<missing>"), f"{where}.{key}")]
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{where}: {len(expected)} items, now {len(actual)}"]
        return [d for i, (e, a) in enumerate(zip(expected, actual)) for d in differences(e, a, f"{where}[{i}]")]
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
