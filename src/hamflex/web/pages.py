"""The server-rendered pages (jinja2, autoescaped): people, a person, a new session, a session,
and the session's downloads. Every file served comes from a session folder under the data
folder, by a name the server chose (``outputs.names``), never from a path in the request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from hamflex.history.adherence import stretching_adherence
from hamflex.history.store import list_sessions, side_results
from hamflex.history.trends import deficit_trends
from hamflex.outputs.names import ANGLES_CSV, LIVE_SESSION_JSON, REPORT_HTML, trial_picture
from hamflex.protocols.catalog import load_catalog
from hamflex.web.jobs import PROTOCOLS, Analysis, get_analysis, list_analyses
from hamflex.web.people import SEXES, PersonError, add_person, get_person, list_people

PDF_UNAVAILABLE = ("The PDF is printed by headless Chromium, which is not installed on this server"
                   " (e.g. apt install chromium): download the HTML report and print it from the browser.")
TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("hamflex.web", "templates"), autoescape=True)


def _page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(TEMPLATES.get_template(name).render(protocols=PROTOCOLS, **context), status_code=status_code)


def _not_found(what: str) -> HTMLResponse:
    return _page("error.html", 404, title="Not found", message=f"{what} does not exist")


def result_summary(result: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per side of a 90-90 result (deficit and grade) or a leg raise (hip flexion and
    grade), or the hold's totals."""
    if not result:
        return []
    if "sides" in result:
        return [{"side": side, "deficit_deg": entry.get("mean_deficit_deg"),
                 "hip_flexion_deg": entry.get("mean_hip_flexion_deg"), "grade": entry.get("grade")}
                for side, entry in sorted(side_results(result).items())]
    return [{"side": result.get("side", ""), "valid_s": result.get("valid_seconds_total"),
             "reps": result.get("reps_completed")}]


def downloads(data_dir: Path, analysis: Analysis) -> dict[str, str]:
    """The files of a session that may be downloaded: file name → path inside its folder."""
    folder = data_dir / analysis.folder
    candidates = [analysis.result_file(data_dir).name, REPORT_HTML,
                  LIVE_SESSION_JSON if analysis.live else f"{Path(analysis.upload).stem}/{ANGLES_CSV}"]
    candidates += [trial_picture(n) for n in range(1, len(_trials(data_dir, analysis)) + 1)]
    return {Path(c).name: c for c in candidates if (folder / c).is_file()}


def _trials(data_dir: Path, analysis: Analysis) -> list[dict[str, Any]]:
    return list((analysis.result(data_dir) or {}).get("trials") or [])


def _person_of(request: Request, person_id: int):
    return get_person(request.app.state.config.db_path, person_id)


def _people_pages(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse)
    def people(request: Request, q: str = ""):
        config = request.app.state.config
        return _page("people.html", title="People", people=list_people(config.db_path, q), q=q, sexes=SEXES, error="")

    @app.post("/people", response_class=HTMLResponse)
    async def people_add(request: Request):
        config = request.app.state.config
        form = await request.form()
        try:
            person = add_person(config.db_path, str(form.get("name", "")), str(form.get("sex") or "") or None,
                                str(form.get("note") or ""))
        except PersonError as error:
            return _page("people.html", 422, title="People", people=list_people(config.db_path), q="", sexes=SEXES,
                         error=str(error))
        return RedirectResponse(f"/people/{person.id}", status_code=303)

    @app.get("/people/{person_id}", response_class=HTMLResponse)
    def person(request: Request, person_id: int):
        config, found = request.app.state.config, _person_of(request, person_id)
        if found is None:
            return _not_found(f"person {person_id}")
        rows = [(a, result_summary(a.result(config.data_dir))) for a in list_analyses(config.db_path, person_id)]
        history = list_sessions(found.name, db_path=config.db_path)
        adherence = stretching_adherence(history) if any(s.kind == "hold" for s in history) else None
        return _page("person.html", title=found.name, person=found, rows=rows, trends=deficit_trends(history),
                     adherence=adherence)

    @app.get("/people/{person_id}/new", response_class=HTMLResponse)
    def new_session(request: Request, person_id: int):
        found = _person_of(request, person_id)
        if found is None:
            return _not_found(f"person {person_id}")
        return _page("new_session.html", title=f"New session: {found.name}", person=found,
                     stretches=list(load_catalog().values()))


def _session_pages(app: FastAPI) -> None:
    @app.get("/sessions/{analysis_id}", response_class=HTMLResponse)
    def session(request: Request, analysis_id: int):
        config = request.app.state.config
        analysis = get_analysis(config.db_path, analysis_id)
        if analysis is None:
            return _not_found(f"session {analysis_id}")
        result = analysis.result(config.data_dir)
        return _page("session.html", title=f"Session {analysis.id}", analysis=analysis, result=result,
                     person=get_person(config.db_path, analysis.person_id), summary=result_summary(result),
                     files=downloads(config.data_dir, analysis), trial_picture=trial_picture)

    @app.get("/sessions/{analysis_id}/files/{name}")
    def session_file(request: Request, analysis_id: int, name: str):
        config = request.app.state.config
        analysis = get_analysis(config.db_path, analysis_id)
        allowed = downloads(config.data_dir, analysis) if analysis is not None else {}
        if name not in allowed:
            return _not_found(f"file {name!r} of session {analysis_id}")
        return FileResponse(config.data_dir / analysis.folder / allowed[name], filename=name)

    @app.get("/sessions/{analysis_id}/report")
    def report(request: Request, analysis_id: int):
        """The HTML report, written afresh (so it shows corrections) with the person's history."""
        path = _fresh_report(request, analysis_id)
        return FileResponse(path, media_type="text/html") if path is not None else _not_found(
            f"a result of session {analysis_id}")

    @app.get("/sessions/{analysis_id}/report.pdf")
    def report_pdf(request: Request, analysis_id: int):
        """The same report printed to PDF by headless Chromium, when the server has one."""
        from hamflex.outputs.report import PdfUnavailableError, write_pdf

        path = _fresh_report(request, analysis_id)
        if path is None:
            return _not_found(f"a result of session {analysis_id}")
        try:
            pdf = write_pdf(path)
        except PdfUnavailableError:
            return _page("error.html", 503, title="No PDF", message=PDF_UNAVAILABLE)
        return FileResponse(pdf, media_type="application/pdf", filename=f"hamflex_session_{analysis_id}.pdf")


def _fresh_report(request: Request, analysis_id: int) -> Path | None:
    """Write the session's report.html now (with the person's history); None without a result."""
    from hamflex.outputs.report import write_report

    config = request.app.state.config
    analysis = get_analysis(config.db_path, analysis_id)
    if analysis is None or analysis.result(config.data_dir) is None:
        return None
    person = get_person(config.db_path, analysis.person_id)
    return write_report(config.data_dir / analysis.folder, person=person.name, db_path=config.db_path)


def add_pages(app: FastAPI) -> None:
    """Register every page route on ``app``."""
    _people_pages(app)
    _session_pages(app)
