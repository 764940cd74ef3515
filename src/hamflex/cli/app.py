"""The ``hamflex`` command line: a thin layer over the Python API.

Every command reports a problem as one line on stderr and exits with the code documented
in :mod:`hamflex.errors` (and docs/cli.md); tracebacks only with ``--verbose``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from hamflex import __version__
from hamflex.errors import EXIT_INTERRUPTED, HamflexError, InputError


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
        "6 camera not opened or lost, 7 nothing to score, 8 camera profile does not fit, 9 optional extra missing, 130 interrupted "
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


def warning_line(message: str) -> None:
    """A warning on stderr, in the same voice as errors."""
    print(f"hamflex: warning: {message}", file=sys.stderr, flush=True)


def main() -> None:
    """Entry point of the ``hamflex`` script and ``python -m hamflex``."""
    try:
        app(prog_name="hamflex")
    except KeyboardInterrupt:  # before any command started: nothing measured yet
        print("hamflex: interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
