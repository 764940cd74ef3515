"""The 90-90 test and the holds run the set-up checks on their first seconds and warn."""

import json

from hamflex.errors import NothingToScoreError
from hamflex.pipelines.api import run_test90
from hamflex.pipelines.live import run_live_session
from hamflex.pipelines.options import LiveOptions, RunOptions
from tests.support.counting_protocol import CountingProtocol


def _test90(shared_dir, model_path, tmp_path, clip: str) -> dict:
    """The 90-90 test's result (test90.json) on a shared recording, whether or not a trial was found."""
    try:
        return run_test90(shared_dir / clip, tmp_path, options=RunOptions(model=model_path)).to_dict()
    except NothingToScoreError:  # raised after saving: the set-up check is in test90.json all the same
        return json.loads((tmp_path / "test90.json").read_text())


def test_side_on_recording_gives_no_set_up_warning(shared_dir, model_path, tmp_path):
    result = _test90(shared_dir, model_path, tmp_path, "synthetic/flat2d_supine9090.mp4")
    assert result["setup"]["view"] == "side-on"
    assert not [w for w in result["warnings"] if w.startswith("set-up:")]


def test_frontal_start_is_warned_about(shared_dir, model_path, tmp_path):
    # sports2d_demo opens on a man standing on a wall, facing the camera
    result = _test90(shared_dir, model_path, tmp_path, "videos/sports2d_demo.mp4")
    assert result["setup"]["view"] == "frontal"
    assert any(w.startswith("set-up: view is frontal") for w in result["warnings"])


def _live(shared_dir, model_path, tmp_path, protocol):
    return run_live_session(str(shared_dir / "videos/sports2d_demo.mp4"), protocol, tmp_path,
                            live=LiveOptions(display=False, audio=False), options=RunOptions(model=model_path))


def test_live_session_warns_after_its_first_seconds(shared_dir, model_path, tmp_path, capsys):
    session = _live(shared_dir, model_path, tmp_path, CountingProtocol())  # setup_posture "auto"
    assert any(w.startswith("set-up: view is frontal") for w in session.warnings)
    assert "hamflex: warning: set-up: view is frontal" in capsys.readouterr().err


def test_live_set_up_check_can_be_turned_off(shared_dir, model_path, tmp_path):
    session = _live(shared_dir, model_path, tmp_path, CountingProtocol(setup_posture=None))
    assert not any(w.startswith("set-up:") for w in session.warnings)
