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

Partitions are searched in turns with growing budgets (chaos/checker/schedule.py), so a hard
one cannot hold back an easy invalid one. The verdict is ``unknown`` (never a guess) when the
time limit (seconds, for the whole check, clean-up included) or the memory limit (bytes, what
the check allocates; chaos/checker/budget.py) is reached, naming the partitions undecided.
"""

from __future__ import annotations

import gc
from collections.abc import Hashable
from typing import Any

from chaos.checker import schedule
from chaos.checker.budget import DEFAULT_TIME_LIMIT, Budget
from chaos.checker.result import CheckResult, Counterexample
from chaos.checker.wgl import NO_INIT, Outcome, run, search
from chaos.history import Operation
from chaos.models import Model, describe_value, get_model
from chaos.models.errors import BadInit, UnsupportedOperation
from chaos.models.user import guard

COUNTEREXAMPLE_STEPS = 5_000
"""Search effort (frames) spent looking for a longer counterexample prefix."""
CONCURRENT_SHOWN = 12
UNDECIDED_SHOWN = 8


def check(
    operations: list[Operation],
    model: Model | str,
    *,
    time_limit: float | None = None,
    memory_limit: int | None = None,
    init: Any = NO_INIT,
) -> CheckResult:
    """Check ``operations`` against ``model`` (a :class:`Model`, a built-in's name or a user
    model as ``"package.module:attribute"``).

    ``time_limit`` (seconds; default 10 minutes, ``math.inf`` for none) covers the whole
    check, clean-up included; ``memory_limit`` (bytes) bounds what the check allocates
    (default: half the RAM, at most 8 GiB; see chaos/checker/budget.py). ``init`` replaces
    the model's initial state: a value as JSON gives it (``0`` for a register;
    ``{"x": 0, "y": 0}`` for a multi-register); for a partitioned model a JSON object maps
    partition keys to initial values (keys it does not name start from the model's own).

    Raises :class:`chaos.models.UnknownModelError` for an unknown model,
    :class:`chaos.models.errors.UnsupportedOperation` for an operation the model does not
    support (both bad input: a ``BadInput`` and a ``ValueError``) and
    :class:`chaos.models.errors.ModelError` when a user model's code raises.
    """
    # The memo's tuples hold no reference cycles, so collector passes over them (triggered by
    # the allocations themselves) cost time and find nothing: pause the collector meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _check(operations, model, time_limit, memory_limit, init)
    finally:
        if collecting:
            gc.enable()


def _check(
    operations: list[Operation], model: Model | str, time_limit: float | None, memory_limit: int | None, init: Any
) -> CheckResult:
    budget = Budget.start(time_limit, memory_limit)
    m = guard(get_model(model))
    partitioned = m.partition is not None
    try:
        groups = _partition(operations, m)
        tasks: list[schedule.Task] = []
        for key, ops in groups.items():
            if m.prepare is not None:
                ops = m.prepare(ops)
            first = _initial(m, init, key, partitioned)
            refuted = m.impossible(ops) if m.impossible is not None else None
            if refuted is not None:
                outcome = run(search(ops, m, init=first, max_steps=COUNTEREXAMPLE_STEPS, cut=False))
                op, why = refuted
                if outcome.verdict != "invalid" or op not in outcome.failed:
                    outcome.failed = [op]
                    outcome.states = []
                outcome.verdict = "invalid"
                outcome.reason = f"{m.describe_op(op)} {why}: it is legal in no reachable state"
                return _invalid(key, outcome, m, partitioned, {}, len(groups), operations, budget, outcome.explored)
            tasks.append(schedule.Task(key, _starter(ops, m, first), extra={"ops": ops, "init": first}))
        found = schedule.run(tasks, budget)
    except MemoryError:
        return CheckResult(
            verdict="unknown",
            model=m.name,
            reason=f"{budget.describe_memory()} (out of memory)",
            partitions=0,
            operations=len(operations),
            elapsed=budget.elapsed(),
        )
    explored = sum(t.outcome.explored for t in tasks if t.outcome is not None)
    linearization = {t.key: t.outcome.order for t in tasks if t.outcome is not None and t.outcome.verdict == "valid"}
    if found is not None:
        lost = found.outcome
        assert lost is not None
        if not budget.out_of_time(0):
            _deepen(lost, found.extra["ops"], m, found.extra["init"])
        return _invalid(found.key, lost, m, partitioned, linearization, len(groups), operations, budget, explored)
    undecided = [t for t in tasks if t.outcome is None or t.outcome.verdict != "valid"]
    if undecided:
        return CheckResult(
            verdict="unknown",
            model=m.name,
            reason=_undecided(undecided, budget, time_limit, partitioned),
            linearization=linearization if partitioned else [],
            partitions=len(groups),
            operations=len(operations),
            elapsed=budget.elapsed(),
            explored=explored,
        )
    return CheckResult(
        verdict="valid",
        model=m.name,
        linearization=linearization if partitioned else linearization.get(None, []),
        partitions=len(groups),
        operations=len(operations),
        elapsed=budget.elapsed(),
        explored=explored,
    )


def _starter(ops: list[Operation], model: Model, init: Any) -> Any:
    return lambda: search(ops, model, init=init)


def _initial(model: Model, init: Any, key: Any, partitioned: bool) -> Any:
    """The initial state of partition ``key``: the model's own, or from ``init``."""
    if init is NO_INIT:
        return NO_INIT
    if partitioned and isinstance(init, dict):
        name = key if isinstance(key, str) else describe_value(key)
        if name not in init:
            return NO_INIT
        init = init[name]
    if model.initial is None:
        return init
    try:
        return model.initial(init)
    except (TypeError, ValueError) as exc:
        raise BadInit(f"model {model.name!r} cannot start from init {init!r}: {exc}") from None


def _undecided(tasks: list[schedule.Task], budget: Budget, time_limit: float | None, partitioned: bool) -> str:
    """Why the check is unknown, naming the partitions left undecided."""
    limits: set[str] = {(t.outcome.limit or "time") if t.outcome is not None else "time" for t in tasks}
    parts = []
    if "time" in limits or "stopped" in limits:
        seconds = time_limit if time_limit is not None else DEFAULT_TIME_LIMIT
        parts.append(f"time limit of {seconds:g} s reached")
    if "memory" in limits:
        parts.append(budget.describe_memory())
    if "steps" in limits:
        parts.append("step limit reached")
    head = " and ".join(parts) or "undecided"
    if not partitioned:
        explored = tasks[0].outcome.explored if tasks[0].outcome is not None else 0
        return f"{head} after {explored:,} configurations (limit: {', '.join(sorted(limits - {'stopped'}))})"
    shown = ", ".join(
        f"{_key_text(t.key)} ({t.outcome.explored if t.outcome else 0:,} configurations"
        f"{', ' + t.outcome.limit if t.outcome and t.outcome.limit and len(limits) > 1 else ''})"
        for t in tasks[:UNDECIDED_SHOWN]
    )
    more = f" and {len(tasks) - UNDECIDED_SHOWN} more" if len(tasks) > UNDECIDED_SHOWN else ""
    noun = "partition" if len(tasks) == 1 else "partitions"
    return f"{head}; undecided {noun}: {shown}{more} (limit: {', '.join(sorted(limits - {'stopped'}))})"


def _invalid(
    key: Any,
    outcome: Outcome,
    m: Model,
    partitioned: bool,
    linearization: dict[Any, list[int]],
    partitions: int,
    operations: list[Operation],
    budget: Budget,
    explored: int,
) -> CheckResult:
    cx = _counterexample(key, outcome, m, partitioned)
    return CheckResult(
        verdict="invalid",
        model=m.name,
        reason=cx.reason,
        counterexample=cx,
        linearization=linearization if partitioned else [],
        partitions=partitions,
        operations=len(operations),
        elapsed=budget.elapsed(),
        explored=explored,
    )


def _deepen(outcome: Outcome, ops: list[Operation], model: Model, init: Any) -> None:
    """Look for a longer prefix than the verdict's search found.

    Cutting dead branches stops the search where a needed state is left for good (the write
    that a stale read returns is overwritten), which can be long before the op that cannot be
    placed. A bounded search without cutting runs up to that op; its deepest prefix, if
    longer, becomes the counterexample's. Depth-first, its first dive already goes as deep as
    greed allows, so a budget of about two frames per op is enough and keeps this cheap.
    """
    deeper = run(search(ops, model, init=init, max_steps=min(COUNTEREXAMPLE_STEPS, 2 * len(ops) + 100), cut=False))
    if deeper.verdict != "valid" and len(deeper.prefix) > len(outcome.prefix) and deeper.failed:
        outcome.prefix = deeper.prefix
        outcome.failed = deeper.failed
        outcome.states = deeper.states


def _partition(operations: list[Operation], model: Model) -> dict[Hashable, list[Operation]]:
    """Group the operations that happened (or may have) by partition key, in first-seen order,
    refusing an operation whose name the model does not support (``Model.operations``)."""
    part = model.partition
    known = model.operations
    if known is not None:
        for op in operations:
            if op.f not in known:
                raise UnsupportedOperation.of(model.name, op, known)
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
            overlaps = op.call <= (f.ret if f.ret is not None else op.call) and (op.ret is None or op.ret >= f.call)
            if overlaps:
                concurrent.append(op)
                involved.add(op.id)
    where = f"partition {_key_text(key)}: " if partitioned else ""
    if outcome.reason and outcome.reason != "no linearization":
        reason = where + outcome.reason
    elif failed:
        reason = f"{where}{describe_op(failed[0])} cannot be linearized after {len(prefix)} operations" + (
            f": illegal in state {states[0]}" if states else ""
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
