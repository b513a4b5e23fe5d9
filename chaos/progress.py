"""Live progress of a run in the terminal.

On a terminal: a rich progress bar redrawn about eight times a second (the runner calls
:meth:`RunProgress.update` ten times a second) with elapsed / planned time or operations,
throughput, faults injected and failures so far. Not on a terminal (CI logs, pipes): one plain
line every few seconds, so a log shows the run moving without drowning in redraws.

The bar measures whichever limit ends the run first: with both ``operations`` and
``duration`` set, the larger of the two fractions.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from .seeds import SeedOutcome
    from .stats import Stats

PLAIN_INTERVAL = 5.0
"""Seconds between two plain progress lines."""
REFRESH_INTERVAL = 0.12
"""Seconds between two redraws of the live bar."""


def fraction(stats: Stats) -> float:
    """How far the run is, 0..1, by the limit that will end it first."""
    parts = []
    if stats.planned_ops:
        parts.append(stats.completed / stats.planned_ops)
    if stats.planned_seconds:
        parts.append(stats.elapsed / stats.planned_seconds)
    return max(0.0, min(1.0, max(parts))) if parts else 0.0


def describe(stats: Stats) -> str:
    """One line: ``12.0/20s  9,000/20,000 ops  750 ops/s  faults 3  fail 2  info 1``."""
    parts = []
    if stats.planned_seconds:
        parts.append(f"{stats.elapsed:5.1f}/{stats.planned_seconds:g}s")
    else:
        parts.append(f"{stats.elapsed:5.1f}s")
    if stats.planned_ops:
        parts.append(f"{stats.completed:,}/{stats.planned_ops:,} ops")
    else:
        parts.append(f"{stats.completed:,} ops")
    parts.append(f"{stats.throughput():,.0f} ops/s")
    parts.append(f"faults {stats.faults:,}")
    parts.append(f"fail {stats.failures:,}")
    parts.append(f"info {stats.unknown:,}")
    return "  ".join(parts)


class RunProgress:
    """The ``on_progress`` callback of a :class:`~chaos.runner.Runner`, as a context manager::

        with RunProgress(console, "register-memory") as progress:
            result = asyncio.run(Runner(loaded, on_progress=progress.update).run())

    ``live`` forces the bar on or off; by default it is on when ``console`` is a terminal.
    """

    def __init__(
        self, console: Console, name: str, *, live: bool | None = None, interval: float = PLAIN_INTERVAL
    ) -> None:
        self.console = console
        self.name = name
        self.live = console.is_terminal if live is None else live
        self.interval = interval
        self.lines = 0
        """Plain lines printed so far."""
        self._last_print = 0.0
        self._last_refresh = 0.0
        self._last: Stats | None = None
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> RunProgress:
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=32),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(),
                TextColumn("{task.fields[line]}"),
                console=self.console,
                auto_refresh=False,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.name, total=1000, line="starting")
        self._last_print = time.monotonic()
        return self

    def update(self, stats: Stats) -> None:
        """Show ``stats`` (cheap to call often: redraws and lines are rate-limited)."""
        self._last = stats
        now = time.monotonic()
        if self._progress is not None and self._task is not None:
            if now - self._last_refresh >= REFRESH_INTERVAL:
                self._last_refresh = now
                self._progress.update(self._task, completed=fraction(stats) * 1000, line=_rich_line(stats))
                self._progress.refresh()
        elif now - self._last_print >= self.interval:
            self._last_print = now
            self._plain(stats)

    def _plain(self, stats: Stats) -> None:
        self.lines += 1
        self.console.print(
            f"{self.name}: {fraction(stats) * 100:3.0f}%  {describe(stats)}", markup=False, highlight=False
        )

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        elif self._last is not None and self.lines:
            self._plain(self._last)  # the closing figures, when the log already shows progress


def _rich_line(stats: Stats) -> str:
    failures = stats.failures + stats.unknown
    style = "red" if failures else "dim"
    faults = f"[yellow]faults {stats.faults:,}[/]" if stats.faults else "[dim]faults 0[/]"
    ops = f"{stats.completed:,}/{stats.planned_ops:,} ops" if stats.planned_ops else f"{stats.completed:,} ops"
    planned = f" of {stats.planned_seconds:g}s" if stats.planned_seconds else ""
    return (
        f"{ops}{planned}  {stats.throughput():,.0f} ops/s  {faults}  "
        f"[{style}]fail {stats.failures:,} info {stats.unknown:,}[/]"
    )


class SeedsProgress:
    """Progress of many seeds: a bar of seeds done, with how many found a violation, or (not on
    a terminal) one plain line per finished seed. :meth:`update` is the ``on_seed`` callback of
    a :class:`~chaos.seeds.SeedsRun` (called from its fan-out thread)."""

    def __init__(self, console: Console, name: str, total: int, *, live: bool | None = None) -> None:
        self.console = console
        self.name = name
        self.total = total
        self.live = console.is_terminal if live is None else live
        self.found = 0
        self.errors = 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> SeedsProgress:
        if self.live:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=32),
                TextColumn("{task.completed:.0f}/{task.total:.0f} seeds"),
                TimeElapsedColumn(),
                TextColumn("{task.fields[line]}"),
                console=self.console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.name, total=self.total, line="[dim]found 0[/]")
        return self

    def update(self, outcome: SeedOutcome, done: int, total: int) -> None:
        """One more seed finished."""
        self.found += outcome.found
        self.errors += outcome.error_kind is not None and not outcome.interrupted
        if self._progress is not None and self._task is not None:
            style = "bold red" if self.found else "dim"
            errors = f"  [red]errors {self.errors}[/]" if self.errors else ""
            self._progress.update(
                self._task, completed=done, total=total, line=f"[{style}]found {self.found}[/]{errors}"
            )
            return
        what = outcome.verdict or ("not run" if not outcome.ran else "error")
        ops = f", {outcome.operations:,} operations" if outcome.ran else ""
        self.console.print(
            f"{self.name}: seed {outcome.seed}: {what}{ops} ({done}/{total} done, {self.found} found)",
            markup=False,
            highlight=False,
        )

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


__all__ = ["RunProgress", "SeedsProgress", "describe", "fraction"]
