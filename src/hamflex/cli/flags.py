"""Flags shared by the commands, and their translation into the API's option dataclasses.

Options whose default belongs to a protocol or a stretch default to None ("not given") here,
so the one default that applies is the protocol's setting or the catalog entry's.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from hamflex.cli.app import error_line
from hamflex.errors import CameraError
from hamflex.pipelines.options import LiveOptions, RunOptions

ModelOption = Annotated[
    Optional[str],
    typer.Option(
        "--model",
        help="Pose model: a .task file, or lite/full/heavy. Default: $HAMFLEX_MODEL, else the cached or downloaded full model.",
    ),
]
OfflineOption = Annotated[bool, typer.Option("--offline", help="Never download a model (also: HAMFLEX_OFFLINE=1).")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show MediaPipe's own log lines and full tracebacks.")]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="Output directory.")]
CameraProfileOption = Annotated[
    Optional[Path],
    typer.Option("--camera-profile", help="Camera profile JSON from `hamflex calibrate`: undistort the landmarks first."),
]
# Batch options (several inputs, folders, globs); see docs/cli.md.
JobsOption = Annotated[
    Optional[int], typer.Option("--jobs", "-j", min=1, help="Worker processes, each loading the model once (default: every core); fewer videos than workers: each long video is split between them.")
]
ForceOption = Annotated[bool, typer.Option("--force", help="Redo every input, even those OUT/batch.json says are complete.")]
ExportOption = Annotated[
    Optional[str], typer.Option("--export", help="Research exports per input, comma-separated: trc (landmarks), mot (angles).")
]
HeightOption = Annotated[
    Optional[float],
    typer.Option("--height-m", min=0.5, max=2.5, help="The person's height: --export trc in metres (needs --camera-profile)."),
]
RayOption = Annotated[
    Optional[str], typer.Option("--ray", help="Run the batch on a Ray cluster: auto, local or the head's ADDRESS (pip install 'hamflex[ray]').")
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
PersonOption = Annotated[
    Optional[str], typer.Option("--person", help="Record the result under this name in the history database.")
]
DbOption = Annotated[
    Optional[Path], typer.Option("--db", help="History database. Default: $HAMFLEX_DB, else the user data directory.")
]
CatalogOption = Annotated[
    Optional[Path], typer.Option("--catalog", help="A TOML file of more stretches (also: $HAMFLEX_CATALOG).")
]
NormsOption = Annotated[
    Optional[Path], typer.Option("--norms", help="A clinic's own 90-90 norms table (also: $HAMFLEX_NORMS).")
]


def run_options(model: str | None, offline: bool, camera_profile: Path | None, quiet: bool,
                verbose: bool) -> RunOptions:
    return RunOptions(model=model, offline=offline, camera_profile=camera_profile, progress=not quiet, verbose=verbose)


def live_options(camera: str | None, **flags: Any) -> LiveOptions | None:
    """The live session's options when ``--camera`` was given, else None (a recording)."""
    return LiveOptions(**flags) if camera is not None else None


def one_source(recording: Path | None, camera: str | None) -> str:
    """The recording or camera to run on; exactly one of them must be given (usage error otherwise)."""
    if (recording is None) == (camera is None):
        error_line("give either a VIDEO/PHOTO or --camera (not both)")
        raise typer.Exit(2)
    return str(recording if recording is not None else camera)


def check_person(person: Optional[str]) -> None:
    """Refuse an empty ``--person`` before any work is done."""
    if person is not None and not person.strip():
        raise typer.BadParameter("the name cannot be empty", param_hint="--person")


def record_for_person(kind: str, person: Optional[str], result: Any, source: str, db: Optional[Path] = None) -> None:
    """Store a protocol result in the history when ``--person`` was given (test90, slr, hold, routine)."""
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
            partial = json.loads(result_file.read_text(encoding="utf-8"))
            if partial.get("trials") or partial.get("valid_seconds_total"):
                record_for_person(kind, person, partial, source, db)
        raise


def exit_if_camera_lost(result: Any, out: Path) -> None:
    """A live session whose camera was lost was saved and summarized; still exit 6 to say so."""
    if getattr(result, "ended_by", None) == "camera_lost":
        error_line(f"the camera was lost; the session so far is saved in {out}")
        raise typer.Exit(CameraError.exit_code)
