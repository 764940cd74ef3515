"""The pages in a real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium):
add a person, upload a recording, wait for the result, see the trial's picture, drag a landmark
and see the new score."""

from __future__ import annotations

import httpx
import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from hamflex.web.server import ServerConfig
from tests.support.browser import chromium
from tests.support.web_server import running_server

ANALYSIS_TIMEOUT_S = 150
CLIP = "synthetic/flat2d_supine9090.mp4"


@pytest.fixture
def browser():
    with chromium() as session:
        yield session


def _straight_ankle_offset(browser, svg) -> tuple[int, int]:
    """Screen pixels to move the ankle point so it lies on the thigh line (a straight knee)."""
    return tuple(browser.execute_script("""
        const svg = arguments[0], dot = j => svg.querySelector('.joint-' + j);
        const at = j => [parseFloat(dot(j).getAttribute('cx')), parseFloat(dot(j).getAttribute('cy'))];
        const [hip, knee, ankle] = ['hip', 'knee', 'ankle'].map(at);
        const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
        return [Math.round((2 * knee[0] - hip[0] - ankle[0]) * scale), Math.round((2 * knee[1] - hip[1] - ankle[1]) * scale)];
    """, svg))


def test_a_clinician_adds_a_person_uploads_and_corrects_a_landmark(browser, tmp_path, shared_dir, model_path):
    config = ServerConfig(db_path=tmp_path / "h.sqlite3", data_dir=tmp_path / "data")
    with running_server(config) as url:
        browser.get(url + "/")
        browser.find_element(By.NAME, "name").send_keys("<b>Ann</b> Smith")
        browser.find_element(By.CSS_SELECTOR, "#add-person button").click()
        assert browser.find_element(By.TAG_NAME, "h1").text == "<b>Ann</b> Smith"  # shown as text
        browser.find_element(By.LINK_TEXT, "New session").click()
        browser.find_element(By.NAME, "file").send_keys(str(shared_dir / CLIP))
        browser.find_element(By.CSS_SELECTOR, "#upload button").click()
        wait = WebDriverWait(browser, ANALYSIS_TIMEOUT_S)
        wait.until(expected_conditions.presence_of_element_located((By.ID, "result")))
        session_id = int(browser.current_url.rsplit("/", 1)[1])
        result = httpx.get(f"{url}/api/sessions/{session_id}").json()["result"]
        original = result["trials"][0]["knee_extension_deficit_deg"]
        heading = browser.find_element(By.CSS_SELECTOR, "#trial-1 h3").text
        assert f"{original}° short of straight" in heading
        picture = browser.find_element(By.CSS_SELECTOR, "#trial-1 img")
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", picture) == 960

        svg = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "#trial-1 svg"))
        ankle = svg.find_element(By.CSS_SELECTOR, ".joint-ankle")
        ActionChains(browser).drag_and_drop_by_offset(ankle, *_straight_ankle_offset(browser, svg)).perform()
        browser.find_element(By.CSS_SELECTOR, ".rescore[data-trial='1']").click()
        corrected = wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#trial-1 .corrected"))
        assert f"was {original}°" in corrected[0].text
        trial = httpx.get(f"{url}/api/sessions/{session_id}").json()["result"]["trials"][0]
        assert trial["correction"]["by"] == "hand" and trial["knee_extension_deficit_deg"] < 3.0 < original
        assert f"{trial['knee_extension_deficit_deg']}° short of straight" in browser.find_element(By.CSS_SELECTOR, "#trial-1 h3").text
