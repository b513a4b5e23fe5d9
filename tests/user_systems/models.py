"""Trap 5: models of our own, named ``module:attr`` in ``checks:`` and ``chaos check``.

``last_write`` is a register written the way docs/checker.md's counter is: correct, so a
linearizable history is valid under it. ``broken_cas`` has a bug in its ``step`` (it unpacks
a cas value as a dict): the check must stop with exit 3 naming the model, the operation and
this file's line, not report the history invalid."""

from __future__ import annotations

from typing import Any

from chaos import Model, Operation


def register_step(state: Any, op: Operation) -> tuple[bool, Any]:
    """read / write / cas on one value, ``None`` before the first write."""
    if op.f == "write":
        return True, op.value
    if op.f == "read":
        return op.status != "ok" or op.output == state, state
    if op.f == "cas":
        expected, new = op.value
        return (True, new) if state == expected else (False, state)
    raise ValueError(f"last_write has no operation {op.f!r}")


last_write = Model(
    name="last-write",
    init=lambda: None,
    step=register_step,
    partition=lambda op: op.key,
)


def broken_step(state: Any, op: Operation) -> tuple[bool, Any]:
    """As ``register_step``, with a cas that reads its value as a mapping."""
    if op.f == "cas":
        return True, op.value["new"]
    return register_step(state, op)


broken_cas = Model(
    name="broken-cas",
    init=lambda: None,
    step=broken_step,
    partition=lambda op: op.key,
)
