"""Searching many partitions so that no hard one holds back the rest.

Each partition's search is a generator (chaos/checker/wgl.py, the Wing & Gong / Lowe search) that yields every few
thousand steps. The scheduler runs them round-robin with growing budgets: every partition
first gets one slice (most finish within it), then the undecided ones take turns, each turn
twice as long as the last. So the work spent on the partitions still undecided stays within
a factor of two of each other's, a partition that needs a few milliseconds is decided after a
few milliseconds times the number of partitions, whatever the others need, and the first
invalid partition ends the check.

At every yield the budget is consulted: past the deadline (counting the time to free every
live memo) the check ends ``unknown``; over the memory limit the running search is stopped
``unknown`` and freed, and the others go on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from chaos.checker.budget import Budget
from chaos.checker.wgl import Outcome, SearchSteps


@dataclass(slots=True)
class Task:
    """One partition's search."""

    key: Hashable
    start: Callable[[], SearchSteps]
    """Creates the search (its set-up runs on the first step)."""
    steps: SearchSteps | None = None
    outcome: Outcome | None = None
    memory: int = 0
    """The search's memory estimate (bytes) at its last yield."""
    quota: int = 1
    """Slices this task may run in its next turn."""
    slices: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def run(tasks: list[Task], budget: Budget) -> Task | None:
    """Run the tasks until one is invalid (returned, the others stopped) or all are decided
    or out of budget (None). Every task ends with an ``outcome``."""
    queue = deque(tasks)
    live = 0  # bytes held by suspended searches
    while queue:
        task = queue.popleft()
        live -= task.memory
        if budget.out_of_time(live + task.memory):
            _stop(task, "time")
            live = _stop_all(queue, "time")
            return None
        used = 0
        while True:
            try:
                if task.steps is None:
                    task.steps = task.start()
                    task.memory = next(task.steps)
                else:
                    task.memory = task.steps.send(None)
            except StopIteration as done:
                task.outcome = done.value
                task.steps = None
                break
            except MemoryError:
                task.steps = None
                task.memory = 0
                task.outcome = Outcome("unknown", reason="memory", limit="memory")
                budget.freed()
                break
            task.slices += 1
            if budget.out_of_time(live + task.memory):
                _stop(task, "time")
                _stop_all(queue, "time")
                return None
            if budget.out_of_memory(live + task.memory):
                _stop(task, "memory")
                budget.freed()
                break
            used += 1
            if used >= task.quota:
                task.quota *= 2
                queue.append(task)
                live += task.memory
                break
        outcome = task.outcome
        if outcome is not None and outcome.verdict == "invalid":
            _stop_all(queue, "stopped")
            return task
    return None


def _stop(task: Task, reason: str) -> None:
    """Stop a task's search with ``reason``; it keeps the partial outcome and frees its memo."""
    steps = task.steps
    task.steps = None
    task.memory = 0
    if steps is None:
        task.outcome = Outcome("unknown", reason=reason, limit=reason)
        return
    try:
        steps.send(reason)
    except StopIteration as done:
        task.outcome = done.value
    except MemoryError:
        task.outcome = Outcome("unknown", reason=reason, limit=reason)
    else:  # pragma: no cover - a search always returns when told to stop
        steps.close()
        task.outcome = Outcome("unknown", reason=reason, limit=reason)


def _stop_all(queue: deque[Task], reason: str) -> int:
    while queue:
        _stop(queue.popleft(), reason)
    return 0
