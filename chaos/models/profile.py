"""``profile``: the seed's user profile, a register per user holding a (metadata, image) pair.

``key`` is the user id. ``write`` has ``value == [metadata, image]``; ``read`` returns None
(the empty record) or ``[metadata, image]``. A read of the empty record is legal only before
any write took effect; any other read must return exactly the pair of the last write
linearized. This decides the seed's ConsistentReads invariant (a read returns the empty
record or the pair of some write started before it returned) and, being a register, also
stale reads: a read that returns an older pair after a newer write was acknowledged.

It is the register model (same hooks, same soundness argument) over pairs, kept as its own
name so that results say what was checked.
"""

from __future__ import annotations

from typing import Any

from chaos.history import Operation
from chaos.models.base import Model, by_key, describe_value, unsupported
from chaos.models.register import REGISTER_FS, _pins, _prepare_with, _read_only, _step

_prepare = _prepare_with("profile", REGISTER_FS)


def _profile_step(state: Any, op: Operation) -> tuple[bool, Any]:
    if op.f == "cas":
        raise unsupported("profile", op, REGISTER_FS)
    return _step(state, op)


def _effect(op: Operation) -> Any:
    value = op.value
    return ("write", tuple(value) if type(value) is list else value)


def _describe(state: Any) -> str:
    if state is None:
        return "empty record"
    if isinstance(state, tuple) and len(state) == 2:
        return f"metadata {describe_value(state[0])}, image {describe_value(state[1])}"
    return describe_value(state)


profile = Model(
    name="profile",
    init=lambda: None,
    step=_profile_step,
    partition=by_key,
    describe_state=_describe,
    prepare=_prepare,
    read_only=_read_only,
    effect=_effect,
    pins=_pins,
    operations=REGISTER_FS,
    doc="per-user (metadata, image) pair register: ConsistentReads plus no stale reads",
)
