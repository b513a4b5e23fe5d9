"""The protocol every store adapter implements.

An adapter is one connection (or pool) to one store, seen as a map from string keys to byte
values, confined to a *namespace* (a table, a key prefix) so that concurrent runs never see
each other. The primitives are deliberately small so that each is one round trip on a real
backend, and so that the fault layer and the controlled scheduler can hold every one of them
as an await point.

``get`` returns ``None`` for a missing key and ``b""`` for an empty value: the two are
different states of a register.

Adapters know nothing of faults, histories or the engine; errors are those of
:mod:`adapters.errors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Store(Protocol):
    """A key-value store: the "database" or the "blob store" of a system under test."""

    kind: str
    """Backend name, e.g. ``memory``, ``postgres``, ``s3``."""

    async def open(self) -> None:
        """Connect and prepare the namespace. Raises ``ConnectError`` or ``NamespaceNotEmpty``."""

    async def close(self) -> None:
        """Release connections and, unless the store was told to keep it, remove the namespace."""

    async def get(self, key: str) -> bytes | None:
        """The value under ``key``, or ``None`` when there is none."""

    async def put(self, key: str, value: bytes) -> None:
        """Create or overwrite ``key``."""

    async def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""

    async def cas(self, key: str, expected: bytes | None, new: bytes) -> bool:
        """Atomically set ``key`` to ``new`` if its value is ``expected`` (``None``: if it is
        missing). Returns whether the swap happened."""

    async def list(self, prefix: str = "") -> list[str]:
        """Keys starting with ``prefix``, in ascending byte order."""


@runtime_checkable
class Transaction(Protocol):
    """One open transaction of a :class:`Transactional` store. Each call is one round trip;
    what it sees and when its writes become visible is the store's ``isolation``."""

    async def read(self, key: str) -> bytes | None:
        """The value of ``key`` as this transaction sees it (its own writes included)."""

    async def write(self, key: str, value: bytes) -> None:
        """Set ``key`` to ``value`` (visible to others once the transaction commits)."""

    async def append(self, key: str, value: bytes) -> None:
        """Append ``value``'s bytes to ``key``'s value (creating the key when missing), as one
        update of the stored value, never a read followed by a write in the client."""


@runtime_checkable
class Transactional(Protocol):
    """An optional capability of a :class:`Store`: transactions over its keys.

    ``transaction()`` opens one (``async with store.transaction() as tx``): leaving the block
    normally commits, an exception rolls back and propagates. ``txn(ops)`` runs a list of
    micro-operations in one transaction and returns them with reads filled in::

        await store.txn([["append", "x", b"3,"], ["r", "y", None]])
        # -> [["append", "x", b"3,"], ["r", "y", b"1,2,"]]

    Errors say what became of the transaction: a definite error (serialization failure,
    deadlock, a connection lost before COMMIT was sent: :class:`~adapters.errors.Aborted`)
    means it did not commit; an indefinite one (the connection lost or timed out *during*
    COMMIT) means it may have.
    """

    isolation: str
    """``serializable``, ``repeatable_read``, ``read_committed`` (postgres) or the memory
    store's ``snapshot_reads``."""

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A new transaction, begun on entering the ``async with`` block."""

    async def txn(self, ops: Sequence[Sequence[Any]]) -> list[list[Any]]:
        """Run ``[f, key, value]`` micro-ops (``r``, ``w``, ``append``) in one transaction."""


@runtime_checkable
class Endpoint(Protocol):
    """A remote service reached by request templates (the http adapter)."""

    kind: str

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def request(self, operation: str, key: str | None = None, value: Any = None) -> Any:
        """Perform the named operation; return its decoded result."""
