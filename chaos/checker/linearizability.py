"""``check``: is a history linearizable under a model?

Semantics (docs/checker.md says the same at length):

- Each operation is the closed interval ``[call, ret]``; ``a`` precedes ``b`` in real time iff
  ``a.ret < b.call``. On equal timestamps calls are ordered before returns, so operations that
  touch are concurrent.
- ``fail`` operations did not happen: they are removed before the search.
- ``info`` operations (``ret`` None) may take effect at any point after their call, or never,
  with an unknown result.
- A history is linearizable iff there is a total order of all ok operations and some of the
  info operations, consistent with real time, in which every operation is legal for the
  model. By P-compositionality the history is split with ``Model.partition`` and each
  partition is checked on its own; the first invalid partition stops the check.

The verdict is ``unknown`` (never a guess) when the time limit (seconds, for the whole check)
or the memory limit (bytes, the search memo's estimated size, per partition) is reached.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Hashable
from typing import Any

from chaos.checker.result import CheckResult, Counterexample
from chaos.checker.search import Outcome, search
from chaos.history import Operation
from chaos.models import Model, describe_value, get_model

COUNTEREXAMPLE_STEPS = 5_000
"""Search effort (frames) spent looking for a longer counterexample prefix."""
CONCURRENT_SHOWN = 12


def check(
    operations: list[Operation],
    model: Model | str,
    *,
    time_limit: float | None = None,
    memory_limit: int | None = None,
) -> CheckResult:
    """Check ``operations`` against ``model`` (a :class:`Model` or a built-in's name).

    Raises ``ValueError`` when an operation is one the model does not support, and
    ``KeyError``/``ValueError`` (``UnknownModelError``) for an unknown model name.
    """
    # The memo's tuples hold no reference cycles, so collector passes over them (triggered by
    # the allocations themselves) cost time and find nothing: pause the collector meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _check(operations, model, time_limit, memory_limit)
    finally:
        if collecting:
            gc.enable()


def _check(
    operations: list[Operation], model: Model | str, time_limit: float | None, memory_limit: int | None
) -> CheckResult:
    start = time.perf_counter()
    m = get_model(model)
    deadline = start + time_limit if time_limit is not None else None
    groups = _partition(operations, m)
    partitioned = m.partition is not None
    linearization: dict[Any, list[int]] = {}
    explored = 0
    unknown: Outcome | None = None
    unknown_key: Any = None
    for key, ops in groups.items():
        if m.prepare is not None:
            ops = m.prepare(ops)
        if m.read_only is not None:
            ro = m.read_only
            ops = [op for op in ops if op.status == "ok" or not ro(op)]
        refuted = m.impossible(ops) if m.impossible is not None else None
        if refuted is not None:
            outcome = search(ops, m, deadline=deadline, memory_limit=memory_limit,
                             max_steps=COUNTEREXAMPLE_STEPS, cut=False)
            op, why = refuted
            if outcome.verdict != "invalid" or op not in outcome.failed:
                outcome.failed = [op]
                outcome.states = []
            outcome.verdict = "invalid"
            outcome.reason = f"{m.describe_op(op)} {why}: it is legal in no reachable state"
        else:
            if deadline is not None and time.perf_counter() > deadline:
                outcome = Outcome("unknown", reason="time limit reached", limit="time")
            else:
                outcome = search(ops, m, deadline=deadline, memory_limit=memory_limit)
        if outcome.verdict == "invalid":
            _deepen(outcome, ops, m, deadline, memory_limit)
        explored += outcome.explored
        if outcome.verdict == "valid":
            linearization[key] = outcome.order
        elif outcome.verdict == "invalid":
            cx = _counterexample(key, outcome, m, partitioned)
            return CheckResult(
                verdict="invalid",
                model=m.name,
                reason=cx.reason,
                counterexample=cx,
                linearization=linearization if partitioned else [],
                partitions=len(groups),
                operations=len(operations),
                elapsed=time.perf_counter() - start,
                explored=explored,
            )
        elif unknown is None:
            unknown, unknown_key = outcome, key
    elapsed = time.perf_counter() - start
    if unknown is not None:
        where = f" in partition {_key_text(unknown_key)}" if partitioned else ""
        return CheckResult(
            verdict="unknown",
            model=m.name,
            reason=f"{unknown.reason}{where} (limit: {unknown.limit})",
            linearization=linearization if partitioned else [],
            partitions=len(groups),
            operations=len(operations),
            elapsed=elapsed,
            explored=explored,
        )
    return CheckResult(
        verdict="valid",
        model=m.name,
        linearization=linearization if partitioned else linearization.get(None, []),
        partitions=len(groups),
        operations=len(operations),
        elapsed=elapsed,
        explored=explored,
    )


def _deepen(outcome: Outcome, ops: list[Operation], model: Model, deadline: float | None,
            memory_limit: int | None) -> None:
    """Look for a longer prefix than the verdict's search found.

    Cutting dead branches stops the search where a needed state is left for good (the write
    that a stale read returns is overwritten), which can be long before the op that cannot be
    placed. A bounded search without cutting runs up to that op; its deepest prefix, if
    longer, becomes the counterexample's. Depth-first, its first dive already goes as deep as
    greed allows, so a budget of about two frames per op is enough and keeps this cheap.
    """
    deeper = search(ops, model, deadline=deadline, memory_limit=memory_limit,
                    max_steps=min(COUNTEREXAMPLE_STEPS, 2 * len(ops) + 100), cut=False)
    if deeper.verdict != "valid" and len(deeper.prefix) > len(outcome.prefix) and deeper.failed:
        outcome.prefix = deeper.prefix
        outcome.failed = deeper.failed
        outcome.states = deeper.states


def _partition(operations: list[Operation], model: Model) -> dict[Hashable, list[Operation]]:
    """Group the operations that happened (or may have) by partition key, in first-seen order."""
    part = model.partition
    if part is None:
        return {None: [op for op in operations if op.status != "fail"]}
    groups: dict[Hashable, list[Operation]] = {}
    for op in operations:
        if op.status == "fail":
            continue
        key = part(op)
        group = groups.get(key)
        if group is None:
            groups[key] = [op]
        else:
            group.append(op)
    return groups


def _key_text(key: Any) -> str:
    return describe_value(key)


def _counterexample(key: Any, outcome: Outcome, model: Model, partitioned: bool) -> Counterexample:
    """Evidence small enough to print: the failed ops, the tail of the prefix, the state(s)
    that rejected them and the ops concurrent with them."""
    describe_op = model.describe_op
    failed = outcome.failed
    states = [model.describe_state(s) for s in outcome.states]
    prefix = outcome.prefix
    tail = prefix[-8:]
    concurrent: list[Operation] = []
    involved = {op.id for op in failed} | {op.id for op in tail}
    for f in failed:
        for op in outcome.ops:
            if op.id in involved or len(concurrent) >= CONCURRENT_SHOWN:
                continue
            overlaps = op.call <= (f.ret if f.ret is not None else op.call) and (
                op.ret is None or op.ret >= f.call
            )
            if overlaps:
                concurrent.append(op)
                involved.add(op.id)
    where = f"partition {_key_text(key)}: " if partitioned else ""
    if outcome.reason and outcome.reason != "no linearization":
        reason = where + outcome.reason
    elif failed:
        reason = (
            f"{where}{describe_op(failed[0])} cannot be linearized after {len(prefix)} operations"
            + (f": illegal in state {states[0]}" if states else "")
        )
    else:
        reason = where + "no linearization"
    lines = [f"cannot place: {describe_op(op)}" for op in failed]
    for s in states:
        lines.append(f"in model state: {s}")
    if prefix:
        shown = "" if len(prefix) <= len(tail) else f", last {len(tail)} shown"
        lines.append(f"after the linearizable prefix ({len(prefix)} ops{shown}):")
        lines.extend(f"    {describe_op(op)}" for op in tail)
    else:
        lines.append("after no operation (the empty prefix)")
    if concurrent:
        lines.append("concurrent with:")
        lines.extend(f"    {describe_op(op)}" for op in concurrent)
    ops = [op.to_dict() for op in [*failed, *tail, *concurrent]]
    return Counterexample(
        key=key,
        prefix=[op.id for op in prefix],
        failed=[op.id for op in failed],
        states=states,
        operations=ops,
        reason=reason,
        explanation=lines,
    )
