"""A small PostgreSQL key-value store over asyncpg, for the network fault tests (the
project's own postgres adapter is tested on its own; this one keeps these tests about the
proxy). Connection trouble is an indefinite error, as it must be after a request left."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import asyncpg

from adapters import ConnectError, ConnectionLost


class PgStore:
    """get / put / delete / cas / list on one table named after the run's namespace."""

    kind = "pgtest"

    def __init__(self, settings: dict[str, Any], namespace: str = "") -> None:
        self.dsn = settings["dsn"]
        self.table = "chaos_faults_" + hashlib.sha1(namespace.encode()).hexdigest()[:16]
        self.pool: asyncpg.Pool | None = None

    async def open(self) -> None:
        try:
            self.pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=4, timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            raise ConnectError(f"pgtest store: cannot connect ({type(exc).__name__})") from None
        await self.pool.execute(f"CREATE TABLE IF NOT EXISTS {self.table} (k text PRIMARY KEY, v bytea NOT NULL)")

    async def close(self) -> None:
        if self.pool is None:
            return
        try:
            async with asyncio.timeout(5):
                await self.pool.execute(f"DROP TABLE IF EXISTS {self.table}")
                await self.pool.close()
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            self.pool.terminate()

    async def _run(self, method: str, query: str, *args: Any) -> Any:
        assert self.pool is not None
        try:
            return await getattr(self.pool, method)(query, *args)
        except (
            OSError,
            asyncpg.InterfaceError,
            asyncpg.PostgresConnectionError,
            asyncpg.ConnectionDoesNotExistError,
            asyncio.IncompleteReadError,
        ) as exc:
            raise ConnectionLost(f"pgtest store: connection lost ({type(exc).__name__})") from None

    async def get(self, key: str) -> bytes | None:
        return await self._run("fetchval", f"SELECT v FROM {self.table} WHERE k = $1", key)

    async def put(self, key: str, value: bytes) -> None:
        await self._run(
            "execute", f"INSERT INTO {self.table} VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = $2", key, value
        )

    async def delete(self, key: str) -> None:
        await self._run("execute", f"DELETE FROM {self.table} WHERE k = $1", key)

    async def cas(self, key: str, expected: bytes | None, new: bytes) -> bool:
        if expected is None:
            status = await self._run(
                "execute", f"INSERT INTO {self.table} VALUES ($1, $2) ON CONFLICT DO NOTHING", key, new
            )
        else:
            status = await self._run(
                "execute", f"UPDATE {self.table} SET v = $3 WHERE k = $1 AND v = $2", key, expected, new
            )
        return not status.endswith(" 0")

    async def list(self, prefix: str = "") -> list[str]:
        rows = await self._run("fetch", f"SELECT k FROM {self.table} WHERE starts_with(k, $1) ORDER BY k", prefix)
        return [r["k"] for r in rows]
