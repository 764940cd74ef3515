"""The live overlay's window (OpenCV HighGUI, on the main thread) and whether one can open here."""

from __future__ import annotations

import os
import subprocess
import sys

import cv2
import numpy as np


def display_problem() -> str | None:
    """Why no window can open here, or None. On Linux this is tried in a child process:
    OpenCV's Qt backend aborts the whole process when it cannot reach the display."""
    if not sys.platform.startswith("linux"):
        return None
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display found (DISPLAY is not set)"
    probe = "import cv2; cv2.namedWindow('hamflex'); cv2.waitKey(1); cv2.destroyAllWindows()"
    try:
        completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        return f"cannot test the display ({type(error).__name__})"
    if completed.returncode != 0:
        return f"cannot open a window on display {os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY')}"
    return None


class WindowView:
    """An OpenCV window on the main thread; ``show`` returns the key pressed (or -1)."""

    def __init__(self, title: str) -> None:
        self.title = title
        cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
        self._shown = False

    def show(self, image_bgr: np.ndarray) -> int:
        cv2.imshow(self.title, image_bgr)
        self._shown = True
        return cv2.waitKey(1)

    @property
    def closed(self) -> bool:
        """True once the person closed the window with its close button."""
        try:
            return self._shown and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:
            return True

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass


def open_window(title: str) -> tuple[WindowView | None, str | None]:
    """A window, or None and why not (an OpenCV build without a GUI backend)."""
    try:
        return WindowView(title), None
    except cv2.error as error:
        return None, f"cannot open a window ({str(error).strip().splitlines()[-1]}): running headless"
