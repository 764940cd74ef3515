"""The measuring commands: ``analyze``, ``test90``, ``slr``, ``hold``, ``routine`` and ``check-setup`` (thin: the work
is the Python API's, see :mod:`hamflex.pipelines.api`)."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from collections.abc import Callable
from typing import Annotated, Optional

import typer

from hamflex.cli.app import app, error_line, reported_errors, warning_line
from hamflex.cli.flags import (
    AudioOption,
    CameraOption,
    CameraProfileOption,
    CatalogOption,
    DbOption,
    DisplayOption,
    ExportOption,
    ForceOption,
    HeightOption,
    JobsOption,
    MirrorOption,
    ModelOption,
    NormsOption,
    OfflineOption,
    OutOption,
    PersonOption,
    QuietOption,
    RayOption,
    RealtimeOption,
    RecordOption,
    VerboseOption,
    VoiceOption,
    check_person,
    exit_if_camera_lost,
    live_options,
    one_source,
    record_for_person,
    recorded_if_interrupted,
    run_options,
)

DEFAULT_OUT = Path("hamflex-out")


def _exports(export: str | None, height_m: float | None, camera_profile: Path | None) -> tuple[str, ...]:
    """``--export trc,mot`` as a tuple, checked (usage errors, before any work)."""
    from hamflex.pipelines.research import EXPORT_FORMATS

    formats = tuple(dict.fromkeys(f.strip() for f in (export or "").split(",") if f.strip()))
    unknown = [f for f in formats if f not in EXPORT_FORMATS]
    if unknown:
        raise typer.BadParameter(f"unknown format {unknown[0]!r} (choose from {', '.join(EXPORT_FORMATS)})",
                                 param_hint="--export")
    if height_m is not None and camera_profile is None:
        raise typer.BadParameter("metres need an undistorted view: give --camera-profile too", param_hint="--height-m")
    return formats


def _record_printer(out: Path) -> Callable:
    """Each finished input's line, naming it as the user did: on stdout when measured, as an
    error line when not."""
    from hamflex.pipelines.batch import DONE

    def report(item, record) -> None:
        if record.status == DONE:
            row = record.row
            typer.echo(f"{item.shown}: {row['frames_with_pose']}/{row['frames']} frames with a person "
                       f"({row['detection_rate']:.0%}) -> {out / item.name}")
            for warning in record.warnings:
                warning_line(f"{item.shown}: {warning}")
        if record.error:
            error = record.error.replace(str(item.path), item.shown)
            error_line(error if item.shown in error else f"{item.shown}: {error}")

    return report


def _batch(arguments: list[Path], out: Path, protocol, *, model: str | None, offline: bool, quiet: bool,
           verbose: bool, jobs: int | None, force: bool, export: str | None, height_m: float | None,
           camera_profile: Path | None, ray: str | None, overlay: bool = False, num_poses: int = 1) -> None:
    """What analyze, test90 and hold share for several inputs: the resumable batch, one line
    per input, then the first unsuccessful input's exit code (0 when all succeeded)."""
    from hamflex.media.models import resolve_model
    from hamflex.pipelines.batch import BatchSettings, default_jobs, expand_inputs, local_records, run_batch
    from hamflex.pipelines.cluster import ray_records

    exports = _exports(export, height_m, camera_profile)
    with reported_errors(verbose, saved_to=out):
        inputs = expand_inputs(arguments)
        records = ray_records(ray) if ray else local_records
        settings = BatchSettings(
            model_path=str(resolve_model(model, offline=offline, progress=not quiet)), protocol=protocol,
            overlay=overlay, num_poses=num_poses, camera_profile=str(camera_profile) if camera_profile else None,
            exports=exports, height_m=height_m, verbose=verbose)
        report = run_batch(inputs, out, settings, jobs=jobs or default_jobs(), force=force, progress=not quiet,
                           on_record=_record_printer(out), records=records)
    if report.skipped:
        print(f"hamflex: {report.skipped} input(s) already complete in {out}, skipped (--force redoes them)",
              file=sys.stderr)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _is_batch(arguments: list[Path] | None, export: str | None, ray: str | None, single_only: dict[str, bool]) -> bool:
    """Several inputs, a folder, a glob, ``--export`` or ``--ray``: a batch, which refuses the
    flags of a single run (``single_only``: flag → given). One file: a single run."""
    from glob import has_magic

    several = bool(arguments) and (len(arguments) > 1 or arguments[0].is_dir()
                                   or (not arguments[0].exists() and has_magic(str(arguments[0]))))
    if not (several or (arguments and (export or ray))):
        return False
    for flag, given in single_only.items():
        if given:
            raise typer.BadParameter("takes one recording, not a batch", param_hint=flag)
    return True


@app.command()
def analyze(
    videos: Annotated[
        list[Path], typer.Argument(help="Videos or photos, folders (searched recursively) or globs.", show_default=False)
    ],
    out: OutOption = DEFAULT_OUT,
    overlay: Annotated[bool, typer.Option("--overlay", help="Also write overlay.mp4 with skeleton and angles.")] = False,
    num_poses: Annotated[
        int, typer.Option("--num-poses", min=1, help="People to detect; the largest is analysed, followed over time.")
    ] = 1,
    camera_profile: CameraProfileOption = None,
    jobs: JobsOption = None, force: ForceOption = False, export: ExportOption = None, height_m: HeightOption = None,
    ray: RayOption = None,
    model: ModelOption = None,
    offline: OfflineOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Per-frame hip and knee angles of recorded videos: OUT/<video>/angles.csv, summary.json and
    landmarks.npz; OUT/batch.json and OUT/summary.csv for the whole batch."""
    from hamflex.pipelines.batch import ProtocolSpec

    _batch(videos, out, ProtocolSpec(), model=model, offline=offline, quiet=quiet, verbose=verbose, jobs=jobs,
           force=force, export=export, height_m=height_m, camera_profile=camera_profile, ray=ray, overlay=overlay,
           num_poses=num_poses)


def _print_result(result, as_json: bool, warnings: bool) -> None:
    """The summary on stdout, or with ``--json`` the JSON alone on stdout (summary to stderr);
    then, when asked for, the result's warnings on stderr."""
    from hamflex.cli.text import format_result
    from hamflex.outputs.files import json_text

    if as_json:
        print(format_result(result), file=sys.stderr)
        sys.stdout.write(json_text(result.to_dict()))
    else:
        typer.echo(format_result(result))
    if warnings:
        for warning in result.warnings:
            warning_line(warning)


def _measure(make_protocol: Callable, recording: Path | None, camera: str | None, out: Path, *, person: str | None,
             db: Path | None, verbose: bool, as_json: bool, run, live_flags: dict, live_notice: str = "") -> None:
    """What test90, hold and routine share: run the protocol on the recording or camera, print the result,
    record it in the history (Ctrl-C included) and exit 6 when the camera was lost."""
    from hamflex.pipelines.run import result_path, run_protocol

    source = one_source(recording, camera)
    check_person(person)
    label = str(recording) if camera is None else f"camera {camera}"
    with reported_errors(verbose, saved_to=out):
        protocol = make_protocol()
        with recorded_if_interrupted(protocol.kind, person, result_path(out, protocol), label, db):
            if camera is not None and live_notice:
                print(f"hamflex: {live_notice}", file=sys.stderr, flush=True)  # before the session starts
            result = run_protocol(source, protocol, out, options=run, live=live_options(camera, **live_flags))
        _print_result(result, as_json, warnings=camera is None)  # live sessions warned as they went
        record_for_person(protocol.kind, person, result, label, db)
        exit_if_camera_lost(result, out)


def _one_or_batch(kind: str, options: dict, make_protocol: Callable, recordings: list[Path] | None, out: Path, *,
                  camera: str | None, person: str | None, db: Path | None, as_json: bool, export: str | None,
                  ray: str | None, jobs: int | None, force: bool, height_m: float | None, camera_profile: Path | None,
                  model: str | None, offline: bool, quiet: bool, verbose: bool, live_flags: dict,
                  live_notice: str = "") -> None:
    """What test90, slr and hold share: several inputs are a batch of protocol ``kind`` with
    ``options``; one recording, a photo or the camera runs ``make_protocol()`` (:func:`_measure`)."""
    from hamflex.pipelines.batch import ProtocolSpec

    if _is_batch(recordings, export, ray, {"--camera": camera is not None, "--person": person is not None,
                                           "--json": as_json}):
        _batch(recordings, out, ProtocolSpec(kind, options), model=model, offline=offline, quiet=quiet,
               verbose=verbose, jobs=jobs, force=force, export=export, height_m=height_m,
               camera_profile=camera_profile, ray=ray)
        return
    _measure(make_protocol, recordings[0] if recordings else None, camera, out, person=person, db=db,
             verbose=verbose, as_json=as_json, run=run_options(model, offline, camera_profile, quiet, verbose),
             live_flags=live_flags, live_notice=live_notice)


SideChoice = Enum("SideChoice", {"left": "left", "right": "right", "both": "both"}, type=str)
SexChoice = Enum("SexChoice", {"female": "female", "male": "male"}, type=str)
TestedSideOption = Annotated[
    Optional[SideChoice], typer.Option("--side", help="Tested side; default: named from the body's orientation.")]
TrialsOption = Annotated[Optional[int], typer.Option("--trials", min=1, help="Trials per side (live: asked for; default 3).")]


@app.command()
def test90(
    recordings: Annotated[
        Optional[list[Path]],
        typer.Argument(help="A video of the test, or one photo at the end position; several, folders or globs: a batch.",
                       show_default=False),
    ] = None,
    out: OutOption = DEFAULT_OUT,
    side: TestedSideOption = None,
    trials: TrialsOption = None,
    sex: Annotated[Optional[SexChoice], typer.Option("--sex", help="Grade with sex-specific cut-offs.")] = None,
    hip_tolerance: Annotated[
        Optional[float], typer.Option("--hip-tolerance", min=1.0, max=45.0, help="Thigh within 90 ± this many degrees (default 10).")
    ] = None,
    norms: NormsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print test90.json on stdout (the summary then goes to stderr).")] = False,
    camera: CameraOption = None, realtime: RealtimeOption = False, display: DisplayOption = True,
    audio: AudioOption = True, voice: VoiceOption = False, mirror: MirrorOption = False, record: RecordOption = None,
    camera_profile: CameraProfileOption = None, person: PersonOption = None, db: DbOption = None,
    jobs: JobsOption = None, force: ForceOption = False, export: ExportOption = None, height_m: HeightOption = None,
    ray: RayOption = None,
    model: ModelOption = None, offline: OfflineOption = False, quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """The 90-90 hamstring test (active knee extension): OUT/test90.json and a summary; a batch:
    OUT/<recording>/test90.json each, OUT/batch.json and OUT/summary.csv."""
    from hamflex.protocols.norms import load_norms
    from hamflex.protocols.test90 import Test90Protocol

    options = dict(side=side.value if side else None, trials=trials, sex=sex.value if sex else None,
                   hip_tolerance_deg=hip_tolerance, norms=str(norms) if norms else None)

    def protocol() -> Test90Protocol:
        return Test90Protocol.from_options(options["side"], trials, options["sex"], hip_tolerance, load_norms(norms))

    _one_or_batch("test90", options, protocol, recordings, out, camera=camera, person=person, db=db, as_json=as_json,
                  export=export, ray=ray, jobs=jobs, force=force, height_m=height_m, camera_profile=camera_profile,
                  model=model, offline=offline, quiet=quiet, verbose=verbose,
                  live_flags=dict(realtime=realtime, display=display, audio=audio, voice=voice, mirror=mirror,
                                  record=record))


@app.command()
def slr(
    recordings: Annotated[
        Optional[list[Path]],
        typer.Argument(help="A video of the raise, or one photo at the end position; several, folders or globs: a batch.",
                       show_default=False),
    ] = None,
    out: OutOption = DEFAULT_OUT,
    side: TestedSideOption = None,
    trials: TrialsOption = None,
    norms: NormsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print slr.json on stdout (the summary then goes to stderr).")] = False,
    camera: CameraOption = None, realtime: RealtimeOption = False, display: DisplayOption = True,
    audio: AudioOption = True, voice: VoiceOption = False, mirror: MirrorOption = False, record: RecordOption = None,
    camera_profile: CameraProfileOption = None, person: PersonOption = None, db: DbOption = None,
    jobs: JobsOption = None, force: ForceOption = False, export: ExportOption = None, height_m: HeightOption = None,
    ray: RayOption = None,
    model: ModelOption = None, offline: OfflineOption = False, quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """The active straight leg raise: the hip flexion of a straight leg raised as far as it goes, OUT/slr.json
    and a summary; a batch: OUT/<recording>/slr.json each, OUT/batch.json and OUT/summary.csv."""
    from hamflex.protocols.norms import load_norms
    from hamflex.protocols.slr import SlrProtocol

    options = dict(side=side.value if side else None, trials=trials, norms=str(norms) if norms else None)
    _one_or_batch("slr", options, lambda: SlrProtocol.from_options(options["side"], trials, load_norms(norms)),
                  recordings, out, camera=camera, person=person, db=db, as_json=as_json, export=export, ray=ray,
                  jobs=jobs, force=force, height_m=height_m, camera_profile=camera_profile, model=model,
                  offline=offline, quiet=quiet, verbose=verbose,
                  live_flags=dict(realtime=realtime, display=display, audio=audio, voice=voice, mirror=mirror,
                                  record=record))


HoldSideChoice = Enum("HoldSideChoice", {"left": "left", "right": "right", "both": "both"}, type=str)


@app.command()
def hold(
    stretch: Annotated[str, typer.Argument(help="A stretch name from `hamflex stretches`.", show_default=False)],
    videos: Annotated[
        Optional[list[Path]],
        typer.Argument(help="A recorded video (omit with --camera); several, folders or globs: a batch.", show_default=False),
    ] = None,
    out: OutOption = DEFAULT_OUT,
    side: Annotated[
        Optional[HoldSideChoice],
        typer.Option("--side", help="Leg being stretched: left, right or both (alternating). Default: from the pose."),
    ] = None,
    hold_s: Annotated[
        Optional[float], typer.Option("--hold-s", min=20, help="Valid seconds per rep (at least 20; default: the stretch's own).")
    ] = None,
    reps: Annotated[Optional[int], typer.Option("--reps", min=1, help="Repetitions per side (default: the stretch's own).")] = None,
    catalog: CatalogOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print hold.json on stdout (the summary then goes to stderr).")] = False,
    camera: CameraOption = None, realtime: RealtimeOption = False, display: DisplayOption = True,
    audio: AudioOption = True, voice: VoiceOption = False, mirror: MirrorOption = False, record: RecordOption = None,
    camera_profile: CameraProfileOption = None, person: PersonOption = None, db: DbOption = None,
    jobs: JobsOption = None, force: ForceOption = False, export: ExportOption = None, height_m: HeightOption = None,
    ray: RayOption = None,
    model: ModelOption = None, offline: OfflineOption = False, quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Coach a stretch hold: count valid seconds (right posture, no bouncing) and reps; write OUT/hold.json
    (a batch: OUT/<video>/hold.json each, OUT/batch.json and OUT/summary.csv)."""
    from hamflex.pipelines.api import hold_protocol
    from hamflex.protocols.hold import SAFETY_ADVICE

    options = dict(stretch=stretch, side=side.value if side else None, hold_s=hold_s, reps=reps,
                   catalog=str(catalog) if catalog else None)

    def protocol():
        start_depth_deg = None
        if person is not None:  # the person's usual depth from their history, as a start
            from hamflex.history.store import list_sessions
            from hamflex.history.trends import usual_depth_deg

            start_depth_deg = usual_depth_deg(list_sessions(person, "hold", db), stretch)
        return hold_protocol(stretch, side=options["side"], hold_s=hold_s, reps=reps, catalog=catalog,
                             start_depth_deg=start_depth_deg)

    _one_or_batch("hold", options, protocol, videos, out, camera=camera, person=person, db=db, as_json=json_output,
                  export=export, ray=ray, jobs=jobs, force=force, height_m=height_m, camera_profile=camera_profile,
                  model=model, offline=offline, quiet=quiet, verbose=verbose,
                  live_flags=dict(realtime=realtime, display=display, audio=audio, voice=voice, mirror=mirror,
                                  record=record),
                  live_notice=f"safety: {SAFETY_ADVICE}")


@app.command()
def routine(
    plan: Annotated[
        Optional[Path], typer.Argument(help="A routine plan (a TOML file of steps, see docs/stretches.md); default: the low-back routine.",
                                       show_default=False)
    ] = None,
    video: Annotated[Optional[Path], typer.Argument(help="A recording of the whole routine (omit with --camera).",
                                                    show_default=False)] = None,
    out: OutOption = DEFAULT_OUT,
    catalog: CatalogOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print routine.json on stdout (the summary then goes to stderr).")] = False,
    camera: CameraOption = None, realtime: RealtimeOption = False, display: DisplayOption = True,
    audio: AudioOption = True, voice: VoiceOption = False, mirror: MirrorOption = False, record: RecordOption = None,
    camera_profile: CameraProfileOption = None, person: PersonOption = None, db: DbOption = None,
    model: ModelOption = None, offline: OfflineOption = False, quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """A guided routine: the plan's stretches one after another (live: announced, `n` skips a step);
    a recording of a whole routine is scored step by step. Writes OUT/routine.json."""
    from hamflex.protocols.routine import RoutineProtocol, load_plan

    if plan is not None and video is None and plan.suffix.lower() != ".toml":
        plan, video = None, plan  # `hamflex routine VIDEO`: the default plan
    _measure(lambda: RoutineProtocol(load_plan(plan, catalog)), video, camera, out, person=person, db=db,
             verbose=verbose, as_json=json_output, run=run_options(model, offline, camera_profile, quiet, verbose),
             live_flags=dict(realtime=realtime, display=display, audio=audio, voice=voice, mirror=mirror, record=record))


PostureChoice = Enum("PostureChoice", {name: name for name in ("standing", "seated", "lying", "auto")}, type=str)


@app.command("check-setup")
def check_setup_command(
    video: Annotated[
        Optional[Path], typer.Argument(help="A video of the person standing side-on for a few seconds.", show_default=False)
    ] = None,
    camera: CameraOption = None,
    seconds: Annotated[Optional[float], typer.Option("--seconds", min=0.5, help="Check only the first seconds (live default 5).")] = None,
    posture: Annotated[
        PostureChoice,
        typer.Option("--posture", help="What the person does during the check; auto tells standing, seated and lying apart."),
    ] = PostureChoice.auto,
    camera_profile: CameraProfileOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    display: DisplayOption = True,
    out: OutOption = DEFAULT_OUT,
    model: ModelOption = None,
    offline: OfflineOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Is the camera side-on, level, far enough, and the legs well seen? Pass/fail and what to change;
    OUT/setup_check.json."""
    from hamflex.pipelines.api import check_setup

    source = one_source(video, camera)
    live = live_options(camera, display=display, audio=False)
    with reported_errors(verbose):
        report = check_setup(source, out, seconds=seconds, posture=posture.value,
                             options=run_options(model, offline, camera_profile, quiet, verbose), live=live)
        _print_result(report, as_json, warnings=False)
