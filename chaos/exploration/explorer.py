"""Exploration: many controlled executions, each checked, until one is not linearizable.

* ``exhaustive``: every plan of 1, 2, ... ``max_operations`` operations (operation kinds from
  the workload, spread over the servers in every way up to server symmetry, with the allowed
  idle times), and for each plan every interleaving and every placement of up to ``crashes``
  crashes and ``max_pauses`` pauses: a depth-first search over the choice tree by
  re-execution, pruning at states already explored. Counting up from one operation means the
  first violation found is one of the fewest operations that exist: the model checker's
  method, applied to the code.
* ``random`` and ``pct``: random plans with a random walk or PCT scheduler, until a
  violation or the execution budget.

Every execution's history is checked with the experiment's first check's model.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..checks import first_failing
from ..experiment import Experiment
from ..history import pair
from ..stats import Stats
from ..system import SystemCodeError, bind_roles, request_hook, resolve
from .driver import Budget, Driver, Interleaving, Plan, PlannedOp
from .strategies import PCT, Decision, DepthFirst, RandomWalk, Recording, Replay

if TYPE_CHECKING:
    from ..result import Check


@dataclass
class Found:
    """A failing execution and what the checker said of it."""

    execution: Interleaving
    decisions: list[Decision]
    result: Check


@dataclass
class Exploration:
    """What an exploration did and found."""

    strategy: str
    executions: int = 0
    states: int = 0
    plans: int = 0
    elapsed: float = 0.0
    exhausted: bool = False
    """True when the whole bounded space was covered (exhaustive only)."""
    stopped: str = ""
    """Why it stopped before covering everything (time limit, execution budget, step limit,
    interrupted)."""
    found: Found | None = None
    shrunk: Found | None = None
    shrink_steps: int = 0
    truncated: int = 0
    """Executions cut short by ``max_steps``: what they would have done next was not explored."""
    plans_by_size: dict[int, int] = field(default_factory=dict)
    """Operation count -> plans whose every interleaving was searched (exhaustive) or sampled."""
    complete_up_to: int = 0
    """Every plan of at most this many operations was searched completely (exhaustive)."""
    failure: tuple[Interleaving, SystemCodeError] | None = None
    """An execution stopped by a bug in the system's own code, and the bug."""
    interrupted: bool = False
    trace: list[str] = field(default_factory=list)
    """The shrunk failing execution as numbered lines (what the summary and junit show)."""
    recorded: int = 0
    """Failing plans from the failure database tried before the search."""
    recorded_found: bool = False
    """One of them still fails: only smaller plans were searched after it."""
    workers: str = ""
    """Where levels were searched besides this process (``2 processes``), when anywhere."""

    def rate(self) -> tuple[float, float]:
        elapsed = self.elapsed or 1e-9
        return self.executions / elapsed, self.states / elapsed

    def to_dict(self) -> dict[str, Any]:
        executions_per_s, states_per_s = self.rate()
        best = self.shrunk or self.found
        return {
            "strategy": self.strategy,
            "executions": self.executions,
            "states": self.states,
            "plans": self.plans,
            "elapsed_seconds": round(self.elapsed, 3),
            "executions_per_second": round(executions_per_s, 1),
            "states_per_second": round(states_per_s, 1),
            "exhausted": self.exhausted,
            "stopped": self.stopped,
            "truncated_executions": self.truncated,
            "plans_by_operations": {str(k): v for k, v in sorted(self.plans_by_size.items())},
            "complete_up_to_operations": self.complete_up_to,
            "failure_database": {"tried": self.recorded, "still_fails": self.recorded_found},
            "workers": self.workers or "this process",
            "violation": None
            if best is None
            else {
                "operations": best.execution.plan.operations,
                "steps": len(best.execution.steps),
                "shrink_steps": self.shrink_steps,
                "original_operations": self.found.execution.plan.operations if self.found else None,
            },
        }


Progress = Callable[[Exploration], None]
"""Called with the exploration's report as it goes (the progress bar)."""

SearchLevel = Callable[[Exploration, int, list[Plan], float, Progress | None], bool]
"""Searches one level of an exhaustive exploration: ``(report, index of the level's first plan,
plans, deadline, progress) -> decided``."""

Sample = Callable[[Exploration, float, Progress | None], None]
"""Runs a random or PCT exploration into ``report`` until its deadline, budget or first
violation: ``(report, deadline, progress)``."""


def state_digest(key: Any) -> bytes:
    """A state's identity for coverage counts, the same in every process (``hash()`` of the
    strings in a state is seeded per process, so hashes from worker processes would not
    match)."""
    return hashlib.blake2b(repr(key).encode(), digest_size=8).digest()


class Explorer:
    """Builds and checks executions of one experiment's system."""

    def __init__(self, experiment: Experiment, seed: int) -> None:
        self.experiment = experiment
        self.spec = experiment.explore
        self.seed = seed
        self.system = resolve(experiment.system.name)
        self.roles = bind_roles(self.system, experiment.system.stores, list(experiment.stores))
        self.store_names = list(experiment.stores)
        self.options = dict(experiment.system.options)
        self.servers = experiment.system.servers or 1
        self.checks = experiment.checks
        self.request = request_hook(self.system)
        mix = experiment.workload.mix
        self.kinds = self.spec.operations or [f for f, w in mix.items() if w > 0]
        self.keys = experiment.workload.key_names()
        self.budget = Budget(self.spec.crashes, tuple(self.spec.pauses), self.spec.max_pauses)
        self.stats = Stats()
        """Outcomes of every operation of every execution, by name (the run's outcome table)."""
        self.unexpected: dict[str, int] = {}
        self.should_stop: Callable[[], bool] = lambda: False
        """Polled between executions: true once the exploration was interrupted."""

    # ---------------------------------------------------------------- single executions

    def execute(
        self,
        plan: Plan,
        chooser: Recording,
        visit: Callable[[Driver], bool] | None = None,
        budget: Budget | None = None,
    ) -> Interleaving:
        driver = Driver(
            self.system,
            self.roles,
            self.store_names,
            self.options,
            plan,
            chooser,
            budget or self.budget,
            max_steps=self.spec.max_steps,
            visit=visit,
            stats=self.stats,
            unexpected_errors=self.experiment.system.unexpected_errors,
            actor_steps=self.spec.actor_steps,
        )
        execution = driver.run()
        for name, count in driver.unexpected.items():
            self.unexpected[name] = self.unexpected.get(name, 0) + count
        return execution

    def judge(self, execution: Interleaving) -> Check:
        """Every check of the experiment on one execution's history, as the run would check it."""
        return first_failing(pair(execution.events), self.checks)

    def replay(self, plan: Plan, decisions: list[Decision]) -> tuple[Interleaving, list[Decision]]:
        chooser = Replay(decisions)
        execution = self.execute(plan, chooser)
        return execution, chooser.decisions

    # ---------------------------------------------------------------- plans

    def make_plan(self, servers: list[list[tuple[str, str, float]]]) -> Plan:
        """Number the writes in plan order (1, 2, ...) so that values stay short and unique."""
        n = 0
        built = []
        for ops in servers:
            row = []
            for f, key, idle in ops:
                if f == "read":
                    value = None
                else:
                    n += 1
                    value = self.request(f, key, n, n - 1 if n > 1 else None)
                row.append(PlannedOp(f, key, value, idle))
            built.append(tuple(row))
        return Plan(tuple(built))

    def exhaustive_plans(self, up_to: int | None = None) -> Iterator[Plan]:
        """Every plan of 1, 2, ... ``max_operations`` (or ``up_to``) operations, in a fixed
        order: the order in which one process searches them, and the index a shard names."""
        key = self.keys[0]
        idles = [0.0, *self.spec.idle]
        top = self.spec.max_operations if up_to is None else min(up_to, self.spec.max_operations)
        for count in range(1, top + 1):
            for kinds in itertools.product(self.kinds, repeat=count):
                for assignment in _canonical_assignments(count, self.servers):
                    for idle in itertools.product(idles, repeat=count):
                        if sum(1 for i in idle if i) > self.spec.max_idle:
                            continue
                        rows: list[list[tuple[str, str, float]]] = [[] for _ in range(self.servers)]
                        for f, server, wait in zip(kinds, assignment, idle, strict=True):
                            rows[server].append((f, key, wait))
                        yield self.make_plan(rows)

    def levels(self, up_to: int | None = None) -> Iterator[tuple[int, int, list[Plan]]]:
        """``(operations, index of the level's first plan, the level's plans)``, level by level."""
        first = 0
        for size, group in itertools.groupby(self.exhaustive_plans(up_to), key=lambda plan: plan.operations):
            plans = list(group)
            yield size, first, plans
            first += len(plans)

    def random_plan(self, rng: random.Random) -> Plan:
        count = rng.randint(1, self.spec.max_operations)
        rows: list[list[tuple[str, str, float]]] = [[] for _ in range(self.servers)]
        idles_left = self.spec.max_idle
        for _ in range(count):
            idle = 0.0
            if self.spec.idle and idles_left and rng.random() < 0.5:
                idle = rng.choice(self.spec.idle)
                idles_left -= 1
            rows[rng.randrange(self.servers)].append((rng.choice(self.kinds), rng.choice(self.keys), idle))
        return self.make_plan(rows)

    # ---------------------------------------------------------------- searches

    def explore(
        self,
        progress: Callable[[Exploration], None] | None = None,
        *,
        up_to: int | None = None,
        search_level: SearchLevel | None = None,
        sample: Sample | None = None,
    ) -> Exploration:
        """Search the experiment's space. Exhaustive: every level up to ``up_to`` operations
        (default ``max_operations``), each level by ``search_level`` (default
        :meth:`search_level`, in this process; :mod:`.parallel` fans it out). Random and PCT:
        executions numbered from 0 by ``sample`` (default: in this process; :mod:`.parallel`
        fans them out)."""
        report = Exploration(self.spec.strategy)
        start = time.perf_counter()
        deadline = start + self.spec.time_limit
        try:
            if self.spec.strategy == "exhaustive":
                self._exhaustive(report, deadline, progress, up_to, search_level or self.search_level)
            else:
                (sample or self._sample)(report, deadline, progress)
        finally:
            report.elapsed = time.perf_counter() - start
        if report.exhausted and report.truncated:
            report.exhausted = False
            report.stopped = (
                f"{report.truncated} execution(s) reached max_steps ({self.spec.max_steps}) before they ended"
            )
        return report

    def _failed(self, report: Exploration, execution: Interleaving) -> bool:
        """Record an execution stopped by a bug in the system (the exploration stops too), or
        one cut short by ``max_steps``."""
        if execution.failure is not None:
            report.failure = (execution, execution.failure)
            report.stopped = "a bug in the system's own code"
            return True
        if not execution.complete and not execution.pruned:
            report.truncated += 1
        return False

    def _stop(self, report: Exploration, deadline: float) -> bool:
        if self.should_stop():
            report.interrupted = True
            report.stopped = "interrupted"
            return True
        if time.perf_counter() > deadline:
            report.stopped = f"time limit of {self.spec.time_limit:g}s reached"
            return True
        if report.executions >= self.spec.executions:
            report.stopped = f"execution budget of {self.spec.executions} reached"
            return True
        return False

    def search_plan(
        self, plan: Plan, report: Exploration, deadline: float, budget: Budget | None = None, limit: int | None = None
    ) -> Found | None:
        """Depth-first search over every interleaving and fault placement of ``plan``, by
        re-execution, pruning at states already explored. Stops at the first violation, the
        deadline, or after ``limit`` executions (then ``report.stopped`` says so)."""
        seen: set[Any] = set()
        prefix: list[int] | None = []
        executions = 0
        try:
            while prefix is not None:
                if self._stop(report, deadline) or (limit is not None and executions >= limit):
                    report.stopped = report.stopped or f"{limit} executions for one plan"
                    return None
                chooser = DepthFirst(prefix)

                def visit(driver: Driver, depth: int = len(prefix)) -> bool:
                    if len(driver.choices) < depth:
                        return True  # still replaying the prefix: states seen already
                    key = driver.state_key()
                    if key in seen:
                        return False
                    seen.add(key)
                    return True

                execution = self.execute(plan, chooser, visit, budget)
                report.executions += 1
                executions += 1
                if self._failed(report, execution):
                    return None
                if not execution.pruned:
                    result = self.judge(execution)
                    if result.verdict == "invalid":
                        return Found(execution, chooser.decisions, result)
                prefix = _next_prefix(execution)
            return None
        finally:
            report.states += len(seen)

    def _exhaustive(
        self,
        report: Exploration,
        deadline: float,
        progress: Progress | None,
        up_to: int | None,
        search_level: SearchLevel,
    ) -> None:
        size = 0
        for size, first, plans in self.levels(up_to):
            report.complete_up_to = size - 1
            if search_level(report, first, plans, deadline, progress):
                return
        report.complete_up_to = size
        report.exhausted = up_to is None or up_to >= self.spec.max_operations

    def search_level(
        self, report: Exploration, first: int, plans: list[Plan], deadline: float, progress: Progress | None
    ) -> bool:
        """Search ``plans`` (one level, the first of them plan number ``first``) in order, in
        this process; True once the exploration is decided: a violation, a bug, a limit."""
        for plan in plans:
            report.plans += 1
            found = self.search_plan(plan, report, deadline)
            if found is not None:
                report.found = found
                return True
            if report.stopped:
                return True
            report.plans_by_size[plan.operations] = report.plans_by_size.get(plan.operations, 0) + 1
            if progress is not None:
                progress(report)
        return False

    def sample(self, index: int, seen: set[bytes]) -> tuple[Interleaving, Recording]:
        """Execution number ``index`` of a random or PCT exploration. Its plan and choices come
        from a generator seeded by the run's seed and ``index`` alone, so any process makes
        the same execution; the states it passes through go into ``seen``."""
        rng = random.Random(f"{self.seed}/execution/{index}")
        plan = self.random_plan(rng)
        if self.spec.strategy == "pct":
            chooser: Recording = PCT(rng, self.spec.fault_rate, self.spec.depth, horizon=8 * plan.operations + 8)
        else:
            chooser = RandomWalk(rng, self.spec.fault_rate)

        def visit(driver: Driver) -> bool:
            seen.add(state_digest(driver.state_key()))
            return True

        return self.execute(plan, chooser, visit), chooser

    def _sample(self, report: Exploration, deadline: float, progress: Progress | None) -> None:
        seen: set[bytes] = set()
        while not self._stop(report, deadline):
            execution, chooser = self.sample(report.executions, seen)
            plan = execution.plan
            report.executions += 1
            report.plans += 1
            if self._failed(report, execution):
                break
            report.plans_by_size[plan.operations] = report.plans_by_size.get(plan.operations, 0) + 1
            result = self.judge(execution)
            if result.verdict == "invalid":
                report.found = Found(execution, chooser.decisions, result)
                break
            if progress is not None and report.executions % 256 == 0:
                report.states = len(seen)
                progress(report)
        report.states = len(seen)


def _canonical_assignments(count: int, servers: int) -> Iterator[tuple[int, ...]]:
    """Server of each operation, up to renaming servers: server ``k`` is used only after
    servers ``0..k-1`` have been (symmetric servers run the same code)."""
    for assignment in itertools.product(range(servers), repeat=count):
        highest = -1
        for server in assignment:
            if server > highest + 1:
                break
            highest = max(highest, server)
        else:
            yield assignment


def _next_prefix(execution: Interleaving) -> list[int] | None:
    """The next path of the depth-first search: bump the deepest choice that has a sibling."""
    choices, branching = execution.choices, execution.branching
    for depth in range(len(choices) - 1, -1, -1):
        if choices[depth] + 1 < branching[depth]:
            return [*choices[:depth], choices[depth] + 1]
    return None


__all__ = ["Exploration", "Explorer", "Found"]
