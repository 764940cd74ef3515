"""Ctrl-C during ``hamflex test90`` / ``hamflex hold`` on a video: the frames measured so far
are still scored and saved, exit code 130, no traceback."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest


@pytest.mark.parametrize(
    "command, result_file",
    [
        (["test90", "synthetic/dev_test90.mp4"], "test90.json"),
        (["hold", "hamstring_supine", "synthetic/dev_hold_supine.mp4"], "hold.json"),
    ],
)
def test_ctrl_c_scores_what_was_measured(command, result_file, model_path, shared_dir, tmp_path):
    arguments = [str(shared_dir / a) if a.startswith("synthetic/") else a for a in command]
    database = tmp_path / "history.sqlite3"
    process = subprocess.Popen(
        [sys.executable, "-m", "hamflex", *arguments, "--out", str(tmp_path), "--quiet", "--person", "Zed"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, HAMFLEX_MODEL=str(model_path), HAMFLEX_DB=str(database)),
    )
    time.sleep(8)  # well into the video, far from its end
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in stderr and "hamflex: interrupted" in stderr
    result = json.loads((tmp_path / result_file).read_text())
    assert result["complete"] is False
    summary = json.loads(next(tmp_path.glob("*/summary.json")).read_text())
    assert summary["complete"] is False and summary["frames"] > 0
    # whatever was scored before Ctrl-C is also in the person's history
    scored = bool(result.get("trials") or result.get("valid_seconds_total"))
    recorded = sqlite3.connect(database).execute("SELECT COUNT(*) FROM sessions").fetchone()[0] if database.exists() else 0
    assert recorded == int(scored)
