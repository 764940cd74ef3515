"""The 90-90 protocol's option checks and the CLI's readable summary of its typed result."""

from __future__ import annotations

import pytest

from hamflex.cli.text import format_test90
from hamflex.protocols.test90 import Test90Protocol, Test90Result

RESULT = {
    "source": "clip.mp4",
    "trials": [
        {"side": "right", "knee_extension_deficit_deg": 14.2, "hip_flexion_deg": 90.7, "start_s": 0.0, "end_s": 3.0,
         "valid": True, "reason": "ok", "ended_by": "held"},
        {"side": None, "knee_extension_deficit_deg": None, "hip_flexion_deg": 105.0, "start_s": 5.0, "end_s": 9.0,
         "valid": False, "reason": "thigh drifted 15° toward the head", "ended_by": "held"},
        {"side": "left", "knee_extension_deficit_deg": 30.0, "hip_flexion_deg": 88.0, "start_s": 0.0, "end_s": 0.0,
         "valid": True, "reason": "ok", "ended_by": "photo"},
    ],
    "sides": {
        "left": {"trials": 1, "invalid_trials": 0, "mean_deficit_deg": 30.0, "sd_deg": None, "grade": "tight",
                 "note": None, "reference": {"mean_deficit_deg": 13.4, "sd_deg": 6.0, "source": "Yıldırım 2018"}},
        "right": {"trials": 1, "invalid_trials": 0, "mean_deficit_deg": 14.2, "sd_deg": 4.1, "grade": "normal",
                  "note": "trials differ more than the test's measurement error"},
    },
    "asymmetry_deg": 15.8,
    "notes": ["a session note"],
}


def test_summary_names_every_trial_side_and_note():
    text = format_test90(Test90Result.from_dict(RESULT)).splitlines()
    assert text[0].endswith("clip.mp4")
    assert text[1] == "  trial 1: right leg at 0.0-3.0 s: knee 14° short of straight, thigh 91°; valid"
    assert text[2].startswith("  trial 2: leg (side unknown) at 5.0-9.0 s: knee – short")
    assert "NOT VALID: thigh drifted 15° toward the head" in text[2]
    assert text[3] == "  trial 3: left leg: knee 30° short of straight, thigh 88°; valid"  # a photo has no times
    assert "  left: mean deficit 30.0° over 1 valid trial(s): tight" in text
    assert "    typical for young adults of this sex: 13.4 ± 6.0° (Yıldırım 2018)" in text
    assert "  right: mean deficit 14.2° ± 4.1° SD over 1 valid trial(s): normal" in text
    assert "    note: trials differ more than the test's measurement error" in text
    assert "  asymmetry (left − right): +15.8°" in text
    assert text[-1] == "  note: a session note"


def test_summary_of_nothing_found_says_why():
    text = format_test90(Test90Result.from_dict({"trials": [], "sides": {}, "no_trial_reason": "nobody was seen"}))
    assert text.endswith("no trial found: nobody was seen")


@pytest.mark.parametrize("options", [
    {"side": "up"}, {"sex": "other"}, {"trials": 0}, {"hip_tolerance_deg": 0.0}, {"hip_tolerance_deg": 60.0},
])
def test_bad_options_are_refused(options):
    with pytest.raises(ValueError):
        Test90Protocol.from_options(**options)


def test_options_reach_the_protocol():
    protocol = Test90Protocol.from_options("left", trials=2, sex="female", hip_tolerance_deg=12.0)
    assert protocol.settings.hip_tolerance_deg == 12.0
    assert protocol.sex == "female" and protocol.trials_per_side == 2


def test_leg_raise_summary_names_every_trial_and_side():
    from hamflex.cli.text import format_result
    from hamflex.pipelines.samples import samples_from_series
    from hamflex.protocols.slr import SlrProtocol
    from tests.support.synthetic_slr import RaiseScript, make_slr_recording

    recording = make_slr_recording([RaiseScript(hip_deg=60.0), RaiseScript(knee_deg=30.0)])
    protocol = SlrProtocol()
    for sample in samples_from_series(recording.angles, recording.poses):
        protocol.update(sample)
    text = format_result(protocol.result())
    assert "trial 1: right leg at" in text and "raised to 60° hip flexion, knee 2° bent; valid" in text
    assert "trial 2" in text and "NOT VALID: knee bent 30°" in text
    assert "right: mean hip flexion 60.0° over 1 valid trial(s): tight" in text
