"""`hamflex routine`: a plan on a recording end to end, and a bad plan as one line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hamflex.cli import app


def test_routine_on_a_recording_saves_every_step(model_path, shared_dir, tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text('title = "short"\n[[step]]\nstretch = "hamstring_supine"\nreps = 1\n'
                    '[[step]]\nstretch = "glute_kneeling_cross"\nside = "both"\n', encoding="utf-8")
    video = shared_dir / "synthetic" / "flat2d_supine9090.mp4"  # 3 s: too short for a hold
    done = CliRunner().invoke(app, ["routine", str(plan), str(video), "--out", str(tmp_path / "out"), "-q"])
    assert done.exit_code == 7, done.output
    saved = json.loads((tmp_path / "out" / "routine.json").read_text(encoding="utf-8"))
    assert [step["stretch"] for step in saved["steps"]] == ["hamstring_supine", "glute_kneeling_cross"]
    assert saved["steps"][1]["side"] == "both" and saved["valid_seconds_total"] == 0.0
    assert saved["mode"] == "video" and saved["frames"] == 90


def test_a_bad_plan_is_one_line_exit_3(tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text('[[step]]\nstretch = "hamstring_supine"\nreps = 0\n', encoding="utf-8")
    done = CliRunner().invoke(app, ["routine", str(plan), str(tmp_path / "x.mp4"), "--out", str(tmp_path)])
    assert done.exit_code == 3
    assert done.output.strip().splitlines()[-1].startswith("hamflex: error: ") and "step 1: reps" in done.output


def test_routine_live_on_a_clip_played_as_a_camera_saves_routine_json(model_path, shared_dir, tmp_path):
    camera = shared_dir / "videos" / "real" / "physioplus_bridging_supine_side.mp4"
    done = CliRunner().invoke(app, ["routine", "--camera", str(camera), "--no-display", "--no-audio",
                                    "--out", str(tmp_path), "-q"])
    assert done.exit_code == 7, done.output
    saved = json.loads((tmp_path / "routine.json").read_text(encoding="utf-8"))
    assert saved["mode"] == "live" and saved["ended_by"] == "finished"  # a file played as a camera ends
    assert [step["stretch"] for step in saved["steps"]] == [
        "hamstring_supine_bent_knee", "glute_kneeling_cross", "piriformis_knee_to_shoulder"]
    assert saved["steps"][0]["status"] == "partial" and saved["steps"][1]["status"] == "not_reached"
