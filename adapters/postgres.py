"""PostgreSQL store (asyncpg): one table per run, every primitive one statement.

Each run gets its own table, named after the run's namespace (``chaos_<namespace>``, made a
valid identifier and quoted), created by :meth:`PostgresStore.open` and dropped by
:meth:`PostgresStore.close` unless ``keep: true``. Keys are ``text COLLATE "C"`` (so ``list``
orders them by their bytes, as every adapter does) and values ``bytea``.

Each primitive is a single autocommit statement, so PostgreSQL's own atomicity is what a run
tests; in particular compare-and-set never reads and then writes:

* ``cas(k, None, new)``: ``INSERT ... ON CONFLICT DO NOTHING``, swapped iff a row was inserted;
* ``cas(k, old, new)``: ``WITH cur AS (SELECT value ... FOR UPDATE) UPDATE ... WHERE
  cur.value = old``, swapped iff a row was updated. The row lock makes the comparison wait for
  a write in flight and see the newest committed value. A plain ``UPDATE ... WHERE value =
  old`` does not: under READ COMMITTED it tests ``value = old`` on the statement's snapshot
  first, and skips the row at once when that version differs, so a cas expecting the value a
  write in flight stores is refused even when it lands after that write. That is still
  linearizable (the cas takes effect before the write), but with eight workers on one key
  only 9-17% of cas swapped, against 26-29% with the lock. The lock has a price on a hot key:
  every cas waits its turn, refused ones included (``experiments/register-postgres.yaml``:
  7,000-9,300 operations per second with the plain statement, 2,000-2,400 with the lock).

Settings (besides ``keep``, ``reuse``, ``connect_timeout``, ``retry``)::

    dsn: postgresql://user@host:5432/db   # required; its password never reaches a message
    table: my_table          # instead of the per-run name; emptied at close, never dropped
    pool_size: 16            # connections; defaults to the experiment's concurrency, at most 64
    min_size: 4              # or size the pool by hand (min defaults to max: every connection
    max_size: 16             #   is made at open, not in the middle of a run)
    isolation: serializable  # read_committed (server default) | repeatable_read | serializable
    statement_timeout: 2s    # server-side: the statement is cancelled (definite failure)
    command_timeout: 5s      # client-side: no answer in time (unknown outcome)

Transactions (:class:`~adapters.protocol.Transactional`): ``transaction()`` holds one
connection from ``BEGIN ISOLATION LEVEL <isolation>`` to ``COMMIT``; ``read`` is a ``SELECT``,
``write`` the ``put`` upsert and ``append`` ``INSERT ... ON CONFLICT DO UPDATE SET value =
value || $2``, so the concatenation happens in the server, on whatever row version the
isolation level lets the statement see. ``txn(ops)`` runs a list of micro-ops in one.
A transaction's outcome is known unless COMMIT itself was interrupted: an error before COMMIT
(a serialization failure, a deadlock, a lost connection or a timeout) leaves nothing
committed, since the server rolls back a transaction whose COMMIT it never received, and is
definite (:class:`~adapters.errors.Rejected`, :class:`~adapters.errors.Aborted`); a server
error answering COMMIT is definite too; a connection lost or timed out during COMMIT is
:class:`~adapters.errors.ConnectionLost` / :class:`~adapters.errors.Timeout`.

Errors, by what they prove: a failure to get a connection (nothing was sent) is
:class:`~adapters.errors.Unavailable`; an error the server answered with (constraint
violation, serialization failure, statement timeout) is :class:`~adapters.errors.Rejected`,
since an autocommit statement that errors is rolled back; a connection lost mid-statement
(SQLSTATE class 08, administrator shutdown, socket errors) is
:class:`~adapters.errors.ConnectionLost` and a client-side timeout
:class:`~adapters.errors.Timeout`: the statement may have committed.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hashlib
import re
import socket
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg
from pydantic import Field, model_validator

from .errors import (
    Aborted,
    AdapterError,
    ConfigError,
    ConnectError,
    ConnectionLost,
    NamespaceNotEmpty,
    Rejected,
    Timeout,
    Unavailable,
)
from .retry import STORE_PRIMITIVES, Retrying, transient
from .settings import CommonSettings, validate_settings
from .transactions import run_micro_ops
from .units import Duration, Integer

DEFAULT_POOL_SIZE = 10
"""Connections when neither the settings nor the engine give a concurrency."""
MAX_DEFAULT_POOL_SIZE = 64
"""Largest pool sized from concurrency alone: PostgreSQL's default ``max_connections`` is 100
and the server is usually shared. Ask for more with ``pool_size``."""

_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "53300", "57014"})
"""Serialization failure, deadlock, lock not available, too many connections, statement
timeout: the statement was rolled back and may well succeed if tried again."""
_LOST_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
"""Administrator or crash shutdown: the connection died around the statement."""

_ISOLATION = {
    "read_committed": "read committed",
    "repeatable_read": "repeatable read",
    "serializable": "serializable",
}
_ISOLATION_NAMES = {sql: name for name, sql in _ISOLATION.items()} | {"read uncommitted": "read_committed"}
"""PostgreSQL's answer to ``SHOW transaction_isolation`` -> our name (its read uncommitted
behaves as read committed)."""


class PostgresSettings(CommonSettings):
    """The ``settings:`` of a postgres store."""

    dsn: str
    table: str | None = Field(default=None, min_length=1, max_length=63)
    pool_size: Integer | None = Field(default=None, ge=1, le=1000)
    min_size: Integer | None = Field(default=None, ge=0, le=1000)
    max_size: Integer | None = Field(default=None, ge=1, le=1000)
    isolation: Literal["read_committed", "repeatable_read", "serializable"] | None = None
    statement_timeout: Duration | None = Field(default=None, gt=0)
    command_timeout: Duration | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _sizes(self) -> PostgresSettings:
        if self.min_size is not None and self.max_size is not None and self.min_size > self.max_size:
            raise ValueError("min_size cannot exceed max_size")
        return self


def table_name(namespace: str) -> str:
    """A valid, unquoted-safe PostgreSQL identifier for a run's namespace.

    Lower-case letters, digits and ``_`` only, at most 63 bytes; a short hash of the original
    namespace keeps two namespaces that differ only in dropped characters apart."""
    cleaned = re.sub(r"[^a-z0-9_]+", "_", namespace.lower()).strip("_") or "run"
    digest = hashlib.sha1(namespace.encode()).hexdigest()[:8]
    return f"chaos_{cleaned[:48]}_{digest}"


def quote_ident(name: str) -> str:
    """``name`` as a quoted identifier (inner quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def dsn_address(dsn: str) -> str:
    """``host:port`` of a DSN, for messages: never the user, password or options."""
    try:
        parts = urlsplit(dsn)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError
        query = parse_qs(parts.query)
        host = parts.hostname or (query.get("host") or ["localhost"])[0]
    except ValueError:
        raise ConfigError("postgres settings: dsn: expected postgresql://[user@]host[:port]/database") from None
    try:
        port = parts.port or int((query.get("port") or ["5432"])[0])
    except ValueError:
        port = 0
    if not 0 < port <= 65535:
        raise ConfigError("postgres settings: dsn: the port must be a number from 1 to 65535")
    if "," in host:  # several hosts: name them all, still without credentials
        return unquote(host)
    return f"{unquote(host)}:{port}"


class ConnectionPool:
    """The store's connections: at most ``size``, handed to one statement at a time.

    asyncpg's own pool does more than a store needs and costs a third of the throughput of a
    loop over plain connections (a task per release for ``asyncio.shield``, a proxy object per
    acquire, a reset round trip per release), and the adapter must not be what limits a run.
    Our statements leave no session state behind (autocommit, no ``SET``, no ``LISTEN``), so
    a connection goes back as it is; one whose statement was interrupted (cancelled, timed out,
    connection error) is terminated instead of reused, and a new one is made on demand.
    """

    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Connection]], size: int) -> None:
        self._connect = connect
        self.size = size
        self.free: list[asyncpg.Connection] = []
        """Idle connections (the store takes one straight from here when there is one)."""
        self._all: set[asyncpg.Connection] = set()
        self._making = 0
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self.closed = False

    async def fill(self, count: int) -> None:
        """Make ``count`` connections now (all at once); the first failure is raised."""
        made = await asyncio.gather(*(self._new() for _ in range(count)), return_exceptions=True)
        for con in made:
            if isinstance(con, asyncpg.Connection):
                self.release(con)
        for failure in made:
            if isinstance(failure, BaseException):
                raise failure

    async def _new(self) -> asyncpg.Connection:
        self._making += 1
        try:
            con = await self._connect()
        finally:
            self._making -= 1
        self._all.add(con)
        return con

    async def acquire(self) -> asyncpg.Connection:
        while True:
            if self.closed:
                raise ConnectionError("the store is closed")
            if self.free:
                return self.free.pop()
            if len(self._all) + self._making < self.size:
                return await self._new()
            waiter: asyncio.Future[asyncpg.Connection | None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                con = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._hand(waiter.result())  # it was handed to us as we were cancelled: pass it on
                else:
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(waiter)
                raise
            if con is not None:
                return con
            # None: a connection was discarded, so there is room to make a new one.

    def _hand(self, con: asyncpg.Connection | None) -> None:
        """Give ``con`` (or, with ``None``, the room to make one) to the first live waiter."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(con)
                return
        if con is not None:
            self.free.append(con)

    def release(self, con: asyncpg.Connection) -> None:
        """Put back a connection whose statement completed (with a result or a server error)."""
        self._hand(con)

    def discard(self, con: asyncpg.Connection) -> None:
        """Terminate a connection whose statement was interrupted: it is not reused."""
        self._all.discard(con)
        con.terminate()
        self._hand(None)

    async def close(self, timeout: float) -> None:
        """Close every connection; waiters get an error."""
        self.closed = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
        connections, self._all, self.free = list(self._all), set(), []
        results = await asyncio.gather(*(c.close(timeout=timeout) for c in connections), return_exceptions=True)
        for con, result in zip(connections, results, strict=True):
            if isinstance(result, BaseException):
                con.terminate()

    def terminate(self) -> None:
        self.closed = True
        for con in self._all:
            con.terminate()
        self._all, self.free = set(), []


def _status_count(status: str) -> int:
    """The row count at the end of a command tag such as ``INSERT 0 1`` or ``UPDATE 1``."""
    return int(status.rsplit(" ", 1)[-1])


def _connect_reason(exc: BaseException) -> str:
    """One line saying why a connection failed, from the exception's type and the server's own
    message (the server's messages never contain the password)."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, asyncpg.PostgresError):
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    if isinstance(exc, asyncpg.InterfaceError | ValueError):
        return "the DSN is not valid"
    return type(exc).__name__


class PostgresStore(Retrying):
    """The :class:`~adapters.protocol.Store` protocol over one table of a PostgreSQL database."""

    kind = "postgres"

    def __init__(self, settings: dict[str, Any] | None = None, namespace: str = "", *, concurrency: int | None = None):
        self.settings = validate_settings(PostgresSettings, settings, "postgres")
        self.namespace = namespace
        self.address = dsn_address(self.settings.dsn)
        self.table = self.settings.table or table_name(namespace)
        self.max_size = (
            self.settings.max_size
            or self.settings.pool_size
            or min(concurrency or DEFAULT_POOL_SIZE, MAX_DEFAULT_POOL_SIZE)
        )
        self.min_size = self.max_size if self.settings.min_size is None else min(self.settings.min_size, self.max_size)
        self._pool: ConnectionPool | None = None
        self._owned = False
        """Whether close() may drop the table: only once open() has accepted it."""
        t = quote_ident(self.table)
        self._sql_create = f'CREATE TABLE IF NOT EXISTS {t} (key text COLLATE "C" PRIMARY KEY, value bytea NOT NULL)'
        self._sql_probe = f"SELECT key, value FROM {t} LIMIT 1"
        self._sql_get = f"SELECT value FROM {t} WHERE key = $1"
        self._sql_put = (
            f"INSERT INTO {t} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
        )
        self._sql_delete = f"DELETE FROM {t} WHERE key = $1"
        self._sql_insert = f"INSERT INTO {t} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING"
        self._sql_swap = (
            f"WITH cur AS (SELECT value FROM {t} WHERE key = $1 FOR UPDATE) "
            f"UPDATE {t} SET value = $3 FROM cur WHERE {t}.key = $1 AND cur.value = $2"
        )
        self._sql_list_all = f'SELECT key FROM {t} ORDER BY key COLLATE "C"'
        self._sql_list = f"SELECT key FROM {t} WHERE key LIKE $1 ESCAPE '\\' ORDER BY key COLLATE \"C\""
        self._sql_append = (
            f"INSERT INTO {t} AS cur (key, value) VALUES ($1, $2) "
            "ON CONFLICT (key) DO UPDATE SET value = cur.value || EXCLUDED.value"
        )
        self._sql_drop = f"DROP TABLE IF EXISTS {t}"
        self._sql_clear = f"DELETE FROM {t}"
        isolation = self.settings.isolation
        self._sql_begin = "BEGIN" if isolation is None else f"BEGIN ISOLATION LEVEL {_ISOLATION[isolation].upper()}"
        self.isolation: str = isolation or "read_committed"
        """The level transactions run at: the setting, or the server's default (read at open)."""
        # txn is retried like a write: after definite, passing errors only (nothing committed).
        self.use_retry_policy(self.settings.retry, (*STORE_PRIMITIVES, "txn"))

    def _where(self) -> str:
        return f"postgres at {self.address}"

    # ------------------------------------------------------------------ life cycle

    async def open(self) -> None:
        """Connect the pool, create the run's table, refuse one that already holds data."""
        timeout = self.settings.connect_timeout
        server_settings: dict[str, str] = {"application_name": "asyncchaos"}
        if self.settings.isolation is not None:
            server_settings["default_transaction_isolation"] = _ISOLATION[self.settings.isolation]
        if self.settings.statement_timeout is not None:
            server_settings["statement_timeout"] = str(max(1, round(self.settings.statement_timeout * 1000)))
        dsn, command_timeout = self.settings.dsn, self.settings.command_timeout

        def connect() -> Awaitable[asyncpg.Connection]:
            return asyncpg.connect(  # type: ignore[no-any-return]
                dsn, timeout=timeout, command_timeout=command_timeout, server_settings=server_settings
            )

        self._pool = ConnectionPool(connect, self.max_size)
        try:
            async with asyncio.timeout(timeout):
                await self._pool.fill(max(1, self.min_size))
                await self._prepare_table()
        except TimeoutError:
            await self._abandon()
            raise ConnectError(f"{self._where()}: no connection within {timeout:g}s", store=self.kind) from None
        except AdapterError:
            await self._abandon()
            raise
        except Exception as exc:
            await self._abandon()
            raise ConnectError(f"{self._where()}: {_connect_reason(exc)}", store=self.kind) from None

    async def _prepare_table(self) -> None:
        assert self._pool is not None
        con = await self._pool.acquire()
        try:
            await con.execute(self._sql_create)
            row = await con.fetchrow(self._sql_probe)
            if self.settings.isolation is None:
                default = await con.fetchval("SHOW default_transaction_isolation")
                self.isolation = _ISOLATION_NAMES.get(str(default), "read_committed")
        except asyncpg.UndefinedColumnError:
            raise ConnectError(
                f"{self._where()}: table {self.table} exists without columns key text, value bytea",
                store=self.kind,
            ) from None
        finally:
            self._pool.release(con)
        if row is not None and not self.settings.reuse:
            raise NamespaceNotEmpty(
                f"{self._where()}: table {self.table} already holds data (set reuse: true to use it anyway)",
                store=self.kind,
            )
        self._owned = True

    async def _abandon(self) -> None:
        """Drop the half-made pool after a failed open, without touching any table."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()

    async def close(self) -> None:
        """Drop the run's table (unless ``keep``; a table named in the settings is only
        emptied) and close every connection."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            if self._owned and not self.settings.keep:
                async with asyncio.timeout(self.settings.connect_timeout):
                    con = await pool.acquire()
                    try:
                        # A table named in the settings may be the user's own: emptied, never dropped.
                        await con.execute(self._sql_drop if self.settings.table is None else self._sql_clear)
                    finally:
                        pool.release(con)
        finally:
            self._owned = False
            try:
                await pool.close(self.settings.connect_timeout)
            except BaseException:
                pool.terminate()
                raise

    # ------------------------------------------------------------------ primitives

    async def _run(self, method: str, sql: str, *args: Any) -> Any:
        """Run one statement on a connection of the pool, mapping errors by what they prove."""
        pool = self._pool
        if pool is None:
            raise Unavailable(f"{self._where()}: store is not open", store=self.kind)
        free = pool.free
        if free:  # the common case, without a coroutine
            con = free.pop()
        else:
            try:
                con = await pool.acquire()
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError, TimeoutError) as exc:
                raise transient(
                    Unavailable(f"{self._where()}: no connection: {_connect_reason(exc)}", store=self.kind)
                ) from None
        try:
            result = await getattr(con, method)(sql, *args)
        except asyncpg.PostgresError as exc:
            error = self._statement_error(exc)
            if isinstance(error, ConnectionLost):
                pool.discard(con)
            else:
                pool.release(con)
            raise error from None
        except TimeoutError:
            pool.discard(con)
            raise Timeout(
                f"{self._where()}: no answer within {self.settings.command_timeout:g}s", store=self.kind
            ) from None
        except (OSError, asyncpg.InterfaceError) as exc:
            pool.discard(con)
            raise ConnectionLost(f"{self._where()}: connection lost: {type(exc).__name__}", store=self.kind) from None
        except BaseException:  # cancelled (an operation timeout, the end of the run)
            pool.discard(con)
            raise
        pool.release(con)
        return result

    def _statement_error(self, exc: asyncpg.PostgresError) -> AdapterError:
        state = exc.sqlstate or ""
        text = (str(exc).splitlines() or [type(exc).__name__])[0]
        if state.startswith("08") or state in _LOST_SQLSTATES:
            return ConnectionLost(f"{self._where()}: connection lost: {text}", store=self.kind)
        error = Rejected(f"{self._where()}: {text} (SQLSTATE {state})", store=self.kind)
        return transient(error) if state in _TRANSIENT_SQLSTATES else error

    async def get(self, key: str) -> bytes | None:
        value: bytes | None = await self._run("fetchval", self._sql_get, key)
        return value

    async def put(self, key: str, value: bytes) -> None:
        await self._run("execute", self._sql_put, key, value)

    async def delete(self, key: str) -> None:
        await self._run("execute", self._sql_delete, key)

    async def cas(self, key: str, expected: bytes | None, new: bytes) -> bool:
        if expected is None:
            status = await self._run("execute", self._sql_insert, key, new)
        else:
            status = await self._run("execute", self._sql_swap, key, expected, new)
        return _status_count(status) == 1

    async def list(self, prefix: str = "") -> list[str]:
        if not prefix:
            rows = await self._run("fetch", self._sql_list_all)
        else:
            pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            rows = await self._run("fetch", self._sql_list, pattern)
        return [row[0] for row in rows]

    # ------------------------------------------------------------------ transactions

    def transaction(self) -> PostgresTransaction:
        """A transaction on one connection (``async with store.transaction() as tx``)."""
        return PostgresTransaction(self)

    async def txn(self, ops: Sequence[Sequence[Any]]) -> builtins.list[builtins.list[Any]]:
        """Run ``[f, key, value]`` micro-ops (``r``, ``w``, ``append``) in one transaction."""
        return await run_micro_ops(self.transaction(), ops)


class PostgresTransaction:
    """One transaction of a :class:`PostgresStore`: a connection held from BEGIN to COMMIT.

    What each error proves is decided by whether COMMIT was sent: before it, the server
    cannot have committed (it rolls back a transaction whose connection dies), so every
    failure is definite; during it, a lost connection or a timeout leaves the outcome unknown.
    """

    __slots__ = ("_con", "_failed", "_store")

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._con: asyncpg.Connection | None = None
        self._failed = False

    async def __aenter__(self) -> PostgresTransaction:
        store = self._store
        pool = store._pool
        if pool is None:
            raise Unavailable(f"{store._where()}: store is not open", store=store.kind)
        try:
            self._con = pool.free.pop() if pool.free else await pool.acquire()
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise transient(
                Unavailable(f"{store._where()}: no connection: {_connect_reason(exc)}", store=store.kind)
            ) from None
        await self._statement("execute", store._sql_begin)
        return self

    async def _statement(self, method: str, sql: str, *args: Any) -> Any:
        """One statement inside the transaction. Any failure aborts the transaction, and
        the error raised says so (definite: nothing of it was committed)."""
        store, con = self._store, self._con
        if con is None or self._failed:
            raise Aborted(f"{store._where()}: the transaction was already rolled back", store=store.kind)
        pool = store._pool
        assert pool is not None
        try:
            return await getattr(con, method)(sql, *args)
        except asyncpg.PostgresError as exc:
            self._failed = True
            error = store._statement_error(exc)
            if isinstance(error, ConnectionLost):
                self._drop()
                raise transient(
                    Aborted(f"{error} (before COMMIT: the transaction was rolled back)", store=store.kind)
                ) from None
            raise error from None
        except TimeoutError:
            self._drop()
            raise transient(
                Aborted(
                    f"{store._where()}: no answer within {store.settings.command_timeout:g}s before COMMIT; "
                    "the connection was closed and the transaction rolled back",
                    store=store.kind,
                )
            ) from None
        except (OSError, asyncpg.InterfaceError) as exc:
            self._drop()
            raise transient(
                Aborted(
                    f"{store._where()}: connection lost before COMMIT ({type(exc).__name__}): "
                    "the transaction was rolled back",
                    store=store.kind,
                )
            ) from None
        except BaseException:  # cancelled: the statement may be running; the connection goes
            self._drop()
            raise

    def _drop(self) -> None:
        """Terminate the connection: the server rolls back what it had not committed."""
        con, self._con = self._con, None
        self._failed = True
        if con is not None and self._store._pool is not None:
            self._store._pool.discard(con)
        elif con is not None:
            con.terminate()

    async def read(self, key: str) -> bytes | None:
        value: bytes | None = await self._statement("fetchval", self._store._sql_get, key)
        return value

    async def write(self, key: str, value: bytes) -> None:
        await self._statement("execute", self._store._sql_put, key, value)

    async def append(self, key: str, value: bytes) -> None:
        await self._statement("execute", self._store._sql_append, key, value)

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        store, con = self._store, self._con
        if con is None:  # already dropped: nothing to commit or roll back
            if kind is None:
                raise Aborted(f"{store._where()}: the transaction was rolled back", store=store.kind)
            return False
        pool = store._pool
        assert pool is not None
        if kind is not None or self._failed:
            self._con = None
            try:
                await con.execute("ROLLBACK")
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError, TimeoutError):
                # Rolled back all the same: the server aborts what a closed connection left open.
                pool.discard(con)
            except BaseException:  # cancelled: the connection goes, the cancellation propagates
                pool.discard(con)
                raise
            else:
                pool.release(con)
            if kind is None:
                raise Aborted(
                    f"{store._where()}: a statement failed, the transaction was rolled back", store=store.kind
                )
            return False
        self._con = None
        try:
            status = await con.execute("COMMIT")
        except asyncpg.PostgresError as failure:
            error = store._statement_error(failure)
            if isinstance(error, ConnectionLost):
                pool.discard(con)
                raise ConnectionLost(
                    f"{error} during COMMIT: the transaction may have committed", store=store.kind
                ) from None
            pool.release(con)  # the server answered: the transaction is over, rolled back
            raise error from None
        except TimeoutError:
            pool.discard(con)
            raise Timeout(
                f"{store._where()}: no answer to COMMIT within {store.settings.command_timeout:g}s: "
                "the transaction may have committed",
                store=store.kind,
            ) from None
        except (OSError, asyncpg.InterfaceError) as failure:
            pool.discard(con)
            raise ConnectionLost(
                f"{store._where()}: connection lost during COMMIT ({type(failure).__name__}): "
                "the transaction may have committed",
                store=store.kind,
            ) from None
        except BaseException:
            pool.discard(con)
            raise
        pool.release(con)
        if status != "COMMIT":  # PostgreSQL answers ROLLBACK to the COMMIT of an aborted transaction
            raise Aborted(
                f"{store._where()}: COMMIT answered {status}: the transaction was rolled back", store=store.kind
            )
        return False
