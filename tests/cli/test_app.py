"""The command line through typer's CliRunner (and one real subprocess for python -m)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hamflex import __version__
from hamflex.cli import app

runner = CliRunner()


def test_version_is_eager():
    result = runner.invoke(app, ["--version", "analyze"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"hamflex {__version__}"


def test_help_texts_are_useful():
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0 and "analyze" in top.stdout and "models" in top.stdout
    assert "Exit codes" in top.stdout and "130 interrupted" in top.stdout
    sub = runner.invoke(app, ["analyze", "--help"])
    assert sub.exit_code == 0
    for option in ("--out", "--overlay", "--num-poses", "--model", "--offline", "--quiet", "--verbose"):
        assert option in sub.stdout


def test_python_dash_m_works_like_the_command():
    result = subprocess.run([sys.executable, "-m", "hamflex", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"hamflex {__version__}"


@pytest.mark.parametrize("name, content", [("missing.mp4", None), ("empty.mp4", b""), ("text.mp4", b"hello\n" * 100)])
def test_bad_input_is_one_line_and_exit_code_3(tmp_path, model_path, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(app, ["analyze", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hamflex: error:") and name in lines[0]
    assert "Traceback" not in result.output


def test_inputs_are_named_as_the_user_spelled_them(tmp_path, model_path, monkeypatch):
    """Relative paths stay relative in what is printed (batch.json keeps the absolute ones)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.mp4").write_bytes(b"")
    result = runner.invoke(app, ["analyze", "in/empty.mp4", "missing.mp4", "--out", "out", "--quiet"])
    assert result.exit_code == 3
    assert sorted(result.stderr.splitlines()) == ["hamflex: error: in/empty.mp4: file is empty",
                                                  "hamflex: error: missing.mp4: no such file"]  # as they finish


def test_a_bad_video_does_not_stop_the_others(tmp_path, model_path, shared_dir):
    good = shared_dir / "videos/real/physioplus_bridging_supine_side.mp4"
    result = runner.invoke(app, ["analyze", str(tmp_path / "nope.mp4"), str(good), "--out", str(tmp_path), "--quiet"])
    assert result.exit_code == 3
    summary = json.loads((tmp_path / good.stem / "summary.json").read_text())
    assert summary["frames"] == 91
    assert "frames with a person" in result.stdout


def test_offline_without_a_model_says_how_to_get_one(tmp_path, monkeypatch, shared_dir):
    monkeypatch.delenv("HAMFLEX_MODEL", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HAMFLEX_OFFLINE", "1")
    video = shared_dir / "videos/real/physioplus_bridging_supine_side.mp4"
    result = runner.invoke(app, ["analyze", str(video), "--out", str(tmp_path), "--quiet"])
    assert result.exit_code == 5
    assert "HAMFLEX_MODEL" in result.stderr and "--model" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_models_lists_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    assert str(tmp_path) in result.stdout
    for variant in ("lite", "full", "heavy"):
        assert variant in result.stdout


def test_unwritable_output_folder_fails_fast_with_one_line(tmp_path, model_path, shared_dir):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    video = shared_dir / "videos/real/physioplus_bridging_supine_side.mp4"
    result = runner.invoke(app, ["analyze", str(video), "--out", str(blocker / "out"), "--quiet"])
    assert result.exit_code == 3
    assert result.stderr.strip().splitlines() == [f"hamflex: error: {blocker / 'out'}: Not a directory"]


def test_broken_video_gives_exactly_one_line_even_from_native_code(tmp_path, model_path):
    """FFmpeg's own complaints ("moov atom not found") must not reach the user."""
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video\n" * 100)
    completed = subprocess.run(
        [sys.executable, "-m", "hamflex", "analyze", str(broken), "--out", str(tmp_path / "out"), "--quiet"],
        capture_output=True, text=True,
    )
    assert completed.returncode == 3
    assert completed.stderr.splitlines() == [f"hamflex: error: {broken}: not a readable video (corrupt, or an unsupported format)"]


def test_models_flags_a_missing_model_file_and_offline_download(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HAMFLEX_MODEL", str(tmp_path / "gone.task"))
    listed = runner.invoke(app, ["models"])
    assert listed.exit_code == 0 and "gone.task (no such file!)" in listed.stdout
    monkeypatch.setenv("HAMFLEX_OFFLINE", "1")
    refused = runner.invoke(app, ["models", "--download", "lite"])
    assert refused.exit_code == 5 and "not downloading" in refused.stderr
    assert not any(tmp_path.rglob("*.task"))


def test_empty_person_is_refused_before_any_work(tmp_path):
    result = runner.invoke(app, ["test90", str(tmp_path / "not_read.mp4"), "--person", "  ", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "cannot be empty" in result.output
    assert not (tmp_path / "not_read").exists()


def test_lost_camera_exits_6_after_saving():
    import typer

    from hamflex.cli.flags import exit_if_camera_lost
    from hamflex.protocols.test90 import Test90Result

    exit_if_camera_lost(Test90Result(ended_by="finished"), Path("out"))  # nothing to say
    with pytest.raises(typer.Exit) as stopped:
        exit_if_camera_lost(Test90Result(ended_by="camera_lost"), Path("out"))
    assert stopped.value.exit_code == 6
