"""In-memory store: the embedded default, and the fake that unit tests run against.

It behaves like the real backends where it matters to a checker: every call is one atomic
step at one await point (each call yields to the event loop once, as a network round trip
would, so concurrent workers really interleave), values are bytes, a missing key is ``None``,
``list`` is sorted. Stores with the same ``name`` setting in one process share their data,
as two connections to one server do.
"""

from __future__ import annotations

import types
from typing import Any

from pydantic import BaseModel, ConfigDict

from .errors import NamespaceNotEmpty
from .settings import validate_settings

_SERVERS: dict[str, dict[str, bytes]] = {}


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


class MemoryStore:
    """A dict behind the :class:`~adapters.protocol.Store` protocol."""

    kind = "memory"

    def __init__(self, settings: dict[str, Any] | None = None, namespace: str = "") -> None:
        self.settings = validate_settings(MemorySettings, settings, "memory store")
        self.namespace = namespace
        self._prefix = f"{namespace}/" if namespace else ""
        self.data: dict[str, bytes] = {}

    async def open(self) -> None:
        if self.settings.name is not None:
            shared = _SERVERS.setdefault(self.settings.name, {})
            if not self.settings.reuse and any(k.startswith(self._prefix) for k in shared):
                raise NamespaceNotEmpty(
                    f"memory store {self.settings.name!r}: namespace {self.namespace!r} is not empty"
                )
            self.data = shared

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
