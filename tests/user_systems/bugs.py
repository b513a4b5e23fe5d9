"""Trap 3: bugs in the system's own code, each after a store call took effect.

The README: anything an operation raises other than ``OperationFailed``/``OperationUnknown``
or an adapter's error is a bug in the experiment, exit 3 with one line naming the operation,
the exception and this file's line; never a finding about the store. With ``system:
{unexpected_errors: info}`` the same operations are ``info`` and counted by type."""

from __future__ import annotations

from typing import Any

from tests.user_systems.register import Register


class WriteTypeError(Register):
    """``write`` concatenates bytes and an int after its put."""

    async def write(self, key: str, value: Any) -> Any:
        await self.db.put(key, str(value).encode())
        return b"written: " + value


class ReadKeyError(Register):
    """``read`` looks its result up in a cache it never filled."""

    async def read(self, key: str, value: Any) -> Any:
        raw = await self.db.get(key)
        cache: dict[str, int] = {}
        return cache[key] if raw is not None else None


class WriteTypo(Register):
    """``write`` misspells an attribute of the store after its put."""

    async def write(self, key: str, value: Any) -> Any:
        await self.db.put(key, str(value).encode())
        await self.db.flsuh()
        return value
