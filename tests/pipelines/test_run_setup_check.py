"""The 90-90 test and the holds run the set-up checks on their first seconds and warn."""

import json

import pytest

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


def test_a_title_card_does_not_change_the_set_up_verdict(shared_dir, model_path, tmp_path):
    """A clip opening on 4 s of title card gets the same set-up verdict as the clip alone: the
    check reads the first seconds in which a person is seen, and says when that was."""
    from tests.support.media import read_frames, title_card_frames, write_video

    clip = read_frames(shared_dir / "synthetic" / "flat2d_supine9090.mp4")
    height, width = clip[0].shape[:2]
    plain = write_video(tmp_path / "plain.mp4", clip)
    titled = write_video(tmp_path / "titled.mp4", title_card_frames(120, width, height) + clip)
    alone = run_test90(plain, tmp_path / "plain", options=RunOptions(model=model_path)).setup
    after_card = run_test90(titled, tmp_path / "titled", options=RunOptions(model=model_path)).setup
    assert after_card.passed == alone.passed is True
    for check in alone.checks:
        other = after_card.check(check.name)
        assert other.passed == check.passed, (check.message, other.message)
        if check.value is not None:
            assert other.value == pytest.approx(check.value, rel=0.05, abs=1.0), check.name
    assert alone.checked_from_s == pytest.approx(0.0, abs=0.05)
    assert after_card.checked_from_s == pytest.approx(4.0, abs=0.05)
    assert after_card.checked_to_s - after_card.checked_from_s == pytest.approx(
        alone.checked_to_s - alone.checked_from_s, abs=0.05)
