"""Trap 12: a system with two roles, a database and a cache in front of it.

Run against a single store named ``db``, the ``cache`` role has nowhere to go: the framework
must refuse (exit 3, naming the role) rather than bind both to one store behind the user's
back, unless ``system.stores`` says so (``{db: db, cache: db}``)."""

from __future__ import annotations

from typing import Any

from chaos import Env
from tests.user_systems.register import Register


class CachedRegister(Register):
    """Writes go to the database, then to the cache; reads ask the database (the cache is
    only warmed, so the register stays linearizable whichever store each role is)."""

    roles = ("db", "cache")

    def __init__(self, env: Env) -> None:
        super().__init__(env)
        self.cache = env.stores["cache"]

    async def write(self, key: str, value: Any) -> Any:
        await super().write(key, value)
        await self.cache.put(f"cache/{key}", str(value).encode())
        return value
