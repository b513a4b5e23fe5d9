"""``multi-register``: Knossos' multi-register, registers updated by transactions.

One operation, ``txn``, whose value is a list of micro-operations ``[f, key, value]`` with
``f`` in ``r``/``read`` and ``w``/``write``; an ok transaction's output is the same list with
the values read filled in. Every register starts as None (``init``: a JSON object such as
``{"x": 0, "y": 0}`` gives other initial values). As in Knossos, a read of nil constrains
nothing: it is what an unknown read looks like in Jepsen's histories. The whole history is one
partition (a transaction may touch several keys).

Hooks: a transaction of reads only changes nothing (``read_only``); an info transaction's reads
are unknown, so only its writes are applied.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from chaos.history import Operation
from chaos.models.base import Model, describe_value, freeze, malformed, unsupported

READS = frozenset({"r", "read", ":r"})
WRITES = frozenset({"w", "write", ":w"})
State = tuple[tuple[Hashable, Hashable], ...]


def _micro(op: Operation) -> list[Any]:
    txn = op.output if op.status == "ok" and op.output is not None else op.value
    if not isinstance(txn, list | tuple) or not all(isinstance(m, list | tuple) and len(m) == 3 for m in txn):
        raise malformed("multi-register", op, f"needs a list of [f key value], got {describe_value(txn)}")
    return list(txn)


def _step(state: State, op: Operation) -> tuple[bool, State]:
    if op.f != "txn":
        raise unsupported("multi-register", op, {"txn"})
    regs = dict(state)
    changed = False
    for mop in _micro(op):
        f, key, value = mop
        key = freeze(key)
        if f in READS:
            if op.status == "ok" and value is not None and regs.get(key) != freeze(value):
                return False, state
        elif f in WRITES:
            regs[key] = freeze(value)
            changed = True
        else:
            raise malformed("multi-register", op, f"has an unknown micro-op {describe_value(f)}")
    if not changed:
        return True, state
    return True, tuple(sorted(((k, v) for k, v in regs.items() if v is not None), key=repr))


def _read_only(op: Operation) -> bool:
    return all(mop[0] in READS for mop in _micro(op))


def _initial(value: Any) -> State:
    """``{"x": 0, "y": 0}`` (or pairs ``[["x", 0]]``) as a state; nil registers are left out."""
    items = value.items() if isinstance(value, dict) else value
    try:
        pairs = [(freeze(k), freeze(v)) for k, v in items]
    except (TypeError, ValueError):
        raise ValueError(f'init {value!r}: give the registers as an object, e.g. {{"x": 0}}') from None
    return tuple(sorted(((k, v) for k, v in pairs if v is not None), key=repr))


def _prepare(ops: list[Operation]) -> list[Operation]:
    out = []
    for op in ops:
        if op.f != "txn":
            raise unsupported("multi-register", op, {"txn"})
        if op.status == "ok" or not _read_only(op):
            out.append(op)
    return out


def _describe(state: State) -> str:
    if not state:
        return "all nil"
    return ", ".join(f"{describe_value(k)}={describe_value(v)}" for k, v in state)


multi_register = Model(
    name="multi-register",
    init=tuple,
    step=_step,
    describe_state=_describe,
    prepare=_prepare,
    read_only=_read_only,
    operations=frozenset({"txn"}),
    initial=_initial,
    doc="Knossos multi-register: transactions of reads and writes over several registers",
)
