"""Explorations on several processes (or a Dask cluster): exhaustive ones level by level
(:class:`LevelSearch`), random and PCT ones by ranges of executions (:class:`SampleSearch`).

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

A sampled exploration has no levels, but its executions are numbered and each depends on the
seed and its number only, so ranges of them are searched the same way: the lowest-numbered
violation decides, and the counts are summed up to it.
"""

from __future__ import annotations

import contextlib
import itertools
import time
import uuid
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

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
SAMPLES_PER_SHARD = 256
"""Executions per shard of a random or PCT exploration (tens of milliseconds to a second on
the seed designs)."""
SHARDS_PER_JOB = 16
"""Shards per worker and level: small enough to keep every worker busy to the end of a level
(plans differ a lot in cost), large enough that shipping them costs nothing."""


@dataclass(frozen=True)
class ShardTask:
    """Plans ``first`` to ``stop - 1`` (in :meth:`Explorer.exhaustive_plans` order) to search,
    or a random or PCT exploration's executions ``first`` to ``stop - 1`` to run."""

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


def _explorer(experiment: Experiment, seed: int, label: str) -> Explorer:
    """This worker's explorer for the exploration a task belongs to (``label`` is
    ``<exploration key>/<range>``), made once per exploration."""
    key = label.rsplit("/", 1)[0]
    explorer = _EXPLORERS.get(key)
    if explorer is None:
        _EXPLORERS.clear()
        explorer = _EXPLORERS[key] = Explorer(experiment, seed)
    explorer.should_stop = stop_requested
    return explorer


def _deadline(ends: float) -> float:
    """The exploration's deadline on this process's ``perf_counter`` clock."""
    return time.perf_counter() + (ends - time.time())


def search_shard(task: ShardTask) -> list[PlanOutcome]:
    """A worker's part: search the shard's plans in order, stopping at the first that does
    not end clean (plans after it cannot matter)."""
    explorer = _explorer(task.experiment, task.seed, task.label)
    deadline = _deadline(task.ends)
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


@dataclass
class SampleOutcome:
    """What running a range of sampled executions gave, as plain data."""

    first: int
    executions: int = 0
    truncated: int = 0
    states: set[bytes] = field(default_factory=set)
    """Digests of the states passed through (:func:`~chaos.exploration.explorer.state_digest`)."""
    plans_by_size: dict[int, int] = field(default_factory=dict)
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)
    latencies: dict[str, array[int]] = field(default_factory=dict)
    unexpected: dict[str, int] = field(default_factory=dict)
    found: int | None = None
    """The number of the execution that violated the model."""
    failure: int | None = None
    """The number of the execution stopped by a bug in the system's own code."""
    stopped: str = ""
    interrupted: bool = False


def sample_shard(task: ShardTask) -> SampleOutcome:
    """A worker's part of a random or PCT exploration."""
    explorer = _explorer(task.experiment, task.seed, task.label)
    return sample_range(explorer, task.first, task.stop, _deadline(task.ends))


def sample_range(explorer: Explorer, first: int, stop: int, deadline: float) -> SampleOutcome:
    """Executions ``first`` to ``stop - 1``, as :meth:`Explorer.explore` runs them in one
    process, stopping at the first violation, bug, deadline or interruption."""
    limits = Exploration(explorer.spec.strategy)
    with _counted_apart(explorer) as stats:
        outcome = SampleOutcome(first, outcomes=stats.outcomes, latencies=stats.latencies)
        outcome.unexpected = explorer.unexpected
        for index in range(first, stop):
            if explorer._stop(limits, deadline):
                outcome.stopped, outcome.interrupted = limits.stopped, limits.interrupted
                break
            execution, _ = explorer.sample(index, outcome.states)
            outcome.executions += 1
            if execution.failure is not None:
                outcome.failure = index
                break
            if not execution.complete and not execution.pruned:
                outcome.truncated += 1
            size = execution.plan.operations
            outcome.plans_by_size[size] = outcome.plans_by_size.get(size, 0) + 1
            if explorer.judge(execution).verdict == "invalid":
                outcome.found = index
                break
    return outcome


def shards(first: int, stop: int, jobs: int) -> list[tuple[int, int]]:
    """``[first, stop)`` cut into consecutive ranges, about :data:`SHARDS_PER_JOB` per job."""
    size = max(1, -(-(stop - first) // (jobs * SHARDS_PER_JOB)))
    return [(start, min(start + size, stop)) for start in range(first, stop, size)]


class _Fanned:
    """What both fan-outs share: the workers, started on first use and closed at the end (use
    it as a context manager), and the key that names this exploration's shards (a worker
    keeps one explorer per key)."""

    def __init__(self, explorer: Explorer, workers: Workers, *, name: str = "explore") -> None:
        self.explorer = explorer
        self.workers = workers
        self.name = name
        self.backend: Backend | None = None
        self.fanned = 0
        """Rounds sent to the workers so far."""
        self.key = f"{name}/{uuid.uuid4().hex[:12]}"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.backend is not None:
            self.backend.close(wait=kind is None)
            self.backend = None

    @property
    def description(self) -> str:
        return self.backend.description if self.backend is not None and self.fanned else ""

    def _open(self) -> Backend:
        if self.backend is None:
            self.backend = open_backend(self.workers)
        self.fanned += 1
        return self.backend

    def _missing(self, report: Exploration, what: str) -> bool:
        """A shard never came back: the exploration was interrupted first, or the cluster
        dropped it (exit 4: the answer would be incomplete)."""
        if not self.explorer.should_stop():
            raise Unreachable(f"{self.name}: {what} was never searched: its worker went away")
        report.interrupted, report.stopped = True, "interrupted"
        return True


class LevelSearch(_Fanned):
    """The ``search_level`` of an exhaustive exploration that fans levels out to workers."""

    def __init__(self, explorer: Explorer, workers: Workers, *, name: str = "explore") -> None:
        super().__init__(explorer, workers, name=name)
        self._previous: tuple[float, int] | None = None
        """Seconds and plans of the last level, to guess the next one's time."""

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
        backend = self._open()
        explorer = self.explorer
        stop = first + len(plans)
        ends = time.time() + (deadline - time.perf_counter())
        tasks = [
            ShardTask(explorer.experiment, explorer.seed, a, b, ends, f"{self.key}/{a}-{b}")
            for a, b in shards(first, stop, backend.jobs)
        ]
        fan: Fanout[ShardTask, list[PlanOutcome]] = Fanout(
            backend, search_shard, tasks, label=lambda t: t.label, should_stop=explorer.should_stop
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
            if outcome is None:
                return self._missing(report, f"plan {index}")
            report.plans += 1
            if report.executions >= budget:
                report.stopped = f"execution budget of {budget} reached"
                return True
            _add(report, explorer, outcome)
            report.states += outcome.states
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


class SampleSearch(_Fanned):
    """The ``sample`` of a random or PCT exploration that fans its executions out to workers.

    Executions are numbered, and number ``i`` is the same execution in any process
    (:meth:`Explorer.sample`). Rounds of consecutive ranges go to the workers; the answer is
    the lowest-numbered violation (or bug) found, re-executed here, and the counts are those
    of the executions up to it. With an execution budget and no time limit reached, that is
    exactly what one process would have reported. A budget small enough to take under
    ``workers.worth`` seconds (judged from the first range, run here) never starts workers."""

    def __call__(self, report: Exploration, deadline: float, progress: Progress | None) -> None:
        explorer = self.explorer
        budget = explorer.spec.executions
        seen: set[bytes] = set()
        try:
            started = time.perf_counter()
            stop = min(budget, SAMPLES_PER_SHARD)
            first = sample_range(explorer, 0, stop, deadline)
            each = (time.perf_counter() - started) / max(1, first.executions)
            if self._merge(report, [first], seen, [(0, stop)]):
                return
            left = min(budget - first.executions, (deadline - time.perf_counter()) / max(each, 1e-9))
            fan_out = left * each >= self.workers.worth
            index = first.executions
            while index < budget:
                if progress is not None:
                    report.states = len(seen)
                    progress(report)
                if fan_out:
                    backend = self._open()
                    stop = min(budget, index + backend.jobs * SHARDS_PER_JOB * SAMPLES_PER_SHARD)
                    ranges = shards(index, stop, backend.jobs)
                    outcomes = self._fan_out(backend, ranges, deadline)
                else:
                    stop = min(budget, index + SAMPLES_PER_SHARD)
                    ranges = [(index, stop)]
                    outcomes = [sample_range(explorer, index, stop, deadline)]
                if self._merge(report, outcomes, seen, ranges):
                    return
                index = stop
            report.stopped = f"execution budget of {budget} reached"
        finally:
            report.states = len(seen)

    def _fan_out(self, backend: Backend, ranges: list[tuple[int, int]], deadline: float) -> list[SampleOutcome]:
        ends = time.time() + (deadline - time.perf_counter())
        explorer = self.explorer
        tasks = [ShardTask(explorer.experiment, explorer.seed, a, b, ends, f"{self.key}/{a}-{b}") for a, b in ranges]
        fan: Fanout[ShardTask, SampleOutcome] = Fanout(
            backend, sample_shard, tasks, label=lambda t: t.label, should_stop=explorer.should_stop
        )
        outcomes: list[SampleOutcome] = []
        decided: int | None = None
        for done in fan.results():
            if done.error is not None:
                raise done.error  # as the search would have raised in this process
            if done.result is None:
                continue
            outcomes.append(done.result)
            hit = done.result.found if done.result.found is not None else done.result.failure
            if hit is not None and (decided is None or hit < decided):
                decided = hit
                fan.cancel(_after_execution(hit))
        return outcomes

    def _merge(
        self, report: Exploration, outcomes: list[SampleOutcome], seen: set[bytes], ranges: list[tuple[int, int]]
    ) -> bool:
        """A round's answers (for ``ranges``) into ``report``, in execution order: True once
        the exploration is decided (a violation, a bug, a limit, an interruption)."""
        explorer = self.explorer
        outcomes.sort(key=lambda o: o.first)
        hits = [o for o in outcomes if o.found is not None or o.failure is not None]
        decisive = hits[0] if hits else None
        if decisive is None:  # ranges after a violation may be cancelled; none before it
            answered = {o.first for o in outcomes}
            missing = [a for a, _ in ranges if a not in answered]
            if missing:
                return self._missing(report, f"the range of executions from {missing[0]}")
        for outcome in outcomes:
            if decisive is not None and outcome.first > decisive.first:
                break  # after the violation: one process would not have run these
            _add(report, explorer, outcome)
            report.plans += outcome.executions
            seen |= outcome.states
            for size, count in outcome.plans_by_size.items():
                report.plans_by_size[size] = report.plans_by_size.get(size, 0) + count
        if decisive is not None:
            index = decisive.found if decisive.found is not None else decisive.failure
            assert index is not None
            execution, chooser = _resample(explorer, index)
            if decisive.found is not None:
                report.found = Found(execution, chooser.decisions, explorer.judge(execution))
            else:
                assert execution.failure is not None
                report.failure = (execution, execution.failure)
                report.stopped = "a bug in the system's own code"
            return True
        stopped = next((o for o in outcomes if o.stopped), None)
        if stopped is not None:
            report.stopped, report.interrupted = stopped.stopped, stopped.interrupted
            return True
        return False


def _add(report: Exploration, explorer: Explorer, outcome: PlanOutcome | SampleOutcome) -> None:
    """A plan's (or a range of executions') counts into the exploration's, and its operations
    into the outcome table (states are counted by the caller: a plan's are its own, sampled
    ones are merged)."""
    report.executions += outcome.executions
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


def _after_execution(index: int) -> Callable[[ShardTask], bool]:
    """Picks the ranges that start after execution number ``index``."""
    return lambda task: task.first > index


def _after(plan: int) -> Callable[[ShardTask], bool]:
    """Picks the shards that start after plan number ``plan``: once it failed, the plans after it
    need not be searched."""
    return lambda task: task.first > plan


@contextlib.contextmanager
def _counted_apart(explorer: Explorer) -> Iterator[Stats]:
    """The explorer's operation counts (and unexpected errors) are fresh inside the block and
    restored after it: a range's counts go back to the parent as plain data, and an execution
    made again here is not counted twice."""
    saved: tuple[Stats, dict[str, Any]] = (explorer.stats, explorer.unexpected)
    explorer.stats, explorer.unexpected = Stats(), {}
    try:
        yield explorer.stats
    finally:
        explorer.stats, explorer.unexpected = saved


def _resample(explorer: Explorer, index: int) -> tuple[Interleaving, Any]:
    """Sampled execution number ``index``, made again here (as :func:`_reexecute`)."""
    with _counted_apart(explorer):
        return explorer.sample(index, set())


def _reexecute(explorer: Explorer, plan: Plan, choices: list[int]) -> tuple[Interleaving, list[Decision]]:
    """The execution a worker found, made again here from its choices (the driver is
    deterministic); its operations are not counted twice."""
    chooser = DepthFirst(choices)
    with _counted_apart(explorer):
        execution = explorer.execute(plan, chooser)
    return execution, chooser.decisions


__all__ = [
    "LevelSearch",
    "PlanOutcome",
    "SampleOutcome",
    "SampleSearch",
    "ShardTask",
    "sample_range",
    "sample_shard",
    "search_shard",
    "shards",
]
