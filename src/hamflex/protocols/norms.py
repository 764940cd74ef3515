"""Grades and measurement error of the 90-90 test, read from one editable table.

The table is ``calibration/norms.toml`` in a source checkout (so a clinic can edit it) and the
identical packaged copy ``hamflex/data/norms.toml`` in an installed wheel. Every number in it
names its source.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SEXES = ("female", "male")
_REPO_TABLE = Path(__file__).resolve().parents[2] / "calibration" / "norms.toml"


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
class Norms:
    """The whole table: grade bands per population ("any", "female", "male"), error, references."""

    grades: dict[str, tuple[GradeBand, ...]]
    sem_deg: float
    min_real_change_deg: float
    error_source: str
    references: dict[str, Reference]
    path: str

    def grade(self, deficit_deg: float, sex: str | None = None) -> GradeBand:
        """The band of a mean deficit, with sex-specific cut-offs when ``sex`` is given."""
        bands = self.grades[sex if sex in self.grades else "any"]
        for band in bands:
            if deficit_deg <= band.max_deficit_deg:
                return band
        return bands[-1]


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
    return Norms(grades, float(error["sem_deg"]), float(error["min_real_change_deg"]), str(error["source"]),
                 references, path)


def packaged_table_text() -> str:
    """The packaged copy of the table (used when no source checkout is around)."""
    return resources.files("hamflex").joinpath("data/norms.toml").read_text(encoding="utf-8")


def load_norms(path: str | Path | None = None) -> Norms:
    """Read the norms table: ``path``, else the repository's, else the packaged copy."""
    if path is not None:
        return _parse(tomllib.loads(Path(path).read_text(encoding="utf-8")), str(path))
    if _REPO_TABLE.is_file():
        return _parse(tomllib.loads(_REPO_TABLE.read_text(encoding="utf-8")), str(_REPO_TABLE))
    return _parse(tomllib.loads(packaged_table_text()), "hamflex/data/norms.toml")
