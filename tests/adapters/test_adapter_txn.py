"""Transactions on the memory and postgres adapters: what ``txn`` and ``transaction()`` do,
how the isolation levels treat two transactions that read and then write the same key, and,
on the real server, which errors say the transaction did not commit and which say it may have
(a connection killed or timed out before COMMIT, or during it, provoked for real)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from adapters import Aborted, ConnectionLost, DefiniteError, Rejected, Timeout, Transactional, Unsupported, create
from adapters.postgres import quote_ident

from .opening import Opener, opening


@pytest.fixture
async def memory() -> AsyncIterator[Opener]:
    async with opening("memory", {}) as make:
        yield make


@pytest.fixture
async def postgres(pg_dsn: str) -> AsyncIterator[Opener]:
    async with opening("postgres", {"dsn": pg_dsn, "pool_size": 4}) as make:
        yield make


@pytest.fixture
async def admin(pg_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(pg_dsn)
    yield conn
    await conn.close()


@pytest.fixture(params=["memory", "postgres"])
def opened(request: pytest.FixtureRequest) -> Opener:
    if request.param == "postgres":
        return request.getfixturevalue("postgres")
    return request.getfixturevalue("memory")


# ---------------------------------------------------------------------------- both adapters


async def test_txn_runs_micro_ops_and_fills_in_reads(opened: Opener) -> None:
    store = await opened()
    assert isinstance(store, Transactional)
    done = await store.txn(
        [
            ["r", "x", None],
            ["append", "x", b"1,"],
            ["append", "x", b"2,"],
            ["r", "x", None],
            ["w", "y", b"v"],
            ["r", "y", None],
        ]
    )
    assert done == [
        ["r", "x", None],
        ["append", "x", b"1,"],
        ["append", "x", b"2,"],
        ["r", "x", b"1,2,"],
        ["w", "y", b"v"],
        ["r", "y", b"v"],
    ]
    assert await store.txn([["append", "x", b"3,"], ["r", "x", None]]) == [
        ["append", "x", b"3,"],
        ["r", "x", b"1,2,3,"],
    ]
    assert await store.get("x") == b"1,2,3,"  # the plain primitives see what transactions committed


async def test_an_exception_rolls_the_transaction_back(opened: Opener) -> None:
    store = await opened()
    await store.put("x", b"before")
    with pytest.raises(RuntimeError, match="changed my mind"):
        async with store.transaction() as tx:
            await tx.write("x", b"after")
            await tx.append("y", b"1")
            assert await tx.read("x") == b"after"
            raise RuntimeError("changed my mind")
    assert await store.get("x") == b"before"
    assert await store.get("y") is None
    assert await store.txn([["r", "x", None]]) == [["r", "x", b"before"]]  # and the store carries on


async def test_micro_ops_the_store_cannot_run_are_refused_before_anything_is_sent(opened: Opener) -> None:
    store = await opened()
    for bad in ([["cas", "x", b"1"]], [["append", "x", 1]], [["r", 3, None]], [["r", "x"]]):
        with pytest.raises(Unsupported, match="micro-op 0"):
            await store.txn(bad)
    assert await store.list() == []


async def two_read_then_append(store: Any) -> list[Any]:
    """Two transactions that both read ``x`` and then append to it, their steps interleaved
    where the store lets them be (serializable memory runs one after the other)."""
    both_read = asyncio.Event()
    readers = 0

    async def one(element: bytes) -> Any:
        nonlocal readers
        try:
            async with store.transaction() as tx:
                seen = await tx.read("x")
                readers += 1
                if readers == 2:
                    both_read.set()
                with contextlib.suppress(TimeoutError):  # the other one waits for this one to end
                    await asyncio.wait_for(both_read.wait(), 0.5)
                await tx.append("x", element)
            return seen
        except DefiniteError as exc:
            return exc

    return await asyncio.gather(one(b"a"), one(b"b"))


@pytest.mark.parametrize(
    ("isolation", "both_commit"),
    [("serializable", True), ("repeatable_read", False), ("snapshot_reads", True)],
)
async def test_memory_isolation_levels(memory: Opener, isolation: str, both_commit: bool) -> None:
    store = await memory(isolation=isolation)
    assert store.isolation == isolation
    await store.put("x", b"0")
    outcomes = await two_read_then_append(store)
    failures = [o for o in outcomes if isinstance(o, Exception)]
    if both_commit:
        assert not failures
        assert sorted(await store.get("x")) == sorted(b"0ab")
    else:
        (failure,) = failures
        assert isinstance(failure, Rejected) and failure.transient  # type: ignore[attr-defined]
        assert "could not serialize access" in str(failure)
    if isolation == "serializable":
        assert outcomes in ([b"0", b"0a"], [b"0b", b"0"])  # one ran after the other
    if isolation == "snapshot_reads":
        assert outcomes == [b"0", b"0"]  # both read the same snapshot: a lost update


# ---------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("isolation", "both_commit"),
    [("read_committed", True), ("repeatable_read", False), ("serializable", False)],
)
async def test_postgres_isolation_levels(postgres: Opener, isolation: str, both_commit: bool) -> None:
    store = await postgres(isolation=isolation)
    assert store.isolation == isolation
    await store.put("x", b"0")
    outcomes = await two_read_then_append(store)
    failures = [o for o in outcomes if isinstance(o, Exception)]
    if both_commit:
        assert outcomes == [b"0", b"0"] and not failures  # a lost update: both read 0, both appended
        assert sorted(await store.get("x")) == sorted(b"0ab")
    else:
        (failure,) = failures
        assert isinstance(failure, Rejected) and "SQLSTATE 40001" in str(failure)
        assert failure.transient  # type: ignore[attr-defined]
        assert await store.get("x") in (b"0a", b"0b")  # the refused one left nothing


@pytest.mark.postgres
async def test_postgres_isolation_defaults_to_the_servers(postgres: Opener) -> None:
    store = await postgres()
    assert store.isolation == "read_committed"


@pytest.mark.postgres
async def test_a_deadlock_is_definite(postgres: Opener) -> None:
    store = await postgres()
    await store.txn([["w", "a", b"0"], ["w", "b", b"0"]])
    gate = asyncio.Barrier(2)

    async def cross(first: str, second: str) -> Any:
        try:
            async with store.transaction() as tx:
                await tx.write(first, b"1")
                await gate.wait()
                await tx.write(second, b"1")
        except Rejected as exc:
            return exc

    outcomes = await asyncio.gather(cross("a", "b"), cross("b", "a"))
    (deadlock,) = [o for o in outcomes if o is not None]
    assert "SQLSTATE 40P01" in str(deadlock)
    assert await store.txn([["r", "a", None]]) == [["r", "a", b"1"]]


async def busy_backend(admin: asyncpg.Connection, store: Any, query: str) -> int:
    """The pid of the store's own backend running a statement like ``query`` (a ``LIKE``
    pattern). Only the store's connections are looked at: the server is shared, and a
    backend that is not ours must never be terminated."""
    for _ in range(1000):
        pids = [con.get_server_pid() for con in store._pool._all]
        pid = await admin.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[]) AND query LIKE $2 AND state = 'active'",
            pids,
            query,
        )
        if pid is not None:
            return pid
        await asyncio.sleep(0.01)
    raise AssertionError(f"no backend of the store ran {query!r}")


@pytest.mark.postgres
async def test_a_connection_killed_before_commit_is_definite(postgres: Opener, admin: asyncpg.Connection) -> None:
    store = await postgres()
    await store.put("x", b"before")
    holder = admin.transaction()
    await holder.start()
    await admin.execute(f"SELECT 1 FROM {quote_ident(store.table)} WHERE key = 'x' FOR UPDATE")
    try:

        async def update() -> None:
            async with store.transaction() as tx:
                await tx.append("y", b"1")
                await tx.write("x", b"after")  # waits on the lock, then its backend is killed

        task = asyncio.create_task(update())
        pid = await busy_backend(admin, store, "INSERT INTO%ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value")
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        with pytest.raises(Aborted, match="before COMMIT") as caught:
            await task
        assert caught.value.definite
    finally:
        await holder.rollback()
    assert await store.get("x") == b"before"
    assert await store.get("y") is None  # nothing of it committed
    assert await store.txn([["r", "x", None]]) == [["r", "x", b"before"]]


@pytest.fixture
async def slow_commit(admin: asyncpg.Connection) -> AsyncIterator[Any]:
    """``await install(store, seconds)``: a deferred constraint trigger on the store's table
    that sleeps at COMMIT, so that COMMIT can be interrupted for real."""
    function = f"chaos_slow_commit_{uuid.uuid4().hex[:8]}"
    made: list[str] = []

    async def install(store: Any, seconds: float) -> None:
        await admin.execute(
            f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN PERFORM pg_sleep({seconds}); RETURN NULL; END $$"
        )
        made.append(function)
        await admin.execute(
            f"CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT OR UPDATE ON {quote_ident(store.table)} "
            f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {function}()"
        )

    yield install
    for name in made:
        await admin.execute(f"DROP FUNCTION IF EXISTS {name}() CASCADE")


@pytest.mark.postgres
async def test_a_connection_killed_during_commit_is_an_unknown_outcome(
    postgres: Opener, admin: asyncpg.Connection, slow_commit: Any
) -> None:
    store = await postgres()
    await slow_commit(store, 30)
    task = asyncio.create_task(store.txn([["append", "x", b"1,"]]))
    pid = await busy_backend(admin, store, "COMMIT")
    await admin.execute("SELECT pg_terminate_backend($1)", pid)
    with pytest.raises(ConnectionLost, match="during COMMIT: the transaction may have committed") as caught:
        await task
    assert not caught.value.definite
    assert await store.get("x") is None  # here the server had not finished committing


@pytest.mark.postgres
async def test_a_commit_that_times_out_may_still_commit(postgres: Opener, slow_commit: Any) -> None:
    store = await postgres(command_timeout=0.3)
    await slow_commit(store, 1)
    with pytest.raises(Timeout, match=r"no answer to COMMIT within 0\.3s: the transaction may have committed"):
        await store.txn([["append", "x", b"1,"]])
    for _ in range(100):  # the server finishes the commit the client gave up on
        if await store.get("x") == b"1,":
            break
        await asyncio.sleep(0.05)
    assert await store.get("x") == b"1,"


class SlowRelay:
    """A TCP relay on loopback between a store and PostgreSQL whose answers can be held back
    ``delay`` seconds: a slow network, for real, inside the test."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.delay = 0.0
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self.target)
        for task in (self._pump(client_r, server_w, slow=False), self._pump(server_r, client_w, slow=True)):
            self.tasks.add(asyncio.create_task(task))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, slow: bool) -> None:
        try:
            while chunk := await reader.read(65536):
                if slow and self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@pytest.mark.postgres
async def test_a_rollback_that_times_out_keeps_the_error_that_ended_the_transaction(pg_dsn: str) -> None:
    parts = urlsplit(pg_dsn)
    relay = SlowRelay(parts.hostname or "127.0.0.1", parts.port or 5432)
    port = await relay.start()
    netloc = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    dsn = urlunsplit(parts._replace(netloc=f"{netloc}127.0.0.1:{port}"))
    store = create("postgres", {"dsn": dsn, "command_timeout": 0.3, "pool_size": 1}, f"relay-{uuid.uuid4().hex[:8]}")
    await store.open()
    try:
        with pytest.raises(Rejected, match="SQLSTATE") as caught:
            async with store.transaction() as tx:
                await tx.append("x", b"1")
                try:
                    await tx.write("nul\x00byte", b"v")  # text cannot hold NUL: refused, the transaction aborted
                finally:
                    relay.delay = 1.0  # and the answer to ROLLBACK comes after command_timeout
        assert caught.value.definite
        relay.delay = 0.0
        assert await store.get("x") is None  # rolled back: the server dropped what it never committed
        assert await store.txn([["append", "x", b"2"], ["r", "x", None]]) == [["append", "x", b"2"], ["r", "x", b"2"]]
    finally:
        relay.delay = 0.0
        await store.close()
        await relay.close()
