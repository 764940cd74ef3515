"""Camera calibration: a printable checkerboard, intrinsics from photos of it, and undistortion.

A wide-angle lens bends straight lines towards the edges of the picture, which bends the
angles measured there. ``calibrate_camera`` estimates the lens (focal lengths, principal
point, distortion) from photos or video frames of a flat checkerboard with OpenCV
(``findChessboardCorners`` → ``cornerSubPix`` → ``calibrateCamera``); a
:class:`CameraProfile` stores it as JSON, and ``CameraProfile.undistort_pose`` moves the
landmarks of a pose to where a distortion-free lens would have put them (points only: the
pixels are never remapped, so it is cheap enough for every frame).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from hamflex.media.sources import PHOTO_SUFFIXES, is_photo
from hamflex.errors import CameraProfileError, InputError
from hamflex.outputs.files import write_json

PROFILE_KIND = "hamflex-camera-profile"
PROFILE_VERSION = 1

MIN_VIEWS = 5
"""Fewest views with the board found that give a usable calibration."""
RECOMMENDED_VIEWS = 10
"""Views for a steady result; below this the 6th-order radial term k3 is held at 0."""
MIN_TILTED_VIEWS = 3
TILTED_DEG = 20.0
"""A view counts as tilted when the board's normal is at least this far from the optical axis."""
OUTLIER_MIN_ERROR_PX = 1.0
"""A view is dropped as an outlier when its reprojection error exceeds 3× the median and this."""
DETECTION_MAX_SIDE_PX = 1280
"""Boards are searched in a copy scaled down to this size (faster, and as reliable), then
refined on the full-resolution image."""
MAX_RMS_ERROR_PX = 2.0
"""A calibration whose RMS reprojection error is above this is refused (good ones: 0.2-0.5 px)."""
FOCAL_RANGE_WIDTHS = (0.2, 5.0)
"""fx and fy must lie within these multiples of the image width: fields of view of about
136° down to 11° (wider is a fisheye, which this lens model does not fit)."""
MAX_FOCAL_RATIO = 1.2
"""Largest fx/fy (or fy/fx) accepted: cameras with square pixels give 1.00 ± 0.01."""
MAX_GRID_BEND = 0.2
"""A found board is rejected when a corner is further than this fraction of the square spacing
from the midpoint of its two neighbours (see :func:`grid_bend`; real boards in the test
photos: at most 0.075)."""
ASPECT_TOLERANCE = 0.003
"""Relative difference in width/height ratio still treated as "same shape" when scaling."""

_SUBPIX_CRITERIA = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 40, 1e-3)
_UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT + cv2.TERM_CRITERIA_EPS, 50, 1e-6)
_MM_PER_INCH = 25.4


class CalibrationError(InputError):
    """The calibration images cannot give a camera profile (too few usable views, or a fit
    too implausible to trust)."""


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


# --- the camera profile ----------------------------------------------------------------


@dataclass(frozen=True)
class CameraProfile:
    """A calibrated camera: intrinsics in pixels of ``image_width`` x ``image_height`` frames.

    ``dist_coeffs`` are OpenCV's (k1, k2, p1, p2, k3); ``rms_reprojection_error_px`` says how
    well the model fitted the calibration views (below ~1 px is good).
    """

    image_width: int
    image_height: int
    fx: float
    fy: float
    cx: float
    cy: float
    dist_coeffs: tuple[float, ...]
    rms_reprojection_error_px: float
    created: str = field(default_factory=lambda: _dt.date.today().isoformat())
    views_used: int = 0
    board: str = ""

    def __post_init__(self) -> None:
        if self.image_width <= 0 or self.image_height <= 0:
            raise ValueError(f"image size must be positive, got {self.image_width}x{self.image_height}")
        if not (self.fx > 0 and self.fy > 0):
            raise ValueError(f"focal lengths must be positive, got fx={self.fx}, fy={self.fy}")
        if len(self.dist_coeffs) not in (4, 5, 8, 12, 14):
            raise ValueError(f"dist_coeffs must have 4, 5, 8, 12 or 14 values, got {len(self.dist_coeffs)}")

    @property
    def camera_matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def image_size(self) -> tuple[int, int]:
        return (self.image_width, self.image_height)

    def to_dict(self) -> dict:
        return {
            "kind": PROFILE_KIND,
            "version": PROFILE_VERSION,
            "image_width": self.image_width,
            "image_height": self.image_height,
            "fx": self.fx,
            "fy": self.fy,
            "cx": self.cx,
            "cy": self.cy,
            "dist_coeffs": list(self.dist_coeffs),
            "rms_reprojection_error_px": self.rms_reprojection_error_px,
            "created": self.created,
            "views_used": self.views_used,
            "board": self.board,
        }

    def save(self, path: str | Path) -> Path:
        return write_json(Path(path), self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> CameraProfile:
        """Read a profile written by :meth:`save`; :class:`InputError` if it is not one."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: no such camera profile") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InputError(f"{path}: not a readable camera profile ({error})") from None
        if not isinstance(data, dict) or data.get("kind") != PROFILE_KIND:
            raise InputError(f"{path}: not a hamflex camera profile (make one with `hamflex calibrate`)")
        try:
            return cls(
                image_width=int(data["image_width"]),
                image_height=int(data["image_height"]),
                fx=float(data["fx"]),
                fy=float(data["fy"]),
                cx=float(data["cx"]),
                cy=float(data["cy"]),
                dist_coeffs=tuple(float(v) for v in data["dist_coeffs"]),
                rms_reprojection_error_px=float(data["rms_reprojection_error_px"]),
                created=str(data.get("created", "")),
                views_used=int(data.get("views_used", 0)),
                board=str(data.get("board", "")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"{path}: camera profile is incomplete or invalid ({error})") from None

    def for_image_size(self, width: int, height: int) -> CameraProfile:
        """This profile for ``width`` x ``height`` frames: itself, or scaled when only the
        resolution differs (same shape); :class:`CameraProfileError` otherwise."""
        if (width, height) == self.image_size:
            return self
        size_text = f"{self.image_width}x{self.image_height}"
        if (width > height) != (self.image_width > self.image_height) and width != height:
            raise CameraProfileError(
                f"the camera profile is for {size_text} frames but the video is {width}x{height}: "
                "it was recorded in the other orientation (portrait vs landscape); calibrate in the orientation you record in"
            )
        aspect_difference = abs(width * self.image_height - height * self.image_width) / (height * self.image_width)
        if aspect_difference > ASPECT_TOLERANCE:
            raise CameraProfileError(
                f"the camera profile is for {size_text} frames but the video is {width}x{height} "
                "(a different shape, so probably cropped): calibrate at the resolution you record with"
            )
        scale_x, scale_y = width / self.image_width, height / self.image_height
        # Pixel centres sit at integer coordinates, so x' = (x + 0.5) * s - 0.5.
        return replace(
            self,
            image_width=width,
            image_height=height,
            fx=self.fx * scale_x,
            fy=self.fy * scale_y,
            cx=(self.cx + 0.5) * scale_x - 0.5,
            cy=(self.cy + 0.5) * scale_y - 0.5,
        )

    def undistort_points_px(self, points_px: np.ndarray) -> np.ndarray:
        """Pixel positions as a distortion-free lens with the same focal length would show them.

        ``points_px`` is ``(..., 2)``; rows with a NaN stay NaN. Iterates to convergence
        (OpenCV's default of 5 fixed iterations leaves errors near the corners).
        """
        points = np.asarray(points_px, dtype=np.float64)
        if points.shape[-1] != 2:
            raise ValueError(f"points must have shape (..., 2), got {points.shape}")
        flat = points.reshape(-1, 2)
        result = np.full_like(flat, np.nan)
        finite = np.isfinite(flat).all(axis=1)
        if finite.any():
            undistorted = cv2.undistortPoints(
                flat[finite].reshape(-1, 1, 2), self.camera_matrix, np.asarray(self.dist_coeffs, dtype=np.float64),
                P=self.camera_matrix, criteria=_UNDISTORT_CRITERIA,
            )
            result[finite] = undistorted.reshape(-1, 2)
        return result.reshape(points.shape)

    def undistort_pose(self, pose_frame):
        """``pose_frame`` (a :class:`~hamflex.media.pose.PoseFrame`) with undistorted image landmarks.

        Only the normalized image coordinates change (x, y; MediaPipe's relative depth z and
        the metric world landmarks are kept). Frames of another resolution with the same
        shape are handled by scaling; another shape raises :class:`CameraProfileError`.
        """
        if not pose_frame.detected:
            return pose_frame
        profile = self.for_image_size(pose_frame.image_width, pose_frame.image_height)
        size = np.array([pose_frame.image_width, pose_frame.image_height], dtype=np.float64)
        undistorted_px = profile.undistort_points_px(pose_frame.landmarks_norm[:, :2].astype(np.float64) * size)
        landmarks_norm = pose_frame.landmarks_norm.copy()
        landmarks_norm[:, :2] = (undistorted_px / size).astype(landmarks_norm.dtype)
        return replace(pose_frame, landmarks_norm=landmarks_norm)


def load_profile(profile: CameraProfile | str | Path | None) -> CameraProfile | None:
    """A profile given as an object or a path (``None`` stays ``None``)."""
    if profile is None or isinstance(profile, CameraProfile):
        return profile
    return CameraProfile.load(profile)


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


@dataclass(frozen=True)
class CalibrationImage:
    """One picture to search for the board: a photo, or a frame sampled from a video."""

    label: str
    gray: np.ndarray | None
    problem: str = ""


def _video_frames(path: Path, max_frames: int) -> Iterator[CalibrationImage]:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        yield CalibrationImage(str(path), None, "not a readable video or photo")
        return
    try:
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        step = max(1, total // max_frames) if total > 0 else 1
        index = kept = 0
        while kept < max_frames:
            if not capture.grab():
                break
            if index % step == 0:
                ok, bgr = capture.retrieve()
                if ok:
                    kept += 1
                    yield CalibrationImage(f"{path}#frame{index}", cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
            index += 1
        if index == 0:
            yield CalibrationImage(str(path), None, "contains no decodable frames")
    finally:
        capture.release()


def input_files(paths: Sequence[str | Path]) -> list[Path]:
    """The files to read: folders expanded to the photos inside them (sorted), each file once
    (by resolved path, so a folder given twice does not count its photos twice).

    A missing path, or a folder without photos, is an :class:`InputError`: a mistyped name
    should stop the run, not be counted as a picture without a board.
    """
    files: list[Path] = []
    seen: set[Path] = set()
    for path in map(Path, paths):
        if path.is_dir():
            expanded = sorted(p for p in path.iterdir() if p.is_file() and is_photo(p))
            if not expanded:
                raise InputError(f"{path}: folder has no images ({', '.join(sorted(PHOTO_SUFFIXES))})")
        elif path.exists():
            expanded = [path]
        else:
            raise InputError(f"{path}: no such file")
        for file in expanded:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                files.append(file)
    return files


def calibration_images(paths: Sequence[str | Path], max_video_frames: int = 40) -> Iterator[CalibrationImage]:
    """Photos as they are; videos as up to ``max_video_frames`` evenly spaced frames;
    directories as the photos inside them (sorted). Checks the paths (see
    :func:`input_files`) before the first image is read."""
    return _read_images(input_files(paths), max_video_frames)


def _read_images(files: list[Path], max_video_frames: int) -> Iterator[CalibrationImage]:
    for path in files:
        if is_photo(path):
            gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            yield CalibrationImage(str(path), gray, "" if gray is not None else "not a readable image")
        else:
            yield from _video_frames(path, max_video_frames)


# --- calibrating -----------------------------------------------------------------------


@dataclass(frozen=True)
class ViewReport:
    """What happened to one calibration image: ``used`` when the board was found and kept
    (with too few views for a profile, found), else ``reason`` says why it was rejected."""

    label: str
    used: bool
    reason: str = ""
    reprojection_error_px: float | None = None
    tilt_deg: float | None = None


@dataclass(frozen=True)
class CalibrationResult:
    """The profile (None when too few views or the fit was implausible), what each image
    contributed, advice, and ``implausible``: why a fit was refused (empty if it was not)."""

    profile: CameraProfile | None
    views: list[ViewReport]
    advice: list[str]
    image_size: tuple[int, int] | None
    implausible: list[str] = field(default_factory=list)

    @property
    def used(self) -> list[ViewReport]:
        return [view for view in self.views if view.used]

    @property
    def rejected(self) -> list[ViewReport]:
        return [view for view in self.views if not view.used]

    def require_profile(self) -> CameraProfile:
        """The profile, or :class:`CalibrationError` saying what was wrong or what to add."""
        if self.implausible:
            raise CalibrationError(
                "implausible calibration, no profile made: " + "; ".join(self.implausible)
                + ". Likely cause: --board does not match the printed board's inner corners (count the points "
                "where four squares meet, across x down), or a bent board or blurred pictures"
            )
        if self.profile is None:
            raise CalibrationError(
                f"too few usable views: the board was found in {len(self.used)} of {len(self.views)} image(s), "
                f"at least {MIN_VIEWS} are needed; " + "; ".join(self.advice)
            )
        return self.profile


def implausibility(profile: CameraProfile) -> list[str]:
    """What makes a fitted profile impossible for a real camera (empty when nothing does).

    A wrong ``--board`` can still be "found" in each picture (as a made-up or mis-ordered
    grid) and the fit then converges to nonsense, e.g. fx 140561 px for a 640 px image.
    """
    problems = []
    if profile.rms_reprojection_error_px > MAX_RMS_ERROR_PX:
        problems.append(
            f"RMS reprojection error {profile.rms_reprojection_error_px:.2f} px (at most {MAX_RMS_ERROR_PX:g} px accepted)"
        )
    low, high = FOCAL_RANGE_WIDTHS
    for name, focal_px in (("fx", profile.fx), ("fy", profile.fy)):
        widths = focal_px / profile.image_width
        if not low <= widths <= high:
            problems.append(
                f"{name} {focal_px:.0f} px is {widths:.3g}x the image width (expected {low:g}-{high:g}x)"
            )
    ratio = max(profile.fx, profile.fy) / min(profile.fx, profile.fy)
    if ratio > MAX_FOCAL_RATIO:
        problems.append(f"fx/fy differ by a factor {ratio:.2f} (at most {MAX_FOCAL_RATIO:g}; square pixels give 1.00)")
    if not (0 <= profile.cx <= profile.image_width and 0 <= profile.cy <= profile.image_height):
        problems.append(
            f"principal point ({profile.cx:.0f}, {profile.cy:.0f}) is outside the "
            f"{profile.image_width}x{profile.image_height} image"
        )
    return problems


def _tilt_deg(rotation_vector: np.ndarray) -> float:
    """Angle between the board's normal and the camera's optical axis."""
    rotation, _ = cv2.Rodrigues(rotation_vector)
    return float(np.degrees(np.arccos(min(1.0, abs(rotation[2, 2])))))


def _rough_tilts_deg(corners: list[np.ndarray], board: BoardSpec, image_size: tuple[int, int]) -> list[float]:
    """Board tilts from a guessed camera (focal length = larger image side), for advice
    when there are too few views to calibrate."""
    width, height = image_size
    guess = np.array([[max(image_size), 0, width / 2], [0, max(image_size), height / 2], [0, 0, 1]], dtype=np.float64)
    tilts = []
    for image_corners in corners:
        ok, rotation_vector, _ = cv2.solvePnP(board.object_points_mm(), image_corners, guess, None)
        tilts.append(_tilt_deg(rotation_vector) if ok else 0.0)
    return tilts


_REGIONS = {
    (0, 0): "top-left", (2, 0): "top-right", (0, 2): "bottom-left", (2, 2): "bottom-right",
}


def coverage_advice(corners: list[np.ndarray], image_size: tuple[int, int]) -> list[str]:
    """Which corners of the picture no view's board reached (distortion is strongest there)."""
    width, height = image_size
    covered = set()
    for image_corners in corners:
        points = image_corners.reshape(-1, 2)
        cells_x = np.clip((points[:, 0] / width * 3).astype(int), 0, 2)
        cells_y = np.clip((points[:, 1] / height * 3).astype(int), 0, 2)
        covered.update(zip(cells_x.tolist(), cells_y.tolist()))
    missing = [name for cell, name in _REGIONS.items() if cell not in covered]
    if not missing:
        return []
    return [f"hold the board near the {', '.join(missing)} corner(s) of the picture, where lens distortion is strongest"]


def _advice(
    used: int, not_found: int, board: BoardSpec, tilts_deg: list[float], corners: list[np.ndarray],
    image_size: tuple[int, int] | None,
) -> list[str]:
    advice = []
    if used < MIN_VIEWS:
        advice.append(f"add at least {MIN_VIEWS - used} more view(s) with the whole board sharp and in the picture")
        if not_found > used:
            advice.append(
                f"the board was not found in {not_found} picture(s): if it is in them, check that --board "
                f"{board.label} is its inner-corner count (the points where four squares meet, across x down)"
            )
    elif used < RECOMMENDED_VIEWS:
        advice.append(f"{RECOMMENDED_VIEWS - used} more view(s) would make the result steadier")
    tilted = sum(tilt >= TILTED_DEG for tilt in tilts_deg)
    if tilted < MIN_TILTED_VIEWS:
        advice.append(
            f"add {MIN_TILTED_VIEWS - tilted} view(s) with the board tilted {TILTED_DEG:.0f}-45° "
            "(one edge further from the camera than the other)"
        )
    if image_size is not None:
        advice.extend(coverage_advice(corners, image_size))
    return advice


def calibrate_camera(
    sources: Sequence[str | Path] | Sequence[CalibrationImage],
    board: BoardSpec,
    *,
    max_video_frames: int = 40,
) -> CalibrationResult:
    """Calibrate from photos, videos or folders of photos of ``board``.

    Every image gets a :class:`ViewReport`: used, or rejected with the reason (unreadable,
    another size than the first image, board not found, or an outlier reprojection error).
    With fewer than :data:`MIN_VIEWS` usable views the result has no profile and its advice
    says how many more views, and of what kind, to add; a fit failing
    :func:`implausibility` has no profile either. A missing path or a folder without photos
    raises :class:`InputError` before any picture is read.
    """
    images = (
        list(sources) if sources and isinstance(sources[0], CalibrationImage)
        else list(calibration_images(sources, max_video_frames))
    )
    reports: dict[int, ViewReport] = {}
    found: dict[int, np.ndarray] = {}
    image_size: tuple[int, int] | None = None
    for number, image in enumerate(images):
        if image.gray is None:
            reports[number] = ViewReport(image.label, False, image.problem)
            continue
        size = (image.gray.shape[1], image.gray.shape[0])
        if image_size is None:
            image_size = size
        if size != image_size:
            reports[number] = ViewReport(
                image.label, False, f"size {size[0]}x{size[1]} differs from the first image's {image_size[0]}x{image_size[1]}"
            )
            continue
        corners = find_board_corners(image.gray, board)
        if corners is None:
            reports[number] = ViewReport(
                image.label, False,
                f"board not found (is the whole board in the picture, sharp, with {board.label} inner corners?)",
            )
            continue
        found[number] = corners
    profile = None
    tilts: dict[int, float] = {}
    if len(found) >= MIN_VIEWS:
        profile, errors, tilts = _calibrate(found, board, image_size)
        for number, error_px in errors.items():
            if number in found:
                reports[number] = ViewReport(images[number].label, True, "", error_px, tilts[number])
            else:
                reports[number] = ViewReport(
                    images[number].label, False,
                    f"reprojection error {error_px:.2f} px, far above the other views (blurred, or the board not flat?)",
                )
    else:
        rough = _rough_tilts_deg(list(found.values()), board, image_size) if found else []
        tilts = dict(zip(found, rough))
        for number in found:
            reports.setdefault(number, ViewReport(images[number].label, True, "", None, tilts[number]))
    not_found = sum(view.reason.startswith("board not found") for view in reports.values())
    advice = _advice(len(found), not_found, board, list(tilts.values()), list(found.values()), image_size)
    views = [reports[number] for number in range(len(images))]
    problems = implausibility(profile) if profile is not None else []
    return CalibrationResult(None if problems else profile, views, advice, image_size, problems)


def _calibrate(
    found: dict[int, np.ndarray], board: BoardSpec, image_size: tuple[int, int]
) -> tuple[CameraProfile, dict[int, float], dict[int, float]]:
    """Fit the camera; drop views whose error is an outlier (removed from ``found``) and refit
    once. Returns the profile, every view's error and the kept views' tilts."""

    def fit(numbers: list[int]):
        flags = 0 if len(numbers) >= RECOMMENDED_VIEWS else cv2.CALIB_FIX_K3
        rms, matrix, dist, rotations, _, _, _, per_view = cv2.calibrateCameraExtended(
            [board.object_points_mm()] * len(numbers), [found[n] for n in numbers], image_size, None, None, flags=flags
        )
        return rms, matrix, dist, rotations, per_view.ravel()

    numbers = sorted(found)
    rms, matrix, dist, rotations, per_view = fit(numbers)
    errors = dict(zip(numbers, per_view.tolist()))
    limit = max(OUTLIER_MIN_ERROR_PX, 3 * float(np.median(per_view)))
    outliers = [n for n in numbers if errors[n] > limit]
    if outliers and len(numbers) - len(outliers) >= MIN_VIEWS:
        for number in outliers:
            del found[number]
        numbers = sorted(found)
        rms, matrix, dist, rotations, per_view = fit(numbers)
        errors.update(zip(numbers, per_view.tolist()))
    tilts = {n: _tilt_deg(r) for n, r in zip(numbers, rotations)}
    profile = CameraProfile(
        image_width=image_size[0],
        image_height=image_size[1],
        fx=float(matrix[0, 0]),
        fy=float(matrix[1, 1]),
        cx=float(matrix[0, 2]),
        cy=float(matrix[1, 2]),
        dist_coeffs=tuple(float(v) for v in dist.ravel()[:5]),
        rms_reprojection_error_px=float(rms),
        views_used=len(numbers),
        board=f"{board.label} inner corners, {board.square_mm:g} mm squares",
    )
    return profile, errors, tilts


def field_of_view_deg(profile: CameraProfile) -> tuple[float, float]:
    """Horizontal and vertical field of view of the (undistorted) camera."""
    return (
        math.degrees(2 * math.atan(profile.image_width / (2 * profile.fx))),
        math.degrees(2 * math.atan(profile.image_height / (2 * profile.fy))),
    )


def format_calibration(result: CalibrationResult) -> str:
    """The per-image report, the profile's numbers and the advice, as terminal lines."""
    lines = []
    for view in result.views:
        if view.used:
            details = [f"tilt {view.tilt_deg:.0f}°"] if view.tilt_deg is not None else []
            if view.reprojection_error_px is not None:
                details.insert(0, f"error {view.reprojection_error_px:.2f} px")
            status = "used    " if result.profile is not None else "found   "
            lines.append(f"  {status}  {view.label} ({', '.join(details)})")
        else:
            lines.append(f"  rejected  {view.label}: {view.reason}")
    profile = result.profile
    if profile is not None:
        fov_x, fov_y = field_of_view_deg(profile)
        lines += [
            f"camera {profile.image_width}x{profile.image_height}: fx {profile.fx:.1f} px, fy {profile.fy:.1f} px, "
            f"cx {profile.cx:.1f}, cy {profile.cy:.1f}; field of view {fov_x:.0f}° x {fov_y:.0f}°",
            "distortion (k1, k2, p1, p2, k3): " + ", ".join(f"{value:.4f}" for value in profile.dist_coeffs),
            f"RMS reprojection error {profile.rms_reprojection_error_px:.3f} px from {profile.views_used} views",
        ]
        lines += [f"tip: {advice}" for advice in result.advice]  # without a profile, the error says it
    return "\n".join(lines)
