"""The stretch coach on a recorded video or a live camera: ``run_hold`` / ``run_hold_live``.

Both drive :class:`~hamflex.protocols.hold.HoldProtocol` and write ``DIR/hold.json`` from
its result; the video path analyses the whole recording first (zero-phase smoothed angles),
the live path hands the protocol to :func:`hamflex.pipelines.live.run_live_session`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hamflex.errors import NoPersonError, NothingToScoreError
from hamflex.outputs.files import write_json
from hamflex.protocols.base import samples_from_series
from hamflex.protocols.hold import HoldProtocol
from hamflex.camera.checks import add_startup_check
from hamflex.protocols.catalog import Stretch, get_stretch

HOLD_JSON = "hold.json"


def make_protocol(stretch: str | Stretch, *, side: str | None = None, hold_s: float = 30, reps: int = 5) -> HoldProtocol:
    """The hold protocol for a catalog name (or entry); raises UnknownStretchError / ValueError."""
    entry = get_stretch(stretch) if isinstance(stretch, str) else stretch
    return HoldProtocol(entry, side=side, hold_s=hold_s, reps=reps)


def _finish(result: dict[str, Any], out_dir: Path, source: str) -> dict[str, Any]:
    """Write hold.json; then refuse a session where nothing counted (exit code 7)."""
    result = {**result, "source": source}
    write_json(Path(out_dir) / HOLD_JSON, result)
    if result["valid_seconds_total"] <= 0:
        reason = result.get("no_valid_reason") or f"posture never matched {result['stretch']!r}"
        raise NothingToScoreError(
            f"{source}: no valid hold second ({reason}; see {Path(out_dir) / HOLD_JSON} and `hamflex stretches --details`)"
        )
    return result


def run_hold(
    stretch: str | Stretch,
    path: str | Path,
    out_dir: str | Path,
    *,
    side: str | None = None,
    hold_s: float = 30,
    reps: int = 5,
    model: str | Path | None = None,
    offline: bool = False,
    camera_profile=None,
    progress: bool = False,
    verbose: bool = False,
) -> dict[str, Any]:
    """Coach a recorded stretch: analyse ``path``, count valid hold seconds and reps, write
    ``out_dir/hold.json`` (plus the analysis' ``angles.csv``/``summary.json`` in a subfolder)
    and return the result.

    Raises NothingToScoreError (after writing) when no second was valid, NoPersonError (after
    writing) when nobody is seen. On Ctrl-C the frames
    measured so far are scored into ``hold.json`` (``complete: false``, next to the partial
    ``angles.csv``) and ``KeyboardInterrupt`` propagates.
    """
    from hamflex.pipelines.offline import AnalysisInterrupted, analyze_video

    protocol = make_protocol(stretch, side=side, hold_s=hold_s, reps=reps)
    out_dir = Path(out_dir)
    try:
        analysis = analyze_video(
            path, out_dir, model=model, offline=offline, progress=progress, verbose=verbose,
            camera_profile=camera_profile,
        )
    except AnalysisInterrupted as interrupted:  # score the frames measured before Ctrl-C
        write_json(out_dir / HOLD_JSON, {**_score(protocol, interrupted.result), "source": str(path), "complete": False})
        raise
    except NoPersonError as error:  # hold.json says so too, like test90.json
        write_json(out_dir / HOLD_JSON, {**protocol.result(), "source": str(path), "no_valid_reason": str(error)})
        raise
    return _finish(_score(protocol, analysis), out_dir, str(path))


def _score(protocol: HoldProtocol, analysis) -> dict[str, Any]:
    """Feed an analysed recording to the protocol; its result with the start-of-session set-up check."""
    for sample in samples_from_series(analysis.angles, analysis.poses):
        protocol.update(sample)
    return add_startup_check(protocol.result(), analysis.poses, analysis.warnings)


def run_hold_live(
    stretch: str | Stretch,
    camera: str,
    out_dir: str | Path,
    *,
    side: str | None = None,
    hold_s: float = 30,
    reps: int = 5,
    **live_options: Any,
) -> dict[str, Any]:
    """Coach a stretch live on ``camera`` (index, URL or video file); ``live_options`` go to
    :func:`hamflex.pipelines.live.run_live_session`. Writes ``out_dir/hold.json`` however the session ends."""
    from hamflex.pipelines.live import run_live_session

    protocol = make_protocol(stretch, side=side, hold_s=hold_s, reps=reps)
    out_dir = Path(out_dir)
    try:
        session = run_live_session(camera, protocol, out_dir, title=f"hamflex hold: {protocol.stretch.title}", **live_options)
    except KeyboardInterrupt:
        write_json(out_dir / HOLD_JSON, {**protocol.result(), "source": camera, "ended_by": "interrupted"})
        raise
    result = {**session.protocol_result, "ended_by": session.ended_by,
              "warnings": [*session.warnings, *session.protocol_result.get("warnings", [])]}
    return _finish(result, out_dir, camera)


def format_hold_summary(result: dict[str, Any]) -> str:
    """A few readable lines: totals, then one line per rep."""
    target = result.get("hold_s_target")
    lines = [
        f"{result.get('title', result['stretch'])}: {result['reps_completed']}/{result['reps_target']} reps "
        f"of {target:g} s, {result['valid_seconds_total']:.1f} valid seconds "
        f"({result['percent_time_valid']:.0f}% of the time in the stretch), bounces: {result['bounces_total']}",
    ]
    for number, rep in enumerate(result["reps"], start=1):
        cues = result.get("fault_cues", {})
        faults = ", ".join(
            f"{name} {seconds:.1f} s" + (f" ({cues[name]})" if name in cues else "") for name, seconds in rep["faults"].items()
        ) or "none"
        rest = "" if rep.get("rest_before_s") is None else f", after {rep['rest_before_s']:.0f} s rest"
        status = "done" if rep["completed"] else "incomplete"
        lines.append(
            f"  rep {number} ({rep['side'] or 'side unknown'}): {rep['valid_s']:.1f} of {rep['total_s']:.1f} s valid, "
            f"{status}, bounces {rep['bounces']}, faults: {faults}{rest}"
        )
    for warning in result.get("warnings", []):
        lines.append(f"  warning: {warning}")
    return "\n".join(lines)
