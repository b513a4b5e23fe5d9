"""An exhaustive exploration on several processes (or a Dask cluster), level by level.

The plans of one level (one operation count) are independent searches: each is a depth-first
search of its own, with its own set of seen states. So a level is cut into shards of
consecutive plans, each shard searched by a worker with the same :meth:`Explorer.search_plan`,
and the parent puts the answers back in plan order:

* the level's result is decided by the lowest-numbered plan that did not end clean (a
  violation, a bug in the system's code, a limit), exactly as one process, searching in
  order, would have stopped there; shards after it are cancelled, shards before it finish;
* the counts (executions, states, plans, outcomes) are summed over the plans up to that one,
  so they equal one process's counts, whatever the timing; a search cut short by the time
  limit or the execution budget stops where the parallel search happened to be;
* a violation comes back as its plan's number and the choices of the failing execution, and
  the parent re-executes it (the driver is deterministic): the same :class:`Found` as one
  process would hold, shrunk afterwards in the parent exactly as before.

Levels go one after another, so the first violation still has the fewest operations. A level
expected to be quick (from the previous one) runs in the parent: starting worker processes
costs more than it saves there, and the answer is the same either way.
"""

from __future__ import annotations

import itertools
import time
import uuid
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from ..errors import Unreachable
from ..executors import Backend, Fanout, Workers, open_backend, stop_requested
from ..experiment import Experiment
from ..stats import Stats
from .driver import Interleaving, Plan
from .explorer import Exploration, Explorer, Found, Progress
from .strategies import Decision, DepthFirst

GROWTH = 4
"""A plan of one more operation costs at least this many times more to search (measured on the
seed designs: 4 to 11 times): how the next level's time is guessed from the last one's."""
SHARDS_PER_JOB = 16
"""Shards per worker and level: small enough to keep every worker busy to the end of a level
(plans differ a lot in cost), large enough that shipping them costs nothing."""


@dataclass(frozen=True)
class ShardTask:
    """Plans ``first`` to ``stop - 1`` (in :meth:`Explorer.exhaustive_plans` order) to search."""

    experiment: Experiment
    seed: int
    first: int
    stop: int
    ends: float
    """When the exploration's time limit runs out, in wall-clock seconds since the epoch: the
    one clock a shard that starts late, or on another host, can compare with."""
    label: str


@dataclass
class PlanOutcome:
    """What searching one plan gave, as plain data."""

    index: int
    executions: int = 0
    states: int = 0
    truncated: int = 0
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)
    latencies: dict[str, array[int]] = field(default_factory=dict)
    unexpected: dict[str, int] = field(default_factory=dict)
    found: list[int] | None = None
    """The choices of the execution that violated the model."""
    failure: list[int] | None = None
    """The choices of the execution stopped by a bug in the system's own code."""
    stopped: str = ""
    interrupted: bool = False

    @property
    def clean(self) -> bool:
        """Searched completely, nothing found."""
        return self.found is None and self.failure is None and not self.stopped


_EXPLORERS: dict[str, Explorer] = {}
"""One explorer per exploration in a worker process (it keeps nothing between plans)."""


def search_shard(task: ShardTask) -> list[PlanOutcome]:
    """A worker's part: search the shard's plans in order, stopping at the first that does
    not end clean (plans after it cannot matter)."""
    key = task.label.rsplit("/", 1)[0]
    explorer = _EXPLORERS.get(key)
    if explorer is None:
        _EXPLORERS.clear()
        explorer = _EXPLORERS[key] = Explorer(task.experiment, task.seed)
    explorer.should_stop = stop_requested
    deadline = time.perf_counter() + (task.ends - time.time())
    plans = itertools.islice(explorer.exhaustive_plans(), task.first, task.stop)
    outcomes = []
    for index, plan in enumerate(plans, task.first):
        outcome = _search_one(explorer, index, plan, deadline)
        outcomes.append(outcome)
        if not outcome.clean:
            break
    return outcomes


def _search_one(explorer: Explorer, index: int, plan: Plan, deadline: float) -> PlanOutcome:
    report = Exploration("exhaustive")
    explorer.stats, explorer.unexpected = Stats(), {}
    found = explorer.search_plan(plan, report, deadline)
    return PlanOutcome(
        index=index,
        executions=report.executions,
        states=report.states,
        truncated=report.truncated,
        outcomes=explorer.stats.outcomes,
        latencies=explorer.stats.latencies,
        unexpected=explorer.unexpected,
        found=None if found is None else list(found.execution.choices),
        failure=None if report.failure is None else list(report.failure[0].choices),
        stopped="" if found is not None or report.failure is not None else report.stopped,
        interrupted=report.interrupted,
    )


def shards(first: int, stop: int, jobs: int) -> list[tuple[int, int]]:
    """``[first, stop)`` cut into consecutive ranges, about :data:`SHARDS_PER_JOB` per job."""
    size = max(1, -(-(stop - first) // (jobs * SHARDS_PER_JOB)))
    return [(start, min(start + size, stop)) for start in range(first, stop, size)]


class LevelSearch:
    """The ``search_level`` of an exhaustive exploration that fans levels out to workers
    (use it as a context manager: it closes the workers it started)."""

    def __init__(self, explorer: Explorer, workers: Workers, *, name: str = "explore") -> None:
        self.explorer = explorer
        self.workers = workers
        self.name = name
        self.backend: Backend | None = None
        self.levels_fanned = 0
        self.key = f"{name}/{uuid.uuid4().hex[:12]}"
        """Names this exploration's shards (a worker keeps one explorer per key)."""
        self._previous: tuple[float, int] | None = None
        """Seconds and plans of the last level, to guess the next one's time."""

    def __enter__(self) -> LevelSearch:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.backend is not None:
            self.backend.close(wait=kind is None)
            self.backend = None

    @property
    def description(self) -> str:
        return self.backend.description if self.backend is not None and self.levels_fanned else ""

    def _worth_it(self, plans: int) -> bool:
        if self.backend is not None:
            return True
        if self._previous is None:
            return self.workers.worth <= 0
        seconds, count = self._previous
        return seconds * GROWTH * plans / max(1, count) >= self.workers.worth

    def __call__(
        self, report: Exploration, first: int, plans: list[Plan], deadline: float, progress: Progress | None
    ) -> bool:
        started = time.perf_counter()
        if self._worth_it(len(plans)):
            decided = self._fan_out(report, first, plans, deadline, progress)
        else:
            decided = self.explorer.search_level(report, first, plans, deadline, progress)
        self._previous = (time.perf_counter() - started, len(plans))
        return decided

    def _fan_out(
        self, report: Exploration, first: int, plans: list[Plan], deadline: float, progress: Progress | None
    ) -> bool:
        if self.backend is None:
            self.backend = open_backend(self.workers)
        self.levels_fanned += 1
        explorer = self.explorer
        stop = first + len(plans)
        ends = time.time() + (deadline - time.perf_counter())
        tasks = [
            ShardTask(explorer.experiment, explorer.seed, a, b, ends, f"{self.key}/{a}-{b}")
            for a, b in shards(first, stop, self.backend.jobs)
        ]
        fan: Fanout[ShardTask, list[PlanOutcome]] = Fanout(
            self.backend, search_shard, tasks, label=lambda t: t.label, should_stop=explorer.should_stop
        )
        outcomes: dict[int, PlanOutcome] = {}
        decided: int | None = None
        for done in fan.results():
            if done.error is not None:
                raise done.error  # as the search would have raised in this process
            for outcome in done.result or []:
                outcomes[outcome.index] = outcome
                if not outcome.clean and (decided is None or outcome.index < decided):
                    decided = outcome.index
            if decided is not None:
                fan.cancel(_after(decided))
        return self._merge(report, first, plans, outcomes, progress)

    def _merge(
        self,
        report: Exploration,
        first: int,
        plans: list[Plan],
        outcomes: dict[int, PlanOutcome],
        progress: Progress | None,
    ) -> bool:
        """The level's answers, in plan order, into ``report``: what one process would hold."""
        explorer = self.explorer
        budget = explorer.spec.executions
        for index, plan in enumerate(plans, first):
            outcome = outcomes.get(index)
            if outcome is None:  # never searched: the exploration was interrupted first
                if not explorer.should_stop():  # or the cluster dropped the shard
                    raise Unreachable(f"{self.name}: plan {index} was never searched: its worker went away")
                report.interrupted, report.stopped = True, "interrupted"
                return True
            report.plans += 1
            if report.executions >= budget:
                report.stopped = f"execution budget of {budget} reached"
                return True
            _add(report, explorer, outcome)
            if outcome.found is not None:
                execution, decisions = _reexecute(explorer, plan, outcome.found)
                report.found = Found(execution, decisions, explorer.judge(execution))
                return True
            if outcome.failure is not None:
                execution, _ = _reexecute(explorer, plan, outcome.failure)
                assert execution.failure is not None
                report.failure = (execution, execution.failure)
                report.stopped = "a bug in the system's own code"
                return True
            if outcome.stopped:
                report.stopped, report.interrupted = outcome.stopped, outcome.interrupted
                return True
            if report.executions > budget:  # one process would have stopped inside this plan
                report.executions = budget
                report.stopped = f"execution budget of {budget} reached"
                return True
            report.plans_by_size[plan.operations] = report.plans_by_size.get(plan.operations, 0) + 1
            if progress is not None:
                progress(report)
        return False


def _add(report: Exploration, explorer: Explorer, outcome: PlanOutcome) -> None:
    """One plan's counts into the exploration's (and its operations into the outcome table)."""
    report.executions += outcome.executions
    report.states += outcome.states
    report.truncated += outcome.truncated
    stats = explorer.stats
    for f, counts in outcome.outcomes.items():
        mine = stats.outcomes.setdefault(f, {"ok": 0, "fail": 0, "info": 0})
        for kind, n in counts.items():
            mine[kind] += n
    for f, values in outcome.latencies.items():
        stats.latencies.setdefault(f, array("q")).extend(values)
    for name, n in outcome.unexpected.items():
        explorer.unexpected[name] = explorer.unexpected.get(name, 0) + n


def _after(plan: int) -> Callable[[ShardTask], bool]:
    """Picks the shards that start after plan number ``plan``: once it failed, the plans after it
    need not be searched."""
    return lambda task: task.first > plan


def _reexecute(explorer: Explorer, plan: Plan, choices: list[int]) -> tuple[Interleaving, list[Decision]]:
    """The execution a worker found, made again here from its choices (the driver is
    deterministic); its operations are not counted twice."""
    saved: tuple[Stats, dict[str, Any]] = (explorer.stats, explorer.unexpected)
    explorer.stats, explorer.unexpected = Stats(), {}
    try:
        chooser = DepthFirst(choices)
        execution = explorer.execute(plan, chooser)
    finally:
        explorer.stats, explorer.unexpected = saved
    return execution, chooser.decisions


__all__ = ["LevelSearch", "PlanOutcome", "ShardTask", "search_shard", "shards"]
