"""``hamflex history`` on the terminal: the sessions, each person's deficit trend (real change
or measurement error) and stretching adherence, as rich tables."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hamflex.history import store
from hamflex.history.adherence import ADVISED_REPS, rest_days_stretched_through, stretching_adherence
from hamflex.history.trends import deficit_trends, minimal_detectable_change_deg


def print_history(sessions: list[store.Session], console: Console, weeks: int = 4) -> None:
    """Print the sessions table, then per person the trend table and the adherence lines.
    Everything users typed (names, sources) is escaped: it is shown, never interpreted."""
    table = Table(title="Sessions")
    for column in ("when", "person", "kind", "left deficit", "right deficit", "left SLR", "right SLR", "valid s", "reps",
                   "source"):
        numeric = column not in ("when", "person", "kind", "source")
        table.add_column(column, justify="right" if numeric else "left", no_wrap=column == "when")
    for s in sessions:
        values = s.summary()
        table.add_row(
            s.recorded_at.astimezone().strftime("%Y-%m-%d %H:%M"), escape(s.person), s.kind,
            *(f"{v:.0f}°" if v is not None else "" for v in (values["left_deficit_deg"], values["right_deficit_deg"],
                                                             values["left_slr_hip_flexion_deg"],
                                                             values["right_slr_hip_flexion_deg"])),
            f"{values['valid_seconds_total']:.0f}" if values["valid_seconds_total"] is not None else "",
            str(values["reps_completed"]) if values["reps_completed"] is not None else "",
            escape(s.source),
        )
    console.print(table)
    mdc = minimal_detectable_change_deg()
    for name in store.persons(sessions):
        own = [s for s in sessions if store.person_key(s.person) == store.person_key(name)]
        trends = Table(title=f"{escape(name)}: knee extension deficit (real change > MDC {mdc:.1f}°)")
        for column in ("side", "n", "first", "latest", "since first", "since previous"):
            trends.add_column(column, overflow="fold")
        for trend in deficit_trends(own, mdc):
            change_first, change_previous = trend.change_from_first_deg, trend.change_from_previous_deg
            trends.add_row(
                trend.side, str(len(trend.deficits_deg)), f"{trend.first_deg:.0f}°", f"{trend.latest_deg:.0f}°",
                f"{change_first:+.0f}° {trend.verdict}" if change_first is not None else trend.verdict,
                f"{change_previous:+.0f}° {trend.verdict_since_previous}" if change_previous is not None else "",
            )
        if trends.row_count:
            console.print(trends)
        adherence = stretching_adherence(own, weeks=weeks)
        console.print(f"{name}: stretching adherence, last {weeks} week(s): {adherence.summary}", markup=False)
        weekly = ", ".join(f"{start:%d %b} {rate:.1f}/day" for start, rate in adherence.weekly_sessions_per_day())
        if adherence.sessions:
            console.print(f"  per week: {weekly} (advice: 1-2 a day, a rest day between is fine, "
                          f"{ADVISED_REPS} reps of 20-30 s)", markup=False)
        through = rest_days_stretched_through(own)
        if through:
            console.print(f"  warning: {name} stretched through the routine's rest day on "
                          f"{', '.join(f'{day:%d %b}' for day in through)} (the plan asks for a rest day between)",
                          markup=False)
