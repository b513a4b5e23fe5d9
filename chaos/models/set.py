"""``set``: a grow-only set per key. ``add`` (``op.value`` the element) and ``read``
(``op.output`` the list of all elements, in any order).

Hooks: a read changes nothing (``read_only``) and an ok read is legal exactly in the state
it returns (``pins``); info reads are dropped, and so are info adds
of an element no ok read contains (adding it can only make later reads illegal); an ok read
containing an element nobody added is ``impossible``.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from chaos.history import Operation
from chaos.models.base import SAME, Model, by_key, describe_value, freeze, unsupported

SET_FS = frozenset({"add", "read"})


def _as_set(output: Any) -> frozenset[Hashable]:
    if output is None:
        return frozenset()
    return frozenset(freeze(v) for v in output)


def _step(state: frozenset[Hashable], op: Operation) -> tuple[bool, frozenset[Hashable]]:
    f = op.f
    if f == "add":
        value = freeze(op.value)
        if value in state:
            return True, state
        return True, state | {value}
    if f == "read":
        if op.status != "ok":
            return True, state
        return _as_set(op.output) == state, state
    raise unsupported("set", op, SET_FS)


def _prepare(ops: list[Operation]) -> list[Operation]:
    seen: set[Hashable] = set()
    kept: list[Operation] = []
    infos: list[Operation] = []
    for op in ops:
        if op.f not in SET_FS:
            raise unsupported("set", op, SET_FS)
        if op.status == "ok":
            kept.append(op)
            if op.f == "read":
                seen |= _as_set(op.output)
        elif op.f == "add":
            infos.append(op)
    kept.extend(op for op in infos if freeze(op.value) in seen)
    return kept


def _impossible(ops: list[Operation]) -> tuple[Operation, str] | None:
    added = {freeze(op.value) for op in ops if op.f == "add"}
    for op in ops:
        if op.f == "read" and op.status == "ok":
            extra = _as_set(op.output) - added
            if extra:
                return op, f"reads {describe_value(sorted(extra, key=repr))}, never added"
    return None


def _describe(state: frozenset[Hashable]) -> str:
    return "set " + describe_value(state)


set_model = Model(
    name="set",
    init=frozenset,
    step=_step,
    partition=by_key,
    describe_state=_describe,
    prepare=_prepare,
    read_only=lambda op: op.f == "read",
    pins=lambda op: (_as_set(op.output), SAME) if op.f == "read" and op.status == "ok" else None,
    effect=lambda op: ("add", freeze(op.value)),
    impossible=_impossible,
    operations=SET_FS,
    doc="grow-only set per key: add and read-all",
)
