"""The stretch catalog: stretches declared as data (``data/stretches.toml``), loaded and checked.

Each stretch says which camera view it needs, how to tell the stretched leg from the other,
which angle deepens it, and the posture checks (column, range, cue). The loader refuses a
catalog naming a column the geometry modules do not compute, so a typo fails at load time
rather than silently never checking anything. A clinic adds its own stretches as a TOML file
in the same format (``--catalog FILE`` or ``$HAMFLEX_CATALOG``): they join the built-in ones.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from hamflex.errors import HamflexError, InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib
from hamflex.core.geometry import LEG_ANGLE_NAMES, to_3d_name
from hamflex.core.geometry import STRETCH_MEASURE_NAMES
from hamflex.core.landmarks import other_side

CATALOG_SCHEMA_VERSION = 1
MIN_HOLD_S = 20.0  # the shortest hold the classic advice counts as a stretch (docs/stretches.md)

LEG_COLUMNS = frozenset(LEG_ANGLE_NAMES) | {to_3d_name(n) for n in LEG_ANGLE_NAMES} | set(STRETCH_MEASURE_NAMES)
BODY_COLUMNS = frozenset({"trunk_to_horizontal_deg"})
ROLES = ("tested", "other", "body")
VIEWS = ("side", "front")
TESTED_LEG_RULES = ("max", "min", "visible")


class UnknownStretchError(HamflexError):
    """The stretch asked for is not in the catalog (a usage error)."""

    exit_code = 2


def _column_name(column: str, role: str, tested_side: str) -> str:
    if role == "body":
        return column
    return f"{tested_side if role == 'tested' else other_side(tested_side)}_{column}"


@dataclass(frozen=True)
class PostureCheck:
    """One posture rule: ``column`` of the ``role`` leg (or the body) within [min, max]."""

    name: str
    column: str
    role: str
    min: float | None
    max: float | None
    hysteresis: float
    cue: str

    def column_for(self, tested_side: str) -> str:
        """The angle column this check reads when ``tested_side`` is the stretched leg."""
        return _column_name(self.column, self.role, tested_side)

    @property
    def range_text(self) -> str:
        unit = "°" if self.column.endswith("_deg") else ""
        if self.min is not None and self.max is not None:
            return f"{self.min:g}{unit} to {self.max:g}{unit}"
        return f"≥ {self.min:g}{unit}" if self.min is not None else f"≤ {self.max:g}{unit}"


@dataclass(frozen=True)
class TestedLegRule:
    """How to tell the stretched leg from the pose: the larger/smaller ``column``, or the more visible."""

    rule: str
    column: str | None
    margin: float


@dataclass(frozen=True)
class StretchAngle:
    """The angle that deepens the stretch; bouncing is read from it. The person's own depth:
    the check on this angle counts only within ``tolerance_deg`` of the deepest steady angle
    reached (its ``min`` stays the absolute floor)."""

    column: str
    role: str
    tolerance_deg: float

    def column_for(self, tested_side: str) -> str:
        return _column_name(self.column, self.role, tested_side)


@dataclass(frozen=True)
class Stretch:
    """One catalog entry."""

    name: str
    group: str
    title: str
    description: str
    view: str
    hold_s: float
    reps: int
    rest_s: float
    tested_leg: TestedLegRule
    stretch_angle: StretchAngle
    checks: tuple[PostureCheck, ...]


CATALOG_ENV_VAR = "HAMFLEX_CATALOG"


class CatalogError(InputError):
    """A catalog file is malformed: the message names the file, the entry and the field."""


def _require(condition: bool, where: str, message: str) -> None:
    if not condition:
        raise CatalogError(f"{where}: {message}")


def _check_column(column: str, role: str, where: str) -> None:
    _require(role in ROLES, where, f"role must be one of {ROLES}, got {role!r}")
    known = BODY_COLUMNS if role == "body" else LEG_COLUMNS
    _require(column in known, where, f"unknown {'body' if role == 'body' else 'per-leg'} column {column!r}")


def _parse_check(raw: dict, where: str, default_hysteresis: float) -> PostureCheck:
    where = f"{where} check {raw.get('name', '?')!r}"
    for key in ("name", "column", "role", "cue"):
        _require(isinstance(raw.get(key), str) and raw[key], where, f"needs a text {key!r}")
    _check_column(raw["column"], raw["role"], where)
    low, high = raw.get("min"), raw.get("max")
    _require(low is not None or high is not None, where, "needs min or max")
    for value in (low, high):
        _require(value is None or isinstance(value, (int, float)) and math.isfinite(value), where, "min/max must be numbers")
    _require(low is None or high is None or low < high, where, "min must be below max")
    if "hysteresis" not in raw:
        _require(raw["column"].endswith("_deg"), where, "a check of a non-angle column needs its own hysteresis")
    hysteresis = float(raw.get("hysteresis", default_hysteresis))
    _require(hysteresis >= 0, where, "hysteresis must be >= 0")
    if low is not None and high is not None:
        _require(high - low > 2 * hysteresis, where, "range narrower than twice the hysteresis")
    return PostureCheck(
        name=raw["name"], column=raw["column"], role=raw["role"],
        min=None if low is None else float(low), max=None if high is None else float(high),
        hysteresis=hysteresis, cue=raw["cue"],
    )


def _parse_stretch(raw: dict, defaults: dict) -> Stretch:
    where = f"stretch {raw.get('name', '?')!r}"
    for key in ("name", "group", "title", "description", "view"):
        _require(isinstance(raw.get(key), str) and raw[key], where, f"needs a text {key!r}")
    _require(raw["view"] in VIEWS, where, f"view must be one of {VIEWS}")
    hold_s = float(raw.get("hold_s", defaults["hold_s"]))
    reps = int(raw.get("reps", defaults["reps"]))
    rest_s = float(raw.get("rest_s", defaults["rest_s"]))
    _require(hold_s >= MIN_HOLD_S, where, f"hold_s must be at least {MIN_HOLD_S:g}")
    _require(reps >= 1 and rest_s >= 0, where, "reps must be >= 1 and rest_s >= 0")

    leg = raw.get("tested_leg", {})
    rule = leg.get("rule")
    _require(rule in TESTED_LEG_RULES, where, f"tested_leg.rule must be one of {TESTED_LEG_RULES}")
    if rule != "visible":
        _check_column(leg.get("column", ""), "tested", f"{where} tested_leg")
    tested_leg = TestedLegRule(rule=rule, column=leg.get("column"), margin=float(leg.get("margin", 0.0)))

    angle = raw.get("stretch_angle", {})
    _check_column(angle.get("column", ""), angle.get("role", ""), f"{where} stretch_angle")
    _require(angle["column"].endswith("_deg"), where, "stretch_angle must be an angle (…_deg)")
    tolerance_deg = float(angle.get("tolerance_deg", defaults["depth_tolerance_deg"]))
    _require(tolerance_deg > 0, where, "stretch_angle.tolerance_deg must be > 0")

    raw_checks = raw.get("check", [])
    _require(len(raw_checks) > 0, where, "needs at least one check")
    checks = tuple(_parse_check(c, where, float(defaults["hysteresis_deg"])) for c in raw_checks)
    names = [c.name for c in checks]
    _require(len(set(names)) == len(names), where, "check names must be unique")
    return Stretch(
        name=raw["name"], group=raw["group"], title=raw["title"], description=raw["description"],
        view=raw["view"], hold_s=hold_s, reps=reps, rest_s=rest_s, tested_leg=tested_leg,
        stretch_angle=StretchAngle(column=angle["column"], role=angle["role"], tolerance_deg=tolerance_deg),
        checks=checks,
    )


def parse_catalog(data: dict, defaults: dict | None = None) -> dict[str, Stretch]:
    """Stretches by name from a parsed catalog document; :class:`CatalogError` when malformed.
    ``defaults`` fill what the document's own ``[defaults]`` leaves out (a user catalog)."""
    version = data.get("schema_version", CATALOG_SCHEMA_VERSION)
    _require(version == CATALOG_SCHEMA_VERSION, "catalog", f"schema_version must be {CATALOG_SCHEMA_VERSION}")
    defaults = {**(defaults or {}), **data.get("defaults", {})}
    for key in ("hold_s", "reps", "rest_s", "hysteresis_deg", "depth_tolerance_deg"):
        _require(key in defaults, "catalog defaults", f"needs {key!r}")
    stretches: dict[str, Stretch] = {}
    for raw in data.get("stretch", []):
        _require(isinstance(raw, dict), "catalog", "each [[stretch]] must be a table")
        stretch = _parse_stretch(raw, defaults)
        _require(stretch.name not in stretches, f"stretch {stretch.name!r}", "defined twice")
        stretches[stretch.name] = stretch
    _require(bool(stretches), "catalog", "has no stretches")
    return stretches


def load_catalog(path: str | Path | None = None) -> dict[str, Stretch]:
    """The packaged stretches plus those of a user catalog: ``path``, else ``$HAMFLEX_CATALOG``."""
    path = path or os.environ.get(CATALOG_ENV_VAR) or None
    if path is None:
        return dict(_packaged_catalog())
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
        extra = parse_catalog(data, catalog_defaults())
    except OSError as error:
        raise InputError(f"{path}: cannot read the stretch catalog ({error.strerror or error})") from None
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"{path}: not valid TOML ({error})") from None
    except CatalogError as error:
        raise CatalogError(f"{path}: {error}") from None
    clash = sorted(set(extra) & set(_packaged_catalog()))
    if clash:
        raise CatalogError(f"{path}: stretch {clash[0]!r}: defined twice (a built-in stretch has this name)")
    return {**_packaged_catalog(), **extra}


def _packaged_text() -> str:
    return resources.files("hamflex").joinpath("data", "stretches.toml").read_text(encoding="utf-8")


@cache
def _packaged_catalog() -> dict[str, Stretch]:
    return parse_catalog(tomllib.loads(_packaged_text()))


@cache
def catalog_defaults() -> dict:
    return dict(tomllib.loads(_packaged_text())["defaults"])


def lookup_stretch(name: str, catalog: dict[str, Stretch] | None = None) -> Stretch:
    """A stretch by name (from ``catalog``, default the packaged one); :class:`UnknownStretchError`
    listing the names otherwise."""
    catalog = catalog if catalog is not None else load_catalog()
    if name not in catalog:
        raise UnknownStretchError(f"unknown stretch {name!r}; choose from: {', '.join(catalog)} (see `hamflex stretches`)")
    return catalog[name]
