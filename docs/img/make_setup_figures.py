"""Draw the pictures of docs/setup.md (run from the repository root; needs ../shared for the last one).

    python docs/img/make_setup_figures.py
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, Polygon, Rectangle, Wedge

from hamflex.camera.board import BoardSpec, write_board

IMG = Path(__file__).resolve().parent
SHARED = IMG.parents[2] / "shared"


def camera_icon(axes, x: float, y: float, facing_deg: float, label: str) -> None:
    angle = np.radians(facing_deg)
    body = Rectangle((x - 0.15, y - 0.1), 0.3, 0.2, angle=0, color="0.2")
    axes.add_patch(body)
    tip = np.array([x, y]) + 0.25 * np.array([np.cos(angle), np.sin(angle)])
    axes.add_patch(Polygon([[x, y], tip + 0.1 * np.array([-np.sin(angle), np.cos(angle)]),
                            tip - 0.1 * np.array([-np.sin(angle), np.cos(angle)])], color="0.2"))
    axes.text(x, y - 0.35, label, ha="center", va="top", fontsize=9)


def placement_diagram(path: Path) -> None:
    figure = Figure(figsize=(9, 3.6), dpi=100)
    top, side = figure.subplots(1, 2)
    # Top view: person lying along x, camera square to the hips, 3 m away.
    top.set_title("from above: square to the side of the body", fontsize=10)
    top.add_patch(Rectangle((-1.0, -0.35), 2.0, 0.7, color="#cfe3f3"))
    top.plot([-0.9, 0.0], [0, 0], color="#c0392b", lw=6, solid_capstyle="round")  # trunk
    top.plot([0.0, 0.5, 0.9], [0.05, 0.07, 0.05], color="#c0392b", lw=4, solid_capstyle="round")  # legs
    top.add_patch(Circle((-1.0, 0), 0.12, color="#c0392b"))
    top.add_patch(Wedge((0.0, 0.0), 3.3, 270 - 20, 270 + 20, color="#2ecc71", alpha=0.25))  # where the camera may stand
    top.annotate("", xy=(0.0, -0.45), xytext=(0.0, -2.7), arrowprops=dict(arrowstyle="->", lw=1.5))
    top.text(0.08, -1.6, "2-4 m\nline of sight\nat the hips", fontsize=8, va="center")
    top.text(-1.15, -2.6, "camera anywhere\nin the green: within\n±20° of square", fontsize=8, color="#1e8449",
             ha="center")
    camera_icon(top, 0.0, -3.0, 90, "camera")
    top.text(-1.0, 0.5, "head", fontsize=8, ha="center")
    top.text(0.9, 0.5, "feet", fontsize=8, ha="center")
    top.set_xlim(-2.0, 2.0)
    top.set_ylim(-3.7, 0.9)
    top.set_aspect("equal")
    top.set_axis_off()
    # Side view (from behind the camera): camera level, at hip height, no roll.
    side.set_title("from the side: level, at hip height", fontsize=10)
    side.plot([-0.3, 4.0], [0, 0], color="0.4", lw=1)
    side.add_patch(Rectangle((2.7, 0.0), 1.2, 0.05, color="#cfe3f3"))  # mat
    side.add_patch(Circle((3.3, 0.13), 0.12, color="#c0392b"))  # the body, seen from the feet
    side.plot([3.3, 3.3], [0.13, 0.75], color="#c0392b", lw=4, solid_capstyle="round")  # raised thigh
    side.plot([0, 0], [0, 0.35], color="0.2", lw=2)  # tripod
    side.plot([-0.15, 0, 0.15], [0, 0.15, 0], color="0.2", lw=1.5)
    camera_icon(side, 0.0, 0.4, 0, "")
    side.add_artist(FancyArrowPatch((0.3, 0.4), (3.1, 0.4), arrowstyle="->", lw=1.5, mutation_scale=12))
    side.text(1.6, 0.5, "aim straight across, camera level\n(horizon horizontal, no roll)", fontsize=8, ha="center")
    side.text(0.0, -0.12, "lens 30-60 cm above the floor\nfor tests lying down", fontsize=8, ha="center", va="top")
    side.text(3.3, -0.12, "person lying,\nseen from the feet", fontsize=8, ha="center", va="top")
    side.set_xlim(-0.8, 4.1)
    side.set_ylim(-0.5, 1.0)
    side.set_aspect("equal")
    side.set_axis_off()
    figure.tight_layout()
    figure.savefig(path)


def view_examples(path: Path) -> None:
    """One frame of each Pose2Sim phone, with what the view check and the mocap geometry say
    (clip medians, degrees from side-on, as measured in tests/camera/test_checks.py)."""
    estimates = {"cam01": (53, 66), "cam02": (72, 62), "cam03": (63, 59), "cam04": (52, 47)}
    tiles = []
    for name, (estimate, truth) in estimates.items():
        capture = cv2.VideoCapture(str(SHARED / "videos" / "pose2sim_single_person" / f"{name}.mp4"))
        capture.set(cv2.CAP_PROP_POS_FRAMES, 20)
        ok, frame = capture.read()
        capture.release()
        tile = cv2.resize(frame, (162, 288), interpolation=cv2.INTER_AREA)
        cv2.rectangle(tile, (0, 250), (162, 288), (255, 255, 255), -1)
        for row, text in enumerate((f"{name}: check {estimate} deg", f"mocap {truth} deg")):
            cv2.putText(tile, text, (4, 265 + 17 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        tiles.append(tile)
    rgb = cv2.cvtColor(np.hstack(tiles), cv2.COLOR_BGR2RGB)
    Image.fromarray(rgb).quantize(colors=96).save(path, optimize=True)  # small enough for the docs


if __name__ == "__main__":
    placement_diagram(IMG / "setup_placement.png")
    files = write_board(IMG / "checkerboard_4x7_60mm.png", BoardSpec(4, 7, 60.0), dpi=30)
    files.pdf.unlink()  # the PDF is made by `hamflex calibrate board`; the docs show the PNG
    if SHARED.is_dir():
        view_examples(IMG / "setup_view_examples.png")
