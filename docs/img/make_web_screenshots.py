"""Take the screenshots of docs/web.md with headless Chromium (run from the repository root;
needs ../shared, the pose model and the Debian packages chromium and chromium-driver).

    HAMFLEX_MODEL=../shared/models/pose_landmarker_full.task python docs/img/make_web_screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

IMG = Path(__file__).resolve().parent
sys.path.insert(0, str(IMG.parents[1]))  # the repository root: the tests' server and browser helpers

from hamflex.web.server import ServerConfig  # noqa: E402
from tests.support.browser import chromium, fake_camera_flags  # noqa: E402
from tests.support.media import read_frames, video_fps, with_end_held, write_y4m  # noqa: E402
from tests.support.web_server import running_server, wait_finished  # noqa: E402

SHARED = IMG.parents[2] / "shared"
CLIP = SHARED / "synthetic" / "flat2d_supine9090.mp4"


def shoot(browser, url: str, name: str, height: int = 1000) -> None:
    browser.set_window_size(1100, height)
    browser.get(url)
    time.sleep(1.0)  # pictures loaded, scripts run
    browser.save_screenshot(str(IMG / name))


def live_shot(browser, url: str, person_id: int) -> None:
    """A live session with the browser's (fake) camera, photographed while it runs."""
    browser.set_window_size(1100, 1300)
    browser.get(f"{url}/people/{person_id}/new")
    browser.find_element(By.NAME, "every_frame").click()
    browser.find_element(By.ID, "live-button").click()
    WebDriverWait(browser, 60).until(lambda b: b.execute_script(
        "return window.hamflexLive && window.hamflexLive.last && window.hamflexLive.last.frames_analysed > 45"))
    browser.execute_script("document.getElementById('live-view').scrollIntoView()")
    browser.save_screenshot(str(IMG / "web_live.png"))
    browser.find_element(By.ID, "live-stop").click()
    WebDriverWait(browser, 60).until(lambda b: "/sessions/" in b.current_url)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        fps = video_fps(CLIP)
        frames = with_end_held(read_frames(CLIP), 2.0, fps)
        write_y4m(scratch / "clip.y4m", frames, fps)
        config = ServerConfig(db_path=scratch / "h.sqlite3", data_dir=scratch / "data")
        with running_server(config) as url, httpx.Client(base_url=url, timeout=60) as client:
            ann = client.post("/api/people", json={"name": "Ann Smith", "sex": "female", "note": "after ACL repair, left"}).json()
            for name, note in (("Bob Jones", "runner"), ("Carla Diaz", "")):
                client.post("/api/people", json={"name": name, "sex": "female" if name[0] == "C" else "male", "note": note})
            with open(CLIP, "rb") as handle:
                upload = client.post("/api/sessions", data={"protocol": "test90", "person_id": str(ann["id"])},
                                     files={"file": (CLIP.name, handle, "video/mp4")}).json()
            wait_finished(client, upload["id"], timeout_s=300)
            with chromium(*fake_camera_flags(scratch / "clip.y4m")) as browser:
                shoot(browser, f"{url}/", "web_people.png", 700)
                shoot(browser, f"{url}/people/{ann['id']}/new", "web_new_session.png", 800)
                live_shot(browser, url, ann["id"])
                shoot(browser, f"{url}/people/{ann['id']}", "web_person.png", 700)
                shoot(browser, f"{url}/sessions/{upload['id']}", "web_session.png", 1500)


if __name__ == "__main__":
    main()
