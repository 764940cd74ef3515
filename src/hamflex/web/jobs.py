"""The web app's analyses: one per upload, stored in the history database (``analyses`` table)
and in its folder ``DATA/sessions/<id>/`` (the upload, ``status.json`` and everything the
CLI writes there), run in a pool of worker processes so no request waits for the model.

A server restart loses nothing: unfinished analyses are queued again when the pool starts.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hamflex.errors import HamflexError
from hamflex.history.store import open_history, record_session, transaction
from hamflex.outputs.files import write_json
from hamflex.outputs.names import PROTOCOL_FILES, WEB_STATUS_JSON, WEB_UPLOAD_STEM

STATUSES = ("queued", "running", "done", "failed")
RUNNING_PROGRESS = 0.05  # started; then up to 0.95 with the frames analysed, 1 when it ends
PROGRESS_EVERY_S = 0.5
SESSIONS_FOLDER = "sessions"
LIVE_CUT_SHORT = "the server stopped during this live session"


@dataclass(frozen=True)
class Analysis:
    """One uploaded file and the state of its analysis; ``folder`` is relative to the data folder."""

    id: int
    person_id: int
    protocol: str
    stretch: str | None
    status: str
    progress: float
    error: str | None
    folder: str
    upload: str
    session_id: int | None
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Analysis:
        return cls(**data)

    def result_file(self, data_dir: Path) -> Path:
        """Where the CLI's result JSON of this analysis is (or will be)."""
        return data_dir / self.folder / PROTOCOL_FILES[self.protocol]

    @property
    def live(self) -> bool:
        """A live session (a camera, no upload)."""
        return not self.upload

    def result(self, data_dir: Path) -> dict[str, Any] | None:
        """The result JSON exactly as the CLI wrote it, None before there is one."""
        path = self.result_file(data_dir)
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


_COLUMNS = "id, person_id, protocol, stretch, status, progress, error, folder, upload, session_id, created_at"


def create_analysis(db_path: Path, data_dir: Path, person_id: int, protocol: str, stretch: str | None,
                    uploaded: Path | None) -> Analysis:
    """A queued analysis of ``uploaded`` (moved into the new session folder under a server name),
    or of a live session (``uploaded`` None: no upload, the camera is given when it runs)."""
    created_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    upload = f"{WEB_UPLOAD_STEM}{uploaded.suffix.lower()}" if uploaded is not None else ""
    with open_history(db_path) as connection, transaction(connection):
        cursor = connection.execute(
            "INSERT INTO analyses (person_id, protocol, stretch, status, folder, upload, created_at)"
            " VALUES (?, ?, ?, 'queued', '', ?, ?)", (person_id, protocol, stretch, upload, created_at))
        analysis_id = int(cursor.lastrowid)
        folder = f"{SESSIONS_FOLDER}/{analysis_id}"
        connection.execute("UPDATE analyses SET folder = ? WHERE id = ?", (folder, analysis_id))
    (data_dir / folder).mkdir(parents=True, exist_ok=True)
    if uploaded is not None:
        os.replace(uploaded, data_dir / folder / upload)
    analysis = get_analysis(db_path, analysis_id)
    _write_status(data_dir, analysis)
    return analysis


def get_analysis(db_path: Path, analysis_id: int) -> Analysis | None:
    with open_history(db_path) as connection:
        row = connection.execute(f"SELECT {_COLUMNS} FROM analyses WHERE id = ?", (analysis_id,)).fetchone()
    return Analysis(*row) if row else None


def list_analyses(db_path: Path, person_id: int | None = None, statuses: tuple[str, ...] = STATUSES) -> list[Analysis]:
    """Analyses in the order they were made, of one person or everyone, in the given states."""
    query = f"SELECT {_COLUMNS} FROM analyses WHERE status IN ({', '.join('?' * len(statuses))})"
    parameters: list[Any] = list(statuses)
    if person_id is not None:
        query += " AND person_id = ?"
        parameters.append(person_id)
    with open_history(db_path) as connection:
        rows = connection.execute(query + " ORDER BY created_at, id", parameters).fetchall()
    return [Analysis(*row) for row in rows]


def _write_status(data_dir: Path, analysis: Analysis, frames: tuple[int, int | None] | None = None) -> None:
    state = {key: getattr(analysis, key) for key in ("id", "status", "progress", "error")}
    if frames is not None:
        state["frames_done"], state["frames_total"] = frames
    write_json(data_dir / analysis.folder / WEB_STATUS_JSON, state)


def frames_done(data_dir: Path, analysis: Analysis) -> tuple[int | None, int | None]:
    """(frames analysed, frames expected) of a running upload's analysis, Nones when not known."""
    path = data_dir / analysis.folder / WEB_STATUS_JSON
    state = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return state.get("frames_done"), state.get("frames_total")


def set_status(db_path: Path, data_dir: Path, analysis_id: int, status: str, progress: float,
               error: str | None = None, session_id: int | None = None,
               frames: tuple[int, int | None] | None = None) -> Analysis:
    """Record a new state in the database and in the session folder's ``status.json`` (with the
    frames analysed so far, while running)."""
    with open_history(db_path) as connection, transaction(connection):
        connection.execute("UPDATE analyses SET status = ?, progress = ?, error = ?,"
                           " session_id = COALESCE(?, session_id) WHERE id = ?",
                           (status, progress, error, session_id, analysis_id))
    analysis = get_analysis(db_path, analysis_id)
    _write_status(data_dir, analysis, frames)
    return analysis


def _run_test90(analysis: Analysis, sex: str | None, source: Any, folder: Path, live: Any, options: Any) -> Any:
    from hamflex.pipelines.api import run_test90

    return run_test90(source, folder, sex=sex, live=live, options=options)


def _run_slr(analysis: Analysis, sex: str | None, source: Any, folder: Path, live: Any, options: Any) -> Any:
    from hamflex.pipelines.api import run_slr

    return run_slr(source, folder, live=live, options=options)


def _run_hold(analysis: Analysis, sex: str | None, source: Any, folder: Path, live: Any, options: Any) -> Any:
    from hamflex.pipelines.api import run_hold

    return run_hold(analysis.stretch or "", source, folder, live=live, options=options)


@dataclass(frozen=True)
class ProtocolChoice:
    """A test the web app offers: its title on the pages and how it is run (the Python API,
    exactly as the CLI runs it, on an upload or a live source)."""

    title: str
    run: Callable[[Analysis, "str | None", Any, Path, Any, Any], Any]  # (analysis, sex, source, folder, live, options)
    needs_stretch: bool = False


PROTOCOLS: dict[str, ProtocolChoice] = {
    "test90": ProtocolChoice("90-90 test (active knee extension)", _run_test90),
    "slr": ProtocolChoice("Straight leg raise (active)", _run_slr),
    "hold": ProtocolChoice("Stretch hold", _run_hold, needs_stretch=True),
}
"""Every test the web app offers, in page order: adding one is one line."""


class _FramesDone:
    """An upload's analysis progress (frames done of total) into its state, every PROGRESS_EVERY_S."""

    def __init__(self, db_path: Path, data_dir: Path, analysis_id: int) -> None:
        self.db_path, self.data_dir, self.analysis_id = db_path, data_dir, analysis_id
        self._last_s = time.monotonic()

    def __call__(self, done: int, total: int | None) -> None:
        if time.monotonic() - self._last_s < PROGRESS_EVERY_S:
            return
        self._last_s = time.monotonic()
        fraction = RUNNING_PROGRESS + (1 - 2 * RUNNING_PROGRESS) * min(done / total, 1.0) if total else RUNNING_PROGRESS
        set_status(self.db_path, self.data_dir, self.analysis_id, "running", round(fraction, 3), frames=(done, total))


def _run_options(db_path: Path, data_dir: Path, analysis_id: int) -> Any:
    """The model resolved once (so no download gets the callback) and the progress reporter."""
    from hamflex.media.models import resolve_model
    from hamflex.pipelines.options import RunOptions

    return RunOptions(model=resolve_model(None, progress=False), progress=_FramesDone(db_path, data_dir, analysis_id))


def run_analysis(db_path: Path, data_dir: Path, analysis_id: int, source: Any = None, live: Any = None) -> None:
    """Analyse (a worker process's job for an upload; a server thread's, with ``source`` and
    ``live`` options, for a live session), record the result in the history, keep the state.

    A user-fixable problem ends the analysis ``failed`` with the CLI's one-line message."""
    from hamflex.pipelines.run import camera_name
    from hamflex.web.people import get_person

    analysis = set_status(db_path, data_dir, analysis_id, "running", RUNNING_PROGRESS)
    person = get_person(db_path, analysis.person_id)
    folder = data_dir / analysis.folder
    source = folder / analysis.upload if source is None else source
    try:
        options = _run_options(db_path, data_dir, analysis_id)
        result = PROTOCOLS[analysis.protocol].run(analysis, person.sex, source, folder, live, options)
    except HamflexError as error:
        set_status(db_path, data_dir, analysis_id, "failed", 1.0, str(error))
        return
    except Exception as error:  # a bug: said in one line, never a traceback page
        set_status(db_path, data_dir, analysis_id, "failed", 1.0, f"internal error: {type(error).__name__}: {error}")
        return
    shown = analysis.upload if live is None else camera_name(source)
    session_id = record_session(analysis.protocol, person.name, result, shown, db_path)
    set_status(db_path, data_dir, analysis_id, "done", 1.0, session_id=session_id)


def worker_count(requested: int | None = None) -> int:
    """At most one worker per core (default: one, the model uses several threads itself)."""
    cores = os.cpu_count() or 1
    return max(1, min(requested or 1, cores))


class AnalysisPool:
    """The background workers (spawned processes: MediaPipe is not fork-safe). Stopping the
    server ends them at once; an analysis cut short is queued again at the next start."""

    def __init__(self, db_path: Path, data_dir: Path, workers: int | None = None) -> None:
        self.db_path, self.data_dir = db_path, data_dir
        self.workers = worker_count(workers)
        self._pool = multiprocessing.get_context("spawn").Pool(self.workers)

    def submit(self, analysis_id: int) -> None:
        """Queue an analysis; returns at once."""
        self._pool.apply_async(run_analysis, (self.db_path, self.data_dir, analysis_id),
                               error_callback=lambda error: self._crashed(error, analysis_id))

    def _crashed(self, error: BaseException, analysis_id: int) -> None:
        """A worker that failed outside the analysis fails it instead of leaving it running."""
        set_status(self.db_path, self.data_dir, analysis_id, "failed", 1.0,
                   f"the analysis stopped: {type(error).__name__}: {error}")

    def resume(self) -> int:
        """Queue again every upload a stopped server left queued or running (a live session
        cut short fails: its camera cannot be resumed); how many there were."""
        unfinished = list_analyses(self.db_path, statuses=("queued", "running"))
        for analysis in unfinished:
            if analysis.live:  # its camera is gone with the server
                set_status(self.db_path, self.data_dir, analysis.id, "failed", 1.0, LIVE_CUT_SHORT)
                continue
            set_status(self.db_path, self.data_dir, analysis.id, "queued", 0.0)
            self.submit(analysis.id)
        return len(unfinished)

    def shutdown(self) -> None:
        """End the workers now (a running analysis stays "running" and is resumed next time)."""
        self._pool.terminate()
        self._pool.join()
