"""``report.html``: one self-contained page (plots embedded) for any hamflex output directory.

Works for ``analyze`` output (``DIR/<stem>/angles.csv`` + ``summary.json``, one or several),
``test90`` (``test90.json``) and ``hold`` (``hold.json``), live sessions (``live_session.json``
naming the recorded angles.csv) and a live ``--record`` folder itself (``session.json`` +
``angles.csv``; statistics computed from the table). The key result comes first, then
the plots with trials / holds / faults shaded, the trial table, quality warnings, the camera
set-up and how the numbers were computed. Everything users typed (names, notes) is escaped
by Jinja's autoescaping.
"""

from __future__ import annotations

import base64
import inspect
import json
import math
import statistics
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from hamflex import __version__
from hamflex.errors import HamflexError, InputError
from hamflex.core.filters import ZeroPhaseLowPass
from hamflex.protocols.norms import load_norms
from hamflex.history import store as history
from hamflex.history.adherence import stretching_adherence
from hamflex.history.trends import deficit_trends, minimal_detectable_change_deg
from hamflex.camera.checks import MIN_DETECTION_RATE as LOW_DETECTION_RATE
from hamflex.outputs.files import atomic_write
from hamflex.outputs.names import (
    ANGLES_CSV,
    LIVE_SESSION_JSON as LIVE_SESSION_FILE,
    OVERLAY_IMAGE,
    PROTOCOL_FILES,
    RECORD_SESSION_JSON as RECORD_SESSION_FILE,
    REPORT_HTML as REPORT_NAME,
    SUMMARY_JSON,
)
from hamflex.protocols.hold import HoldResult
from hamflex.protocols.slr import SlrResult
from hamflex.protocols.test90 import Test90Result
from hamflex.outputs.plots import (Span, angle_figure, drawn_spans, figure_bytes, span_caption, spans_from_hold,
                                   spans_from_test90, trend_figure)
from hamflex.outputs.tables import read_angles_csv
from hamflex.core.series import AngleSeries

# The gap the offline angle series bridges before smoothing (AngleSeries.from_poses' default).
OFFLINE_MAX_GAP_S = inspect.signature(AngleSeries.from_poses).parameters["max_gap_s"].default
RESULT_TYPES = {"test90": Test90Result, "slr": SlrResult, "hold": HoldResult}
"""The protocols a report is made for, with their typed results."""
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class PdfUnavailableError(HamflexError):
    """``--pdf`` was asked for but no headless Chromium is installed (exit 2: usage)."""

    exit_code = 2


@dataclass
class Recording:
    """One analysed recording: its angle table and its summary (summary.json, or computed from
    the table when there is none: ``summary_from_table``)."""

    name: str
    columns: dict[str, list[float]]
    summary: dict[str, Any] | None = None
    spans: list[Span] = field(default_factory=list)
    summary_from_table: bool = False
    overlay: Path | None = None

    @property
    def frames(self) -> int:
        return len(self.columns["timestamp_ms"])


@dataclass
class ReportInputs:
    """What an output directory holds."""

    out_dir: Path
    kind: str  # "test90", "hold" or "analyze"
    result: dict[str, Any] | None
    recordings: list[Recording]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: cannot read ({error})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data


def table_summary(columns: dict[str, list[float]]) -> dict[str, Any]:
    """What summary.json would say, computed from an angle table: frame counts (its ``detected``
    column), duration and each angle's range (the smoothed column where there is one)."""
    times_ms = columns["timestamp_ms"]
    frames = len(times_ms)
    detected = columns.get("detected")
    found = sum(1 for value in detected if value > 0) if detected is not None else None
    angles: dict[str, dict[str, float]] = {}
    for name in columns:
        if not name.endswith("_deg") or name.endswith("_smoothed_deg"):
            continue
        smoothed = columns.get(name[: -len("_deg")] + "_smoothed_deg", columns[name])
        values = [value for value in smoothed if math.isfinite(value)]
        if values:
            angles[name] = {"min": min(values), "max": max(values), "mean": statistics.fmean(values),
                            "median": statistics.median(values)}
    return {"frames": frames, "frames_with_pose": found,
            "detection_rate": found / frames if found is not None and frames else None,
            "duration_s": (times_ms[-1] - times_ms[0]) / 1000.0 if frames else None, "angles": angles}


def _recording(table: Path, name: str) -> Recording:
    try:
        columns = read_angles_csv(table)
    except (OSError, ValueError, KeyError) as error:
        raise InputError(f"{table}: cannot read ({error})") from None
    if "timestamp_ms" not in columns:
        raise InputError(f"{table}: not a hamflex angle table (no timestamp_ms column)")
    summary_path = table.parent / SUMMARY_JSON
    overlay = table.parent / OVERLAY_IMAGE
    if summary_path.is_file():
        return Recording(name, columns, _read_json(summary_path), overlay=overlay if overlay.is_file() else None)
    return Recording(name, columns, table_summary(columns), summary_from_table=True,
                     overlay=overlay if overlay.is_file() else None)


def _live_table(out_dir: Path) -> Path | None:
    """The angles.csv a live session recorded (``files.angles_csv`` of live_session.json)."""
    session_path = out_dir / LIVE_SESSION_FILE
    if not session_path.is_file():
        return None
    table = (_read_json(session_path).get("files") or {}).get("angles_csv")
    if not isinstance(table, str):
        return None
    table_path = Path(table) if Path(table).is_absolute() else out_dir / table
    return table_path if table_path.is_file() else None


def _recorded_result(out_dir: Path) -> tuple[str, dict[str, Any]] | None:
    """(kind, result) of the protocol a live --record folder's session.json carries, if any."""
    session_path = out_dir / RECORD_SESSION_FILE
    if not session_path.is_file():
        return None
    session = _read_json(session_path)
    kind, result = session.get("protocol"), session.get("protocol_result")
    if kind not in RESULT_TYPES or not isinstance(result, dict):
        return None
    return kind, result


def find_inputs(out_dir: Path) -> ReportInputs:
    """Read the protocol result and the angle tables of an output directory (and its subdirs)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir}: not a directory (give the output folder of analyze, test90 or hold)")
    if not out_dir.is_dir():
        raise InputError(f"{out_dir}: no such output directory")
    kind, result = "analyze", None
    for protocol in RESULT_TYPES:
        if (out_dir / PROTOCOL_FILES[protocol]).is_file():
            kind, result = protocol, _read_json(out_dir / PROTOCOL_FILES[protocol])
            break
    else:
        kind, result = _recorded_result(out_dir) or (kind, result)
    if result is not None:  # through the typed result: a file of another shape fails here, clearly
        try:
            result = RESULT_TYPES[kind].from_dict(result).to_dict()
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"{out_dir}: {PROTOCOL_FILES[kind]} is not a {kind} result ({error})") from None
    directories = [out_dir, *sorted(p for p in out_dir.iterdir() if p.is_dir())]
    recordings = [_recording(d / ANGLES_CSV, d.name) for d in directories if (d / ANGLES_CSV).is_file()]
    live_table = _live_table(out_dir) if not recordings else None
    if live_table is not None:
        recordings = [_recording(live_table, live_table.parent.name)]
    if result is None and not recordings:
        raise InputError(f"{out_dir}: no test90.json, slr.json, hold.json or angles.csv to report on")
    if result is not None:
        spans = spans_from_test90(result) if kind in ("test90", "slr") else spans_from_hold(result)
        for recording in _recordings_of(result, recordings):
            recording.spans = spans
    return ReportInputs(out_dir, kind, result, recordings)


def _recordings_of(result: dict[str, Any], recordings: list[Recording]) -> list[Recording]:
    """The recording(s) a protocol result was measured on: the one named by its source, or
    the only one."""
    source = result.get("source") or result.get("video")
    if isinstance(source, str):
        named = [r for r in recordings if r.name == Path(source).stem]
        if named:
            return named
    return recordings if len(recordings) == 1 else []


# --------------------------------------------------------------------------- context
def _fmt(value: Any, digits: int = 1, unit: str = "") -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}f}{unit}"


def _png_data_uri(figure) -> str:
    return "data:image/png;base64," + base64.b64encode(figure_bytes(figure, "png")).decode("ascii")


def _side_cards(result: dict[str, Any], mean_key: str, measure: str, short: str) -> list[dict[str, str]]:
    """One card per side of a trial-based test (its mean ``mean_key``, the ``measure``, grade and
    SD), then the asymmetry of the ``short`` measure."""
    cards = []
    for side, entry in history.side_results(result).items():
        trials = entry.get("trials")
        count = len(trials) if isinstance(trials, list) else trials
        cards.append({
            "title": f"{side.capitalize()} leg",
            "value": _fmt(entry.get(mean_key), 0, "°"),
            "detail": f"{measure}, grade: {entry.get('grade') or '–'}; "
                      f"SD {_fmt(entry.get('sd_deg'), 1, '°')} over {count if count is not None else '–'} valid trial(s)",
        })
    if isinstance(result.get("asymmetry_deg"), (int, float)):
        cards.append({"title": "Asymmetry", "value": _fmt(result["asymmetry_deg"], 0, "°"),
                      "detail": f"left − right mean {short}"})
    return cards


def _hold_key(result: dict[str, Any]) -> list[dict[str, str]]:
    cards = [{
        "title": f"Rep {number}" + (f" ({rep['side']})" if rep.get("side") else ""),
        "value": _fmt(rep.get("valid_s"), 0, " s"),
        "detail": f"valid of {_fmt(rep.get('total_s'), 0, ' s')}; "
                  + ("completed" if rep.get("completed") else "not completed")
                  + (f"; {rep['bounces']} bounce(s)" if rep.get("bounces") else ""),
    } for number, rep in enumerate(result.get("reps") or (), start=1)]
    cards.insert(0, {
        "title": "Valid seconds",
        "value": _fmt(result.get("valid_seconds_total"), 0, " s"),
        "detail": f"{result.get('reps_completed', '–')}"
                  + (f" of {result['reps_target']}" if result.get("reps_target") else "")
                  + " rep(s) completed"
                  + (f" ({_fmt(result['hold_s_target'], 0, ' s')} each)" if result.get("hold_s_target") else "")
                  + f"; {_fmt(result.get('percent_time_valid'), 0, '%')} of the time valid",
    })
    return cards


def _analyze_key(recordings: list[Recording]) -> list[dict[str, str]]:
    cards = []
    for recording in recordings:
        summary = recording.summary or {}
        angles = summary.get("angles") or {}
        parts = []
        for side in history.SIDES:
            stats = angles.get(f"{side}_knee_extension_deficit_deg") or {}
            parts.append(f"{side} knee deficit min {_fmt(stats.get('min'), 0, '°')}, median {_fmt(stats.get('median'), 0, '°')}")
        rate = summary.get("detection_rate")
        cards.append({"title": recording.name,
                      "value": _fmt(100 * rate, 0, "%") if isinstance(rate, (int, float)) else "–",
                      "detail": "of frames with a person; " + "; ".join(parts)})
    return cards


def fault_texts(faults: Any) -> list[str]:
    """A rep's faults as text: hold.json gives ``{fault name: seconds}``."""
    if isinstance(faults, dict):
        return [f"{name.replace('_', ' ')} {_fmt(seconds, 1, ' s')}" for name, seconds in faults.items()]
    return [str(fault) for fault in faults or ()]


def _warnings(inputs: ReportInputs) -> list[str]:
    found: list[str] = []
    result = inputs.result or {}
    for note in [*(result.get("warnings") or ()), *(result.get("notes") or ())]:
        found.append(str(note))
    if result.get("no_trial_reason"):
        found.append(f"no trial found: {result['no_trial_reason']}")
    for number, trial in enumerate(result.get("trials") or (), start=1):
        if not trial.get("valid"):
            found.append(f"trial {number} ({trial.get('side') or '?'}) rejected: {trial.get('reason') or 'no reason given'}")
    for side, entry in history.side_results(result).items():
        if entry.get("note"):
            found.append(f"{side}: {entry['note']}")
    for number, rep in enumerate(result.get("reps") or (), start=1):
        faults = fault_texts(rep.get("faults"))
        if faults:
            found.append(f"rep {number}: " + ", ".join(faults))
        if rep.get("bounces"):
            found.append(f"rep {number}: {rep['bounces']} bounce(s) — those seconds did not count")
    for recording in inputs.recordings:
        summary = recording.summary or {}
        for warning in summary.get("warnings") or ():
            found.append(f"{recording.name}: {warning}")
        rate = summary.get("detection_rate")
        if isinstance(rate, (int, float)) and rate < LOW_DETECTION_RATE:
            found.append(f"{recording.name}: a person was found in only {rate:.0%} of the frames")
    return found


def _camera_rows(inputs: ReportInputs) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    result = inputs.result or {}
    for key in ("source", "video", "camera", "camera_profile", "view", "side", "model"):
        if isinstance(result.get(key), (str, int, float)) and not isinstance(result.get(key), bool):
            rows.append((key.replace("_", " "), str(result[key])))
    for recording in inputs.recordings:
        summary = recording.summary or {}
        size = summary.get("image_size")
        frames, duration = summary.get("frames"), summary.get("duration_s")
        if frames == 1:  # a photo: no frame count, duration or frame rate to speak of
            frames = duration = None
        details = [f"{size[0]}×{size[1]} px" if isinstance(size, list) and len(size) == 2 else None,
                   f"{frames} frames" if frames else None,
                   f"{duration:.1f} s" if isinstance(duration, (int, float)) else None,
                   f"{frames / duration:.0f} fps" if frames and isinstance(duration, (int, float)) and duration > 0 else None,
                   f"model {summary['model']}" if summary.get("model") else None,
                   f"camera profile {summary['camera_profile']}" if summary.get("camera_profile") else None]
        described = ", ".join(d for d in details if d) or "no summary.json"
        if recording.summary_from_table:
            described += " (from angles.csv; no summary.json)"
        rows.append((recording.name, described))
    return rows


def is_live(inputs: ReportInputs) -> bool:
    """Whether the result was measured live (test90 marks ``mode``, hold ``ended_by``; the live
    loop writes live_session.json)."""
    result = inputs.result or {}
    return (result.get("mode") == "live" or "ended_by" in result or (inputs.out_dir / LIVE_SESSION_FILE).is_file()
            or (inputs.out_dir / RECORD_SESSION_FILE).is_file())


def is_photo(inputs: ReportInputs) -> bool:
    """Whether a single photo was measured (the result says so, or every table has one frame)."""
    if (inputs.result or {}).get("mode") == "photo":
        return True
    return bool(inputs.recordings) and all(r.frames == 1 for r in inputs.recordings)


def _frame_counts(inputs: ReportInputs) -> tuple[int, int] | None:
    """(frames with a person, frames) of the recordings the result was measured on, if recorded."""
    recordings = _recordings_of(inputs.result, inputs.recordings) if inputs.result else inputs.recordings
    summaries = [r.summary for r in recordings if r.summary]
    counted = [(s.get("frames_with_pose"), s.get("frames")) for s in summaries]
    if not counted:  # a test90 result counts its own frames
        counted = [((inputs.result or {}).get("frames_with_person"), (inputs.result or {}).get("frames"))]
    if not all(isinstance(found, int) and isinstance(total, int) and 0 <= found <= total for found, total in counted):
        return None
    found, total = sum(c[0] for c in counted), sum(c[1] for c in counted)
    return (found, total) if total else None


def _percent(found: int, total: int) -> str:
    """found/total as a whole percentage that never rounds a partial rate to 0% or 100%."""
    percent = round(100 * found / total)
    if found < total and percent == 100:
        return ">99%"
    if found > 0 and percent == 0:
        return "<1%"
    return f"{percent}%"


def method_texts(inputs: ReportInputs) -> dict[str, str]:
    """How often a person was found and how the angles were smoothed, true for this result."""
    photo = is_photo(inputs)
    counts = _frame_counts(inputs)
    if counts is None:
        detection = ("MediaPipe Pose Landmarker looked for the body's landmarks in each frame"
                     " (how often it found them was not recorded).")
    elif photo:
        detection = ("MediaPipe Pose Landmarker found the body's landmarks in the photo." if counts[0]
                     else "MediaPipe Pose Landmarker found no person in the photo, so nothing could be measured.")
    elif counts[0] == counts[1]:
        detection = f"MediaPipe Pose Landmarker found the body's landmarks in every frame ({counts[1]})."
    elif counts[0] == 0:
        detection = (f"MediaPipe Pose Landmarker found no person in any of the {counts[1]} frames,"
                     " so no angle could be measured.")
    else:
        detection = (f"MediaPipe Pose Landmarker found the body's landmarks in {_percent(*counts)} of the frames"
                     f" ({counts[0]} of {counts[1]}); frames without a person are left out.")
    if photo:
        smoothing = "measured on a single photo, so not smoothed"
    elif is_live(inputs):
        smoothing = ("smoothed as each frame arrived by a causal One-Euro filter (live: it smooths more while"
                     " the leg is still and less while it moves, so fast movements lag a little)")
    else:
        smoothing = (f"smoothed without delay: gaps of up to {OFFLINE_MAX_GAP_S:g} s bridged, then a zero-phase"
                     f" {ZeroPhaseLowPass.cutoff_hz:g} Hz Butterworth low-pass filter run forwards and backwards")
    return {"detection": detection, "smoothing": smoothing}


def _history_context(person: str, db_path: Path | None) -> dict[str, Any]:
    sessions = history.list_sessions(person, db_path=db_path)
    name = history.persons(sessions)[0] if sessions else person
    trends = deficit_trends(sessions)
    repeated = any(len(trend.deficits_deg) > 1 for trend in trends)
    return {
        "person": name,
        "sessions": len(sessions),
        "mdc_deg": minimal_detectable_change_deg(),
        "trends": trends,
        "trend_plot": _png_data_uri(trend_figure(trends, f"Knee extension deficit: {name}")) if repeated else None,
        "adherence": stretching_adherence(sessions),
    }


def _photo_context(recording: Recording) -> dict[str, Any]:
    """A photo's overlay image (if written) and its angles, for the report's photo section."""
    angles = (recording.summary or {}).get("angles") or {}
    return {"name": recording.name,
            "overlay": "data:image/png;base64," + base64.b64encode(recording.overlay.read_bytes()).decode("ascii")
            if recording.overlay else None,
            "angles": [(name, stats.get("median")) for name, stats in angles.items() if "_3d_" not in name]}


def _trial_rows(inputs: ReportInputs) -> list[dict[str, Any]]:
    """The result's trials, each with its end-position picture embedded (``picture_uri``) when
    the file it names is in the folder (a name from the JSON never leaves the folder)."""
    rows = []
    for trial in (inputs.result or {}).get("trials") or []:
        picture = trial.get("picture")
        path = inputs.out_dir / Path(picture).name if isinstance(picture, str) else None
        uri = ("data:image/jpeg;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
               if path is not None and path.is_file() else None)
        rows.append({**trial, "picture_uri": uri})
    return rows


def build_context(inputs: ReportInputs, person: str | None = None, db_path: Path | None = None) -> dict[str, Any]:
    """Everything the template shows (plots rendered to PNG data URIs)."""
    result = inputs.result or {}
    if inputs.kind == "test90":
        key, title = _side_cards(result, "mean_deficit_deg", "knee extension deficit", "deficit"), "90-90 hamstring test"
    elif inputs.kind == "slr":
        key, title = (_side_cards(result, "mean_hip_flexion_deg", "end-position hip flexion", "hip flexion"),
                      "Active straight leg raise")
    elif inputs.kind == "hold":
        key, title = _hold_key(result), f"Stretch hold: {result.get('title') or result.get('stretch') or 'stretch'}"
    else:
        key, title = _analyze_key(inputs.recordings), "Angle analysis"
    photo = is_photo(inputs)
    plots = [] if photo else [
        {"name": r.name, "uri": _png_data_uri(angle_figure(r.columns, r.spans, r.name)),
         "shading": span_caption(drawn_spans(r.columns, r.spans))}
        for r in inputs.recordings]
    return {
        "title": title,
        "kind": inputs.kind,
        "directory": inputs.out_dir.name,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "key": key,
        "result": result,
        "plots": plots,
        "photo": photo,
        "photos": [_photo_context(r) for r in inputs.recordings] if photo else [],
        "trials": _trial_rows(inputs),
        "reps": result.get("reps") or [],
        "recordings": inputs.recordings,
        "warnings": _warnings(inputs),
        "method": method_texts(inputs),
        "camera": _camera_rows(inputs),
        "history": _history_context(person, db_path) if person else None,
        "norms": load_norms(),
        "mdc_deg": minimal_detectable_change_deg(),
        "fmt": _fmt,
        "fault_texts": fault_texts,
    }


def render_report(context: dict[str, Any]) -> str:
    """The HTML page for a context from :func:`build_context` (autoescaped)."""
    environment = Environment(loader=PackageLoader("hamflex", "templates"), autoescape=select_autoescape(["html"]),
                              trim_blocks=True, lstrip_blocks=True)
    return environment.get_template("report.html").render(**context)


def write_report(out_dir: Path, *, person: str | None = None, db_path: Path | None = None) -> Path:
    """Write ``out_dir/report.html``; with ``person``, add their history trend and adherence."""
    inputs = find_inputs(Path(out_dir))
    html = render_report(build_context(inputs, person, db_path))
    path = Path(out_dir) / REPORT_NAME
    with atomic_write(path) as handle:
        handle.write(html)
    return path


def write_pdf(html_path: Path) -> Path:
    """Print the report to ``report.pdf`` beside it with headless Chromium."""
    browser = next((shutil.which(name) for name in CHROMIUM_NAMES if shutil.which(name)), None)
    if browser is None:
        raise PdfUnavailableError("--pdf needs Chromium (e.g. apt install chromium); the HTML report was written")
    html_path = Path(html_path).resolve()
    pdf_path = html_path.with_suffix(".pdf")
    with tempfile.TemporaryDirectory(prefix="hamflex-chromium-") as profile:
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={pdf_path}",
                   html_path.as_uri()]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if completed.returncode != 0 or not pdf_path.is_file():
        raise PdfUnavailableError(f"Chromium could not print {html_path.name} to PDF (exit {completed.returncode})")
    return pdf_path
