"""Camera calibration: intrinsics from photos or video frames of a flat checkerboard.

``calibrate_camera`` estimates the lens with OpenCV (``findChessboardCorners`` →
``cornerSubPix`` → ``calibrateCamera``), reports the views it used and rejected, and refuses
implausible fits; the result's :class:`~hamflex.camera.profile.CameraProfile` is saved as JSON.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from hamflex.camera.board import BoardSpec, find_board_corners
from hamflex.camera.profile import CameraProfile, field_of_view_deg
from hamflex.errors import InputError
from hamflex.media.sources import PHOTO_SUFFIXES, is_photo

MIN_VIEWS = 5
"""Fewest views with the board found that give a usable calibration."""
RECOMMENDED_VIEWS = 10
"""Views for a steady result; below this the 6th-order radial term k3 is held at 0."""
MIN_TILTED_VIEWS = 3
TILTED_DEG = 20.0
"""A view counts as tilted when the board's normal is at least this far from the optical axis."""
OUTLIER_MIN_ERROR_PX = 1.0
"""A view is dropped as an outlier when its reprojection error exceeds 3× the median and this."""
MAX_RMS_ERROR_PX = 2.0
"""A calibration whose RMS reprojection error is above this is refused (good ones: 0.2-0.5 px)."""
FOCAL_RANGE_WIDTHS = (0.2, 5.0)
"""fx and fy must lie within these multiples of the image width: fields of view of about
136° down to 11° (wider is a fisheye, which this lens model does not fit)."""
MAX_FOCAL_RATIO = 1.2
"""Largest fx/fy (or fy/fx) accepted: cameras with square pixels give 1.00 ± 0.01."""


class CalibrationError(InputError):
    """The calibration images cannot give a camera profile (too few usable views, or a fit
    too implausible to trust)."""


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


def _find_boards(images: list[CalibrationImage], board: BoardSpec
                 ) -> tuple[dict[int, ViewReport], dict[int, np.ndarray], tuple[int, int] | None]:
    """The board's corners in each usable image; a report for each image that is not usable."""
    reports: dict[int, ViewReport] = {}
    found: dict[int, np.ndarray] = {}
    image_size: tuple[int, int] | None = None
    for number, image in enumerate(images):
        if image.gray is None:
            reports[number] = ViewReport(image.label, False, image.problem)
            continue
        size = (image.gray.shape[1], image.gray.shape[0])
        image_size = image_size or size
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
    return reports, found, image_size


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
    reports, found, image_size = _find_boards(images, board)
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
