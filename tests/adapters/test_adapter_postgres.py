"""PostgreSQL-specific behaviour: identifiers, pool sizing, settings reaching the server, and
error mapping provoked for real (a row lock held by another session makes a statement wait,
then it is cancelled, timed out or has its connection killed)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from adapters import ConfigError, ConnectionLost, Rejected, Timeout, create
from adapters.postgres import PostgresStore, quote_ident, table_name

from .opening import Opener, opening

pytestmark = pytest.mark.postgres


def test_table_names_are_valid_identifiers_and_keep_namespaces_apart() -> None:
    long = "x" * 300
    for namespace in ["register-memory-20250101T000000", 'we"ird; DROP TABLE x; --', long, "", "ÜBER"]:
        name = table_name(namespace)
        assert len(name.encode()) <= 63
        assert name.replace("_", "").isalnum() and name.isascii() and name == name.lower()
    assert table_name("a-b") != table_name("a_b")  # same cleaned text, different namespaces
    assert quote_ident('odd"name') == '"odd""name"'


def test_pool_size_follows_concurrency_unless_set() -> None:
    dsn = "postgresql://postgres@127.0.0.1:5432/test"
    assert PostgresStore({"dsn": dsn}, "n", concurrency=3).max_size == 3
    assert PostgresStore({"dsn": dsn}, "n", concurrency=1000).max_size == 64
    assert PostgresStore({"dsn": dsn}, "n").max_size == 10
    sized = PostgresStore({"dsn": dsn, "pool_size": 5}, "n", concurrency=50)
    assert (sized.min_size, sized.max_size) == (5, 5)
    ranged = PostgresStore({"dsn": dsn, "min_size": 1, "max_size": 4}, "n", concurrency=50)
    assert (ranged.min_size, ranged.max_size) == (1, 4)
    with pytest.raises(ConfigError, match="min_size cannot exceed max_size"):
        PostgresStore({"dsn": dsn, "min_size": 5, "max_size": 4}, "n")


@pytest.fixture
async def admin(pg_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection for looking behind the store and holding locks."""
    conn = await asyncpg.connect(pg_dsn)
    yield conn
    await conn.close()


@pytest.fixture
async def opened(pg_dsn: str) -> AsyncIterator[Opener]:
    async with opening("postgres", {"dsn": pg_dsn}) as make:
        yield make


async def hold_row_lock(admin: asyncpg.Connection, store: Any, key: str) -> asyncpg.transaction.Transaction:
    """Lock ``key``'s row in an open transaction, so the store's writes to it wait."""
    await store.put(key, b"before")
    tx = admin.transaction()
    await tx.start()
    await admin.execute(f"SELECT 1 FROM {quote_ident(store.table)} WHERE key = $1 FOR UPDATE", key)
    return tx


async def wait_until_blocked(admin: asyncpg.Connection, table: str) -> int:
    """The backend pid of the store's statement once it waits on the lock."""
    for _ in range(500):
        pid = await admin.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1",
            f"%{table}%",
        )
        if pid is not None:
            return pid
        await asyncio.sleep(0.01)
    raise AssertionError("the store's statement never waited on the lock")


async def test_table_with_odd_namespace_works_and_is_dropped(pg_dsn: str, admin: asyncpg.Connection) -> None:
    store = create("postgres", {"dsn": pg_dsn}, 'we"ird; DROP TABLE x; -- ' + "y" * 100)
    await store.open()
    await store.put("k", b"v")
    assert await store.list() == ["k"]
    await store.close()
    assert await admin.fetchval("SELECT to_regclass($1)", quote_ident(store.table)) is None


async def test_explicit_table_and_isolation_reach_the_server(opened: Any, admin: asyncpg.Connection) -> None:
    name = f"Chaos Explicit {uuid.uuid4().hex[:6]}"
    try:
        store = await opened(table=name, isolation="serializable", statement_timeout="1500ms")
        await store.put("k", b"v")
        assert await admin.fetchval(f"SELECT value FROM {quote_ident(name)} WHERE key = 'k'") == b"v"
        connection = store._pool.free[0]  # the settings are per session: ask one of the store's own
        assert await connection.fetchval("SHOW default_transaction_isolation") == "serializable"
        assert await connection.fetchval("SHOW statement_timeout") == "1500ms"
        await store.close()
    finally:
        await admin.execute(f"DROP TABLE IF EXISTS {quote_ident(name)}")  # named tables are never dropped


async def test_a_table_named_in_the_settings_is_emptied_not_dropped(pg_dsn: str, admin: asyncpg.Connection) -> None:
    name = f"users_own_{uuid.uuid4().hex[:6]}"
    await admin.execute(f'CREATE TABLE {name} (key text COLLATE "C" PRIMARY KEY, value bytea NOT NULL)')
    try:
        store = create("postgres", {"dsn": pg_dsn, "table": name}, "ignored")
        await store.open()
        await store.put("k", b"v")
        await store.close()
        assert await admin.fetchval("SELECT to_regclass($1)", name) is not None
        assert await admin.fetchval(f"SELECT count(*) FROM {name}") == 0
    finally:
        await admin.execute(f"DROP TABLE IF EXISTS {name}")


async def test_more_workers_than_connections_share_them(opened: Any) -> None:
    store = await opened(pool_size=2)
    await asyncio.gather(*(store.put(f"k{i}", str(i).encode()) for i in range(40)))
    assert len(await store.list()) == 40
    assert len(store._pool.free) == 2


async def test_statement_timeout_is_a_definite_failure(opened: Any, admin: asyncpg.Connection) -> None:
    store = await opened(statement_timeout=0.2, pool_size=1)
    tx = await hold_row_lock(admin, store, "k")
    try:
        with pytest.raises(Rejected, match="SQLSTATE 57014") as caught:
            await store.put("k", b"after")
        assert caught.value.transient  # type: ignore[attr-defined]
    finally:
        await tx.rollback()
    assert await store.get("k") == b"before"  # rolled back: it did not take effect


async def test_command_timeout_is_an_unknown_outcome(opened: Any, admin: asyncpg.Connection) -> None:
    store = await opened(command_timeout=0.2, pool_size=1)
    tx = await hold_row_lock(admin, store, "k")
    try:
        with pytest.raises(Timeout, match=r"no answer within 0\.2s"):
            await store.put("k", b"after")
    finally:
        await tx.rollback()
    assert await store.get("k") in (b"before", b"after")  # and the store carries on


async def test_killed_connection_is_an_unknown_outcome(opened: Any, admin: asyncpg.Connection) -> None:
    store = await opened(pool_size=1)
    tx = await hold_row_lock(admin, store, "k")
    try:
        write = asyncio.create_task(store.put("k", b"after"))
        pid = await wait_until_blocked(admin, store.table)
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        with pytest.raises(ConnectionLost):
            await write
    finally:
        await tx.rollback()
    assert await store.get("k") == b"before"  # a fresh connection replaced the killed one


async def test_cancelled_statement_does_not_poison_the_pool(opened: Any, admin: asyncpg.Connection) -> None:
    store = await opened(pool_size=1)
    tx = await hold_row_lock(admin, store, "k")
    try:
        write = asyncio.create_task(store.put("k", b"after"))
        await wait_until_blocked(admin, store.table)
        write.cancel()
        with pytest.raises(asyncio.CancelledError):
            await write
    finally:
        await tx.rollback()
    await store.put("other", b"fine")
    assert await store.get("other") == b"fine"


async def test_constraint_violation_is_definite(opened: Any) -> None:
    store = await opened()
    with pytest.raises(Rejected, match="SQLSTATE"):
        await store.put("nul\x00byte", b"v")  # text cannot hold NUL: refused, nothing written
    assert await store.list() == []
