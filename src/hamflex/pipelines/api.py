"""The 90-90 hamstring test on a recorded video or photo: the Python API behind ``hamflex test90``.

``run_test90`` analyses the recording (``analyze_video``: DIR/<stem>/angles.csv and
summary.json), feeds every frame to :class:`~hamflex.protocols.test90.Test90Protocol` and
writes the result to DIR/test90.json, also when nothing could be scored (then it raises
:class:`~hamflex.errors.NothingToScoreError` or :class:`~hamflex.errors.NoPersonError`
after saving). A photo is one trial taken at the end position, with the same checks except
the thigh drift, which needs a before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hamflex.pipelines.offline import AnalysisInterrupted, AnalysisResult, analyze_video
from hamflex.media.sources import is_photo
from hamflex.errors import NoPersonError, NothingToScoreError
from hamflex.protocols.norms import SEXES
from hamflex.outputs.files import write_json
from hamflex.protocols.base import samples_from_series
from hamflex.protocols.test90 import SCHEMA_VERSION, TEST_NAME, Test90Protocol, Test90Settings
from hamflex.camera.checks import add_startup_check

SIDE_CHOICES = ("left", "right", "both")
RESULT_FILE = "test90.json"


def make_protocol(side: str | None = None, trials: int = 3, sex: str | None = None,
                  hip_tolerance_deg: float = 10.0) -> Test90Protocol:
    """A fresh protocol with the user's options (checked here, so the CLI and API agree)."""
    if side is not None and side not in SIDE_CHOICES:
        raise ValueError(f"side must be one of {', '.join(SIDE_CHOICES)}, not {side!r}")
    if sex is not None and sex not in SEXES:
        raise ValueError(f"sex must be one of {', '.join(SEXES)}, not {sex!r}")
    if trials < 1:
        raise ValueError("trials must be at least 1")
    if not 0 < hip_tolerance_deg <= 45:
        raise ValueError("hip tolerance must be between 0 and 45 degrees")
    return Test90Protocol(side=side, trials=trials, sex=sex,
                          settings=Test90Settings(hip_tolerance_deg=hip_tolerance_deg))


def score_analysis(analysis: AnalysisResult, protocol: Test90Protocol, photo: bool = False) -> dict[str, Any]:
    """Run the protocol over an analysed recording and return its result (no I/O)."""
    samples = samples_from_series(analysis.angles, analysis.poses)
    if photo:
        for sample in samples:
            protocol.score_photo(sample)
    else:
        for sample in samples:
            protocol.update(sample)
    result = protocol.result()
    result["source"] = str(analysis.source)
    result["mode"] = "photo" if photo else "video"
    result["frames"] = analysis.frames
    result["frames_with_person"] = analysis.frames_with_pose
    return add_startup_check(result, analysis.poses, analysis.warnings, posture="lying")


def empty_result(source: str | Path, reason: str) -> dict[str, Any]:
    """The test90.json of a recording where nothing was measured at all."""
    return {"schema_version": SCHEMA_VERSION, "test": TEST_NAME, "trials": [], "sides": {},
            "asymmetry_deg": None, "source": str(source), "no_trial_reason": reason}


def run_test90(
    path: str | Path,
    out_dir: str | Path,
    *,
    side: str | None = None,
    trials: int = 3,
    sex: str | None = None,
    hip_tolerance_deg: float = 10.0,
    model: str | Path | None = None,
    offline: bool = False,
    camera_profile=None,
    progress: bool = False,
    verbose: bool = False,
) -> dict[str, Any]:
    """Score the 90-90 test in a video or photo and write ``out_dir/test90.json``.

    Raises :class:`NoPersonError` when nobody is seen and :class:`NothingToScoreError` when
    no trial is found (saying why), in both cases after writing test90.json.
    """
    protocol = make_protocol(side, trials, sex, hip_tolerance_deg)
    out_dir = Path(out_dir)
    try:
        analysis = analyze_video(path, out_dir, model=model, offline=offline, camera_profile=camera_profile,
                                 progress=progress, verbose=verbose)
    except NoPersonError as error:
        write_json(out_dir / RESULT_FILE, empty_result(path, str(error)))
        raise
    except AnalysisInterrupted as interrupted:  # score the frames measured before Ctrl-C
        write_json(out_dir / RESULT_FILE, {**score_analysis(interrupted.result, protocol, photo=is_photo(Path(path))),
                                           "complete": False})
        raise
    result = score_analysis(analysis, protocol, photo=is_photo(Path(path)))
    write_json(out_dir / RESULT_FILE, result)
    if not result["trials"]:
        raise NothingToScoreError(f"{path}: no 90-90 trial found: {result['no_trial_reason']}")
    return result


def _deg(value: Any) -> str:
    return f"{value:.0f}°" if isinstance(value, (int, float)) else "–"


def format_summary(result: dict[str, Any]) -> str:
    """A readable summary of a test90 result (the CLI's standard output)."""
    lines = [f"90-90 hamstring test (active knee extension){': ' + result['source'] if result.get('source') else ''}"]
    for number, trial in enumerate(result.get("trials", []), start=1):
        verdict = "valid" if trial["valid"] else f"NOT VALID: {trial['reason']}"
        when = "" if trial.get("ended_by") == "photo" else f" at {trial['start_s']:.1f}-{trial['end_s']:.1f} s"
        leg = f"{trial['side']} leg" if trial["side"] else "leg (side unknown)"
        lines.append(f"  trial {number}: {leg}{when}: knee "
                     f"{_deg(trial['knee_extension_deficit_deg'])} short of straight, thigh "
                     f"{_deg(trial['hip_flexion_deg'])}; {verdict}")
    for side, entry in result.get("sides", {}).items():
        if entry["mean_deficit_deg"] is None:
            lines.append(f"  {side}: no valid trial ({entry['invalid_trials']} rejected)")
            continue
        spread = f" ± {entry['sd_deg']:.1f}° SD" if entry["sd_deg"] is not None else ""
        lines.append(f"  {side}: mean deficit {entry['mean_deficit_deg']:.1f}°{spread} over {entry['trials']} "
                     f"valid trial(s): {entry['grade']}")
        if entry.get("reference"):
            reference = entry["reference"]
            lines.append(f"    typical for young adults of this sex: {reference['mean_deficit_deg']:.1f} ± "
                         f"{reference['sd_deg']:.1f}° ({reference['source']})")
        if entry.get("note"):
            lines.append(f"    note: {entry['note']}")
    if result.get("asymmetry_deg") is not None:
        lines.append(f"  asymmetry (left − right): {result['asymmetry_deg']:+.1f}°")
    for note in result.get("notes", []):
        lines.append(f"  note: {note}")
    if not result.get("trials"):
        lines.append(f"  no trial found: {result.get('no_trial_reason', 'unknown')}")
    return "\n".join(lines)


def run_test90_live(camera: str, out_dir: str | Path, protocol: Test90Protocol, **live_options: Any) -> dict[str, Any]:
    """Run the test live (``hamflex.pipelines.live.run_live_session``) and write ``out_dir/test90.json``.

    ``live_options`` go to ``run_live_session`` (realtime, display, audio, voice, mirror, record,
    camera_profile, model, offline, verbose). The result is saved however the session ends,
    Ctrl-C included; no trial raises :class:`NothingToScoreError` after saving.
    """
    from hamflex.pipelines.live import run_live_session

    out_dir = Path(out_dir)
    try:
        session = run_live_session(camera, protocol, out_dir, title="hamflex: 90-90 test", setup_posture="lying",
                                   **live_options)
    except KeyboardInterrupt:
        write_json(out_dir / RESULT_FILE, {**protocol.result(), "source": f"camera {camera}", "mode": "live",
                                           "ended_by": "interrupted"})
        raise
    result = {**session.protocol_result, "source": f"camera {camera}", "mode": "live", "ended_by": session.ended_by,
              "frames": session.frames,
              "warnings": [*session.warnings, *session.protocol_result.get("warnings", [])]}
    write_json(out_dir / RESULT_FILE, result)
    if not result.get("trials"):
        raise NothingToScoreError(f"camera {camera}: no 90-90 trial found: "
                                  f"{result.get('no_trial_reason') or protocol.why_no_trial()}")
    return result
