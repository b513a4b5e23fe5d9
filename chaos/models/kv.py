"""``kv``: a key-value map, checked key by key: our runner's names and Porcupine's.

Operations (``op.key`` is the key):

- ``read`` / ``get``: ``op.output`` the value read;
- ``write`` / ``put``: ``op.value`` the value written;
- ``cas``: ``op.value == [expected, new]``, ok means it swapped;
- ``append``: ``op.value`` a string added to the end of the value (Porcupine's kv).

Porcupine's semantics for a missing key: it reads as the empty string, and appending to it
gives the appended string. So an absent key (``None``, our runner's reading) and the empty
string are one state here: a read of ``""`` and a read of ``None`` both find a key nobody
wrote, and a ``put`` of ``""`` empties it. Appending to a value that is not a string is
illegal.

Reads, writes and cas are the register's (same hooks, same soundness argument; see
chaos/models/register.py). An ``append``'s next state depends on the state, so it is run
through ``step``; while a partition has appends, no info write is dropped as unobserved (a
value written and then appended to is read as a longer string).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, cast

from chaos.history import Operation
from chaos.models.base import ANY, SAME, Model, by_key, describe_value, freeze, malformed, unsupported
from chaos.models.register import _describe_register, _prepare_with

KV_FS = frozenset({"read", "get", "write", "put", "cas", "append"})
READS = frozenset({"read", "get"})
WRITES = frozenset({"write", "put"})


def canon(value: Any) -> Hashable:
    """A value as a state: the empty string is the absent key (None), lists are tuples."""
    kind = type(value)
    if kind is int or value is None:
        return cast(Hashable, value)
    if kind is str:
        return cast(Hashable, value) if value else None
    return freeze(value)


def _cas_pair(op: Operation) -> tuple[Any, Any]:
    value = op.value
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise malformed("kv", op, f"needs value [expected, new], got {describe_value(value)}")
    return value[0], value[1]


def _step(state: Any, op: Operation) -> tuple[bool, Any]:
    f = op.f
    if f in READS:
        if op.status != "ok":
            return True, state
        return canon(op.output) == state, state
    if f in WRITES:
        return True, canon(op.value)
    if f == "cas":
        expected, new = _cas_pair(op)
        return canon(expected) == state, canon(new)
    if f == "append":
        suffix = op.value
        if not isinstance(suffix, str):
            raise malformed("kv", op, f"appends a string, got {describe_value(suffix)}")
        if state is None:
            return True, canon(suffix)
        if not isinstance(state, str):
            return False, state
        return True, state + suffix
    raise unsupported("kv", op, KV_FS)


def _pins(op: Operation) -> tuple[Any, Any] | None:
    f = op.f
    if f in READS:
        return (canon(op.output) if op.status == "ok" else ANY), SAME
    if f in WRITES:
        return ANY, canon(op.value)
    if f == "cas":
        expected, new = _cas_pair(op)
        return canon(expected), canon(new)
    if f == "append":
        return None
    raise unsupported("kv", op, KV_FS)


def _effect(op: Operation) -> Hashable:
    f = op.f
    if f in WRITES:
        return ("write", canon(op.value))
    if f == "cas":
        expected, new = _cas_pair(op)
        return ("cas", canon(expected), canon(new))
    return (f, freeze(op.value))


_register_prepare = _prepare_with("kv", KV_FS - {"append", "get", "put"})


def _prepare(ops: list[Operation]) -> list[Operation]:
    for op in ops:
        if op.f not in KV_FS:
            raise unsupported("kv", op, KV_FS)
        if op.f == "cas":
            _cas_pair(op)
    if any(op.f == "append" for op in ops):
        return [op for op in ops if op.status == "ok" or op.f not in READS]
    if not any(op.f in ("get", "put") or _empty(op) for op in ops):
        return _register_prepare(ops)
    return _register_prepare([_as_register(op) for op in ops])


def _empty(op: Operation) -> bool:
    return bool(op.value == "" or op.output == "")


def _as_register(op: Operation) -> Operation:
    """``op`` under the register's names and canonical values, for the register's prepare
    (which only decides what to keep: the original op is what is kept)."""
    f = "read" if op.f in READS else "write" if op.f in WRITES else op.f
    if op.f == "cas":
        expected, new = _cas_pair(op)
        value: Any = [canon(expected), canon(new)]
    else:
        value = canon(op.value)
    twin = Operation(
        id=op.id,
        process=op.process,
        f=f,
        key=op.key,
        value=value,
        output=canon(op.output),
        status=op.status,
        call=op.call,
        ret=op.ret,
    )
    twin.extra["original"] = op
    return twin


def _restore(ops: list[Operation]) -> list[Operation]:
    return [op.extra.get("original", op) for op in ops]


def _prepare_kv(ops: list[Operation]) -> list[Operation]:
    return _restore(_prepare(ops))


kv = Model(
    name="kv",
    init=lambda: None,
    step=_step,
    partition=by_key,
    describe_state=_describe_register,
    prepare=_prepare_kv,
    read_only=lambda op: op.f in READS,
    effect=_effect,
    pins=_pins,
    operations=KV_FS,
    initial=canon,
    doc="key-value map, one register per key: read/get, write/put, cas, append (a missing key reads as '')",
)
