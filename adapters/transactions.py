"""What every transactional store does the same way: running a list of micro-operations.

:meth:`~adapters.protocol.Transactional.txn` is a transaction whose operations are known in
advance (Elle's list-append workload): each ``[f, key, value]`` is checked before anything is
sent, then run in order inside one ``transaction()``, reads filled in.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from .errors import Unsupported
from .protocol import Transaction

MICRO_OPS = ("r", "w", "append")


def validate(ops: Sequence[Sequence[Any]]) -> list[tuple[str, str, Any]]:
    """``ops`` as ``(f, key, value)`` triples; a shape or name the store cannot run is
    :class:`~adapters.errors.Unsupported` (definite: nothing was sent)."""
    checked: list[tuple[str, str, Any]] = []
    for i, op in enumerate(ops):
        if not isinstance(op, list | tuple) or len(op) != 3 or op[0] not in MICRO_OPS:
            raise Unsupported(f"txn micro-op {i}: expected [f, key, value] with f one of {', '.join(MICRO_OPS)}")
        f, key, value = op
        if not isinstance(key, str):
            raise Unsupported(f"txn micro-op {i}: keys are strings, got {type(key).__name__}")
        if f != "r" and not isinstance(value, bytes | bytearray | memoryview):
            raise Unsupported(f"txn micro-op {i}: {f} takes bytes, got {type(value).__name__}")
        checked.append((f, key, value))
    return checked


async def run_micro_ops(
    transaction: AbstractAsyncContextManager[Transaction], ops: Sequence[Sequence[Any]]
) -> list[list[Any]]:
    """Run ``ops`` inside ``transaction`` (not yet entered) and return them, reads filled in."""
    checked = validate(ops)
    done: list[list[Any]] = []
    async with transaction as tx:
        for f, key, value in checked:
            if f == "r":
                done.append(["r", key, await tx.read(key)])
            elif f == "append":
                await tx.append(key, value)
                done.append(["append", key, value])
            else:
                await tx.write(key, value)
                done.append(["w", key, value])
    return done
