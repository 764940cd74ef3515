"""The FastAPI app of ``hamflex serve``: the JSON API (docs/web.md), the pages, the token and
same-origin checks, and the background analyses.

State lives in the history database and the data folder, never in the process, so two browsers
at once, a reloaded page or a restarted server lose nothing.
"""

from __future__ import annotations

import secrets
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from hamflex.errors import HamflexError
from hamflex.history.store import replace_session_result
from hamflex.protocols.catalog import load_catalog, lookup_stretch
from hamflex.web.jobs import PROTOCOLS, AnalysisPool, create_analysis, frames_done, get_analysis
from hamflex.web.people import PersonError, add_person, get_person, list_people
from hamflex.web.uploads import DEFAULT_MAX_UPLOAD_BYTES, UploadRefused, receive_upload

TOKEN_HEADER = "x-hamflex-token"
TOKEN_COOKIE = "hamflex_token"
TOKEN_QUERY = "token"
STATIC_DIR = Path(__file__).parent / "static"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
WS_POLICY_VIOLATION = 1008


@dataclass(frozen=True)
class ServerConfig:
    """Where the server keeps its state and what it lets in; ``token`` None = no token needed."""

    db_path: Path
    data_dir: Path
    token: str | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    workers: int | None = None


def refused(status_code: int, message: str) -> JSONResponse:
    """Every refusal is the same small JSON: ``{"error": message}``."""
    return JSONResponse({"error": message}, status_code=status_code)


def _token_given(request: Request | WebSocket) -> str:
    bearer = request.headers.get("authorization", "")
    return (request.headers.get(TOKEN_HEADER) or request.cookies.get(TOKEN_COOKIE)
            or request.query_params.get(TOKEN_QUERY) or bearer.removeprefix("Bearer ").strip())


def _cross_origin(request: Request) -> bool:
    """A state change whose Origin (or Referer) names another site than the one it was sent to."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed or request.method in SAFE_METHODS:
        return False
    return urlsplit(claimed).netloc != request.headers.get("host", "")


def _guard(config: ServerConfig):
    async def guard(request: Request, call_next):
        """The token (header, cookie or ``?token=``, which sets the cookie) and the CSRF check."""
        if config.token is not None and not secrets.compare_digest(_token_given(request), config.token):
            return refused(401, "this server needs its access token (printed by hamflex serve)")
        if _cross_origin(request):
            return refused(403, "refused: the request comes from another site")
        response = await call_next(request)
        if config.token is not None and request.query_params.get(TOKEN_QUERY) == config.token:
            response.set_cookie(TOKEN_COOKIE, config.token, httponly=True, samesite="strict")
        return response

    return guard


def _person_json(request: Request, body: dict[str, Any]) -> JSONResponse:
    config: ServerConfig = request.app.state.config
    try:
        person = add_person(config.db_path, str(body.get("name", "")), body.get("sex") or None, str(body.get("note") or ""))
    except PersonError as error:
        return refused(422, str(error))
    return JSONResponse(person.to_dict(), status_code=201)


def session_json(config: ServerConfig, analysis_id: int) -> dict[str, Any] | None:
    """``{id, status, progress, error, result}`` (+ person, protocol, live, frames analysed), None if unknown."""
    analysis = get_analysis(config.db_path, analysis_id)
    if analysis is None:
        return None
    done, total = frames_done(config.data_dir, analysis)
    return {"id": analysis.id, "status": analysis.status, "progress": analysis.progress, "error": analysis.error,
            "result": analysis.result(config.data_dir), "person_id": analysis.person_id,
            "protocol": analysis.protocol, "stretch": analysis.stretch, "created_at": analysis.created_at,
            "live": analysis.live, "frames_done": done, "frames_total": total}


def _checked_fields(config: ServerConfig, fields: dict[str, str]) -> str | None:
    """Why the form fields of a new session are wrong, None if they are right."""
    if fields.get("protocol") not in PROTOCOLS:
        return f"protocol must be one of {', '.join(PROTOCOLS)}"
    if PROTOCOLS[fields["protocol"]].needs_stretch:
        try:
            lookup_stretch(fields.get("stretch", ""), load_catalog())
        except HamflexError as error:
            return str(error)
    person_id = str(fields.get("person_id", ""))
    if not person_id.isdigit() or get_person(config.db_path, int(person_id)) is None:
        return "person_id must be the id of a stored person"
    return None


def _stretch(fields: dict[str, str]) -> str | None:
    """The stretch of a protocol that has one (a stretch sent with the 90-90 test is ignored)."""
    return (fields.get("stretch") or None) if PROTOCOLS[fields["protocol"]].needs_stretch else None


async def new_session(request: Request) -> JSONResponse:
    """``POST /api/sessions``: receive the upload, queue its analysis, answer ``{id}`` at once."""
    config: ServerConfig = request.app.state.config
    try:
        fields, uploaded = await receive_upload(request.headers.get("content-type", ""),
                                                request.headers.get("content-length"), request.stream(),
                                                config.data_dir, config.max_upload_bytes)
    except UploadRefused as error:
        return refused(error.status_code, str(error))
    problem = _checked_fields(config, fields)
    if problem is not None:
        uploaded.unlink(missing_ok=True)
        return refused(422, problem)
    analysis = create_analysis(config.db_path, config.data_dir, int(fields["person_id"]), fields["protocol"],
                               _stretch(fields), uploaded)
    request.app.state.pool.submit(analysis.id)
    return JSONResponse({"id": analysis.id, "status": analysis.status}, status_code=202)


async def new_live_session(request: Request) -> JSONResponse:
    """``POST /api/sessions/live`` JSON ``{person_id, protocol, stretch, camera, max_s, every_frame}``: open the
    camera and start the session; ``{id, status, socket}`` (the WebSocket of its pictures)."""
    from hamflex.web.streams import open_camera, start_live

    config: ServerConfig = request.app.state.config
    try:
        body = await request.json()
        fields = {key: str(value) for key, value in dict(body).items() if value is not None}
        max_s = float(fields["max_s"]) if fields.get("max_s") else None
    except (ValueError, TypeError):
        return refused(400, "the body must be JSON: {person_id, protocol, stretch, camera, max_s}")
    problem = _checked_fields(config, fields)
    if problem is None and max_s is not None and not max_s > 0:
        problem = "max_s must be a positive number of seconds"
    if problem is not None:
        return refused(422, problem)
    try:
        source = await run_in_threadpool(open_camera, fields.get("camera", ""), max_s,
                                         fields.get("every_frame", "").lower() in ("true", "1", "on"))
    except HamflexError as error:
        return refused(422, str(error))
    analysis = create_analysis(config.db_path, config.data_dir, int(fields["person_id"]), fields["protocol"],
                               _stretch(fields), None)
    request.app.state.live[analysis.id] = start_live(config.db_path, config.data_dir, analysis, source, max_s)
    return JSONResponse({"id": analysis.id, "status": "running", "socket": f"/api/sessions/{analysis.id}/live"},
                        status_code=201)


def _socket_refusal(websocket: WebSocket, config: ServerConfig) -> str | None:
    """Why a WebSocket is refused (the HTTP guard does not see them): token, then same origin."""
    if config.token is not None and not secrets.compare_digest(_token_given(websocket), config.token):
        return "this server needs its access token"
    origin = websocket.headers.get("origin")
    if origin and urlsplit(origin).netloc != websocket.headers.get("host", ""):
        return "refused: the connection comes from another site"
    return None


def _add_live_api(app: FastAPI) -> None:
    app.add_api_route("/api/sessions/live", new_live_session, methods=["POST"], status_code=201)

    @app.post("/api/sessions/{analysis_id}/stop")
    def stop(request: Request, analysis_id: int):
        run = request.app.state.live.get(analysis_id)
        if run is None:
            return refused(409, f"session {analysis_id} is not a running live session")
        run.stop()
        return {"id": analysis_id, "stopping": True}

    @app.websocket("/api/sessions/{analysis_id}/live")
    async def live_socket(websocket: WebSocket, analysis_id: int):
        from hamflex.web.streams import serve_socket

        problem = _socket_refusal(websocket, websocket.app.state.config)
        run = websocket.app.state.live.get(analysis_id)
        if problem is not None or run is None:
            await websocket.close(code=WS_POLICY_VIOLATION, reason=problem or f"no live session {analysis_id}")
            return
        await serve_socket(websocket, run)


def _add_api(app: FastAPI) -> None:
    @app.get("/api/people")
    def people(request: Request, q: str = "") -> list[dict[str, Any]]:
        return [p.to_dict() for p in list_people(request.app.state.config.db_path, q)]

    @app.post("/api/people", status_code=201)
    async def people_add(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return refused(400, "the body must be JSON: {name, sex, note}")
        return _person_json(request, body if isinstance(body, dict) else {})

    app.add_api_route("/api/sessions", new_session, methods=["POST"], status_code=202)

    @app.get("/api/sessions/{analysis_id}")
    def session(request: Request, analysis_id: int):
        found = session_json(request.app.state.config, analysis_id)
        return found if found is not None else refused(404, f"no session {analysis_id}")

    @app.get("/api/sessions/{analysis_id}/trials/{number}/landmarks")
    def trial_points(request: Request, analysis_id: int, number: int):
        """The tested leg's hip, knee and ankle on the trial's end-position picture, in pixels."""
        from hamflex.web.corrections import tested_leg_points  # numpy/scipy only when needed: a quick start

        config: ServerConfig = request.app.state.config
        analysis = get_analysis(config.db_path, analysis_id)
        points = tested_leg_points(config.data_dir / analysis.folder, number) if analysis is not None else None
        return points if points is not None else refused(404, f"no landmarks of trial {number} in session {analysis_id}")

    @app.post("/api/sessions/{analysis_id}/trials/{number}/landmarks")
    async def landmarks(request: Request, analysis_id: int, number: int):
        return await _correct(request, analysis_id, number)


async def _correct(request: Request, analysis_id: int, number: int) -> JSONResponse:
    """Re-score one trial from hand-placed points: JSON ``{"hip": [x, y], "knee": …, "ankle": …}``."""
    from hamflex.web.corrections import correct_trial

    config: ServerConfig = request.app.state.config
    analysis = get_analysis(config.db_path, analysis_id)
    if analysis is None or analysis.status != "done" or analysis.protocol != "test90":
        return refused(409, f"session {analysis_id} is not a finished 90-90 test")
    try:
        points = await request.json()
        result = correct_trial(config.data_dir / analysis.folder, number, dict(points))
        if analysis.session_id is not None:
            replace_session_result(analysis.session_id, result, config.db_path)
    except (ValueError, TypeError):
        return refused(400, "the body must be JSON: {\"hip\": [x, y], \"knee\": [x, y], \"ankle\": [x, y]}")
    except HamflexError as error:
        return refused(422, str(error))
    return JSONResponse({"id": analysis_id, "trial": result.trials[number - 1].to_dict(),
                         "result": result.to_dict()})


async def _internal_error(request: Request, error: Exception) -> JSONResponse:
    """A bug answers one JSON line, never a traceback page."""
    return refused(500, f"internal error: {type(error).__name__}: {error}")


def create_app(config: ServerConfig) -> FastAPI:
    """The app; its worker pool starts (and resumes unfinished analyses) when the server starts."""
    from hamflex.web.pages import add_pages

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        config.data_dir.mkdir(parents=True, exist_ok=True)
        app.state.pool = AnalysisPool(config.db_path, config.data_dir, config.workers)
        app.state.pool.resume()
        yield
        from hamflex.web.streams import stop_all

        stop_all(app.state.live)
        app.state.pool.shutdown()

    app = FastAPI(title="hamflex", lifespan=lifespan)
    app.state.config = config
    app.state.live = {}  # analysis id → LiveRun, the live sessions of this process
    app.middleware("http")(_guard(config))
    app.add_exception_handler(Exception, _internal_error)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _add_api(app)
    _add_live_api(app)
    add_pages(app)
    app.add_api_route("/favicon.ico", lambda: RedirectResponse("/static/favicon.svg"), include_in_schema=False)
    return app
