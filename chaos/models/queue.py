"""``queue``: an unordered queue (a multiset) per key, Knossos' unordered-queue.

``enqueue`` (``op.value`` the element) and ``dequeue`` (``op.output`` the element removed,
None when the queue was empty). The state is a frozenset of ``(element, count)`` pairs.

An info dequeue removed some unknown element, or nothing: ``successors`` lists one state per
element it could have removed (removing nothing is the same as never happening, which the
checker always allows for info ops). Dropping it would be wrong: an ``enqueue 1``, an info
dequeue and then an ok dequeue of the empty queue are linearizable.

Hooks: an ok dequeue that found the queue empty is legal exactly in the empty queue and
changes nothing (``read_only``, ``pins``); info dequeues only matter when some ok dequeue found the queue empty, and
info enqueues only when some ok dequeue returned their element (``prepare``); an ok dequeue of
an element never enqueued is ``impossible``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from chaos.history import Operation
from chaos.models.base import SAME, Model, by_key, describe_value, freeze, unsupported

QUEUE_FS = frozenset({"enqueue", "dequeue"})
Bag = frozenset[tuple[Hashable, int]]
EMPTY: Bag = frozenset()


def _remove(state: Bag, value: Hashable) -> Bag | None:
    bag = dict(state)
    count = bag.get(value)
    if not count:
        return None
    if count == 1:
        del bag[value]
    else:
        bag[value] = count - 1
    return frozenset(bag.items())


def _step(state: Bag, op: Operation) -> tuple[bool, Bag]:
    f = op.f
    if f == "enqueue":
        bag = dict(state)
        value = freeze(op.value)
        bag[value] = bag.get(value, 0) + 1
        return True, frozenset(bag.items())
    if f == "dequeue":
        if op.status != "ok":
            raise ValueError("an info dequeue has no single next state: use successors")
        if op.output is None:
            return not state, state
        after = _remove(state, freeze(op.output))
        if after is None:
            return False, state
        return True, after
    raise unsupported("queue", op, QUEUE_FS)


def _successors(state: Bag, op: Operation) -> Iterable[Bag]:
    if op.f == "dequeue" and op.status != "ok":
        return [after for value, _ in state if (after := _remove(state, value)) is not None]
    legal, after = _step(state, op)
    return [after] if legal else []


def _prepare(ops: list[Operation]) -> list[Operation]:
    kept: list[Operation] = []
    dequeued: set[Hashable] = set()
    empty_seen = False
    infos: list[Operation] = []
    for op in ops:
        if op.f not in QUEUE_FS:
            raise unsupported("queue", op, QUEUE_FS)
        if op.status == "ok":
            kept.append(op)
            if op.f == "dequeue":
                if op.output is None:
                    empty_seen = True
                else:
                    dequeued.add(freeze(op.output))
        else:
            infos.append(op)
    for op in infos:
        if (op.f == "enqueue" and freeze(op.value) in dequeued) or (op.f == "dequeue" and empty_seen):
            kept.append(op)
    return kept


def _impossible(ops: list[Operation]) -> tuple[Operation, str] | None:
    enqueued = {freeze(op.value) for op in ops if op.f == "enqueue"}
    for op in ops:
        if op.f == "dequeue" and op.status == "ok" and op.output is not None and freeze(op.output) not in enqueued:
            return op, f"dequeues {describe_value(op.output)}, never enqueued"
    return None


def _effect(op: Operation) -> Hashable:
    return (op.f, freeze(op.value)) if op.f == "enqueue" else ("dequeue",)


def _describe(state: Bag) -> str:
    items = []
    for value, count in sorted(state, key=repr):
        items.extend([describe_value(value)] * count)
    return "queue {" + " ".join(items) + "}"


queue = Model(
    name="queue",
    init=frozenset,
    step=_step,
    partition=by_key,
    describe_state=_describe,
    prepare=_prepare,
    read_only=lambda op: op.f == "dequeue" and op.status == "ok" and op.output is None,
    effect=_effect,
    impossible=_impossible,
    successors=_successors,
    pins=lambda op: (EMPTY, SAME) if op.f == "dequeue" and op.status == "ok" and op.output is None else None,
    operations=QUEUE_FS,
    doc="unordered queue (multiset) per key: enqueue and dequeue",
)
