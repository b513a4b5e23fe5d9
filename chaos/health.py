"""Health checks: signs that an execution could not have found anything.

Hypothesis calls these health checks: a test whose data generation keeps failing is not
evidence of anything, however green it ends. A chaos run is the same: a run in which every
write failed, or no fault ever fired, or a store answered nothing but errors, says ``valid``
about a system it never exercised. Each warning names what was not exercised; under
``--strict`` (or ``strict: true``) any warning makes the outcome ``unknown`` (exit 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .execution import Execution

if TYPE_CHECKING:
    from .result import Check

INFO_SHARE = 0.5
"""Above this share of ``info`` operations the history constrains little: each may or may
not have happened, and the checker accepts either."""


def warnings(execution: Execution, checks: Sequence[Check]) -> list[str]:
    """Every sign that ``execution`` could not have found a violation, as one line each."""
    found: list[str] = []
    experiment = execution.experiment
    outcomes = execution.stats.outcomes
    if execution.mode == "explore":
        kinds = experiment.explore.operations or [f for f, w in experiment.workload.mix.items() if w > 0]
    else:
        kinds = [f for f, w in experiment.workload.mix.items() if w > 0]
    for f in kinds:
        counts = outcomes.get(f)
        if counts is None or sum(counts.values()) == 0:
            if not execution.interrupted:
                found.append(f"operation {f!r} never ran")
        elif counts["ok"] == 0:
            found.append(f"operation {f!r} never succeeded ({counts['fail']} fail, {counts['info']} info)")
    total = sum(sum(c.values()) for c in outcomes.values())
    unknown = sum(c["info"] for c in outcomes.values())
    if total and unknown / total > INFO_SHARE:
        found.append(f"{unknown} of {total} operations ended info (outcome unknown): the history constrains little")
    if experiment.faults and execution.mode == "run" and not execution.interrupted:
        if not any(f.fired for f in execution.faults):
            found.append(f"{len(experiment.faults)} fault(s) declared, none fired")
        else:
            for usage in execution.faults:
                if usage.matched == 0:
                    found.append(f"fault {usage.index} ({usage.kind}) never matched a call")
    if experiment.faults and execution.mode == "explore":
        # The explorer places its own crashes and pauses; a faults: list would otherwise be
        # read as tested when nothing of it ever ran.
        found.append(
            f"{len(experiment.faults)} fault(s) declared under faults:, which an exploration does not "
            "inject (it places its own: explore.crashes, explore.pauses)"
        )
    found.extend(execution.fault_problems)
    for store in execution.stores:
        if store.calls and store.errors == store.calls:
            found.append(f"store {store.name!r} ({store.adapter}) answered all {store.calls} calls with errors")
    if execution.unexpected_errors:
        listed = ", ".join(f"{name} x{count}" for name, count in execution.unexpected_errors.items())
        found.append(f"the system's own code raised in operations (recorded as info): {listed}")
    for check in checks:
        if check.operations == 0 and execution.mode == "run":
            found.append(f"check {check.model} saw no operation")
    return found


__all__ = ["INFO_SHARE", "warnings"]
