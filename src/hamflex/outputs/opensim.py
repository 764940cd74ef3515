"""Research exports: OpenSim ``.trc`` markers, ``.mot`` joint angles, lossless landmark ``.npz``.

The text formats follow what OpenSim 4.x itself writes and reads (``TRCFileAdapter``,
``MarkerData``, ``Storage``/``DelimFileAdapter`` in opensim-core); Sports2D and Pose2Sim
write the same layout, less the blank line and the trailing tabs, and read ours (pandas).

Missing values, read in opensim-core's source and checked with OpenSim 4.6's bindings:

* ``.trc``: a marker with any non-finite coordinate is written as three *empty* fields, and
  every row ends with a tab. ``TRCFileAdapter`` (OpenSim >= 4.0) reads an empty field as
  NaN, and ``MarkerData`` (scaling) reads three tabs in a row as a missing marker; both
  treat a marker as all-or-nothing, hence the three blanks. The trailing tab keeps the last
  empty field countable: without it (Pose2Sim's rows) OpenSim rejects a row whose last
  marker is missing ("Unexpected number of columns").
* ``.mot``: written as ``NaN``. OpenSim's ``Storage`` (the GUI, the tools) reads a
  ``version=1`` file with C++ ``operator>>``, which accepts neither ``NaN`` (the rows stop
  there, silently) nor empty fields (the columns shift: what Sports2D's empty fields get).
  From ``version=2`` on, ``Storage`` hands the file to its table reader, which reads ``NaN``.
  So a file without gaps is ``version=1``, exactly as OpenSim's IK tool writes it, and a
  file with gaps ``version=2``.

Pure numpy and text: nothing here imports the pose model.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from hamflex.core.landmarks import LANDMARK_NAMES
from hamflex.outputs.files import atomic_write

TRC_UNITS = ("mm", "m", "px")
TRC_HEADER_KEYS = (
    "DataRate", "CameraRate", "NumFrames", "NumMarkers",
    "Units", "OrigDataRate", "OrigDataStartFrame", "OrigNumFrames",
)
MOT_DEFAULT_NAME = "Coordinates"  # what OpenSim's IK tool and Sports2D put on line 1
NPZ_SCHEMA_VERSION = 1
# Winter (2009), standing heights as fractions of stature H: shoulder 0.818 H, ankle 0.039 H.
SHOULDER_HEIGHT_FRACTION = 0.818
ANKLE_HEIGHT_FRACTION = 0.039
ANKLE_TO_SHOULDER_FRACTION = SHOULDER_HEIGHT_FRACTION - ANKLE_HEIGHT_FRACTION  # 0.779 H
_CHAIN_SEGMENTS = (("ankle", "knee"), ("knee", "hip"), ("hip", "shoulder"))
_NUMBER_FORMAT = ".10g"  # 10 significant digits: float32 landmarks carry about 7
_WHITESPACE = re.compile(r"\s")


# --------------------------------------------------------------------------- shared checks


def _check_names(kind: str, names: Sequence[str], count: int) -> tuple[str, ...]:
    """Names as a tuple, or ValueError: they label tab-separated columns, so no blanks."""
    names = tuple(str(n) for n in names)
    if len(names) != count:
        raise ValueError(f"{kind} has {len(names)} names for {count} columns")
    bad = [n for n in names if not n or _WHITESPACE.search(n)]
    if bad:
        raise ValueError(f"{kind} must be non-empty and contain no whitespace: {bad!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"{kind} must be unique: {names!r}")
    return names


def _check_timestamps_s(timestamps_s: np.ndarray) -> np.ndarray:
    """Timestamps as float64 seconds; OpenSim's tables need them finite and increasing."""
    times_s = np.asarray(timestamps_s, dtype=np.float64)
    if times_s.ndim != 1 or len(times_s) == 0:
        raise ValueError(f"timestamps_s must be a non-empty 1-D array, got shape {times_s.shape}")
    if not np.all(np.isfinite(times_s)) or np.any(np.diff(times_s) <= 0):
        raise ValueError("timestamps_s must be finite and strictly increasing")
    return times_s


def _number(value: float) -> str:
    return format(float(value) + 0.0, _NUMBER_FORMAT)  # + 0.0: -0.0 prints as "0"


# --------------------------------------------------------------------------- TRC


def data_rate_hz(timestamps_s: np.ndarray) -> float:
    """Frame rate from the median frame interval, refined by the intervals close to it.

    The median ignores dropped frames (long intervals); averaging the intervals within
    ±50 % of it removes the millisecond rounding of video timestamps (33, 33, 34 ms → 30 Hz).
    """
    intervals_s = np.diff(_check_timestamps_s(timestamps_s))
    if len(intervals_s) == 0:
        raise ValueError("one timestamp has no frame rate: pass camera_rate_hz")
    median_s = float(np.median(intervals_s))
    typical_s = intervals_s[np.abs(intervals_s - median_s) <= 0.5 * median_s]
    return 1.0 / float(np.mean(typical_s))


def _trc_points(points: np.ndarray, frames: int) -> np.ndarray:
    """``(T, M, 3)`` float64; 2-D image points get y negated (up positive) and z = 0."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 3 or points.shape[0] != frames or points.shape[2] not in (2, 3):
        raise ValueError(f"points must have shape ({frames}, M, 2 or 3), got {points.shape}")
    if points.shape[2] == 3:
        return points
    flipped = np.zeros(points.shape[:2] + (3,))
    flipped[..., 0] = points[..., 0]
    flipped[..., 1] = -points[..., 1]
    return flipped


def _trc_header(name: str, markers: tuple[str, ...], frames: int, units: str,
                rate_hz: float, camera_rate_hz: float) -> list[str]:
    """The five header lines and the blank line, as OpenSim's TRCFileAdapter writes them."""
    values = (_number(rate_hz), _number(camera_rate_hz), frames, len(markers),
              units, _number(rate_hz), 1, frames)
    xyz = "".join(f"X{i}\tY{i}\tZ{i}\t" for i in range(1, len(markers) + 1))
    return [
        f"PathFileType\t4\t(X/Y/Z)\t{name}",
        "\t".join(TRC_HEADER_KEYS),
        "\t".join(str(v) for v in values),
        "Frame#\tTime\t" + "".join(f"{m}\t\t\t" for m in markers),
        "\t\t" + xyz,
        "",
    ]


def _trc_row(frame_number: int, time_s: float, points: np.ndarray) -> str:
    """One data row; a marker with any non-finite coordinate becomes three empty fields."""
    fields = [str(frame_number), _number(time_s)]
    for xyz in points:
        fields.extend((_number(v) for v in xyz) if np.all(np.isfinite(xyz)) else ("", "", ""))
    return "\t".join(fields) + "\t"


def write_trc(path: Path, timestamps_s: np.ndarray, points: np.ndarray,
              marker_names: Sequence[str] | None = None, units: str = "mm",
              camera_rate_hz: float | None = None) -> Path:
    """Write marker trajectories as an OpenSim ``.trc`` file (atomically); returns the path.

    ``points`` is ``(T, M, 3)`` written as given, or ``(T, M, 2)`` image coordinates (y
    down), written with y negated so that up is positive, and z = 0 (the origin stays at
    the image's top-left corner). ``marker_names`` defaults to MediaPipe's 33 names.
    DataRate comes from the timestamps (:func:`data_rate_hz`); CameraRate is
    ``camera_rate_hz`` or the same. ``units`` ("mm", "m" or "px") only labels the numbers:
    OpenSim scales "mm" and "m" and treats "px" as unknown units.
    """
    if units not in TRC_UNITS:
        raise ValueError(f"units must be one of {TRC_UNITS}, got {units!r}")
    if camera_rate_hz is not None and not 0 < camera_rate_hz < np.inf:
        raise ValueError(f"camera_rate_hz must be positive, got {camera_rate_hz!r}")
    times_s = _check_timestamps_s(timestamps_s)
    xyz = _trc_points(points, len(times_s))
    markers = _check_names("marker_names", LANDMARK_NAMES if marker_names is None else marker_names,
                           xyz.shape[1])
    if len(times_s) > 1:
        rate_hz = data_rate_hz(times_s)
    elif camera_rate_hz is not None:
        rate_hz = float(camera_rate_hz)
    else:
        raise ValueError("one frame has no frame rate: pass camera_rate_hz")
    camera_hz = rate_hz if camera_rate_hz is None else float(camera_rate_hz)
    path = Path(path)
    lines = _trc_header(path.name, markers, len(times_s), units, rate_hz, camera_hz)
    lines += [_trc_row(i + 1, t, xyz[i]) for i, t in enumerate(times_s)]
    with atomic_write(path, newline="\n") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


@dataclass(frozen=True)
class TrcData:
    """A parsed ``.trc`` file: header fields as text, marker names, frames, times, points."""

    path_file_type: tuple[str, ...]  # line 1's fields after "PathFileType"
    header: dict[str, str]  # DataRate, CameraRate, NumFrames, ... as written
    marker_names: tuple[str, ...]
    frame_numbers: np.ndarray  # (T,) int
    timestamps_s: np.ndarray  # (T,)
    points: np.ndarray  # (T, M, 3), NaN where a field was empty or NaN


def _parse_field(text: str) -> float:
    """A number, or NaN for an empty field (the TRC/Mokka convention for "missing")."""
    text = text.strip()
    return float(text) if text else float("nan")


def _parse_trc_row(line: str, markers: int) -> tuple[int, float, list[float]]:
    fields = line.rstrip("\r\n").split("\t")
    fields += [""] * (2 + 3 * markers - len(fields))
    values = [_parse_field(f) for f in fields[2: 2 + 3 * markers]]
    return int(fields[0]), float(fields[1]), values


def read_trc(path: Path) -> TrcData:
    """Parse a ``.trc`` file (ours, OpenSim's or Pose2Sim's) from its text."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    first = lines[0].split("\t") if lines else [""]
    if len(lines) < 5 or first[0] != "PathFileType":
        raise ValueError(f"{path} is not a TRC file (no PathFileType line)")
    keys = [k for k in lines[1].split("\t") if k.strip()]
    values = [v for v in lines[2].split("\t") if v.strip()]
    markers = tuple(n for n in lines[3].split("\t")[2:] if n.strip())
    rows = [_parse_trc_row(line, len(markers)) for line in lines[5:] if line.strip()]
    return TrcData(
        path_file_type=tuple(first[1:]),
        header=dict(zip(keys, values)),
        marker_names=markers,
        frame_numbers=np.array([r[0] for r in rows], dtype=np.int64),
        timestamps_s=np.array([r[1] for r in rows], dtype=np.float64),
        points=np.array([r[2] for r in rows], dtype=np.float64).reshape(len(rows), len(markers), 3),
    )


# --------------------------------------------------------------------------- MOT


def _mot_columns(columns: Mapping[str, np.ndarray], frames: int) -> tuple[tuple[str, ...], np.ndarray]:
    """Column names and a ``(T, C)`` float64 array, or ValueError naming the bad column."""
    names = _check_names("columns", list(columns), len(columns))
    if "time" in names:
        raise ValueError("columns must not contain 'time': it is written from timestamps_s")
    arrays = []
    for name in names:
        values = np.asarray(columns[name], dtype=np.float64)
        if values.shape != (frames,):
            raise ValueError(f"column {name!r} must have shape ({frames},), got {values.shape}")
        arrays.append(values)
    return names, np.stack(arrays, axis=1) if arrays else np.zeros((frames, 0))


def _mot_value(value: float) -> str:
    return _number(value) if np.isfinite(value) else "NaN"


def write_mot(path: Path, timestamps_s: np.ndarray, columns: Mapping[str, np.ndarray],
              in_degrees: bool = True, name: str = MOT_DEFAULT_NAME) -> Path:
    """Write joint angles as an OpenSim ``.mot`` motion file (atomically); returns the path.

    The header is OpenSim's ``Storage`` header, as its IK tool writes it; ``nColumns``
    counts the time column too. ``in_degrees`` only labels the values (no conversion).
    Non-finite values are written as ``NaN`` and make the file ``version=2``, the first
    version OpenSim reads NaN in (see the module docstring); otherwise ``version=1``.
    """
    times_s = _check_timestamps_s(timestamps_s)
    names, values = _mot_columns(columns, len(times_s))
    if not name.strip() or "\n" in name:
        raise ValueError(f"name must be one non-empty line, got {name!r}")
    version = 1 if np.all(np.isfinite(values)) else 2
    lines = [
        name, f"version={version}", f"nRows={len(times_s)}", f"nColumns={len(names) + 1}",
        f"inDegrees={'yes' if in_degrees else 'no'}", "endheader",
        "\t".join(("time",) + names),
    ]
    for t, row in zip(times_s, values):
        lines.append("\t".join([_number(t)] + [_mot_value(v) for v in row]))
    with atomic_write(Path(path), newline="\n") as handle:
        handle.write("\n".join(lines) + "\n")
    return Path(path)


@dataclass(frozen=True)
class MotData:
    """A parsed ``.mot`` file: its name line, header fields as text, columns by name."""

    name: str
    header: dict[str, str]  # version, nRows, nColumns, inDegrees, ... as written
    column_names: tuple[str, ...]  # without "time"
    timestamps_s: np.ndarray  # (T,)
    columns: dict[str, np.ndarray]  # each (T,)

    @property
    def in_degrees(self) -> bool:
        return self.header.get("inDegrees", "no").strip().lower() in ("yes", "y")


def read_mot(path: Path) -> MotData:
    """Parse a ``.mot``/``.sto`` file from its text: header to ``endheader``, then a table."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    end = next((i for i, line in enumerate(lines) if line.strip() == "endheader"), None)
    if end is None:
        raise ValueError(f"{path} has no 'endheader' line")
    header = dict(line.split("=", 1) for line in lines[1:end] if "=" in line)
    body = [line for line in lines[end + 1:] if line.strip()]
    if not body:
        raise ValueError(f"{path} has no column labels after 'endheader'")
    labels = [label.strip() for label in body[0].split("\t")]
    if labels[0] != "time":
        raise ValueError(f"{path}: the first column must be 'time', got {labels[0]!r}")
    table = np.array([[_parse_field(f) for f in row.split("\t")] for row in body[1:]], dtype=np.float64)
    table = table.reshape(len(body) - 1, len(labels))
    return MotData(
        name=lines[0].strip(),
        header={k.strip(): v.strip() for k, v in header.items()},
        column_names=tuple(labels[1:]),
        timestamps_s=table[:, 0],
        columns={label: table[:, i + 1] for i, label in enumerate(labels[1:])},
    )


# --------------------------------------------------------------------------- landmarks NPZ


def _npz_shapes(frames: int, landmarks: int) -> dict[str, tuple[tuple[int, ...], type]]:
    """Each stored array's shape and dtype for ``frames`` frames."""
    return {
        "frame_index": ((frames,), np.int64),
        "timestamp_ms": ((frames,), np.int64),
        "detected": ((frames,), np.bool_),
        "landmarks_px": ((frames, landmarks, 2), np.float32),
        "landmarks_norm": ((frames, landmarks, 3), np.float32),
        "world_landmarks_m": ((frames, landmarks, 3), np.float32),
        "visibility": ((frames, landmarks), np.float32),
        "presence": ((frames, landmarks), np.float32),
    }


def _npz_arrays(arrays: Mapping[str, np.ndarray | None]) -> dict[str, np.ndarray]:
    """The arrays cast to their stored dtypes, or ValueError naming the first bad one."""
    frames = len(np.atleast_1d(arrays["frame_index"]))
    checked = {}
    for name, (shape, dtype) in _npz_shapes(frames, len(LANDMARK_NAMES)).items():
        if arrays.get(name) is None and name == "landmarks_norm":
            continue
        value = np.asarray(arrays[name])
        if value.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {value.shape}")
        if dtype is np.int64 and not np.array_equal(value, np.round(value)):
            raise ValueError(f"{name} must hold whole numbers")
        checked[name] = value.astype(dtype)
    return checked


def _image_size(name: str, value: int) -> np.ndarray:
    if int(value) != value or value < 0:
        raise ValueError(f"{name} must be a non-negative whole number of pixels, got {value!r}")
    return np.array(int(value), dtype=np.int64)


def _atomic_write_binary(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write bytes to a temporary file beside ``path``, then ``os.replace`` it into place."""
    with atomic_write(path, binary=True) as handle:
        write(handle)


def write_landmarks_npz(path: Path, *, frame_index: np.ndarray, timestamp_ms: np.ndarray,
                        detected: np.ndarray, landmarks_px: np.ndarray,
                        landmarks_norm: np.ndarray | None = None, world_landmarks_m: np.ndarray,
                        visibility: np.ndarray, presence: np.ndarray,
                        image_width: int, image_height: int) -> Path:
    """Keep every frame's landmarks in a compressed ``.npz`` (atomically); returns the path.

    Shapes for T frames: ``frame_index``, ``timestamp_ms`` (whole numbers) and ``detected``
    ``(T,)``; ``landmarks_px`` ``(T, 33, 2)``; ``landmarks_norm`` (optional) and
    ``world_landmarks_m`` ``(T, 33, 3)``; ``visibility``, ``presence`` ``(T, 33)``. Landmark
    arrays are stored as float32, MediaPipe's own precision, so its output is kept exactly.
    """
    arrays = _npz_arrays({
        "frame_index": frame_index, "timestamp_ms": timestamp_ms, "detected": detected,
        "landmarks_px": landmarks_px, "landmarks_norm": landmarks_norm,
        "world_landmarks_m": world_landmarks_m, "visibility": visibility, "presence": presence,
    })
    arrays["image_width"] = _image_size("image_width", image_width)
    arrays["image_height"] = _image_size("image_height", image_height)
    arrays["landmark_names"] = np.array(LANDMARK_NAMES)
    arrays["schema_version"] = np.array(NPZ_SCHEMA_VERSION, dtype=np.int64)
    path = Path(path)
    _atomic_write_binary(path, lambda handle: np.savez_compressed(handle, **arrays))
    return path


def read_landmarks_npz(path: Path) -> dict[str, object]:
    """Load a landmarks ``.npz``: the arrays, ``image_width``/``image_height`` as ints,
    ``landmark_names`` as a tuple, ``landmarks_norm`` None if it was not stored."""
    with np.load(Path(path), allow_pickle=False) as stored:
        data = {name: stored[name] for name in stored.files}
    version = int(data.get("schema_version", -1))
    if version != NPZ_SCHEMA_VERSION:
        raise ValueError(f"{path}: unsupported landmarks schema_version {version}")
    result: dict[str, object] = dict(_npz_arrays(data))
    result.setdefault("landmarks_norm", None)
    result["image_width"] = int(data["image_width"])
    result["image_height"] = int(data["image_height"])
    result["landmark_names"] = tuple(str(n) for n in data["landmark_names"])
    result["schema_version"] = version
    return result


# --------------------------------------------------------------------------- pixels to metres


def standing_height_px(landmarks_px: np.ndarray) -> float:
    """The person's standing height in pixels, from posture-independent segment lengths.

    Not nose-to-heel: in the 90-90 test and the stretches the person lies or sits, so that
    distance is not their stature. The ankle–knee, knee–hip and hip–shoulder segments are
    rigid, and the best-tracked landmarks (the nose is not the top of the head; heel and
    toe jitter). Each segment's length is the median over frames and both sides (robust to
    a misplaced or foreshortened frame); their sum spans ankle to shoulder height, 0.779 of
    stature (Winter 2009: shoulder 0.818 H, ankle 0.039 H). Expect a few per cent error:
    MediaPipe's joints are not Winter's bony landmarks, and the view must be side-on.
    """
    points_px = np.asarray(landmarks_px, dtype=np.float64)
    if points_px.ndim != 3 or points_px.shape[1:] != (len(LANDMARK_NAMES), 2):
        raise ValueError(f"landmarks_px must have shape (T, 33, 2), got {points_px.shape}")
    index = {name: i for i, name in enumerate(LANDMARK_NAMES)}
    chain_px = 0.0
    for upper, lower in _CHAIN_SEGMENTS:
        lengths_px = np.concatenate([
            np.linalg.norm(points_px[:, index[f"{side}_{upper}"]] - points_px[:, index[f"{side}_{lower}"]], axis=1)
            for side in ("left", "right")
        ])
        lengths_px = lengths_px[np.isfinite(lengths_px)]
        if len(lengths_px) == 0:
            raise ValueError(f"no frame shows the {upper}-{lower} segment")
        chain_px += float(np.median(lengths_px))
    return chain_px / ANKLE_TO_SHOULDER_FRACTION


def metres_from_pixels(points_px: np.ndarray, height_m: float,
                       height_px: float | None = None) -> np.ndarray:
    """Pixel coordinates scaled to metres by the person's known stature ``height_m``.

    Scale = ``height_m / height_px``; ``height_px`` defaults to :func:`standing_height_px`
    of ``points_px`` (then ``(T, 33, 2)`` landmarks). Axes and origin stay the image's
    (y down): :func:`write_trc` flips 2-D points itself. Valid in the plane facing the
    camera only (a side-on view), as every single-camera measurement.
    """
    if not height_m > 0:
        raise ValueError(f"height_m must be positive, got {height_m!r}")
    points_px = np.asarray(points_px, dtype=np.float64)
    if height_px is None:
        height_px = standing_height_px(points_px)
    if not height_px > 0:
        raise ValueError(f"height_px must be positive, got {height_px!r}")
    return points_px * (float(height_m) / float(height_px))
