"""A register over one store, as the README's ``Profiles`` example writes it: the base the
trap systems change one thing of."""

from __future__ import annotations

from typing import Any

from chaos import Env, OperationFailed


class Register:
    """read / write / cas on the store of role ``db``; values are ints stored as text."""

    roles = ("db",)

    def __init__(self, env: Env) -> None:
        self.env = env
        self.db = env.stores["db"]

    async def read(self, key: str, value: Any) -> Any:
        raw = await self.db.get(key)
        return None if raw is None else int(raw)

    async def write(self, key: str, value: Any) -> Any:
        await self.db.put(key, str(value).encode())
        return value

    async def cas(self, key: str, value: Any) -> Any:
        expected, new = value
        old = None if expected is None else str(expected).encode()
        if not await self.db.cas(key, old, str(new).encode()):
            raise OperationFailed(f"{key} is not {expected}")
        return value
