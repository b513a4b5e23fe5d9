"""The seam between a system under test and its stores.

A :class:`StoreHandle` hands every adapter call a system makes to an :class:`Interceptor`, as
a :class:`Call` plus a ``proceed`` coroutine function that performs the real call. The
controlled scheduler (:mod:`chaos.exploration.driver`) is such an interceptor: it holds each call
until its strategy picks the server, and may crash it before or after ``proceed``. The fault
layer of real-time runs (:mod:`chaos.faults.injector`) wraps stores itself, primitive by
primitive, so that a call no fault can hit reaches the adapter without any extra frame.

Which server made a call is carried in a context variable that the runner sets per worker
task, so systems need not pass it along.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from adapters import AdapterError, Store

current_actor: ContextVar[str] = ContextVar("current_actor", default="client")
"""Who is making store calls: ``server-0``, ``server-1``, ``cleaner``..."""


@dataclass(slots=True)
class Call:
    """One adapter call, as an interceptor sees it."""

    store: str
    op: str
    key: str | None
    args: tuple[Any, ...]
    actor: str


Proceed = Callable[[], Awaitable[Any]]


class Interceptor(Protocol):
    """Something that stands around every adapter call."""

    async def around(self, call: Call, proceed: Proceed) -> Any:
        """Decide what happens to ``call``; ``await proceed()`` performs it on the store."""


class StoreHandle:
    """A :class:`~adapters.protocol.Store` whose every primitive goes through ``interceptor``."""

    def __init__(self, name: str, store: Store, interceptor: Interceptor) -> None:
        self.name = name
        self.store = store
        self.kind = store.kind
        self._around = interceptor.around

    def _call(self, op: str, key: str | None, args: tuple[Any, ...], fn: Callable[..., Awaitable[Any]]) -> Any:
        call = Call(self.name, op, key, args, current_actor.get())
        return self._around(call, lambda: fn(*args))

    async def open(self) -> None:
        await self.store.open()

    async def close(self) -> None:
        await self.store.close()

    async def get(self, key: str) -> bytes | None:
        value: bytes | None = await self._call("get", key, (key,), self.store.get)
        return value

    async def put(self, key: str, value: bytes) -> None:
        await self._call("put", key, (key, value), self.store.put)

    async def delete(self, key: str) -> None:
        await self._call("delete", key, (key,), self.store.delete)

    async def cas(self, key: str, expected: bytes | None, new: bytes) -> bool:
        return bool(await self._call("cas", key, (key, expected, new), self.store.cas))

    async def list(self, prefix: str = "") -> list[str]:
        keys: list[str] = await self._call("list", prefix, (prefix,), self.store.list)
        return keys


PRIMITIVES = ("get", "put", "delete", "cas", "list", "request")
"""The adapter calls a system makes (stores have the first five, endpoints ``request``)."""


class MeteredStore:
    """A store that counts the calls it answers and the errors it answers them with, so that
    a run can tell a store that never answered anything but errors (a wrong endpoint that
    speaks another protocol, a table another run dropped) from one that worked.

    Only real stores are metered: their calls cost tens of microseconds, so two counters are
    nothing; the in-memory store errs only where the fault layer makes it, which counts itself.
    """

    def __init__(self, name: str, store: Any) -> None:
        self.name = name
        self.store = store
        self.kind = getattr(store, "kind", "?")
        self.calls = 0
        self.errors = 0
        for op in PRIMITIVES:
            fn = getattr(store, op, None)
            if fn is not None:
                setattr(self, op, self._metered(fn))

    def _metered(self, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            try:
                return await fn(*args, **kwargs)
            except AdapterError:
                self.errors += 1
                raise

        call.__name__ = getattr(fn, "__name__", "call")
        return call

    async def open(self) -> None:
        await self.store.open()

    async def close(self) -> None:
        await self.store.close()

    def __getattr__(self, attr: str) -> Any:
        # Only reached for what is not set above: the adapter's own extras (namespace...).
        return getattr(self.__dict__["store"], attr)
