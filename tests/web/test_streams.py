"""Live sessions of the web app, end to end: Chromium's fake camera playing a recorded clip sends
its pictures over the WebSocket, the server runs the live loop on them with the real model, and
the saved session has the same trials as the offline run of that clip. Every frame is analysed
(the page's "every frame" box): on a busy machine the newest-frame default analyses a third of
them, too few for the offline smoothing (docs/web.md, "Live sessions")."""

from __future__ import annotations

import json

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from hamflex.outputs.names import LIVE_SESSION_JSON, TEST90_JSON, trial_picture
from hamflex.pipelines.api import run_test90
from hamflex.web.server import ServerConfig
from tests.support.browser import chromium, fake_camera_flags
from tests.support.media import read_frames, video_fps, with_end_held, write_video, write_y4m
from tests.support.web_server import running_server

CLIP = "synthetic/flat2d_supine9090.mp4"
HOLD_END_S = 1.0  # the clip's end position held longer (its last frame repeated), in both runs
STOP_BEFORE_END_FRAMES = 5  # the fake camera loops the clip: stop a little before its end
LIVE_TIMEOUT_S = 90
TOLERANCE_DEG = 2.0


def _go_live(url: str, person_id: int, max_s: float, y4m) -> int:
    """Start a live session with the browser's (fake) camera; the session id once it has ended."""
    with chromium(*fake_camera_flags(y4m)) as browser:
        browser.get(f"{url}/people/{person_id}/new")
        browser.find_element(By.NAME, "max_s").send_keys(f"{max_s:.4f}")
        browser.find_element(By.NAME, "every_frame").click()  # a recording played as the camera: all its frames
        browser.find_element(By.ID, "live-button").click()
        WebDriverWait(browser, LIVE_TIMEOUT_S).until(lambda b: "/sessions/" in b.current_url)
        WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.ID, "result") or b.find_elements(By.ID, "failure"))
        assert browser.find_elements(By.CSS_SELECTOR, "#trial-1 img"), browser.page_source
        return int(browser.current_url.rsplit("/", 1)[1])


def test_the_browsers_camera_gives_the_offline_trials(tmp_path, shared_dir, model_path, capsys):
    """The clip is the shared 90-90 clip with its end position held 1 s longer (its end plateau is
    only 0.3 s: a live run that misses the last frames, or the fake camera looping back, would cut
    it short), written losslessly for the offline run and as .y4m for the camera."""
    fps = video_fps(shared_dir / CLIP)
    clip = with_end_held(read_frames(shared_dir / CLIP), HOLD_END_S, fps)
    frames = len(clip)
    write_video(tmp_path / "clip.avi", clip, fps)
    write_y4m(tmp_path / "clip.y4m", clip, fps)
    config = ServerConfig(db_path=tmp_path / "h.sqlite3", data_dir=tmp_path / "data")
    with running_server(config) as url:
        person = httpx.post(f"{url}/api/people", json={"name": "Ann"}).json()
        session_id = _go_live(url, person["id"], (frames - STOP_BEFORE_END_FRAMES) / fps, tmp_path / "clip.y4m")
        state = httpx.get(f"{url}/api/sessions/{session_id}").json()
        person_page = httpx.get(f"{url}/people/{person['id']}").text
    assert state["status"] == "done", state
    folder = config.data_dir / "sessions" / str(session_id)
    live = json.loads((folder / LIVE_SESSION_JSON).read_text())
    assert state["result"] == json.loads((folder / TEST90_JSON).read_text())
    assert state["result"]["mode"] == "live" and state["result"]["source"] == "browser camera"
    assert live["ended_by"] == "finished" and live["frames_captured"] <= frames
    assert (folder / trial_picture(1)).is_file() and "(live)" in person_page  # saved like an upload

    offline = run_test90(tmp_path / "clip.avi", tmp_path / "offline").to_dict()
    pairs = list(zip(state["result"]["trials"], offline["trials"]))
    assert len(state["result"]["trials"]) == len(offline["trials"]) >= 1
    with capsys.disabled():
        print(f"\nlive (browser camera): {live['frames_captured']} frames received, {live['frames_processed']} analysed"
              f" of the clip's {frames}; deficit differences "
              f"{[round(a['knee_extension_deficit_deg'] - b['knee_extension_deficit_deg'], 1) for a, b in pairs]}°")
    for live_trial, offline_trial in pairs:
        assert live_trial["side"] == offline_trial["side"] and live_trial["valid"] == offline_trial["valid"]
        for key in ("knee_extension_deficit_deg", "hip_flexion_deg"):
            assert live_trial[key] == pytest.approx(offline_trial[key], abs=TOLERANCE_DEG), key
