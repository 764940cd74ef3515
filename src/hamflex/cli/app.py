"""The ``hamflex`` command line: a thin layer over the Python API.

Every command reports a problem as one line on stderr and exits with the code documented
in :mod:`hamflex.errors` (and docs/cli.md); tracebacks only with ``--verbose``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from hamflex import __version__
from hamflex.errors import EXIT_INTERRUPTED, CameraError, HamflexError, InputError, ModelUnavailableError


EXIT_FILE_ERROR = InputError.exit_code  # files that cannot be read or written share one code


class _ReportingGroup(TyperGroup):
    """Applies :func:`reported_errors` around every command, lazy imports included, so no
    error escapes as a traceback (or as click's bare "Aborted!" on Ctrl-C)."""

    def invoke(self, ctx):
        with reported_errors(verbose=bool({"--verbose", "-v"} & set(sys.argv[1:]))):
            return super().invoke(ctx)


app = typer.Typer(
    name="hamflex",
    cls=_ReportingGroup,
    help="Measure hamstring flexibility (90-90 test) and coach stretch holds from an ordinary camera.",
    epilog=(
        "Exit codes: 0 ok, 1 internal error, 2 usage, 3 bad input or file, 4 no person, 5 no pose model, "
        "6 camera not opened or lost, 7 nothing to score, 8 camera profile does not fit, 130 interrupted "
        "(details: docs/cli.md)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"hamflex {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version and exit."),
    ] = None,
) -> None:
    """Measure hamstring flexibility and coach stretches from a camera or recorded videos."""


def error_line(message: str) -> None:
    """One line on stderr, prefixed so it is clearly hamflex speaking."""
    print(f"hamflex: error: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def reported_errors(verbose: bool = False, saved_to: Path | None = None) -> Iterator[None]:
    """Turn errors into one stderr line and the documented exit code."""
    try:
        yield
    except HamflexError as error:
        error_line(str(error))
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        if saved_to is not None and saved_to.is_dir() and any(p.is_file() for p in saved_to.rglob("*")):
            message = f"hamflex: interrupted; what was measured so far is saved in {saved_to}"
        else:
            message = "hamflex: interrupted before anything was measured"
        print(message, file=sys.stderr, flush=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (typer.Exit, typer.Abort, TyperException):  # usage errors: typer reports them (exit 2)
        raise
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading: not an error to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(1) from None
    except OSError as error:  # e.g. an output folder that cannot be created or written
        where = f"{error.filename}: " if error.filename else ""
        error_line(f"{where}{error.strerror or error}")
        raise typer.Exit(EXIT_FILE_ERROR) from None
    except Exception as error:
        if verbose:
            raise
        error_line(f"internal error: {type(error).__name__}: {error} (rerun with --verbose for details)")
        raise typer.Exit(1) from None


# Options shared by the commands.
ModelOption = Annotated[
    Optional[str],
    typer.Option(
        "--model",
        help="Pose model: a .task file, or lite/full/heavy. Default: $HAMFLEX_MODEL, else the cached or downloaded full model.",
    ),
]
OfflineOption = Annotated[
    bool, typer.Option("--offline", help="Never download a model (also: HAMFLEX_OFFLINE=1).")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show MediaPipe's own log lines and full tracebacks.")
]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="Output directory.")]
CameraProfileOption = Annotated[
    Optional[Path],
    typer.Option("--camera-profile", help="Camera profile JSON from `hamflex calibrate`: undistort the landmarks first."),
]
# Live-session options (test90, hold and check-setup with --camera); see docs/live.md.
CameraOption = Annotated[
    Optional[str], typer.Option("--camera", help="Run live: a camera index (0), a stream URL or a video file.")
]
RealtimeOption = Annotated[
    bool, typer.Option("--realtime", help="Live from a file: play it at its own pace, dropping frames like a webcam.")
]
DisplayOption = Annotated[bool, typer.Option("--display/--no-display", help="Live: show the overlay window.")]
AudioOption = Annotated[bool, typer.Option("--audio/--no-audio", help="Live: sound cues.")]
VoiceOption = Annotated[bool, typer.Option("--voice", help="Live: speak the cues (espeak-ng).")]
MirrorOption = Annotated[bool, typer.Option("--mirror", help="Live: selfie view (labels stay readable).")]
RecordOption = Annotated[
    Optional[Path], typer.Option("--record", help="Live: save the raw video and every frame's landmarks and angles here.")
]


def output_names(paths: list[Path]) -> list[str]:
    """One distinct output folder name per input: the file's stem; where stems clash, the
    parent folder is prefixed (``a/1.jpg``, ``b/1.jpg`` → ``a_1``, ``b_1``), then the
    suffix appended (``1.jpg``, ``1.png`` → ``..._1_jpg``, ``..._1_png``)."""
    def clashing(names: list[str]) -> set[str]:
        return {name for name in names if names.count(name) > 1}

    names = [path.stem for path in paths]
    for widen in (lambda path: f"{path.parent.name}_{path.stem}",
                  lambda path: f"{path.parent.name}_{path.stem}_{path.suffix.lstrip('.')}"):
        clash = clashing(names)
        names = [widen(path) if name in clash else name for path, name in zip(paths, names)]
    return names


@app.command()
def analyze(
    videos: Annotated[list[Path], typer.Argument(help="Videos or photos (.jpg, .png) to analyse.", show_default=False)],
    out: OutOption = Path("hamflex-out"),
    overlay: Annotated[bool, typer.Option("--overlay", help="Also write overlay.mp4 with skeleton and angles.")] = False,
    num_poses: Annotated[
        int, typer.Option("--num-poses", min=1, help="People to detect; the largest is analysed, followed over time.")
    ] = 1,
    camera_profile: CameraProfileOption = None,
    model: ModelOption = None,
    offline: OfflineOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Per-frame hip and knee angles of recorded videos: OUT/<video>/angles.csv and summary.json."""
    from hamflex.pipelines.offline import analyze_video

    first_failure = 0
    unique_videos = list(dict.fromkeys(videos))  # the same file given twice is analysed once
    if len(unique_videos) < len(videos):
        print("hamflex: warning: a file given more than once is analysed once", file=sys.stderr)
    videos = unique_videos
    names = output_names(videos)
    for video, name in zip(videos, names):
        try:
            with reported_errors(verbose, saved_to=out / name):
                result = analyze_video(
                    video, out, overlay=overlay, model=model, offline=offline, num_poses=num_poses,
                    progress=not quiet, verbose=verbose, output_name=name, camera_profile=camera_profile,
                )
                typer.echo(
                    f"{video}: {result.frames_with_pose}/{result.frames} frames with a person "
                    f"({result.detection_rate:.0%}) -> {out / name}"
                )
                for warning in result.warnings:
                    print(f"hamflex: warning: {video}: {warning}", file=sys.stderr)
        except typer.Exit as exit_:
            if exit_.exit_code == EXIT_INTERRUPTED:
                raise
            first_failure = first_failure or exit_.exit_code
    if first_failure:
        raise typer.Exit(first_failure)


@app.command()
def models(
    download: Annotated[
        Optional[str], typer.Option("--download", help="Download a model variant: lite, full or heavy.")
    ] = None,
) -> None:
    """List the pose models in the user cache, or download one."""
    from hamflex.media import models as model_store

    with reported_errors():
        if download is not None:
            if download not in model_store.MODELS:
                raise typer.BadParameter(f"unknown variant {download!r}; choose from {', '.join(model_store.MODELS)}")
            if model_store.offline_requested():
                raise ModelUnavailableError(f"{model_store.OFFLINE_ENV_VAR} is set: not downloading")
            typer.echo(f"downloaded {model_store.download_model(download)}")
            return
        cached = model_store.cached_models()
        typer.echo(f"model cache: {model_store.cache_dir()}")
        for variant in model_store.MODELS:
            typer.echo(f"  {variant:6s} {cached.get(variant, 'not downloaded')}")
        from_env = os.environ.get(model_store.MODEL_ENV_VAR)
        state = "(not set)" if not from_env else from_env if Path(from_env).is_file() else f"{from_env} (no such file!)"
        typer.echo(f"{model_store.MODEL_ENV_VAR}: {state}")


# --- report and history commands ---
PersonOption = Annotated[
    Optional[str], typer.Option("--person", help="Record the result under this name in the history database.")
]
DbOption = Annotated[
    Optional[Path], typer.Option("--db", help="History database. Default: $HAMFLEX_DB, else the user data directory.")
]


def check_person(person: Optional[str]) -> None:
    """Refuse an empty ``--person`` before any work is done."""
    if person is not None and not person.strip():
        raise typer.BadParameter("the name cannot be empty", param_hint="--person")


def record_for_person(kind: str, person: Optional[str], result: dict, source: str, db: Optional[Path] = None) -> None:
    """Store a protocol result in the history when ``--person`` was given (test90 and hold)."""
    if person is None:
        return
    from hamflex.history.store import record_session

    session_id = record_session(kind, person, result, source, db)
    print(f"hamflex: recorded as session {session_id} of {person.strip()} in the history", file=sys.stderr)


@contextlib.contextmanager
def recorded_if_interrupted(kind: str, person: Optional[str], result_file: Path, source: str,
                            db: Optional[Path]) -> Iterator[None]:
    """On Ctrl-C, still record in the history what the protocol saved (a trial, valid seconds)."""
    try:
        yield
    except KeyboardInterrupt:
        if person is not None and result_file.is_file():
            import json

            partial = json.loads(result_file.read_text(encoding="utf-8"))
            if partial.get("trials") or partial.get("valid_seconds_total"):
                record_for_person(kind, person, partial, source, db)
        raise


def exit_if_camera_lost(result: dict, out: Path) -> None:
    """A live session whose camera was lost was saved and summarized; still exit 6 to say so."""
    if result.get("ended_by") == "camera_lost":
        error_line(f"the camera was lost; the session so far is saved in {out}")
        raise typer.Exit(CameraError.exit_code)


@app.command()
def report(
    directory: Annotated[Path, typer.Argument(help="An output directory of analyze, test90 or hold.", show_default=False)],
    pdf: Annotated[bool, typer.Option("--pdf", help="Also print report.pdf (needs Chromium).")] = False,
    person: Annotated[
        Optional[str], typer.Option("--person", help="Add this person's progress and stretching adherence.")
    ] = None,
    db: DbOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Write DIR/report.html: the result, plots, trials, warnings and method in one file."""
    from hamflex.outputs.report import write_pdf, write_report

    with reported_errors(verbose):
        path = write_report(directory, person=person, db_path=db)
        typer.echo(f"wrote {path}")
        if pdf:
            typer.echo(f"wrote {write_pdf(path)}")


@app.command()
def history(
    person: Annotated[Optional[str], typer.Option("--person", help="Only this person (case-insensitive).")] = None,
    plot: Annotated[
        Optional[Path], typer.Option("--plot", help="Write the deficit trend chart (.png, .svg or .pdf).")
    ] = None,
    export: Annotated[
        Optional[str], typer.Option("--export", help="Print all matching sessions as csv or json instead of tables.")
    ] = None,
    weeks: Annotated[int, typer.Option("--weeks", min=1, help="Weeks of stretching adherence to judge.")] = 4,
    db: DbOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Recorded sessions, deficit trends (real change vs measurement error) and stretching adherence."""
    from rich.console import Console

    from hamflex.history import store
    from hamflex.history.view import print_history

    if export is not None and export not in ("csv", "json"):
        raise typer.BadParameter("choose csv or json", param_hint="--export")
    if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise typer.BadParameter("the chart is written as .png, .svg or .pdf", param_hint="--plot")
    with reported_errors(verbose):
        sessions = store.list_sessions(person, db_path=db)
        if export is not None:
            sys.stdout.write(store.export_sessions(sessions, export))
            return
        if plot is not None and len(store.persons(sessions)) > 1:
            error_line("--plot draws one person's trend: choose whose with --person")
            raise typer.Exit(2)
        console = Console(highlight=False)
        if not sessions:
            typer.echo(store.empty_history_message(person, db))  # plain: a path must not be wrapped
            return
        print_history(sessions, console, weeks=weeks)
        if plot is not None:
            from hamflex.outputs.plots import save_figure, trend_figure

            chart = trend_figure(store.deficit_trends(sessions), store.persons(sessions)[0])
            typer.echo(f"wrote {save_figure(chart, plot)}")


# --- 90-90 test commands ---
SideChoice = Enum("SideChoice", {"left": "left", "right": "right", "both": "both"}, type=str)
SexChoice = Enum("SexChoice", {"female": "female", "male": "male"}, type=str)


@app.command()
def test90(
    recording: Annotated[
        Optional[Path], typer.Argument(help="A video of the test, or one photo at the end position.", show_default=False)
    ] = None,
    out: OutOption = Path("hamflex-out"),
    side: Annotated[
        Optional[SideChoice], typer.Option("--side", help="Tested side; default: named from the body's orientation.")
    ] = None,
    trials: Annotated[int, typer.Option("--trials", min=1, help="Trials per side (live: asked for).")] = 3,
    sex: Annotated[Optional[SexChoice], typer.Option("--sex", help="Grade with sex-specific cut-offs.")] = None,
    hip_tolerance: Annotated[
        float, typer.Option("--hip-tolerance", min=1.0, max=45.0, help="Thigh within 90 ± this many degrees.")
    ] = 10.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print test90.json on stdout (the summary then goes to stderr).")
    ] = False,
    camera: CameraOption = None,
    realtime: RealtimeOption = False,
    display: DisplayOption = True,
    audio: AudioOption = True,
    voice: VoiceOption = False,
    mirror: MirrorOption = False,
    record: RecordOption = None,
    camera_profile: CameraProfileOption = None,
    person: PersonOption = None,
    db: DbOption = None,
    model: ModelOption = None,
    offline: OfflineOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """The 90-90 hamstring test (active knee extension): OUT/test90.json and a summary."""

    from hamflex.outputs.files import json_text
    from hamflex.pipelines.api import format_summary, make_protocol, run_test90, run_test90_live

    if (recording is None) == (camera is None):
        error_line("give either a VIDEO/PHOTO or --camera (not both)")
        raise typer.Exit(2)
    check_person(person)
    side_name = side.value if side else None
    sex_name = sex.value if sex else None
    source = str(recording or f"camera {camera}")
    with reported_errors(verbose, saved_to=out), recorded_if_interrupted("test90", person, out / "test90.json", source, db):
        if camera is not None:
            protocol = make_protocol(side_name, trials, sex_name, hip_tolerance)
            result = run_test90_live(
                camera, out, protocol, realtime=realtime, display=display, audio=audio, voice=voice, mirror=mirror,
                record=record, camera_profile=camera_profile, model=model, offline=offline, verbose=verbose,
            )
        else:
            result = run_test90(
                recording, out, side=side_name, trials=trials, sex=sex_name, hip_tolerance_deg=hip_tolerance,
                model=model, offline=offline, camera_profile=camera_profile, progress=not quiet, verbose=verbose,
            )
        if as_json:  # stdout is the JSON alone, so it can be piped; the summary goes to stderr
            print(format_summary(result), file=sys.stderr)
            sys.stdout.write(json_text(result))
        else:
            typer.echo(format_summary(result))
        if camera is None:  # live sessions warned as they went
            for warning in result.get("warnings", []):
                print(f"hamflex: warning: {warning}", file=sys.stderr)
        record_for_person("test90", person, result, source, db)
        exit_if_camera_lost(result, out)


# --- stretch coach commands ---
@app.command()
def stretches(
    details: Annotated[bool, typer.Option("--details", "-d", help="Also show each stretch's description and checks.")] = False,
) -> None:
    """List the stretches `hamflex hold` can coach (name, group, camera view)."""
    from hamflex.protocols.catalog import format_catalog, load_catalog

    with reported_errors():
        typer.echo(format_catalog(load_catalog(), details=details))


@app.command()
def hold(
    stretch: Annotated[str, typer.Argument(help="A stretch name from `hamflex stretches`.", show_default=False)],
    video: Annotated[
        Optional[Path], typer.Argument(help="A recorded video (omit with --camera).", show_default=False)
    ] = None,
    out: OutOption = Path("hamflex-out"),
    side: Annotated[
        Optional[str], typer.Option("--side", help="Leg being stretched: left, right or both (alternating). Default: from the pose.")
    ] = None,
    hold_s: Annotated[float, typer.Option("--hold-s", min=20, help="Valid seconds per rep (at least 20).")] = 30,
    reps: Annotated[int, typer.Option("--reps", min=1, help="Repetitions per side.")] = 5,
    json_output: Annotated[bool, typer.Option("--json", help="Print hold.json instead of the summary.")] = False,
    camera: CameraOption = None,
    realtime: RealtimeOption = False,
    display: DisplayOption = True,
    audio: AudioOption = True,
    voice: VoiceOption = False,
    mirror: MirrorOption = False,
    record: RecordOption = None,
    camera_profile: CameraProfileOption = None,
    person: PersonOption = None,
    db: DbOption = None,
    model: ModelOption = None,
    offline: OfflineOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Coach a stretch hold: count valid seconds (right posture, no bouncing) and reps; write OUT/hold.json."""

    from hamflex.pipelines.holds import format_hold_summary, run_hold, run_hold_live
    from hamflex.outputs.files import json_text
    from hamflex.protocols.hold import SAFETY_ADVICE, SIDE_CHOICES
    from hamflex.protocols.catalog import get_stretch

    if side is not None and side not in SIDE_CHOICES:
        raise typer.BadParameter(f"choose from {', '.join(SIDE_CHOICES)}", param_hint="--side")
    if (video is None) == (camera is None):
        raise typer.BadParameter("give either a VIDEO or --camera, not both or neither")
    check_person(person)
    source = str(video or f"camera {camera}")
    with reported_errors(verbose, saved_to=out), recorded_if_interrupted("hold", person, out / "hold.json", source, db):
        entry = get_stretch(stretch)
        if camera is not None:
            print(f"hamflex: safety: {SAFETY_ADVICE}", file=sys.stderr, flush=True)  # before stretching starts
            result = run_hold_live(
                entry, camera, out, side=side, hold_s=hold_s, reps=reps, realtime=realtime, display=display,
                audio=audio, voice=voice, mirror=mirror, record=record, camera_profile=camera_profile, model=model,
                offline=offline, verbose=verbose,
            )
        else:
            result = run_hold(
                entry, video, out, side=side, hold_s=hold_s, reps=reps, model=model, offline=offline,
                camera_profile=camera_profile, progress=not quiet, verbose=verbose,
            )
        if json_output:
            sys.stdout.write(json_text(result))
        else:
            typer.echo(format_hold_summary(result))
        record_for_person("hold", person, result, source, db)
        exit_if_camera_lost(result, out)


# --- calibration commands ---
PostureChoice = Enum("PostureChoice", {name: name for name in ("standing", "seated", "lying", "auto")}, type=str)


@app.command()
def calibrate(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="`board` to write a printable checkerboard; else photos, videos or folders of the board.",
            show_default=False,
        ),
    ],
    board: Annotated[str, typer.Option("--board", help="Inner corners across x down, e.g. 4x7.")] = "4x7",
    square_mm: Annotated[float, typer.Option("--square-mm", min=1.0, help="Side of one square, millimetres.")] = 60.0,
    out: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="board: folder or file stem (default calibration/); else the profile JSON "
                     "(default camera-profile.json)."),
    ] = None,
    dpi: Annotated[int, typer.Option("--dpi", min=50, max=1200, help="board: resolution of the PNG.")] = 150,
    max_frames: Annotated[
        int, typer.Option("--max-frames", min=5, help="Frames sampled evenly from each video.")
    ] = 40,
    verbose: VerboseOption = False,
) -> None:
    """Print a checkerboard (`hamflex calibrate board`) or calibrate the camera from pictures of it."""
    from hamflex.camera.board import BoardSpec, write_board
    from hamflex.camera.calibrate import calibrate_camera, format_calibration

    try:
        spec = BoardSpec.parse(board, square_mm)
    except ValueError as error:
        error_line(str(error))
        raise typer.Exit(2) from None
    with reported_errors(verbose):
        if inputs[0] == "board":
            if len(inputs) > 1:
                error_line("`hamflex calibrate board` takes no other arguments (use --out)")
                raise typer.Exit(2)
            files = write_board(out or Path("calibration"), spec, dpi=dpi)
            width_mm, height_mm = files.page_mm
            typer.echo(f"wrote {files.pdf} and {files.png} ({width_mm:.0f} x {height_mm:.0f} mm page, "
                       f"{spec.label} inner corners, {square_mm:g} mm squares)")
            typer.echo("print the PDF at 100% (actual size), check one square with a ruler, and glue it on a flat board")
            return
        result = calibrate_camera([Path(item) for item in inputs], spec, max_video_frames=max_frames)
        typer.echo(format_calibration(result))
        profile = result.require_profile()
        path = profile.save(out or Path("camera-profile.json"))
        typer.echo(f"wrote {path}")


@app.command("check-setup")
def check_setup_command(
    video: Annotated[
        Optional[Path], typer.Argument(help="A video of the person standing side-on for a few seconds.", show_default=False)
    ] = None,
    camera: CameraOption = None,
    seconds: Annotated[
        Optional[float], typer.Option("--seconds", min=0.5, help="Check only the first seconds (live default 5).")
    ] = None,
    posture: Annotated[
        PostureChoice,
        typer.Option("--posture", help="What the person does during the check; auto tells standing, seated and lying apart."),
    ] = PostureChoice.auto,
    camera_profile: CameraProfileOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    display: DisplayOption = True,
    out: OutOption = Path("hamflex-out"),
    model: ModelOption = None,
    offline: OfflineOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Is the camera side-on, level, far enough, and the legs well seen? Pass/fail and what to change;
    OUT/setup_check.json."""

    from hamflex.outputs.files import json_text
    from hamflex.camera.checks import check_setup, check_setup_live, format_report

    if (video is None) == (camera is None):
        error_line("give either a VIDEO or --camera (not both)")
        raise typer.Exit(2)
    with reported_errors(verbose):
        if camera is not None:
            report = check_setup_live(camera, out, seconds=seconds or 5.0, posture=posture.value,
                                      camera_profile=camera_profile, display=display, model=model, offline=offline,
                                      verbose=verbose)
        else:
            report = check_setup(video, out, seconds=seconds, posture=posture.value, model=model, offline=offline,
                                 camera_profile=camera_profile, progress=not quiet, verbose=verbose)
        if as_json:
            sys.stdout.write(json_text(report.to_dict()))
        else:
            typer.echo(format_report(report))


def main() -> None:
    """Entry point of the ``hamflex`` script and ``python -m hamflex``."""
    try:
        app(prog_name="hamflex")
    except KeyboardInterrupt:  # before any command started: nothing measured yet
        print("hamflex: interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
