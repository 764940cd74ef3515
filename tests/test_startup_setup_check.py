"""The 90-90 test and the holds run the set-up checks on their first seconds and warn."""

from hamflex.pipelines.live import run_live_session
from hamflex.pipelines.api import make_protocol, score_analysis
from tests.test_live import CountingProtocol


def test_side_on_recording_gives_no_set_up_warning(analyzed_clip):
    result = score_analysis(analyzed_clip("synthetic/flat2d_supine9090.mp4"), make_protocol())
    assert result["setup"]["view"] == "side-on"
    assert not [w for w in result["warnings"] if w.startswith("set-up:")]


def test_frontal_start_is_warned_about(analyzed_clip):
    # sports2d_demo opens on a man standing on a wall, facing the camera
    result = score_analysis(analyzed_clip("videos/sports2d_demo.mp4"), make_protocol())
    assert result["setup"]["view"] == "frontal"
    assert any(w.startswith("set-up: view is frontal") for w in result["warnings"])


def test_live_session_warns_after_its_first_seconds(shared_dir, model_path, tmp_path, capsys):
    session = run_live_session(str(shared_dir / "videos/sports2d_demo.mp4"), CountingProtocol(), tmp_path,
                               display=False, audio=False, model=model_path)
    assert any(w.startswith("set-up: view is frontal") for w in session.warnings)
    assert "hamflex: warning: set-up: view is frontal" in capsys.readouterr().err


def test_live_set_up_check_can_be_turned_off(shared_dir, model_path, tmp_path):
    session = run_live_session(str(shared_dir / "videos/sports2d_demo.mp4"), CountingProtocol(), tmp_path,
                               display=False, audio=False, model=model_path, setup_posture=None)
    assert not any(w.startswith("set-up:") for w in session.warnings)
