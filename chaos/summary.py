"""The terminal summary printed at the end of a run or a check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from .checker import CheckResult
    from .explore import ExploreResult
    from .runner import RunResult

VERDICT_STYLE = {"valid": "bold green", "invalid": "bold red", "unknown": "bold yellow"}


def print_checks(console: Console, checks: list[CheckResult]) -> None:
    for result in checks:
        style = VERDICT_STYLE.get(result.verdict, "bold")
        console.print(
            f"[bold]{result.model}[/]: [{style}]{result.verdict}[/] "
            f"({result.operations} operations, {result.partitions} partitions, {result.elapsed:.3f}s)",
            highlight=False,
        )
        if result.verdict != "valid":
            console.print(result.describe(), markup=False, highlight=False)


def print_run(console: Console, result: RunResult) -> None:
    """Operations by name and outcome, throughput, latency percentiles, verdict, artifacts."""
    stats = result.stats
    latency = stats.latency_summary()
    table = Table(title=f"{result.experiment.name} (seed {result.seed})", title_justify="left")
    for column in ("operation", "ok", "fail", "info", "p50 ms", "p95 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="left" if column == "operation" else "right")
    for f, outcomes in sorted(stats.outcomes.items()):
        lat = latency.get(f, {})
        table.add_row(
            f,
            str(outcomes["ok"]),
            str(outcomes["fail"]),
            str(outcomes["info"]),
            *(f"{lat.get(k, 0):.3f}" for k in ("p50", "p95", "p99", "max")),
        )
    console.print(table)
    console.print(
        f"{stats.completed} operations in {stats.elapsed:.2f}s ({stats.throughput():,.0f} ops/s, "
        f"client CPU {stats.client_cpu / stats.elapsed if stats.elapsed else 0:.0%}), {stats.faults} faults injected",
        highlight=False,
    )
    print_checks(console, result.checks)
    for line in result.extra.get("explanation", []):
        console.print(line, markup=False, highlight=False)
    expect = result.experiment.expect
    style = VERDICT_STYLE.get(result.verdict, "bold")
    outcome = "as expected" if result.exit_code == 0 else "NOT as expected"
    if result.interrupted:
        outcome = "interrupted"
    console.print(f"verdict: [{style}]{result.verdict}[/] (expected {expect}: {outcome})", highlight=False)
    console.print(f"artifacts: {result.run_dir}", highlight=False)
    for name in ("report.html", "junit.xml"):
        if (result.run_dir / name).is_file():
            console.print(f"  {name}: {result.run_dir / name}", highlight=False, markup=False)
    if result.extra.get("report_error"):
        reason = escape(str(result.extra["report_error"]))
        console.print(f"[yellow]report.html not written:[/] {reason}", highlight=False)
    if result.exit_code != 0:
        replay = f"replay: chaos run {result.run_dir / 'experiment.yaml'} --seed {result.seed}"
        console.print(replay, highlight=False, markup=False)


def print_exploration(console: Console, result: ExploreResult) -> None:
    """Executions and states explored (and how fast), then the shrunk failing trace."""
    from .explore import trace_lines

    exploration = result.exploration
    data = exploration.to_dict()
    coverage = "the whole bounded space" if exploration.exhausted else (exploration.stopped or "until a violation")
    console.print(
        f"{data['executions']:,} executions, {data['states']:,} distinct states in {exploration.elapsed:.2f}s "
        f"({data['executions_per_second']:,.0f} executions/s, {data['states_per_second']:,.0f} states/s); "
        f"explored {coverage}",
        highlight=False,
    )
    best = exploration.shrunk or exploration.found
    if best is not None:
        found = exploration.found
        original = found.execution.plan.operations if found is not None else best.execution.plan.operations
        console.print(
            f"violation with {best.execution.plan.operations} operations "
            f"(found with {original}, {exploration.shrink_steps} shrinking steps):",
            highlight=False,
        )
        console.print("\n".join(trace_lines(best.execution)), markup=False, highlight=False)
        print_checks(console, [best.result])
        console.print(f"replay: chaos replay {result.run_dir / 'replay.json'}", highlight=False)
    style = VERDICT_STYLE.get(result.verdict, "bold")
    outcome = "as expected" if result.exit_code == 0 else "NOT as expected"
    console.print(
        f"verdict: [{style}]{result.verdict}[/] (expected {result.loaded.experiment.expect}: {outcome})",
        highlight=False,
    )
    console.print(f"artifacts: {result.run_dir}", highlight=False)
