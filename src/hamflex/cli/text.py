"""What the commands print: readable summaries of the typed results (stdout)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hamflex.camera.checks import SetupReport
from hamflex.protocols.catalog import Stretch
from hamflex.protocols.hold import HoldResult
from hamflex.protocols.routine import RoutineResult
from hamflex.protocols.slr import SlrResult, SlrSideSummary, SlrTrial
from hamflex.protocols.test90 import SideSummary, Test90Result, Trial


def _deg(value: float | None) -> str:
    return f"{value:.0f}°" if isinstance(value, (int, float)) and math.isfinite(value) else "–"


def _side_lines(side: str, entry: SideSummary) -> list[str]:
    if entry.mean_deficit_deg is None:
        return [f"  {side}: no valid trial ({entry.invalid_trials} rejected)"]
    spread = f" ± {entry.sd_deg:.1f}° SD" if entry.sd_deg is not None else ""
    lines = [f"  {side}: mean deficit {entry.mean_deficit_deg:.1f}°{spread} over {entry.trials} "
             f"valid trial(s): {entry.grade}"]
    if entry.reference:
        reference = entry.reference
        lines.append(f"    typical for young adults of this sex: {reference['mean_deficit_deg']:.1f} ± "
                     f"{reference['sd_deg']:.1f}° ({reference['source']})")
    if entry.note:
        lines.append(f"    note: {entry.note}")
    return lines


def _trial_line(number: int, trial: Trial | SlrTrial, measured: str) -> str:
    """One trial of either test: its side, when, what was ``measured`` and whether it is valid."""
    verdict = "valid" if trial.valid else f"NOT VALID: {trial.reason}"
    when = "" if trial.ended_by == "photo" else f" at {trial.start_s:.1f}-{trial.end_s:.1f} s"
    leg = f"{trial.side} leg" if trial.side else "leg (side unknown)"
    return f"  trial {number}: {leg}{when}: {measured}; {verdict}"


def _slr_side_lines(side: str, entry: SlrSideSummary) -> list[str]:
    if entry.mean_hip_flexion_deg is None:
        return [f"  {side}: no valid trial ({entry.invalid_trials} rejected)"]
    spread = f" ± {entry.sd_deg:.1f}° SD" if entry.sd_deg is not None else ""
    return [f"  {side}: mean hip flexion {entry.mean_hip_flexion_deg:.1f}°{spread} over {entry.trials} "
            f"valid trial(s): {entry.grade}"]


def _format_trials(title: str, result: Test90Result | SlrResult, measured: Callable[[Any], str],
                   side_lines: Callable[[str, Any], list[str]], nothing: str) -> str:
    """Either test's result: one line per trial (``measured``), then per side, asymmetry and notes."""
    lines = [f"{title}{': ' + result.source if result.source else ''}"]
    lines += [_trial_line(number, trial, measured(trial)) for number, trial in enumerate(result.trials, start=1)]
    for side, entry in result.sides.items():
        lines += side_lines(side, entry)
    if result.asymmetry_deg is not None:
        lines.append(f"  asymmetry (left − right): {result.asymmetry_deg:+.1f}°")
    lines += [f"  note: {note}" for note in result.notes]
    if not result.trials:
        lines.append(f"  {nothing}: {result.no_trial_reason or 'unknown'}")
    return "\n".join(lines)


def format_test90(result: Test90Result) -> str:
    """The 90-90 result: one line per trial, then per side, asymmetry and notes."""
    return _format_trials(
        "90-90 hamstring test (active knee extension)", result,
        lambda trial: f"knee {_deg(trial.knee_extension_deficit_deg)} short of straight, "
                      f"thigh {_deg(trial.hip_flexion_deg)}",
        _side_lines, "no trial found")


def format_slr(result: SlrResult) -> str:
    """The leg raise's result: one line per trial, then per side, asymmetry and notes."""
    return _format_trials(
        "active straight leg raise", result,
        lambda trial: f"raised to {_deg(trial.hip_flexion_deg)} hip flexion, knee {_deg(trial.knee_flexion_deg)} bent",
        _slr_side_lines, "no raise found")


def format_hold(result: HoldResult) -> str:
    """Totals, then one line per rep."""
    lines = [
        f"{result.title or result.stretch}: {result.reps_completed}/{result.reps_target} reps "
        f"of {result.hold_s_target:g} s, {result.valid_seconds_total:.1f} valid seconds "
        f"({result.percent_time_valid:.0f}% of the time in the stretch), bounces: {result.bounces_total}",
    ]
    for number, rep in enumerate(result.reps, start=1):
        cues = result.fault_cues
        faults = ", ".join(
            f"{name} {seconds:.1f} s" + (f" ({cues[name]})" if name in cues else "") for name, seconds in rep.faults.items()
        ) or "none"
        rest = "" if rep.rest_before_s is None else f", after {rep.rest_before_s:.0f} s rest"
        status = "done" if rep.completed else "incomplete"
        depth = "" if rep.stretch_angle_deg is None else f" at {rep.stretch_angle_deg:.0f}°"
        lines.append(f"  rep {number} ({rep.side or 'side unknown'}): {rep.valid_s:.1f} of {rep.total_s:.1f} s valid{depth}, "
                     f"{status}, bounces {rep.bounces}, faults: {faults}{rest}")
    return "\n".join(lines)


def format_routine(result: RoutineResult) -> str:
    """The routine's totals, then one line per step."""
    lines = [f"{result.title}: {result.steps_done}/{len(result.steps)} steps done, "
             f"{result.valid_seconds_total:.1f} valid seconds"]
    for number, step in enumerate(result.steps, start=1):
        window = "" if step.start_s is None else f", {step.start_s:.0f}-{step.end_s:.0f} s"
        lines.append(f"  step {number} {step.stretch} ({step.side}): {step.status}, {step.reps_completed}/"
                     f"{step.reps_target} reps, {step.valid_seconds_total:.1f} valid seconds{window}")
    return "\n".join(lines)


def format_setup(report: SetupReport) -> str:
    """One line per check, with what to change."""
    marks = {True: "PASS", False: "FAIL", None: "  - "}
    span = (f", {report.checked_from_s:.1f}-{report.checked_to_s:.1f} s" if report.checked_from_s is not None
            and report.checked_to_s is not None else "")
    lines = [f"set-up check of {report.source or 'the recording'} ({report.frames} frames{span}, {report.posture}):"]
    for check in report.checks:
        lines.append(f"  {marks[check.passed]}  {check.name:10s} {check.message}")
        if check.advice and check.passed is not True:
            lines.append(f"        {'':10s} -> {check.advice}")
    lines.append("set-up OK" if report.passed else f"set-up needs changes: {len(report.warnings)} problem(s)")
    return "\n".join(lines)


def format_catalog(stretches: dict[str, Stretch], details: bool = False) -> str:
    """The stretch catalog, one line per stretch (with ``details``, its description and checks)."""
    lines = []
    for stretch in stretches.values():
        lines.append(f"{stretch.name:30s} {stretch.group:11s} {stretch.view:5s}  {stretch.title}")
        if details:
            lines.append(f"    {stretch.description}")
            lines.append(f"    hold {stretch.hold_s:g} s x {stretch.reps} reps, camera: {stretch.view} view")
            angle = stretch.stretch_angle
            for check in stretch.checks:
                who = "body" if check.role == "body" else f"{check.role} leg"
                own = (f" floor, and within {angle.tolerance_deg:g}° of your deepest steady position"
                       if (check.column, check.role) == (angle.column, angle.role) else "")
                lines.append(f"    - {check.name}: {who} {check.column} {check.range_text}{own} (else: \"{check.cue}\")")
    return "\n".join(lines)


def format_result(result: Test90Result | SlrResult | HoldResult | RoutineResult | SetupReport) -> str:
    """The summary of any protocol's result."""
    if isinstance(result, Test90Result):
        return format_test90(result)
    if isinstance(result, SlrResult):
        return format_slr(result)
    if isinstance(result, RoutineResult):
        return format_routine(result)
    return format_hold(result) if isinstance(result, HoldResult) else format_setup(result)
