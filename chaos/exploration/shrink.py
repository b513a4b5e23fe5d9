"""Shrinking: make a failing execution as small as it can be while it still fails.

In the spirit of Hypothesis, a failure is a plan plus a list of decisions, and shrinking tries
edits that make it smaller, keeping any edit after which the execution (replayed with
:class:`~chaos.exploration.strategies.Replay`) is still not linearizable:

1. drop an operation;
2. move a server's operations to another server (fewer servers);
3. drop a fault, or move it to an earlier call of the same server;
4. drop an idle time, and shorten a pause to a shorter allowed one;
5. drop trailing decisions (the default order takes over).

It repeats until no edit helps; values stay as short as they are (writes are numbered in plan
order, ``m1``/``i1``...). The result is ordered by size: fewer operations, then fewer servers,
fewer faults, fewer steps.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from .driver import Budget, Plan
from .explorer import Exploration, Explorer, Found
from .strategies import Decision


def _size(found: Found) -> tuple[int, int, int, int]:
    plan = found.execution.plan
    faults = sum(1 for d in found.decisions if d.fault is not None)
    return (plan.operations, sum(1 for ops in plan.servers if ops), faults, len(found.execution.steps))


def _rows(plan: Plan) -> list[list[tuple[str, str, float]]]:
    return [[(op.f, op.key, op.idle) for op in ops] for ops in plan.servers]


def _budget(decisions: list[Decision]) -> Budget:
    """The smallest fault budget that allows ``decisions``."""
    crashes = sum(1 for d in decisions if d.fault in ("crash-before", "crash-after"))
    pauses = [d.pause for d in decisions if d.fault == "pause"]
    return Budget(crashes, tuple(sorted(set(pauses))), len(pauses))


Candidate = tuple[Plan, list[Decision], Budget | None]
"""A smaller plan and decisions to replay; with a budget, a bounded search of the plan under
that budget is tried when the replay no longer fails (edits shift every later decision)."""


def _candidates(explorer: Explorer, found: Found) -> Iterator[Candidate]:
    plan, decisions = found.execution.plan, found.decisions
    rows = _rows(plan)
    budget = _budget(decisions)
    # 1. drop an operation
    for s, ops in enumerate(rows):
        for i in range(len(ops)):
            edited = [list(r) for r in rows]
            del edited[s][i]
            yield explorer.make_plan(edited), decisions, budget
    # 2. fewer servers: move the last busy server's operations onto another
    busy = [s for s, ops in enumerate(rows) if ops]
    if len(busy) > 1:
        last = busy[-1]
        for target in busy[:-1]:
            edited = [list(r) for r in rows]
            edited[target] = edited[target] + edited[last]
            edited[last] = []
            moved = f"server-{last}"
            renamed = [Decision(f"server-{target}", d.fault, d.pause) if d.actor == moved else d for d in decisions]
            yield explorer.make_plan(edited), renamed, budget
    # 3. drop a fault, or move it one call earlier for the same server
    for i, d in enumerate(decisions):
        if d.fault is None:
            continue
        without = [*decisions[:i], Decision(d.actor), *decisions[i + 1 :]]
        yield plan, without, _budget(without)
        for j in range(i - 1, -1, -1):
            if decisions[j].actor == d.actor and decisions[j].fault is None:
                swapped = list(decisions)
                swapped[j], swapped[i] = d, Decision(d.actor)
                yield plan, swapped, None
                break
        if d.fault == "crash-after":
            yield plan, [*decisions[:i], Decision(d.actor, "crash-before"), *decisions[i + 1 :]], None
        if d.fault == "pause":
            for shorter in sorted(p for p in explorer.budget.pauses if p < d.pause):
                yield plan, [*decisions[:i], Decision(d.actor, "pause", shorter), *decisions[i + 1 :]], None
    # 4. drop an idle time
    for s, ops in enumerate(rows):
        for i, (f, key, idle) in enumerate(ops):
            if idle:
                edited = [list(r) for r in rows]
                edited[s][i] = (f, key, 0.0)
                yield explorer.make_plan(edited), decisions, budget
    # 5. drop trailing decisions
    for cut in range(len(decisions) - 1, -1, -1):
        yield plan, decisions[:cut], None


def shrink(explorer: Explorer, found: Found, time_limit: float = 30.0, search_limit: int = 3000) -> tuple[Found, int]:
    """The smallest failing execution reachable by greedy edits, and how many edits stuck.

    Each candidate is first replayed; if that passes and the candidate carries a budget, a
    depth-first search of up to ``search_limit`` executions looks for any failing schedule of
    it. The whole shrink stops after ``time_limit`` seconds with the best found so far."""
    best = found
    accepted = 0
    deadline = time.perf_counter() + time_limit
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for plan, decisions, budget in _candidates(explorer, best):
            if time.perf_counter() > deadline:
                break
            if plan.operations == 0:
                continue
            candidate = _try(explorer, plan, decisions, budget, deadline, search_limit)
            if candidate is not None and _size(candidate) < _size(best):
                best = candidate
                accepted += 1
                improved = True
                break
    return best, accepted


def _try(
    explorer: Explorer, plan: Plan, decisions: list[Decision], budget: Budget | None, deadline: float, limit: int
) -> Found | None:
    execution, made = explorer.replay(plan, decisions)
    if execution.complete:
        result = explorer.judge(execution)
        if result.verdict == "invalid":
            return Found(execution, made, result)
    if budget is None:
        return None
    scratch = Exploration("shrink")
    explorer_deadline = min(deadline, time.perf_counter() + 5.0)
    return explorer.search_plan(plan, scratch, explorer_deadline, budget, limit)
