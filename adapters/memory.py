"""In-memory store: the embedded default, and the fake that unit tests run against.

It behaves like the real backends where it matters to a checker: every call is one atomic
step at one await point (each call yields to the event loop once, as a network round trip
would, so concurrent workers really interleave), values are bytes, a missing key is ``None``,
``list`` is sorted. Stores with the same ``name`` setting in one process share their data,
as two connections to one server do.

Transactions (:class:`~adapters.protocol.Transactional`) run at the store's ``isolation``:

* ``serializable`` (the default): one transaction at a time per server, its writes buffered
  and applied at commit. Strictly serializable, as a fake of a correct database should be.
* ``repeatable_read``: snapshot isolation, as PostgreSQL's repeatable read. Reads see the
  snapshot taken at the first statement, writes are buffered; a commit that would overwrite
  a key another transaction committed since the snapshot fails with a serialization failure
  (first committer wins). Allows write skew (G2-item), nothing worse.
* ``snapshot_reads``: deliberately broken. Reads from a snapshot, writes applied at commit
  with no conflict check: lost updates, G-single. For testing that a checker catches them.

Every statement, the begin and the commit are one round trip each. Transactions see only
what other transactions committed; the plain primitives (``get``, ``put``...) act on the
latest data directly, outside any transaction's bookkeeping.
"""

from __future__ import annotations

import asyncio
import builtins
import types
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .errors import NamespaceNotEmpty, Rejected
from .retry import transient
from .settings import validate_settings
from .transactions import run_micro_ops

_SERVERS: dict[str, dict[str, bytes]] = {}
_VERSIONS: dict[str, _Versions] = {}


@types.coroutine
def _round_trip() -> Any:
    """Give the event loop one turn, as a network round trip would (what ``asyncio.sleep(0)``
    does, without its function call: this is on the hot path of every in-memory run)."""
    yield


class MemorySettings(BaseModel):
    """Settings of the memory adapter."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    """Share data with other memory stores of the same name (one "server")."""
    keep: bool = False
    reuse: bool = False
    isolation: Literal["serializable", "repeatable_read", "snapshot_reads"] = "serializable"
    """How transactions see each other (see the module's docstring)."""


class _Versions:
    """What the transactions of one server share: the commit clock, each key's values before
    recent commits (for snapshot reads), and the lock of serializable transactions.

    ``undo[key]`` lists ``(commit time, value before that commit)``; a snapshot taken at time
    ``s`` sees the current value with every commit after ``s`` undone. Entries no open
    snapshot needs are dropped as keys are committed again."""

    def __init__(self) -> None:
        self.clock = 0
        self.undo: dict[str, list[tuple[int, bytes | None]]] = {}
        self.last_commit: dict[str, int] = {}
        self.snapshots: dict[int, int] = {}
        """Open snapshot time -> how many transactions hold it."""
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def lock(self) -> asyncio.Lock:
        """The serializable lock, made anew for each event loop (a store may outlive one)."""
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock

    def snapshot(self) -> int:
        now = self.clock
        self.snapshots[now] = self.snapshots.get(now, 0) + 1
        return now

    def release(self, snapshot: int) -> None:
        left = self.snapshots[snapshot] - 1
        if left:
            self.snapshots[snapshot] = left
        else:
            del self.snapshots[snapshot]

    def value_at(self, data: dict[str, bytes], key: str, snapshot: int) -> bytes | None:
        value = data.get(key)
        for committed, before in reversed(self.undo.get(key, ())):
            if committed <= snapshot:
                break
            value = before
        return value

    def commit(self, data: dict[str, bytes], writes: dict[str, list[tuple[str, bytes]]]) -> None:
        """Apply ``writes`` (per key: ``("w", value)`` or ``("append", bytes)`` in order) at
        once, recording what each key held before."""
        self.clock += 1
        now = self.clock
        oldest = min(self.snapshots, default=now)
        for key, ops in writes.items():
            before = data.get(key)
            history = self.undo.setdefault(key, [])
            if history and history[0][0] <= oldest:
                history[:] = [entry for entry in history if entry[0] > oldest]
            history.append((now, before))
            self.last_commit[key] = now
            data[key] = _apply(before, ops)


def _apply(value: bytes | None, ops: list[tuple[str, bytes]]) -> bytes:
    for f, operand in ops:
        value = operand if f == "w" else (value or b"") + operand
    assert value is not None
    return value


class MemoryTransaction:
    """One transaction on a :class:`MemoryStore` (entered with ``async with``)."""

    __slots__ = ("_data", "_isolation", "_locked", "_prefix", "_snapshot", "_versions", "_writes")

    def __init__(self, store: MemoryStore) -> None:
        self._data = store.data
        self._prefix = store._prefix
        self._versions = store.versions
        self._isolation = store.isolation
        self._writes: dict[str, list[tuple[str, bytes]]] = {}
        self._snapshot: int | None = None
        self._locked = False

    async def __aenter__(self) -> MemoryTransaction:
        await _round_trip()  # BEGIN
        if self._isolation == "serializable":
            await self._versions.lock.acquire()
            self._locked = True
        else:
            self._snapshot = self._versions.snapshot()
        return self

    async def read(self, key: str) -> bytes | None:
        await _round_trip()
        full = self._prefix + key
        if self._snapshot is None:
            value = self._data.get(full)
        else:
            value = self._versions.value_at(self._data, full, self._snapshot)
        own = self._writes.get(full)
        return value if own is None else _apply(value, own)

    async def write(self, key: str, value: bytes) -> None:
        await _round_trip()
        self._writes.setdefault(self._prefix + key, []).append(("w", bytes(value)))

    async def append(self, key: str, value: bytes) -> None:
        await _round_trip()
        self._writes.setdefault(self._prefix + key, []).append(("append", bytes(value)))

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        try:
            if kind is None:
                await _round_trip()  # COMMIT: the check and the writes below are one atomic step
                versions = self._versions
                if self._isolation == "repeatable_read":
                    assert self._snapshot is not None
                    for key in self._writes:
                        if versions.last_commit.get(key, 0) > self._snapshot:
                            raise transient(
                                Rejected(
                                    f"memory: could not serialize access due to concurrent update of "
                                    f"{key[len(self._prefix) :]!r}",
                                    store="memory",
                                )
                            )
                if self._writes:
                    versions.commit(self._data, self._writes)
        finally:
            self._writes = {}
            if self._locked:
                self._locked = False
                self._versions.lock.release()
            if self._snapshot is not None:
                self._versions.release(self._snapshot)
                self._snapshot = None
        return False


class MemoryStore:
    """A dict behind the :class:`~adapters.protocol.Store` protocol."""

    kind = "memory"

    def __init__(self, settings: dict[str, Any] | None = None, namespace: str = "") -> None:
        self.settings = validate_settings(MemorySettings, settings, "memory store")
        self.namespace = namespace
        self._prefix = f"{namespace}/" if namespace else ""
        self.data: dict[str, bytes] = {}
        self.versions = _Versions()
        self.isolation = self.settings.isolation

    async def open(self) -> None:
        if self.settings.name is not None:
            shared = _SERVERS.setdefault(self.settings.name, {})
            if not self.settings.reuse and any(k.startswith(self._prefix) for k in shared):
                raise NamespaceNotEmpty(
                    f"memory store {self.settings.name!r}: namespace {self.namespace!r} is not empty"
                )
            self.data = shared
            self.versions = _VERSIONS.setdefault(self.settings.name, _Versions())

    async def close(self) -> None:
        if not self.settings.keep:
            for key in [k for k in self.data if k.startswith(self._prefix)]:
                del self.data[key]

    async def get(self, key: str) -> bytes | None:
        await _round_trip()
        return self.data.get(self._prefix + key)

    async def put(self, key: str, value: bytes) -> None:
        await _round_trip()
        self.data[self._prefix + key] = bytes(value)

    async def delete(self, key: str) -> None:
        await _round_trip()
        self.data.pop(self._prefix + key, None)

    async def cas(self, key: str, expected: bytes | None, new: bytes) -> bool:
        await _round_trip()
        full = self._prefix + key
        if self.data.get(full) != expected:
            return False
        self.data[full] = bytes(new)
        return True

    async def list(self, prefix: str = "") -> list[str]:
        await _round_trip()
        start = self._prefix + prefix
        cut = len(self._prefix)
        return sorted(k[cut:] for k in self.data if k.startswith(start))

    # ------------------------------------------------------------------ transactions

    def transaction(self) -> MemoryTransaction:
        """A transaction at the store's ``isolation`` (``async with store.transaction() as tx``)."""
        return MemoryTransaction(self)

    async def txn(self, ops: Sequence[Sequence[Any]]) -> builtins.list[builtins.list[Any]]:
        """Run ``[f, key, value]`` micro-ops in one transaction; reads filled in."""
        return await run_micro_ops(self.transaction(), ops)


__all__ = ["MemorySettings", "MemoryStore", "MemoryTransaction"]
