"""Grades and measurement error of the 90-90 test and the grades of the straight leg raise,
read from one table.

The table is packaged (``hamflex/data/norms.toml``); every number in it names its source. A
clinic with its own cut-offs gives a copy with its changes: ``--norms FILE`` or
``$HAMFLEX_NORMS``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from hamflex.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SEXES = ("female", "male")
NORMS_ENV_VAR = "HAMFLEX_NORMS"
PACKAGED_TABLE = "hamflex/data/norms.toml"  # how a result names the packaged table


@dataclass(frozen=True)
class GradeBand:
    """A grade applies to mean deficits up to ``max_deficit_deg`` (inclusive)."""

    name: str
    max_deficit_deg: float
    source: str


@dataclass(frozen=True)
class Reference:
    """Typical deficit (mean ± SD) of healthy young adults of one sex."""

    mean_deficit_deg: float
    sd_deg: float
    source: str


@dataclass(frozen=True)
class RaiseBand:
    """A straight-leg-raise grade applies from ``min_hip_flexion_deg`` (inclusive) up."""

    name: str
    min_hip_flexion_deg: float
    source: str


@dataclass(frozen=True)
class Norms:
    """The whole table: grade bands per population ("any", "female", "male"), error, references."""

    grades: dict[str, tuple[GradeBand, ...]]
    sem_deg: float
    min_real_change_deg: float
    error_source: str
    references: dict[str, Reference]
    path: str
    raise_grades: tuple[RaiseBand, ...] = ()  # the [slr] grades, highest threshold last

    def grade(self, deficit_deg: float, sex: str | None = None) -> GradeBand:
        """The band of a mean deficit, with sex-specific cut-offs when ``sex`` is given."""
        bands = self.grades[sex if sex in self.grades else "any"]
        for band in bands:
            if deficit_deg <= band.max_deficit_deg:
                return band
        return bands[-1]

    def grade_raise(self, hip_flexion_deg: float) -> RaiseBand:
        """The straight-leg-raise band of a mean end-position hip flexion."""
        reached = [band for band in self.raise_grades if hip_flexion_deg >= band.min_hip_flexion_deg]
        return reached[-1] if reached else self.raise_grades[0]


def _parse(table: dict, path: str) -> Norms:
    error = table["measurement_error"]
    grades = {
        population: tuple(
            GradeBand(str(b["name"]), float(b["max_deficit_deg"]), str(b["source"]))
            for b in sorted(bands, key=lambda b: b["max_deficit_deg"])
        )
        for population, bands in table["grades"].items()
    }
    if "any" not in grades:
        raise ValueError(f"{path}: the norms table needs [[grades.any]] bands")
    references = {
        sex: Reference(float(r["mean_deficit_deg"]), float(r["sd_deg"]), str(r["source"]))
        for sex, r in table.get("reference", {}).items()
    }
    # A clinic's older table without [slr] keeps the packaged raise grades.
    raise_table = table.get("slr") or tomllib.loads(packaged_table_text())["slr"]
    raise_grades = tuple(RaiseBand(str(b["name"]), float(b["min_hip_flexion_deg"]), str(b["source"]))
                         for b in sorted(raise_table["grades"], key=lambda b: b["min_hip_flexion_deg"]))
    return Norms(grades, float(error["sem_deg"]), float(error["min_real_change_deg"]), str(error["source"]),
                 references, path, raise_grades)


def packaged_table_text() -> str:
    """The packaged table's text (a starting point for a clinic's own)."""
    return resources.files("hamflex").joinpath("data/norms.toml").read_text(encoding="utf-8")


def load_norms(path: str | Path | None = None) -> Norms:
    """The norms table: ``path``, else ``$HAMFLEX_NORMS``, else the packaged one."""
    path = path or os.environ.get(NORMS_ENV_VAR) or None
    if path is None:
        return _parse(tomllib.loads(packaged_table_text()), PACKAGED_TABLE)
    try:
        return _parse(tomllib.loads(Path(path).read_text(encoding="utf-8")), str(path))
    except OSError as error:
        raise InputError(f"{path}: cannot read the norms table ({error.strerror or error})") from None
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        raise InputError(f"{path}: not a norms table in the packaged format ({type(error).__name__}: {error})") from None
