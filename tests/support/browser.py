"""A real headless Chromium for the web tests (Debian's chromium + chromium-driver, via Selenium)."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator

import pytest
from selenium import webdriver

HEADLESS_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,1400")


@contextlib.contextmanager
def chromium(*flags: str) -> Iterator[webdriver.Chrome]:
    """A headless Chromium driven by Selenium, with extra command-line ``flags``."""
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (binary and driver):
        pytest.fail("headless Chromium tests need the Debian packages chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*HEADLESS_FLAGS, *flags):
        options.add_argument(flag)
    session = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))
    try:
        yield session
    finally:
        session.quit()


def fake_camera_flags(y4m_path) -> tuple[str, ...]:
    """Chromium's fake camera playing ``y4m_path`` (looped), granted without asking."""
    return ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={y4m_path}")
