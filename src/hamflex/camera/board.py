"""The calibration board: a printable checkerboard at true size, and finding it in a picture."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

DETECTION_MAX_SIDE_PX = 1280
"""Boards are searched in a copy scaled down to this size (faster, and as reliable), then
refined on the full-resolution image."""
MAX_GRID_BEND = 0.2
"""A found board is rejected when a corner is further than this fraction of the square spacing
from the midpoint of its two neighbours (see :func:`grid_bend`; real boards in the test
photos: at most 0.075)."""
_SUBPIX_CRITERIA = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 40, 1e-3)
_MM_PER_INCH = 25.4


# --- the board -------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardSpec:
    """A checkerboard by its inner corners (``4x7``: 4 across, 7 down) and square size."""

    inner_cols: int
    inner_rows: int
    square_mm: float

    def __post_init__(self) -> None:
        if self.inner_cols < 2 or self.inner_rows < 2:
            raise ValueError(f"a board needs at least 2x2 inner corners, got {self.inner_cols}x{self.inner_rows}")
        if not self.square_mm > 0:
            raise ValueError(f"square size must be positive, got {self.square_mm} mm")

    @classmethod
    def parse(cls, text: str, square_mm: float) -> BoardSpec:
        """``"4x7"`` (inner corners across x down) and a square size in millimetres."""
        try:
            cols, rows = (int(part) for part in text.lower().split("x"))
        except ValueError:
            raise ValueError(f"board must look like 4x7 (inner corners across x down), got {text!r}") from None
        return cls(cols, rows, float(square_mm))

    @property
    def label(self) -> str:
        return f"{self.inner_cols}x{self.inner_rows}"

    @property
    def pattern_size(self) -> tuple[int, int]:
        return (self.inner_cols, self.inner_rows)

    @property
    def squares(self) -> tuple[int, int]:
        """Squares across and down (one more than the inner corners)."""
        return (self.inner_cols + 1, self.inner_rows + 1)

    def object_points_mm(self) -> np.ndarray:
        """The inner corners on the flat board, ``(cols*rows, 3)`` millimetres, z = 0."""
        grid = np.mgrid[0 : self.inner_cols, 0 : self.inner_rows].T.reshape(-1, 2)
        points = np.zeros((len(grid), 3), dtype=np.float32)
        points[:, :2] = grid * self.square_mm
        return points


@dataclass(frozen=True)
class BoardFiles:
    """The printable board written by :func:`write_board`."""

    png: Path
    pdf: Path
    page_mm: tuple[float, float]
    dpi: int


def _board_figure(board: BoardSpec, margin_mm: float):
    """A matplotlib figure exactly the page's physical size, drawn in millimetres."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    squares_x, squares_y = board.squares
    board_w_mm, board_h_mm = squares_x * board.square_mm, squares_y * board.square_mm
    text_mm = 12.0
    page_w_mm = board_w_mm + 2 * margin_mm
    page_h_mm = board_h_mm + 2 * margin_mm + text_mm
    figure = Figure(figsize=(page_w_mm / _MM_PER_INCH, page_h_mm / _MM_PER_INCH))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, page_w_mm)
    axes.set_ylim(page_h_mm, 0)  # y down, like the printed page is read
    axes.set_axis_off()
    for ix in range(squares_x):
        for iy in range(squares_y):
            if (ix + iy) % 2 == 0:
                axes.add_patch(Rectangle(
                    (margin_mm + ix * board.square_mm, margin_mm + iy * board.square_mm),
                    board.square_mm, board.square_mm, facecolor="black", edgecolor="none", antialiased=False,
                ))
    caption_y = margin_mm + board_h_mm + text_mm * 0.55
    axes.text(
        margin_mm, caption_y,
        f"hamflex checkerboard {board.label} inner corners, squares {board.square_mm:g} mm. "
        f"Print at 100% (actual size) and check one square with a ruler.",
        fontsize=max(5.0, min(9.0, page_w_mm / 40)), va="center", ha="left",
    )
    return figure, (page_w_mm, page_h_mm)


def write_board(out: str | Path, board: BoardSpec, *, dpi: int = 150, margin_mm: float = 15.0) -> BoardFiles:
    """Write ``board.png`` (with its DPI recorded) and ``board.pdf`` at true physical size.

    ``out`` is a directory, or a file path whose suffix is replaced by ``.png``/``.pdf``.
    The PDF's page is the board plus margins, so printing it at 100% gives squares of
    exactly ``board.square_mm``.
    """
    out = Path(out)
    stem = out.with_suffix("") if out.suffix else out / f"checkerboard_{board.label}_{board.square_mm:g}mm"
    stem.parent.mkdir(parents=True, exist_ok=True)
    figure, page_mm = _board_figure(board, margin_mm)
    png, pdf = stem.with_suffix(".png"), stem.with_suffix(".pdf")
    figure.savefig(png, dpi=dpi)
    figure.savefig(pdf)
    return BoardFiles(png=png, pdf=pdf, page_mm=page_mm, dpi=dpi)


# --- finding the board -----------------------------------------------------------------


def find_board_corners(gray: np.ndarray, board: BoardSpec) -> np.ndarray | None:
    """The board's inner corners in ``gray`` to sub-pixel accuracy, ``(N, 1, 2)``, or None.

    Searches a scaled-down copy with the classic detector, falls back to the sector-based
    one (``findChessboardCornersSB``, better on blur and uneven light), then refines on the
    full image.
    """
    scale = min(1.0, DETECTION_MAX_SIDE_PX / max(gray.shape))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    flags = cv2.CALIB_CB_ADAPTIVE_THRESH + cv2.CALIB_CB_NORMALIZE_IMAGE
    found, corners = cv2.findChessboardCorners(small, board.pattern_size, flags=flags)
    if not found:
        found, corners = cv2.findChessboardCornersSB(small, board.pattern_size, flags=cv2.CALIB_CB_EXHAUSTIVE)
    if not found or grid_bend(corners, board) > MAX_GRID_BEND:
        return None
    corners = (corners.astype(np.float32) + 0.5) / scale - 0.5
    # Search window: a third of the smallest spacing between neighbouring corners, 3..11 px.
    grid = corners.reshape(board.inner_rows, board.inner_cols, 2)
    spacing_px = min(
        float(np.min(np.linalg.norm(np.diff(grid, axis=0), axis=-1))),
        float(np.min(np.linalg.norm(np.diff(grid, axis=1), axis=-1))),
    )
    half_window = int(np.clip(spacing_px / 3, 3, 11))
    return cv2.cornerSubPix(gray, corners, (half_window, half_window), (-1, -1), _SUBPIX_CRITERIA)


def grid_bend(corners: np.ndarray, board: BoardSpec) -> float:
    """How far the found corners are from a smooth grid: the largest distance of a corner
    from the midpoint of its two neighbours (along a row or column), over their mean spacing.

    Perspective and lens distortion bend a real board's rows only gently. A board searched
    with the wrong ``--board`` size can come back with a row of made-up corners off the board
    (OpenCV's sector-based detector extrapolates), which shows up here as a kink.
    """
    grid = corners.reshape(board.inner_rows, board.inner_cols, 2).astype(np.float64)
    bend = 0.0
    for axis in (0, 1):
        if grid.shape[axis] < 3:
            continue
        spacing = np.linalg.norm(np.diff(grid, axis=axis), axis=-1)
        neighbours = (spacing[:-1] + spacing[1:]) / 2 if axis == 0 else (spacing[:, :-1] + spacing[:, 1:]) / 2
        kink = np.linalg.norm(np.diff(grid, n=2, axis=axis), axis=-1) / 2
        bend = max(bend, float(np.max(kink / np.maximum(neighbours, 1e-9))))
    return bend


