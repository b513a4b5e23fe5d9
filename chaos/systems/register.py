"""The store used directly: a register (or a map of registers) per key.

Each operation is exactly one adapter call, so the store's own consistency is what the checker
judges. Values are JSON-encoded so that any workload value round-trips through a byte store.
"""

from __future__ import annotations

from typing import Any

from ..encoding import ENCODER, loads
from ..system import Env, OperationFailed

encode = ENCODER.encode
"""A workload value as the bytes the store keeps."""


def decode(raw: bytes | None) -> Any:
    return None if raw is None else loads(raw)


class Register:
    """read / write / cas on each key of one store."""

    roles = ("store",)

    def __init__(self, env: Env) -> None:
        self.store = env.stores["store"]

    async def read(self, key: str, value: Any) -> Any:
        raw = await self.store.get(key)
        return None if raw is None else loads(raw)

    async def write(self, key: str, value: Any) -> Any:
        await self.store.put(key, encode(value))
        return value

    async def cas(self, key: str, value: Any) -> Any:
        expected, new = value
        swapped = await self.store.cas(key, None if expected is None else encode(expected), encode(new))
        if not swapped:
            raise OperationFailed(f"cas {key}: value is not {expected!r}")
        return value
