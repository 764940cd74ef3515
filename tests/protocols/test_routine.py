"""The guided routine on a synthetic recording of two stretches of a plan in a row (known truth),
and the plan's validation."""

from __future__ import annotations

import numpy as np
import pytest

from hamflex.pipelines.live import apply_action, key_action
from hamflex.protocols.catalog import load_catalog
from hamflex.protocols.routine import PlanError, RoutineProtocol, RoutineResult, load_plan, parse_plan
from tests.support.synthetic_stretches import SUPINE, UPRIGHT, samples, stretch_pose

FPS = 10.0
FLAT = dict(hip=3.0, knee=5.0, other_hip=3.0, other_knee=3.0, trunk=SUPINE)
SUPINE_HOLD = dict(FLAT, hip=75.0)
SITTING = dict(hip=90.0, knee=110.0, other_hip=90.0, other_knee=150.0, trunk=UPRIGHT)
KNEELING_HOLD = dict(SITTING, hip=130.0)
# (seconds to reach the pose, seconds held there): the supine stretch held 25 s from 4 s, then
# sitting up and the kneeling glute stretch held 25 s from 37 s.
SCRIPT = [(0.0, 2.0, FLAT), (2.0, 25.0, SUPINE_HOLD), (2.0, 0.0, FLAT), (4.0, 0.0, SITTING),
          (2.0, 25.0, KNEELING_HOLD), (2.0, 3.0, SITTING)]
TRUTH = [("hamstring_supine", 25.0, 4.0, 29.0), ("glute_kneeling_cross", 25.0, 37.0, 62.0)]


def scripted_recording():
    """The samples of SCRIPT: eased moves between poses, each pose held still."""
    keys, times, poses = list(FLAT), [0.0], [FLAT]
    for move_s, held_s, pose in SCRIPT:
        for span in (move_s, held_s):
            if span > 0:
                times.append(times[-1] + span)
                poses.append(pose)
    t = np.arange(int(times[-1] * FPS) + 1) / FPS
    values = {key: np.interp(t, times, [p[key] for p in poses]) for key in keys}
    return samples(stretch_pose("routine", **values), t)


def plan(reps_first: int):
    return parse_plan({"title": "two steps", "step": [
        {"stretch": "hamstring_supine", "hold_s": 20, "reps": reps_first, "rest_s": 5},
        {"stretch": "glute_kneeling_cross", "hold_s": 20, "reps": 1},
    ]}, load_catalog())


@pytest.mark.parametrize("reps_first", [1, 2])  # the first step finished, or left unfinished
def test_two_stretches_in_a_row_are_found_in_order(reps_first):
    protocol = RoutineProtocol(plan(reps_first))
    spoken = [line for sample in scripted_recording() for line in protocol.update(sample).spoken]
    result = protocol.result()
    assert [step.stretch for step in result.steps] == [name for name, *_ in TRUTH]
    for step, (_, valid_s, start_s, end_s) in zip(result.steps, TRUTH):
        assert step.valid_seconds_total == pytest.approx(valid_s, abs=3.0)
        assert step.start_s == pytest.approx(start_s, abs=3.0) and step.end_s == pytest.approx(end_s, abs=3.0)
    assert [step.status for step in result.steps] == ["done" if reps_first == 1 else "partial", "done"]
    assert result.finished and result.steps_done == (2 if reps_first == 1 else 1)
    assert any("next: Kneeling glute stretch" in line for line in spoken)
    assert RoutineResult.from_dict(result.to_dict()).to_dict() == result.to_dict()


def test_skipping_a_step_and_the_default_plan():
    default = load_plan()
    assert len(default.steps) == 3 and default.warm_up.startswith("Warm up")
    assert {step.stretch.group for step in default.steps} == {"hamstring", "glute", "piriformis"}
    assert all(step.side == "both" and step.reps == 5 for step in default.steps)
    protocol = RoutineProtocol(default)
    apply_action(protocol, key_action(ord("n")))  # the live loop's key
    protocol.skip_step()
    result = protocol.result()
    assert [step.status for step in result.steps] == ["skipped", "skipped", "not_reached"]
    assert protocol.nothing_scored(result) is not None


@pytest.mark.parametrize(("step", "message"), [
    ({"stretch": "nope"}, "unknown stretch"),
    ({"stretch": "hamstring_supine", "hold_s": 5}, "hold_s"),
    ({"stretch": "hamstring_supine", "side": "up"}, "side"),
    ({"stretch": "hamstring_supine", "holds": 30}, "unknown field 'holds'"),
])
def test_a_bad_plan_names_its_step_and_field(step, message):
    with pytest.raises(PlanError, match=message) as caught:
        parse_plan({"step": [step]}, load_catalog(), "mine.toml")
    assert "mine.toml: step 1" in str(caught.value)
