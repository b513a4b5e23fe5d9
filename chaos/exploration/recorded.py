"""Failing plans from the failure database, tried before an exploration searches.

Each recorded plan is replayed with its recorded decisions; when they no longer fit (the
system's code changed), the plan itself is searched briefly. The first that still fails is the
exploration's violation, found at once: an exhaustive exploration then only searches the
levels below it, so what it reports still has the fewest operations. A recorded plan whose
whole search passes is reported back to be forgotten.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..failure_db import RecordedPlan
from .driver import Plan
from .explorer import Exploration, Explorer, Found
from .strategies import Decision

SEARCH_SECONDS = 5.0
"""Time for searching one recorded plan whose decisions no longer fit."""
SEARCH_EXECUTIONS = 2000


@dataclass
class Tried:
    """What trying the recorded plans gave."""

    count: int = 0
    found: Found | None = None
    passing: list[list[list[dict[str, Any]]]] = field(default_factory=list)
    """Recorded plans (as stored) that were searched completely and no longer fail."""


def try_recorded(explorer: Explorer, recorded: list[RecordedPlan]) -> Tried:
    """Try ``recorded`` (smallest first) until one fails."""
    tried = Tried()
    for entry in sorted(recorded, key=lambda e: e.operations):
        try:
            plan = Plan.from_json(entry.plan)
            decisions = [Decision.from_json(d) for d in entry.decisions]
        except (KeyError, TypeError, ValueError, AttributeError):
            tried.passing.append(entry.plan)  # not a plan this version can read: drop it
            continue
        if not 0 < plan.operations <= explorer.spec.max_operations or len(plan.servers) != explorer.servers:
            continue  # made under other bounds: keep it for when they are back
        if explorer.should_stop():
            break
        tried.count += 1
        execution, made = explorer.replay(plan, decisions)
        if execution.complete and execution.failure is None:
            result = explorer.judge(execution)
            if result.verdict == "invalid":
                tried.found = Found(execution, made, result)
                return tried
        scratch = Exploration("recorded")
        deadline = time.perf_counter() + SEARCH_SECONDS
        found = explorer.search_plan(plan, scratch, deadline, limit=SEARCH_EXECUTIONS)
        if found is not None:
            tried.found = found
            return tried
        if scratch.failure is None and not scratch.stopped:
            tried.passing.append(entry.plan)
    return tried


__all__ = ["Tried", "try_recorded"]
