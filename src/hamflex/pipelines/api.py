"""The Python API of each protocol: one call each, on a recording, a photo or a camera.

Every function builds its protocol from the options given (None = the protocol's own default,
or the stretch's catalog entry) and hands it to :func:`~hamflex.pipelines.run.run_protocol`,
which saves the result in ``out_dir`` however the run ends. Give ``live`` (a
:class:`~hamflex.pipelines.options.LiveOptions`) to run on a camera: ``source`` is then a device
index, a stream URL or a video file played as a camera.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hamflex.camera.checks import SetupReport, measure_light
from hamflex.outputs.files import write_json
from hamflex.pipelines.options import LiveOptions, RunOptions
from hamflex.pipelines.run import result_path, run_protocol
from hamflex.protocols.catalog import Stretch, load_catalog, lookup_stretch
from hamflex.protocols.hold import HoldProtocol, HoldResult
from hamflex.protocols.norms import load_norms
from hamflex.protocols.routine import RoutineProtocol, RoutineResult, load_plan
from hamflex.protocols.setup_check import LIVE_CHECK_S, SetupCheckProtocol
from hamflex.protocols.slr import SlrProtocol, SlrResult
from hamflex.protocols.test90 import Test90Protocol, Test90Result


def run_test90(source: str | Path, out_dir: str | Path, *, side: str | None = None, trials: int | None = None,
               sex: str | None = None, hip_tolerance_deg: float | None = None, norms: str | Path | None = None,
               options: RunOptions = RunOptions(), live: LiveOptions | None = None) -> Test90Result:
    """The 90-90 test; writes ``out_dir/test90.json``.

    A photo is one trial taken at the end position, with the same checks except the thigh
    drift, which needs a before. Raises NoPersonError when nobody is seen and
    NothingToScoreError when no trial is found (saying why), in both cases after saving.
    ``norms`` is a clinic's own norms table (default: $HAMFLEX_NORMS, else the packaged one).
    """
    protocol = Test90Protocol.from_options(side, trials, sex, hip_tolerance_deg, load_norms(norms))
    return run_protocol(source, protocol, out_dir, options=options, live=live)


def run_slr(source: str | Path, out_dir: str | Path, *, side: str | None = None, trials: int | None = None,
            norms: str | Path | None = None, options: RunOptions = RunOptions(),
            live: LiveOptions | None = None) -> SlrResult:
    """The active straight leg raise; writes ``out_dir/slr.json``.

    A photo is one trial taken at the end position, with the same checks. Raises NoPersonError
    when nobody is seen and NothingToScoreError when no raise is found (saying why), in both
    cases after saving. ``norms`` as for :func:`run_test90` (the table's ``[slr]`` grades).
    """
    protocol = SlrProtocol.from_options(side, trials, load_norms(norms))
    return run_protocol(source, protocol, out_dir, options=options, live=live)


def hold_protocol(stretch: str | Stretch, *, side: str | None = None, hold_s: float | None = None,
                  reps: int | None = None, catalog: str | Path | None = None,
                  start_depth_deg: float | None = None) -> HoldProtocol:
    """The hold protocol of a catalog stretch (by name, from the packaged catalog plus ``catalog``
    or $HAMFLEX_CATALOG); ``hold_s``/``reps`` None take the stretch's own; ``start_depth_deg``
    the person's usual depth (``history.trends.usual_depth_deg``), if known."""
    entry = lookup_stretch(stretch, load_catalog(catalog)) if isinstance(stretch, str) else stretch
    return HoldProtocol(entry, side=side, hold_s=hold_s, reps=reps, start_depth_deg=start_depth_deg)


def run_hold(stretch: str | Stretch, source: str | Path, out_dir: str | Path, *, side: str | None = None,
             hold_s: float | None = None, reps: int | None = None, catalog: str | Path | None = None,
             options: RunOptions = RunOptions(), live: LiveOptions | None = None) -> HoldResult:
    """Coach a stretch: count valid hold seconds and reps; writes ``out_dir/hold.json``.

    Raises NothingToScoreError (after saving) when no second was valid, NoPersonError (after
    saving) when nobody is seen, UnknownStretchError for a name not in the catalog.
    """
    protocol = hold_protocol(stretch, side=side, hold_s=hold_s, reps=reps, catalog=catalog)
    return run_protocol(source, protocol, out_dir, options=options, live=live)


def run_routine(plan: str | Path | None, source: str | Path, out_dir: str | Path, *, catalog: str | Path | None = None,
                options: RunOptions = RunOptions(), live: LiveOptions | None = None) -> RoutineResult:
    """A guided routine (``plan`` a TOML file; None: the packaged low-back routine), its steps in
    order; writes ``out_dir/routine.json`` (every step so far, however the run ends). Raises
    NothingToScoreError (after saving) when no step counted a valid second."""
    return run_protocol(source, RoutineProtocol(load_plan(plan, catalog)), out_dir, options=options, live=live)


def check_setup(source: str | Path, out_dir: str | Path, *, seconds: float | None = None, posture: str = "auto",
                options: RunOptions = RunOptions(), live: LiveOptions | None = None) -> SetupReport:
    """The set-up check (camera side-on, level, far enough, legs seen, light) on the first
    ``seconds`` with a person in view (a recording: all of it by default; live: 5 s);
    writes ``out_dir/setup_check.json``. Raises NoPersonError when nobody was seen."""
    if live is not None and seconds is None:
        seconds = LIVE_CHECK_S
    if live is None:  # a recording: only its first ``seconds`` are analysed
        options = replace(options, max_duration_s=seconds)
    protocol = SetupCheckProtocol(seconds=seconds, posture=posture)
    report = run_protocol(source, protocol, out_dir, options=options, live=live)
    if live is not None:
        return report
    protocol.light = measure_light(source, protocol.poses())  # needs the pixels: recordings only
    report = protocol.result().with_session(source=str(source))
    write_json(result_path(out_dir, protocol), report.to_dict())
    return report
