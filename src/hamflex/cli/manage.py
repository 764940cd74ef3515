"""The managing commands: ``models``, ``stretches``, ``calibrate``, ``report`` and ``history``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from hamflex.cli.app import app, error_line, reported_errors
from hamflex.cli.flags import CatalogOption, DbOption, VerboseOption
from hamflex.errors import ModelUnavailableError


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


@app.command()
def stretches(
    details: Annotated[bool, typer.Option("--details", "-d", help="Also show each stretch's description and checks.")] = False,
    catalog: CatalogOption = None,
) -> None:
    """List the stretches `hamflex hold` can coach (name, group, camera view)."""
    from hamflex.cli.text import format_catalog
    from hamflex.protocols.catalog import load_catalog

    with reported_errors():
        typer.echo(format_catalog(load_catalog(catalog), details=details))


@app.command()
def report(
    directory: Annotated[Path, typer.Argument(help="An output directory of analyze, test90, slr or hold.", show_default=False)],
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
    from hamflex.history.export import export_sessions
    from hamflex.history.trends import deficit_trends
    from hamflex.history.view import print_history

    if export is not None and export not in ("csv", "json"):
        raise typer.BadParameter("choose csv or json", param_hint="--export")
    if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise typer.BadParameter("the chart is written as .png, .svg or .pdf", param_hint="--plot")
    with reported_errors(verbose):
        sessions = store.list_sessions(person, db_path=db)
        if export is not None:
            sys.stdout.write(export_sessions(sessions, export))
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

            chart = trend_figure(deficit_trends(sessions), store.persons(sessions)[0])
            typer.echo(f"wrote {save_figure(chart, plot)}")


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


@app.command()
def rescore(
    out_dir: Annotated[Path, typer.Argument(help="A batch's output folder (it holds batch.json).", show_default=False)],
    hip_tolerance: Annotated[
        Optional[float], typer.Option("--hip-tolerance", min=1.0, max=45.0, help="90-90: thigh within 90 ± this many degrees.")
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """Score a batch again from its saved landmarks (landmarks.npz), without the pose model:
    new results, OUT_DIR/batch.json and summary.csv; the options not given stay the batch's."""
    from hamflex.pipelines.batch import DONE, rescore_batch

    with reported_errors(verbose):
        report = rescore_batch(out_dir, hip_tolerance_deg=hip_tolerance)
    for name, record in report.records.items():
        if record.status == DONE:
            typer.echo(f"{record.path}: rescored -> {out_dir / name}")
        if record.error:
            error_line(record.error)
    if report.exit_code:
        raise typer.Exit(report.exit_code)
