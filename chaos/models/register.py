"""Registers: ``register`` (read/write), ``cas-register`` (read/write/cas) and ``kv``.

Conventions (what the runner records): ``read`` has ``op.value`` None and ``op.output`` the
value read (None = absent, the initial value of every key); ``write`` has ``op.value`` the
value written; ``cas`` has ``op.value == [expected, new]`` and ``ok`` means it swapped (a
``fail`` cas did not happen and is removed before the search).

All three partition by ``op.key``: ops on different keys never interact, and ops whose key is
None form one partition, so a key-less Jepsen history is a single register. ``kv``
(chaos/models/kv.py) is ``cas-register`` with Porcupine's names and ``append`` as well.

Why the hooks are sound (they are also fuzzed against a brute-force reference):

- ``read_only``: a read changes nothing in any state, so a pending read that is legal now can
  be linearized at once.
- ``prepare`` drops info reads (an unknown result constrains nothing) and info writes/cas
  whose new value no kept operation observes (no ok read returns it, no cas expects it): in
  the state such a write leaves, the only legal operations are writes and cas whose
  expectation is met, and each of them is just as legal, with the same next state, without it.
  The rule is iterated, since a kept info cas observes its expected value.
- ``pins``: a read of v is ``(v, SAME)``, a write of v ``(ANY, v)``, a cas [e, n] ``(e, n)``:
  the search runs them as bitset operations, refutes at once a read of a value nobody wrote,
  and cuts a branch as soon as the register leaves a value that a pending ok read needs and
  no remaining write can produce again.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, cast

from chaos.history import Operation
from chaos.models.base import ANY, SAME, Model, by_key, describe_value, freeze, malformed, unsupported


def norm(value: Any) -> Hashable:
    """Values as states: ints and strings as they are, lists as tuples."""
    kind = type(value)
    if kind is int or kind is str or value is None:
        return cast(Hashable, value)
    return freeze(value)


REGISTER_FS = frozenset({"read", "write"})
CAS_FS = frozenset({"read", "write", "cas"})


def _step(state: Any, op: Operation) -> tuple[bool, Any]:
    f = op.f
    if f == "read":
        if op.status != "ok":
            return True, state
        out = op.output
        if type(out) is not int and type(out) is not str and out is not None:
            out = freeze(out)
        return out == state, state
    if f == "write":
        value = op.value
        if type(value) is not int and type(value) is not str and value is not None:
            value = freeze(value)
        return True, value
    if f == "cas":
        expected, new = op.value
        return norm(expected) == state, norm(new)
    raise unsupported("cas-register", op, CAS_FS)


def _read_only(op: Operation) -> bool:
    return op.f == "read"


def _effect(op: Operation) -> Hashable:
    return (op.f, norm(op.value))


def _pins(op: Operation) -> tuple[Any, Any]:
    f = op.f
    if f == "read":
        if op.status != "ok":
            return ANY, SAME
        out = op.output
        return (out if type(out) is int or type(out) is str or out is None else freeze(out)), SAME
    if f == "write":
        value = op.value
        return ANY, (value if type(value) is int or type(value) is str or value is None else freeze(value))
    if f == "cas":
        expected, new = op.value
        return norm(expected), norm(new)
    raise unsupported("cas-register", op, CAS_FS)


def _new_value(op: Operation) -> Hashable:
    return norm(op.value) if op.f == "write" else norm(op.value[1])


def _prepare_with(name: str, allowed: frozenset[str]) -> Callable[[list[Operation]], list[Operation]]:
    def prepare(ops: list[Operation]) -> list[Operation]:
        observed: set[Hashable] = set()
        infos: list[Operation] = []
        kept: list[Operation] = []
        for op in ops:
            f = op.f
            if f not in allowed:
                raise unsupported(name, op, allowed)
            if f == "cas" and (not isinstance(op.value, list | tuple) or len(op.value) != 2):
                raise malformed(name, op, f"needs value [expected, new], got {describe_value(op.value)}")
            if op.status == "ok":
                kept.append(op)
                if f == "read":
                    observed.add(norm(op.output))
                elif f == "cas":
                    observed.add(norm(op.value[0]))
            elif f != "read":
                infos.append(op)
        if not infos:
            return kept
        useful: list[Operation] = []
        while True:
            useful = [op for op in infos if _new_value(op) in observed]
            grew = False
            for op in useful:
                if op.f == "cas":
                    expected = norm(op.value[0])
                    if expected not in observed:
                        observed.add(expected)
                        grew = True
            if not grew:
                break
        if useful:
            kept.extend(useful)
        return kept

    return prepare


def _register_step(state: Any, op: Operation) -> tuple[bool, Any]:
    if op.f == "cas":
        raise unsupported("register", op, REGISTER_FS)
    return _step(state, op)


def _describe_register(state: Any) -> str:
    return "value " + describe_value(state)


def _register_family(name: str, step: Any, fs: frozenset[str], doc: str) -> Model:
    """A register per key: the built-ins differ only in name, operations and doc."""
    return Model(
        name=name,
        init=lambda: None,
        step=step,
        partition=by_key,
        describe_state=_describe_register,
        prepare=_prepare_with(name, fs),
        read_only=_read_only,
        effect=_effect,
        pins=_pins,
        operations=fs,
        initial=norm,
        doc=doc,
    )


register = _register_family("register", _register_step, REGISTER_FS, "read/write register per key (initially nil)")
cas_register = _register_family(
    "cas-register", _step, CAS_FS, "read/write/compare-and-set register per key (initially nil)"
)
