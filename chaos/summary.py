"""The terminal summary printed at the end of a run or a check."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .terminal import printable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .result import Check, Result
    from .seeds import SeedOutcome, SeedsResult
    from .stats import Stats

VERDICT_STYLE = {"valid": "bold green", "invalid": "bold red", "unknown": "bold yellow"}


def print_checks(console: Console, checks: Sequence[Check]) -> None:
    for result in checks:
        style = VERDICT_STYLE.get(result.verdict, "bold")
        console.print(
            f"[bold]{result.model}[/]: [{style}]{result.verdict}[/] "
            f"({result.operations} operations, {result.partitions} partitions, {result.elapsed:.3f}s)",
            highlight=False,
        )
        summary = getattr(result, "summary", None)  # a transactional check's anomalies, allowed ones included
        if summary is not None and result.verdict == "valid":
            console.print(f"  {summary}", markup=False, highlight=False)
        if result.verdict != "valid":
            console.print(result.describe(), markup=False, highlight=False)


def print_result(console: Console, result: Result) -> None:
    """The whole summary of a run or an exploration: outcomes, coverage, checks, warnings,
    verdict, artifacts and how to replay."""
    stats = result.stats
    exploration = result.exploration
    title = f"{result.experiment.name} (seed {result.seed})"
    if exploration is not None:
        title += f", {exploration.strategy} exploration: outcomes over all executions"
    console.print(_outcome_table(stats, title, latency=exploration is None))
    if exploration is None:
        console.print(
            f"{stats.completed} operations in {stats.elapsed:.2f}s ({stats.throughput():,.0f} ops/s, "
            f"client CPU {stats.client_cpu / stats.elapsed if stats.elapsed else 0:.0%}), "
            f"{stats.faults} faults injected",
            highlight=False,
        )
    else:
        _print_coverage(console, result)
    print_checks(console, result.checks)
    for line in result.explanation:
        console.print(line, markup=False, highlight=False)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    expect = result.experiment.expect
    style = VERDICT_STYLE.get(result.verdict, "bold")
    outcome = "as expected" if result.matched else "NOT as expected"
    if result.interrupted:
        outcome = "interrupted"
    elif result.withheld:
        outcome = "unknown under --strict: the run could not have found anything"
    reason = f" ({escape(result.reason)})" if result.reason else ""
    console.print(f"verdict: [{style}]{result.verdict}[/]{reason} (expected {expect}: {outcome})", highlight=False)
    console.print(f"artifacts: {escape(str(result.run_dir))}", highlight=False)
    for name in ("report.html", "junit.xml"):
        if (result.run_dir / name).is_file():
            console.print(f"  {name}: {result.run_dir / name}", highlight=False, markup=False)
    if result.report_error:
        console.print(f"[yellow]report.html not written:[/] {escape(result.report_error)}", highlight=False)
    replayable = result.mode == "run" or (result.run_dir / "replay.json").is_file()
    if replayable and (not result.matched or result.verdict == "invalid"):
        console.print(f"replay: {result.replay}", highlight=False, markup=False)
        if result.mode == "run":
            console.print(f"  ({result.seed_note})", highlight=False, markup=False)


def _outcome_table(stats: Stats, title: str, *, latency: bool) -> Table:
    table = Table(title=title, title_justify="left")
    columns = ["operation", "ok", "fail", "info"]
    if latency:
        columns += ["p50 ms", "p95 ms", "p99 ms", "max ms"]
    for column in columns:
        table.add_column(column, justify="left" if column == "operation" else "right")
    summary = stats.latency_summary() if latency else {}
    for f, outcomes in sorted(stats.outcomes.items()):
        cells = [escape(printable(f)), str(outcomes["ok"]), str(outcomes["fail"]), str(outcomes["info"])]
        if latency:
            lat = summary.get(f, {})
            cells += [f"{lat.get(k, 0):.3f}" for k in ("p50", "p95", "p99", "max")]
        table.add_row(*cells)
    return table


def _print_coverage(console: Console, result: Result) -> None:
    """Executions and states explored (and how fast), how far the search got, then the shrunk
    failing trace."""
    exploration = result.exploration
    assert exploration is not None
    data = exploration.to_dict()
    if exploration.strategy == "replay":
        console.print(f"replayed {escape(str(result.run_dir / 'replay.json'))} exactly", highlight=False)
        if exploration.trace:
            console.print("\n".join(exploration.trace), markup=False, highlight=False)
        return
    if exploration.exhausted:
        coverage = "the whole bounded space"
    elif exploration.strategy == "exhaustive":
        coverage = f"every plan of up to {exploration.complete_up_to} operation(s)"
        if exploration.stopped:
            coverage += f", then stopped: {exploration.stopped}"
    else:
        sizes = ", ".join(f"{n} with {k} op(s)" for k, n in sorted(exploration.plans_by_size.items()))
        coverage = f"a sample of {exploration.plans} plans ({sizes or 'none'})"
        if exploration.stopped:
            coverage += f"; {exploration.stopped}"
    where = f" on {exploration.workers}" if exploration.workers else ""
    console.print(
        f"{data['executions']:,} executions, {data['states']:,} distinct states in {exploration.elapsed:.2f}s{where} "
        f"({data['executions_per_second']:,.0f} executions/s, {data['states_per_second']:,.0f} states/s); "
        f"explored {escape(coverage)}",
        highlight=False,
    )
    if exploration.recorded:
        still = (
            "one still fails: only smaller plans were searched after it"
            if exploration.recorded_found
            else "none fails any more"
        )
        console.print(
            f"tried first: {exploration.recorded} failing plan(s) from the failure database; {still}", highlight=False
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
    if exploration.trace:
        console.print("\n".join(exploration.trace), markup=False, highlight=False)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}s"


def _relative(path: str, base: Path) -> str:
    """A seed's run directory as seen from the batch directory (where they all are)."""
    if not path:
        return "-"
    try:
        return str(Path(path).relative_to(base))
    except ValueError:
        return path


def _seed_row(result: SeedsResult, outcome: SeedOutcome) -> list[str]:
    if not outcome.ran:
        verdict = "[dim]not run[/]" if outcome.interrupted else "[bold red]error[/]"
    elif outcome.verdict is None:
        verdict = "[bold red]error[/]"
    else:
        verdict = f"[{VERDICT_STYLE.get(outcome.verdict, 'bold')}]{outcome.verdict}[/]"
        if outcome.interrupted:
            verdict += " [dim](interrupted)[/]"
    notes = []
    if outcome.seed in result.recorded:
        notes.append("failure database")
    if outcome.seed in result.reruns:
        notes.append(f"rerun x{result.reruns[outcome.seed]} (worker lost)")
    if outcome.error_kind is not None and outcome.reason and not outcome.interrupted:
        notes.append(outcome.reason)
    return [
        str(outcome.seed),
        verdict,
        f"{outcome.operations:,}" if outcome.ran else "-",
        _seconds(outcome.first_violation),
        escape(printable(_relative(outcome.run_dir, result.run_dir))),
        escape(printable("; ".join(notes))),
    ]


def print_seeds(console: Console, result: SeedsResult) -> None:
    """The summary of many seeds: a row per seed, then the outcome over all of them, what
    the failure database and lost workers changed, and the one seed to replay."""
    title = f"{result.experiment}: {len(result.seeds)} seeds on {result.workers}; run directories in {result.run_dir}"
    table = Table(title=escape(printable(title)), title_justify="left")
    for column in ("seed", "verdict", "operations", "first violation"):
        table.add_column(column, justify="left" if column == "verdict" else "right", no_wrap=True)
    table.add_column("run directory", overflow="fold")  # whole, even on an 80-column CI log
    table.add_column("note", overflow="fold")
    for outcome in result.ordered:
        table.add_row(*_seed_row(result, outcome))
    console.print(table)
    counts = ", ".join(f"{n} {name}" for name, n in result.counts().items() if n)
    console.print(f"{len(result.ordered)} seeds in {result.wall_seconds:.1f}s: {counts}", highlight=False)
    if result.recorded:
        seeds = ", ".join(str(s) for s in result.recorded)
        console.print(
            f"tried first (failure database {escape(str(result.failure_db))}): seed(s) {seeds}", highlight=False
        )
    if result.reruns:
        seeds = ", ".join(f"{s} (ran {n + 1} times)" for s, n in sorted(result.reruns.items()))
        console.print(f"[yellow]rerun[/] after their worker was lost: seed(s) {seeds}; nothing lost", highlight=False)
    code = int(result.exit_code)
    found = [str(o.seed) for o in result.found]
    if result.interrupted:
        line = "interrupted"
    elif result.expect == "invalid":
        line = (
            f"seed(s) {', '.join(found)} found the violation: as expected"
            if found
            else "no seed found the violation: NOT as expected"
        )
    elif result.matched:
        line = "every seed passed: as expected"
    elif found:
        line = f"seed(s) {', '.join(found)} found a violation: NOT as expected"
    else:
        line = "no violation, but not every seed could be decided"
    style = "bold green" if result.matched else "bold red"
    console.print(
        f"over all seeds (expected {result.expect}): [{style}]{escape(line)}[/] (exit {code})", highlight=False
    )
    console.print(f"artifacts: {escape(str(result.run_dir))}", highlight=False)
    junit = result.run_dir / "junit.xml"
    if junit.is_file():
        console.print(f"  junit.xml: {junit}", highlight=False, markup=False)
    failing = result.first_failing
    if failing is not None and failing.replay:
        console.print(f"replay: {failing.replay}", highlight=False, markup=False)
