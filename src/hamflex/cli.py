"""The ``hamflex`` command line: a thin layer over the Python API.

Every command reports a problem as one line on stderr and exits with the code documented
in :mod:`hamflex.errors` (and docs/cli.md); tracebacks only with ``--verbose``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer

from hamflex import __version__
from hamflex.errors import EXIT_INTERRUPTED, HamflexError

app = typer.Typer(
    name="hamflex",
    help="Measure hamstring flexibility (90-90 test) and coach stretch holds from an ordinary camera.",
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
        where = f" in {saved_to}" if saved_to else ""
        print(f"hamflex: interrupted; what was measured so far is saved{where}", file=sys.stderr, flush=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except (typer.Exit, typer.Abort):
        raise
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


def output_names(paths: list[Path]) -> list[str]:
    """One output folder name per input: the file's stem, prefixed by its folder when two
    inputs share a stem (``a/1.jpg`` and ``b/1.jpg`` → ``a_1`` and ``b_1``)."""
    stems = [path.stem for path in paths]
    return [
        f"{path.parent.name}_{path.stem}" if stems.count(path.stem) > 1 else path.stem for path in paths
    ]


@app.command()
def analyze(
    videos: Annotated[list[Path], typer.Argument(help="Videos or photos (.jpg, .png) to analyse.", show_default=False)],
    out: OutOption = Path("hamflex-out"),
    overlay: Annotated[bool, typer.Option("--overlay", help="Also write overlay.mp4 with skeleton and angles.")] = False,
    num_poses: Annotated[
        int, typer.Option("--num-poses", min=1, help="People to detect; the largest is analysed, followed over time.")
    ] = 1,
    model: ModelOption = None,
    offline: OfflineOption = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Per-frame hip and knee angles of recorded videos: OUT/<video>/angles.csv and summary.json."""
    from hamflex.analysis import analyze_video

    first_failure = 0
    names = output_names(videos)
    for video, name in zip(videos, names):
        try:
            with reported_errors(verbose, saved_to=out / name):
                result = analyze_video(
                    video, out, overlay=overlay, model=model, offline=offline, num_poses=num_poses,
                    progress=not quiet, verbose=verbose, output_name=name,
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
    from hamflex import models as model_store

    with reported_errors():
        if download is not None:
            if download not in model_store.MODELS:
                raise typer.BadParameter(f"unknown variant {download!r}; choose from {', '.join(model_store.MODELS)}")
            typer.echo(f"downloaded {model_store.download_model(download)}")
            return
        cached = model_store.cached_models()
        typer.echo(f"model cache: {model_store.cache_dir()}")
        for variant, spec in model_store.MODELS.items():
            where = cached.get(variant, "not downloaded")
            typer.echo(f"  {variant:6s} {where}")
        typer.echo(f"{model_store.MODEL_ENV_VAR}: {__import__('os').environ.get(model_store.MODEL_ENV_VAR, '(not set)')}")


def main() -> None:
    """Entry point of the ``hamflex`` script and ``python -m hamflex``."""
    app(prog_name="hamflex")
