"""report.html rendered in a real browser (headless Chromium), from real analyses and protocol
results; plus the plots behind it and the report/history commands."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from hamflex.cli import app
from hamflex.errors import InputError
from hamflex.history.store import record_session
from hamflex.outputs.plots import Span, angle_figure, figure_bytes, spans_from_hold, spans_from_test90, undetected_spans
from hamflex.outputs.report import PdfUnavailableError, find_inputs, method_texts, write_pdf, write_report
from hamflex.outputs.tables import read_angles_csv
from hamflex.pipelines.samples import samples_from_series


CLIP = "synthetic/flat2d_supine9090.mp4"
EVIL_NAME = "<script>alert(1)</script>"
PHONE_WIDTH_PX = 500  # a large phone; headless Chromium lays out no narrower than 500 px

# Appended to a copy of the report: after loading, it writes what the page shows into the DOM.
PROBE = """<script>
addEventListener('load', () => {
  const probe = document.createElement('pre');
  probe.id = 'probe';
  probe.textContent = JSON.stringify({
    images: [...document.images].map(i => ({complete: i.complete, width: i.naturalWidth, height: i.naturalHeight})),
    text: document.body.innerText,
    scripts: document.scripts.length,
    resultHeight: document.getElementById('result').getBoundingClientRect().height,
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  });
  document.body.appendChild(probe);
});
</script>"""


def chromium() -> str:
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("headless Chromium not installed (apt install chromium; .ci/run installs it)")
    return browser


def run_chromium(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", f"--window-size={PHONE_WIDTH_PX},900", *arguments]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed


def browser_view(report: Path, tmp_path: Path) -> dict:
    """What Chromium shows of the report: images, visible text, scripts, layout widths."""
    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = run_chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom", probed.as_uri()).stdout
    match = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert match, "the probe did not run: the page did not load"
    return json.loads(html.unescape(match.group(1)))


def assert_images_loaded(view: dict, count: int) -> None:
    assert len(view["images"]) == count
    for image in view["images"]:
        assert image["complete"] and image["width"] > 300 and image["height"] > 200


def screenshot(report: Path, tmp_path: Path) -> np.ndarray:
    path = tmp_path / "screenshot.png"
    run_chromium(tmp_path, "--hide-scrollbars", f"--screenshot={path}", report.as_uri())
    image = cv2.imread(str(path))
    assert image is not None
    return image


@pytest.fixture
def analyzed_dir(analyzed_clip, tmp_path) -> Path:
    """An analyze output directory (DIR/<stem>/angles.csv + summary.json) from the real model."""
    result = analyzed_clip(CLIP)
    out = tmp_path / "out"
    shutil.copytree(result.files["angles_csv"].parent, out / Path(CLIP).stem)
    return out


@pytest.fixture
def test90_dir(analyzed_clip, analyzed_dir) -> Path:
    """A test90 output directory: the real 90-90 protocol run over the clip's analysis."""
    from hamflex.protocols.test90 import Test90Protocol

    analysis = analyzed_clip(CLIP)
    protocol = Test90Protocol()
    for sample in samples_from_series(analysis.angles, analysis.poses):
        protocol.update(sample)
    result = protocol.result().to_dict()
    # A second, hand-written trial that was rejected, as the schema describes.
    result["trials"].append({"side": "right", "knee_extension_deficit_deg": 31.0, "hip_flexion_deg": 72.0,
                             "start_s": 0.2, "end_s": 0.9, "valid": False, "reason": "thigh drifted <16°> toward the head"})
    (analyzed_dir / "test90.json").write_text(json.dumps(result), encoding="utf-8")
    return analyzed_dir


# ------------------------------------------------------------------------------ browser
def test_test90_report_shows_the_result_plots_and_escapes_names(test90_dir, tmp_path):
    db = tmp_path / "history.sqlite3"
    before = datetime.now(timezone.utc) - timedelta(weeks=2)
    record_session("test90", EVIL_NAME, {"sides": {"right": {"mean_deficit_deg": 25.0}}}, "old.mp4", db,
                   recorded_at=before)
    record_session("test90", EVIL_NAME, json.loads((test90_dir / "test90.json").read_text()), "clip.mp4", db)

    report = write_report(test90_dir, person=EVIL_NAME, db_path=db)

    assert report == test90_dir / "report.html"
    view = browser_view(report, tmp_path)
    assert_images_loaded(view, 2)  # angles over time + the trend chart
    text = view["text"]
    lower = text.lower()
    assert lower.index("90-90 hamstring test") < lower.index("right leg") < lower.index("angles over time")
    right = json.loads((test90_dir / "test90.json").read_text())["sides"]["right"]
    assert f"{right['mean_deficit_deg']:.0f}°" in text and f"grade: {right['grade']}" in text
    assert "thigh drifted <16°> toward the head" in text  # the rejected trial's reason, as text
    assert "real improvement" in text or "within measurement error" in text
    assert "Stretching adherence" in text
    assert view["resultHeight"] > 50
    # The name shows as text and no script from it exists (only the probe's).
    assert EVIL_NAME in text and view["scripts"] == 1
    assert "<script>alert" not in report.read_text(encoding="utf-8")
    # Readable on a phone: nothing wider than the screen.
    assert view["scrollWidth"] <= view["innerWidth"] == PHONE_WIDTH_PX

    image = screenshot(report, tmp_path)
    assert image.shape[1] == PHONE_WIDTH_PX and float(image.std()) > 20  # not blank


def test_analyze_report_of_a_directory_with_several_recordings(analyzed_dir, tmp_path):
    shutil.copytree(analyzed_dir / Path(CLIP).stem, analyzed_dir / "second_take")
    report = write_report(analyzed_dir)
    view = browser_view(report, tmp_path)
    assert_images_loaded(view, 2)
    text = view["text"]
    assert text.startswith("Angle analysis")
    assert "second_take" in text and Path(CLIP).stem in text
    assert "100%" in text  # the mannequin is found in every frame
    assert "960×540 px, 90 frames" in text  # camera set-up from summary.json


def test_hold_report_from_the_real_coach(analyzed_clip, tmp_path):
    from hamflex.protocols.hold import HoldProtocol
    from hamflex.protocols.catalog import lookup_stretch as get_stretch

    analysis = analyzed_clip("synthetic/flat2d_slr.mp4")
    coach = HoldProtocol(get_stretch("hamstring_supine"))
    for sample in samples_from_series(analysis.angles, analysis.poses):
        coach.update(sample)
    out = tmp_path / "hold-out"
    shutil.copytree(analysis.files["angles_csv"].parent, out / "flat2d_slr")
    result = coach.result().to_dict()
    result["reps"].append({"side": "left", "valid_s": 22.5, "total_s": 31.0, "bounces": 2, "completed": True,
                           "faults": {"bouncing": 4.5, "knee_bent": 1.0}, "rest_before_s": 12.0})
    (out / "hold.json").write_text(json.dumps(result), encoding="utf-8")

    view = browser_view(write_report(out), tmp_path)

    assert_images_loaded(view, 1)
    text = view["text"]
    lower = text.lower()
    assert lower.index("stretch hold") < lower.index("valid seconds") < lower.index("repetitions")
    assert "22 s" in text or "23 s" in text
    assert "bouncing 4.5 s" in text and "2 bounce(s)" in text


# ---------------------------------------------------------------------------- inputs
def method_text(out_dir: Path) -> str:
    """The report's "how the numbers were computed" section as plain text."""
    page = write_report(out_dir).read_text(encoding="utf-8")
    section = re.search(r'<section id="method">(.*?)</section>', page, re.S).group(1)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", section)).split())


def test_method_text_of_an_offline_analysis_found_in_every_frame(analyzed_dir):
    text = method_text(analyzed_dir)
    assert "found the body's landmarks in every frame (90)" in text  # the mannequin, real model
    assert "zero-phase 6 Hz Butterworth" in text and "0.25 s" in text and "One-Euro" not in text


def test_method_text_follows_the_detection_rate(analyzed_dir):
    summary_path = analyzed_dir / Path(CLIP).stem / "summary.json"
    summary = json.loads(summary_path.read_text())
    for found, frames, expected in ((0, 90, "found no person in any of the 90 frames"),
                                    (45, 90, "in 50% of the frames (45 of 90)"),
                                    (999, 1000, "in >99% of the frames (999 of 1000)"),
                                    (1, 1000, "in <1% of the frames (1 of 1000)")):
        summary_path.write_text(json.dumps({**summary, "frames": frames, "frames_with_pose": found}), encoding="utf-8")
        text = method_text(analyzed_dir)
        assert expected in text and "every frame" not in text


def test_method_text_of_live_sessions_names_the_causal_filter(analyzed_dir):
    (analyzed_dir / "test90.json").write_text(json.dumps({"trials": [], "mode": "live", "frames": 90}), encoding="utf-8")
    text = method_text(analyzed_dir)
    assert "causal One-Euro filter" in text and "without delay" not in text and "Butterworth" not in text

    (analyzed_dir / "test90.json").unlink()
    (analyzed_dir / "hold.json").write_text(json.dumps({"reps": [], "ended_by": "quit"}), encoding="utf-8")
    assert "causal One-Euro filter" in method_text(analyzed_dir)

    (analyzed_dir / "hold.json").write_text(json.dumps({"reps": []}), encoding="utf-8")
    assert "Butterworth" in method_text(analyzed_dir)
    (analyzed_dir / "live_session.json").write_text("{}", encoding="utf-8")
    assert method_texts(find_inputs(analyzed_dir))["smoothing"].startswith("smoothed as each frame arrived")


def test_method_text_without_frame_counts_or_of_a_photo(tmp_path):
    (tmp_path / "test90.json").write_text(json.dumps({"trials": [], "mode": "live"}), encoding="utf-8")
    assert "was not recorded" in method_texts(find_inputs(tmp_path))["detection"]
    photo = {"trials": [], "mode": "photo", "frames": 1, "frames_with_person": 0}
    (tmp_path / "test90.json").write_text(json.dumps(photo), encoding="utf-8")
    method = method_texts(find_inputs(tmp_path))
    assert "no person in the photo" in method["detection"] and "not smoothed" in method["smoothing"]


def test_a_directory_without_outputs_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no test90.json, slr.json, hold.json or angles.csv"):
        write_report(tmp_path)
    with pytest.raises(InputError, match="no such output directory"):
        write_report(tmp_path / "missing")
    (tmp_path / "test90.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="cannot read"):
        write_report(tmp_path)


def test_protocol_spans_go_to_the_recording_they_name(analyzed_dir):
    shutil.copytree(analyzed_dir / Path(CLIP).stem, analyzed_dir / "other")
    trial = {"side": "left", "start_s": 0.5, "end_s": 1.5, "valid": True}
    (analyzed_dir / "test90.json").write_text(json.dumps({"trials": [trial], "source": "x/other.mp4"}), encoding="utf-8")
    spans = {r.name: r.spans for r in find_inputs(analyzed_dir).recordings}
    assert spans == {"other": [Span(0.5, 1.5, "valid trial", "trial 1 left")], Path(CLIP).stem: []}


# ----------------------------------------------------------------------------- plots
def test_spans_from_results():
    trials = [{"side": "right", "start_s": 1.0, "end_s": 4.0, "valid": True},
              {"side": "right", "start_s": 5.0, "end_s": 7.5, "valid": False},
              {"side": "left", "start_s": None, "end_s": 2.0, "valid": True}]
    assert spans_from_test90({"trials": trials}) == [Span(1.0, 4.0, "valid trial", "trial 1 right"),
                                                    Span(5.0, 7.5, "invalid trial", "trial 2 right")]
    reps = [{"start_s": 0.0, "end_s": 30.0, "completed": True}, {"valid_s": 3.0}]
    assert spans_from_hold({"reps": reps}) == [Span(0.0, 30.0, "completed rep", "rep 1")]


def test_undetected_frames_become_spans():
    time_s = np.arange(10) / 10.0
    detected = np.array([0, 1, 1, 0, 0, 1, 1, 1, 0, 0], dtype=bool)
    assert undetected_spans(time_s, detected) == [Span(0.0, 0.0, "no person"), Span(0.3, 0.4, "no person"),
                                                  Span(0.8, 0.9, "no person")]


def test_angle_figure_draws_both_legs_and_every_span(analyzed_dir):
    columns = read_angles_csv(analyzed_dir / Path(CLIP).stem / "angles.csv")
    figure = angle_figure(columns, [Span(0.5, 1.0, "valid trial", "trial 1"), Span(1.5, 2.0, "invalid trial")])
    hip, knee = figure.axes
    assert [line.get_label() for line in knee.get_lines()] == ["left", "right"]
    assert len(knee.patches) == 2  # the clip has a person in every frame: no grey spans
    deficit = knee.get_lines()[1].get_ydata()
    assert np.nanmin(deficit) < 25 and np.nanmax(deficit) > 60  # the knee straightens from bent
    assert figure_bytes(figure).startswith(b"\x89PNG")
    assert figure_bytes(figure, "svg").lstrip().startswith(b"<?xml")


# ------------------------------------------------------------------------------- CLI
def hamflex(*arguments: str):
    """Run the CLI in-process (stdout and stderr kept apart)."""
    return CliRunner().invoke(app, list(arguments))


def test_report_command_and_pdf(test90_dir):
    chromium()
    completed = hamflex("report", str(test90_dir), "--pdf")
    assert completed.exit_code == 0, completed.stderr
    assert (test90_dir / "report.html").is_file()
    assert (test90_dir / "report.pdf").read_bytes().startswith(b"%PDF")
    assert write_pdf(test90_dir / "report.html") == (test90_dir / "report.pdf").resolve()


def test_report_command_on_a_missing_directory_says_so_in_one_line(tmp_path):
    completed = hamflex("report", str(tmp_path / "nope"))
    assert completed.exit_code == 3
    assert completed.stderr.strip().count("\n") == 0 and "no such output directory" in completed.stderr


def test_history_command_tables_plot_and_export(tmp_path):
    db = tmp_path / "h.sqlite3"
    start = datetime(2026, 1, 5, 12, tzinfo=timezone.utc)
    for week, deficit in enumerate((30.0, 26.0, 19.0)):
        record_session("test90", "Anna [b]", {"sides": {"left": {"mean_deficit_deg": deficit}}}, "a.mp4", db,
                       recorded_at=start + timedelta(weeks=week))
    record_session("hold", "Anna [b]", {"valid_seconds_total": 140.0, "reps_completed": 5}, "camera 0", db)

    shown = hamflex("history", "--db", str(db), "--person", "anna [B]", "--plot", str(tmp_path / "trend.png"))
    assert shown.exit_code == 0, shown.stderr
    assert "Anna [b]" in shown.stdout and "real improvement" in shown.stdout
    assert "stretching adherence" in shown.stdout
    assert cv2.imread(str(tmp_path / "trend.png")) is not None

    exported = hamflex("history", "--db", str(db), "--export", "json")
    assert exported.exit_code == 0
    assert [row["kind"] for row in json.loads(exported.stdout)] == ["test90", "test90", "test90", "hold"]

    bad = hamflex("history", "--db", str(db), "--export", "xml")
    assert bad.exit_code == 2


def test_test90_with_person_records_the_session_and_the_report_shows_progress(shared_dir, model_path, tmp_path):
    db, out = tmp_path / "h.sqlite3", tmp_path / "t90"
    record_session("test90", "Anna", {"sides": {"right": {"mean_deficit_deg": 30.0}}}, "earlier.mp4", db,
                   recorded_at=datetime.now(timezone.utc) - timedelta(weeks=3))

    ran = hamflex("test90", str(shared_dir / CLIP), "--out", str(out), "--person", " anna ", "--db", str(db),
                  "--model", str(model_path), "--quiet")

    assert ran.exit_code == 0, ran.stderr
    assert "recorded as session 2 of anna" in ran.stderr
    measured = json.loads((out / "test90.json").read_text())["sides"]["right"]["mean_deficit_deg"]
    assert 8 <= measured <= 16  # truth 12°
    reported = hamflex("report", str(out), "--person", "ANNA", "--db", str(db))
    assert reported.exit_code == 0, reported.stderr
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Progress of Anna" in page and "real improvement" in page  # 30° → about 12°: beyond the MDC
    assert page.count("data:image/png;base64,") == 2  # angles + the trend chart


def test_pdf_without_chromium_is_a_clear_usage_error(test90_dir, monkeypatch):
    report = write_report(test90_dir)
    monkeypatch.setenv("PATH", str(test90_dir))  # no browser on this PATH
    with pytest.raises(PdfUnavailableError, match="needs Chromium"):
        write_pdf(report)
    assert PdfUnavailableError.exit_code == 2
    assert not report.with_suffix(".pdf").exists()


def test_report_command_on_a_regular_file_says_it_is_not_a_directory(tmp_path):
    regular = tmp_path / "regfile"
    regular.write_text("x", encoding="utf-8")
    completed = hamflex("report", str(regular))
    assert completed.exit_code == 3
    assert completed.stderr.strip().count("\n") == 0 and "not a directory" in completed.stderr
    assert "no such" not in completed.stderr


def test_history_command_on_a_folder_or_under_a_file_is_exit_3_in_one_line(tmp_path):
    regular = tmp_path / "regfile"
    regular.write_text("x", encoding="utf-8")
    for db, problem in ((tmp_path, "is a folder"), (regular / "h.sqlite", "cannot be created there")):
        completed = hamflex("history", "--db", str(db))
        assert completed.exit_code == 3, completed.stderr
        assert completed.stderr.strip().count("\n") == 0
        assert str(db) in completed.stderr and problem in completed.stderr and "internal error" not in completed.stderr


def test_history_queries_on_a_missing_database_create_nothing(tmp_path):
    db = tmp_path / "deep" / "er" / "x.sqlite3"
    for arguments in ((), ("--export", "json"), ("--person", "anna", "--plot", str(tmp_path / "t.png"))):
        completed = hamflex("history", "--db", str(db), *arguments)
        assert completed.exit_code == 0, completed.stderr
    assert "no sessions recorded" in completed.stdout
    assert list(tmp_path.iterdir()) == []


def test_history_command_with_an_empty_database(tmp_path):
    shown = hamflex("history", "--db", str(tmp_path / "new.sqlite3"))
    assert shown.exit_code == 0
    assert "no sessions recorded" in shown.stdout


# ------------------------------------------------------------- live sessions and photos
PHOTO = "photos/free-exercise-db/Lying_Hamstring/1.jpg"


def page_text(report: Path) -> str:
    """The report's visible text (tags, styles and image data stripped)."""
    page = re.sub(r"<style>.*?</style>", " ", report.read_text(encoding="utf-8"), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture(scope="module")
def live_dirs(shared_dir, model_path, tmp_path_factory) -> tuple[Path, Path]:
    """(output folder, --record folder) of a real live 90-90 session fed the synthetic clip."""
    from hamflex.pipelines.api import run_test90
    from hamflex.pipelines.options import LiveOptions, RunOptions

    root = tmp_path_factory.mktemp("live")
    run_test90(str(shared_dir / CLIP), root / "out", live=LiveOptions(display=False, audio=False, record=root / "record"),
               options=RunOptions(model=model_path))
    return root / "out", root / "record"


def test_report_of_a_live_output_folder_uses_the_recorded_angle_table(live_dirs):
    out, record = live_dirs
    inputs = find_inputs(out)  # out holds only live_session.json and test90.json
    report = write_report(out)
    assert [r.name for r in inputs.recordings] == [record.name]
    frames = len(read_angles_csv(record / "angles.csv")["timestamp_ms"])
    text = page_text(report)
    assert report.read_text(encoding="utf-8").count('src="data:image/png') == 1
    assert "No angle table" not in text and "was not recorded" not in text
    assert f"every frame ({frames})" in text or f"of {frames})" in text


def test_report_of_a_record_folder_is_a_live_session_report(live_dirs):
    _, record = live_dirs
    session = json.loads((record / "session.json").read_text(encoding="utf-8"))
    inputs = find_inputs(record)
    assert inputs.kind == "test90" and inputs.result == session["protocol_result"]
    method = method_texts(inputs)
    assert "One-Euro" in method["smoothing"] and "Butterworth" not in method["smoothing"]
    assert "was not recorded" not in method["detection"]
    text = page_text(write_report(record))
    assert "no summary.json" in text and "from angles.csv" in text  # computed, and says so
    assert re.search(r"\d+ frames, \d+\.\d s", text)
    assert "grey = no person" not in text  # the mannequin is found in every frame: nothing grey is drawn


def test_a_record_folder_without_a_protocol_result_gets_angle_statistics_from_the_table(live_dirs, tmp_path):
    _, record = live_dirs
    copy = tmp_path / "record"
    shutil.copytree(record, copy)
    (copy / "session.json").write_text(json.dumps({"ended_by": "quit"}), encoding="utf-8")
    inputs = find_inputs(copy)
    assert inputs.kind == "analyze"
    columns = read_angles_csv(copy / "angles.csv")
    deficit = [v for v in columns["right_knee_extension_deficit_smoothed_deg"] if np.isfinite(v)]
    stats = inputs.recordings[0].summary["angles"]["right_knee_extension_deficit_deg"]
    assert stats["min"] == min(deficit) and stats["max"] == max(deficit)
    text = page_text(write_report(copy))
    assert f"{min(deficit):.1f}°" in text and "–" not in text.split("Result", 1)[1].split("Angles over time")[0]
    assert "One-Euro" in text


def test_photo_report_shows_the_angles_not_a_time_plot(shared_dir, model_path, tmp_path):
    out = tmp_path / "photo"
    completed = hamflex("test90", str(shared_dir / PHOTO), "-o", str(out), "--model", str(model_path))
    assert completed.exit_code in (0, 1), completed.stderr
    report = write_report(out)
    text = page_text(report)
    assert 'src="data:image/png' not in report.read_text(encoding="utf-8")
    assert "Angles over time" not in text and "Angles in the photo" in text
    assert "0.0–0.0 s" not in text and "still for at least 0.5 s" not in text
    assert "From a photo" in text and "not smoothed" in text
    assert re.search(r"right_knee_extension_deficit_deg \d+\.\d°", text)


def test_photo_report_shows_the_overlay_image(shared_dir, model_path, tmp_path):
    out = tmp_path / "photo"
    completed = hamflex("analyze", str(shared_dir / PHOTO), "-o", str(out), "--overlay", "--model", str(model_path))
    assert completed.exit_code == 0, completed.stderr
    page = write_report(out).read_text(encoding="utf-8")
    assert page.count('src="data:image/png') == 1 and "detected skeleton" in page
    assert "Angles over time" not in page_text(out / "report.html")


def test_card_titles_show_file_names_as_they_are(analyzed_dir):
    page = write_report(analyzed_dir).read_text(encoding="utf-8")
    assert f'<div class="label">{Path(CLIP).stem}</div>' in page
    assert "capitalize" not in page


def test_each_trial_row_shows_its_end_position_picture(shared_dir, model_path, tmp_path):
    """The report embeds each trial's end-position picture next to its row; a picture name
    in the JSON that points outside the folder is not followed."""
    from hamflex.pipelines.api import run_test90
    from hamflex.pipelines.options import RunOptions

    out = tmp_path / "out"
    run_test90(shared_dir / "synthetic" / "flat2d_supine9090.mp4", out, options=RunOptions(model=model_path))
    page = write_report(out).read_text(encoding="utf-8")
    pictures = re.findall(r'<img class="trial" src="data:image/jpeg;base64,([^"]+)"', page)
    assert len(pictures) == 1
    decoded = cv2.imdecode(np.frombuffer(base64.b64decode(pictures[0]), np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape[:2] == (540, 960)
    result = json.loads((out / "test90.json").read_text())
    (tmp_path / "secret.jpg").write_bytes((out / "trial_1_end.jpg").read_bytes())
    result["trials"][0]["picture"] = "../secret.jpg"
    (out / "test90.json").write_text(json.dumps(result))
    (out / "trial_1_end.jpg").unlink()
    assert '<img class="trial"' not in write_report(out).read_text(encoding="utf-8")
