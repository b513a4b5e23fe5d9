"""Isolation levels as the checker finds them: the built-in list-append and bank systems run
by concurrent workers against the memory store's modes and against the real PostgreSQL at
each level, then checked.

Anomalies are provoked, not hoped for: five active keys, ten workers, a thousand or more
transactions of up to four micro-ops. At that contention PostgreSQL's repeatable read shows
tens of write skews per thousand transactions and read committed tens of read skews, so
"at least one" is a safe bound; ``statement_timeout`` keeps a deadlock from stalling a worker
for PostgreSQL's one-second ``deadlock_timeout``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters import create
from chaos.elle import check, check_bank
from chaos.systems.txn import BankTxn, ListAppend
from tests.adapters.opening import Opener, opening
from tests.txn_driver import drive

SNAPSHOT_FORBIDS = {
    "G0",
    "G1a",
    "G1b",
    "G1c",
    "G-single",
    "G-nonadjacent",
    "lost-update",
    "internal",
    "incompatible-order",
    "duplicate-elements",
    "garbage-read",
    "future-read",
}
READ_COMMITTED_FORBIDS = {
    "G0",
    "G1a",
    "G1b",
    "G1c",
    "incompatible-order",
    "duplicate-elements",
    "garbage-read",
    "future-read",
}


async def list_append(store: Any, operations: int = 1500) -> list[Any]:
    return await drive(ListAppend, store, operations=operations, concurrency=10, mix={"txn": 1}, seed=3)


async def bank(store: Any, operations: int = 800) -> list[Any]:
    return await drive(BankTxn, store, operations=operations, concurrency=10, mix={"transfer": 3, "read": 1}, seed=3)


# ---------------------------------------------------------------------------- the memory store


@pytest.fixture
async def memory() -> AsyncIterator[Opener]:
    async with opening("memory", {}) as make:
        yield make


async def test_memory_serializable_shows_no_anomaly(memory: Opener) -> None:
    ops = await list_append(await memory(isolation="serializable"))
    result = check(ops, "serializable")
    assert result.verdict == "valid", result.describe()
    assert result.stats["ok"] == 1500
    assert check_bank(await bank(await memory(isolation="serializable")), 100).verdict == "valid"


async def test_memory_snapshot_isolation_shows_write_skew_only(memory: Opener) -> None:
    ops = await list_append(await memory(isolation="repeatable_read"))
    result = check(ops, "serializable")
    assert result.counts.get("G2-item", 0) >= 1, result.describe()
    assert not SNAPSHOT_FORBIDS & set(result.counts), result.summary
    assert check(ops, "snapshot-isolation").verdict == "valid"
    assert result.stats["fail"] > 0  # first committer wins: conflicting appends were refused
    assert check_bank(await bank(await memory(isolation="repeatable_read")), 100).verdict == "valid"


async def test_memory_snapshot_reads_without_conflicts_lose_updates(memory: Opener) -> None:
    ops = await list_append(await memory(isolation="snapshot_reads"))
    result = check(ops, "snapshot-isolation")
    assert result.verdict == "invalid"
    assert result.counts.get("G-single", 0) >= 1 and result.counts.get("lost-update", 0) >= 1, result.summary
    money = check_bank(await bank(await memory(isolation="snapshot_reads")), 100)
    assert money.verdict == "invalid" and money.counts.get("wrong-total", 0) >= 1


# ---------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
async def postgres(pg_dsn: str) -> AsyncIterator[Opener]:
    async with opening("postgres", {"dsn": pg_dsn, "pool_size": 10, "statement_timeout": "100ms"}) as make:
        yield make


@pytest.mark.postgres
async def test_postgres_serializable_is_serializable(postgres: Opener) -> None:
    ops = await list_append(await postgres(isolation="serializable"))
    result = check(ops, "serializable")
    assert result.verdict == "valid", result.describe()
    assert result.stats["fail"] > 0  # serialization failures: the contention was real
    assert result.stats["ok"] > 500
    money = check_bank(await bank(await postgres(isolation="serializable")), 100)
    assert money.verdict == "valid", money.describe()


@pytest.mark.postgres
async def test_postgres_repeatable_read_is_snapshot_isolation(postgres: Opener) -> None:
    ops = await list_append(await postgres(isolation="repeatable_read"))
    result = check(ops, "serializable")
    assert result.verdict == "invalid"
    assert result.counts.get("G2-item", 0) >= 1, result.describe()
    assert not SNAPSHOT_FORBIDS & set(result.counts), result.describe()  # never G0, G1 or G-single
    assert check(ops, "snapshot-isolation").verdict == "valid"


@pytest.mark.postgres
async def test_postgres_read_committed_shows_read_skew(postgres: Opener) -> None:
    ops = await list_append(await postgres(isolation="read_committed"))
    result = check(ops, "snapshot-isolation")
    assert result.verdict == "invalid"
    assert result.counts.get("G-single", 0) >= 1, result.describe()
    assert not READ_COMMITTED_FORBIDS & set(result.counts), result.describe()  # never G0 or G1
    assert check(ops, "read-committed").verdict == "valid"
    money = check_bank(await bank(await postgres(isolation="read_committed")), 100)
    assert money.verdict == "invalid" and money.counts.get("wrong-total", 0) >= 1, money.summary


async def test_the_systems_refuse_a_store_without_transactions(kv_settings: dict[str, Any]) -> None:
    from chaos.system import SystemLoadError

    store = create("http", kv_settings, "plain")  # an HTTP key-value service: no transactions
    await store.open()
    try:
        with pytest.raises(SystemLoadError, match=r"'db' \(http\) offers no transactions"):
            await list_append(store, 1)
    finally:
        await store.close()
