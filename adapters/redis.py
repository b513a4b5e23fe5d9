"""Redis store (redis-py's asyncio connections): one key prefix per run, every primitive one command.

Keys live under ``<prefix>:`` (``prefix`` defaults to the run's namespace) in the database the
URL names, so runs sharing a server never see each other's keys; at close every key under the
prefix is removed (``SCAN`` + ``UNLINK`` in batches) unless ``keep: true``. Values are Redis
strings, byte for byte.

Each primitive is one command, so Redis's own atomicity is what a run tests; compare-and-set
never reads and then writes:

* ``cas(k, None, new)``: ``SET k new NX``, swapped iff the server answered ``OK``;
* ``cas(k, old, new)``: a Lua script (``EVALSHA``, or ``EVAL`` if the server's script cache
  was flushed: a ``NOSCRIPT`` answer means it did not run) that compares the bytes under ``k``
  with ``old`` and writes ``new`` only if they are equal. Redis runs a script as one step, so
  no other command can slip between the comparison and the write.

``list(prefix)`` is ``SCAN MATCH`` over the prefix (glob characters in it escaped), sorted by
bytes. Like a paginated S3 listing it is not a snapshot: a key present for the whole call is
listed exactly once, a key written or deleted during the call may or may not be. It walks the
whole database, a page (``COUNT 1000``) per round trip.

The store drives redis-py's ``Connection`` objects (its protocol, TLS and authentication)
through a small pool of its own rather than through ``redis.asyncio.Redis``. The client cannot
say whether a ``ConnectionError`` happened while connecting (nothing was sent: a definite
failure) or after the command left (an unknown outcome); here connecting and commanding are
separate steps. Its command path and pool also cost more per call than the command itself on
loopback, and the adapter must not be what limits a run (``bench/redis_pool.py`` compares
them). redis-py's own retries are off: resending a write whose connection broke could apply
it twice.

Settings (besides ``keep``, ``reuse``, ``connect_timeout``, ``retry``)::

    url: redis://[user:password@]host[:port][/db]   # required; rediss:// for TLS; the password
                                                     #   never reaches a message
    prefix: team-a:run-7     # default: the run's namespace
    pool_size: 16            # connections, made at open; default the experiment's concurrency, at most 64
    command_timeout: 5s      # client side: no answer in time (unknown outcome); default none

Errors, by what they prove: no connection to be had (refused, unknown host, connect timeout,
the server closing a fresh connection) is :class:`~adapters.errors.Unavailable`, since nothing
was sent; any error the server answered with is :class:`~adapters.errors.Rejected`, since Redis
refuses a command before running it (and the cas script writes last, so an error from it
wrote nothing), ``BUSY``, ``LOADING``, ``TRYAGAIN``, ``CLUSTERDOWN`` and ``MASTERDOWN`` marked
transient; a timeout or a connection lost after the command was sent is
:class:`~adapters.errors.Timeout` / :class:`~adapters.errors.ConnectionLost`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
import ssl
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import Field
from redis.asyncio.connection import Connection, parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import (
    AuthenticationError,
    AuthorizationError,
    BusyLoadingError,
    ClusterDownError,
    DataError,
    InvalidResponse,
    MasterDownError,
    NoPermissionError,
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .errors import (
    AdapterError,
    ConfigError,
    ConnectError,
    ConnectionLost,
    NamespaceNotEmpty,
    Rejected,
    Timeout,
    Unavailable,
    Unsupported,
)
from .retry import Retrying, transient
from .settings import CommonSettings, validate_settings
from .units import Duration, Integer

DEFAULT_POOL_SIZE = 10
"""Connections when neither the settings nor the engine give a concurrency."""
MAX_DEFAULT_POOL_SIZE = 64
"""Largest pool sized from concurrency alone (a shared server serves others too)."""
DEFAULT_PORT = 6379
SCAN_COUNT = 1000
"""Keys ``SCAN`` looks at per round trip."""
UNLINK_BATCH = 500
"""Keys removed per ``UNLINK`` at close."""
CLIENT_NAME = "asyncchaos"
"""``CLIENT SETNAME`` of every connection, so that ``CLIENT LIST`` shows whose they are."""

TRANSIENT_REPLIES = frozenset({"BUSY", "LOADING", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN"})
"""Error replies that refuse a command for a reason that passes: a script running too long,
the dataset still loading, a cluster slot moving or down, a replica cut off from its primary.
The command did not run, so trying again cannot apply it twice."""

CAS_SCRIPT = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0"
"""Compare-and-set on a present key. ``GET`` of a missing key is ``false`` in Lua, which equals
no string, so a missing key never matches (not even ``b""``); Lua compares strings byte by byte."""
CAS_SHA = hashlib.sha1(CAS_SCRIPT.encode()).hexdigest()

_OPEN_GRACE = 0.05
"""Share of ``connect_timeout`` (at most a quarter second) that ``open()`` leaves unused, so that
its own message, which names the server, arrives before a caller's deadline of the same length."""

_REPLY_CLASSES: tuple[tuple[type[RedisError], str], ...] = (
    (BusyLoadingError, "LOADING"),
    (TryAgainError, "TRYAGAIN"),
    (MasterDownError, "MASTERDOWN"),
    (ClusterDownError, "CLUSTERDOWN"),
    (NoScriptError, "NOSCRIPT"),
    (ReadOnlyError, "READONLY"),
    (OutOfMemoryError, "OOM"),
    (NoPermissionError, "NOPERM"),
    (AuthorizationError, "NOPERM"),
)
"""redis-py strips the code off the replies it has an exception class for (older versions
keep no ``status_code``): the class names the code instead."""

_SERVER_REPLIES = (ResponseError, BusyLoadingError, AuthenticationError, AuthorizationError)
"""Exceptions that carry an error reply of the server. redis-py raises some of them as
``ConnectionError`` subclasses, which must not be mistaken for a lost connection."""


class PoolClosed(RedisConnectionError):
    """The store was closed while a call waited for a connection."""


class RedisSettings(CommonSettings):
    """The ``settings:`` of a redis store."""

    url: str
    prefix: str | None = Field(default=None, min_length=1)
    pool_size: Integer | None = Field(default=None, ge=1, le=1000)
    command_timeout: Duration | None = Field(default=None, gt=0)


def url_address(url: str) -> str:
    """``host:port`` of a redis URL, for messages: never the user, password or options.

    Checked here rather than left to redis-py, which ignores a database it cannot read and
    quotes values in its errors."""
    expected = "redis settings: url: expected redis://[user:password@]host[:port][/db] or rediss://..."
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ConfigError(expected) from None
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ConfigError(expected)
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ConfigError("redis settings: url: the port must be a number from 1 to 65535") from None
    if port == 0:
        raise ConfigError("redis settings: url: the port must be a number from 1 to 65535")
    database = unquote(parts.path).strip("/")
    if database and not database.isdigit():
        raise ConfigError("redis settings: url: the database (the path after the port) must be a number")
    host = parts.hostname
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def glob_escape(text: str) -> str:
    """``text`` as a literal in a Redis glob pattern (``SCAN MATCH``, ``KEYS``)."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def reply_code(exc: RedisError) -> str:
    """The code of an error reply (``ERR``, ``WRONGTYPE``, ``BUSY``...)."""
    code = getattr(exc, "status_code", None)
    if code:
        return str(code)
    for cls, name in _REPLY_CLASSES:
        if isinstance(exc, cls):
            return name
    if isinstance(exc, AuthenticationError):  # NOAUTH "Authentication required." or WRONGPASS
        return "NOAUTH" if "required" in str(exc).lower() else "WRONGPASS"
    first = str(exc).split(" ", 1)[0]
    return first if first.isalpha() and first.isupper() else "ERR"


def _reply_text(exc: RedisError) -> str:
    """``CODE message``, one line."""
    code = reply_code(exc)
    text = (str(exc).splitlines() or [""])[0].strip()
    if text.startswith(code):
        return text
    return f"{code} {text}".rstrip()


def _connect_reason(exc: BaseException) -> str:
    """Why a connection could not be made, in a few words (the server's own words for an
    error reply, which never contain the password)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "the server reset the connection"
        if isinstance(cause, socket.gaierror):
            return "unknown host"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed ({cause.reason or type(cause).__name__})"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, PoolClosed):
        return "the store is closed"
    if isinstance(exc, AuthenticationError):
        if reply_code(exc) == "NOAUTH":
            return "the server requires a password (put it in url: redis://[user]:password@host)"
        return f"authentication failed ({_reply_text(exc)}): check the user and password in url"
    if isinstance(exc, _SERVER_REPLIES):
        return _reply_text(exc)
    if isinstance(exc, RedisTimeoutError | TimeoutError):
        return "connect timeout"
    if isinstance(exc, InvalidResponse):
        return "the server does not speak the Redis protocol"
    text = str(exc)
    if "Connection closed by server" in text:
        return "the server closed the connection"
    if "connecting to" in text and "." in text:  # redis-py: "Error 113 connecting to h:p. No route to host."
        return text.rsplit(". ", 1)[-1].rstrip(".") or "cannot connect"
    return type(exc).__name__


def closed_by_peer(con: Connection) -> bool:
    """Whether the server closed (or reset) an idle connection.

    Read from the connection's asyncio stream itself: redis-py's own check has changed between
    versions (before 8 it reads a byte and takes the end of the stream for "nothing to read")."""
    reader = getattr(con, "_reader", None)
    return reader is None or reader.at_eof() or reader.exception() is not None


class ConnectionPool:
    """The store's connections: a fixed set of ``size``, handed to one command at a time.

    A connection object stays in the pool for the store's life; one that was broken (its
    command interrupted, its socket closed) is reconnected when next taken, so that a failure
    to reconnect happens before anything is sent and is a definite error."""

    def __init__(self, make: Callable[[], Connection], size: int, connect_timeout: float) -> None:
        self.connections = [make() for _ in range(size)]
        self.free: list[Connection] = list(self.connections)
        """Idle connections; the store takes one straight from here when it is sound."""
        self.broken: set[Connection] = set()
        """Connections whose command was interrupted: reconnected before their next use."""
        self.connect_timeout = connect_timeout
        self._waiters: deque[asyncio.Future[Connection]] = deque()
        self.closed = False

    async def fill(self) -> None:
        """Connect every connection now (all at once); the first failure is raised."""
        results = await asyncio.gather(*(c.connect() for c in self.connections), return_exceptions=True)  # type: ignore[no-untyped-call]
        for failure in results:
            if isinstance(failure, BaseException):
                raise failure

    async def acquire(self) -> Connection:
        """A connected connection, waiting for one to be free; connecting errors are raised
        (and the connection goes back)."""
        if self.closed:
            raise PoolClosed("the store is closed")
        if self.free:
            con = self.free.pop()
        else:
            waiter: asyncio.Future[Connection] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                con = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self.release(waiter.result())  # handed to us as we were cancelled: pass it on
                else:
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(waiter)
                raise
        try:
            if con in self.broken or not con.is_connected or closed_by_peer(con):
                self.broken.discard(con)
                await con.disconnect(nowait=True)
                async with asyncio.timeout(self.connect_timeout):
                    await con.connect()  # type: ignore[no-untyped-call]
        except BaseException:
            self.release(con, broken=True)
            raise
        return con

    def release(self, con: Connection, broken: bool = False) -> None:
        """Give ``con`` back (to the first live waiter); ``broken``: reconnect it before reuse."""
        if broken:
            self.broken.add(con)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(con)
                return
        self.free.append(con)

    async def close(self) -> None:
        """Disconnect every connection; waiters get an error."""
        self.closed = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(PoolClosed("the store is closed"))
        self.free = []
        await asyncio.gather(*(c.disconnect(nowait=True) for c in self.connections), return_exceptions=True)


class RedisStore(Retrying):
    """The :class:`~adapters.protocol.Store` protocol over the keys under one prefix."""

    kind = "redis"

    def __init__(self, settings: dict[str, Any] | None = None, namespace: str = "", *, concurrency: int | None = None):
        self.settings = validate_settings(RedisSettings, settings, "redis")
        self.namespace = namespace
        self.address = url_address(self.settings.url)
        root = (self.settings.prefix or namespace or "chaos").rstrip(":") or "chaos"
        self.prefix = f"{root}:"
        """Every key of the store lives under this prefix."""
        self.pattern = glob_escape(self.prefix) + "*"
        """``SCAN MATCH`` pattern of every key of the store."""
        self.pool_size = self.settings.pool_size or min(concurrency or DEFAULT_POOL_SIZE, MAX_DEFAULT_POOL_SIZE)
        self.scripting = True
        """Whether the server runs Lua scripts (``cas`` with an expected value needs them)."""
        self._connection_options = self._options()
        self._pool: ConnectionPool | None = None
        self._owned = False
        """Whether close() may remove the keys: only once open() has accepted the prefix."""
        self.use_retry_policy(self.settings.retry)

    def _options(self) -> dict[str, Any]:
        """Keyword arguments of every connection: the URL's, then the settings'."""
        try:
            options: dict[str, Any] = dict(parse_url(self.settings.url))
        except (ValueError, TypeError):
            raise ConfigError("redis settings: url: an option in its query string has an invalid value") from None
        connection_class = options.pop("connection_class", Connection)
        # RESP2 unless the URL asks for RESP3 (?protocol=3): every server speaks it, and
        # redis-py's default changed between versions.
        options.setdefault("protocol", 2)
        options.update(
            socket_connect_timeout=self.settings.connect_timeout,
            socket_timeout=self.settings.command_timeout,
            retry=Retry(NoBackoff(), 0),  # a write resent after a broken connection may apply twice
            client_name=CLIENT_NAME,
        )
        try:
            connection_class(**options)
        except (TypeError, ValueError, RedisError):
            raise ConfigError("redis settings: url: its query string holds an option redis-py does not know") from None
        options["connection_class"] = connection_class
        return options

    def _make_connection(self) -> Connection:
        options = dict(self._connection_options)
        cls: type[Connection] = options.pop("connection_class")
        return cls(**options)

    def _where(self) -> str:
        return f"redis at {self.address}"

    # ------------------------------------------------------------------ life cycle

    async def open(self) -> None:
        """Connect the pool, check that the server speaks Redis, refuse a prefix that holds
        keys, load the cas script."""
        timeout = self.settings.connect_timeout
        pool = self._pool = ConnectionPool(self._make_connection, self.pool_size, timeout)
        connected = False

        async def steps() -> None:
            nonlocal connected
            try:
                await pool.fill()
            except (RedisError, OSError) as exc:
                raise ConnectError(f"{self._where()}: {_connect_reason(exc)}", store=self.kind) from None
            connected = True
            pong = await self._command("PING")
            if pong not in (b"PONG", "PONG"):
                raise ConnectError(f"{self._where()}: the server does not answer PING as Redis does", store=self.kind)
            if not self.settings.reuse and await self._any_key():
                raise NamespaceNotEmpty(
                    f"{self._where()}: the database already holds keys under {self.prefix!r} "
                    "(set reuse: true to use them anyway)",
                    store=self.kind,
                )
            self.scripting = await self._load_script()

        try:
            async with asyncio.timeout(timeout - min(timeout * _OPEN_GRACE, 0.25)):
                await steps()
        except TimeoutError:
            await self._abandon()
            silence = "no answer" if connected else "no connection"
            raise ConnectError(f"{self._where()}: {silence} within {timeout:g}s", store=self.kind) from None
        except (NamespaceNotEmpty, ConfigError, ConnectError):
            await self._abandon()
            raise
        except AdapterError as exc:
            await self._abandon()
            raise ConnectError(str(exc), store=self.kind) from None
        except Exception as exc:
            await self._abandon()
            raise ConnectError(f"{self._where()}: {type(exc).__name__}", store=self.kind) from None
        except BaseException:  # cancelled by the caller's own deadline
            await self._abandon()
            raise
        self._owned = True

    async def _any_key(self) -> bool:
        cursor = b"0"
        while True:
            cursor, keys = await self._command("SCAN", cursor, "MATCH", self.pattern, "COUNT", SCAN_COUNT)
            if keys:
                return True
            if cursor in (b"0", 0, "0"):
                return False

    async def _load_script(self) -> bool:
        """Whether the server accepts the cas script (scripting can be disabled, or denied to
        the user by an ACL); where it does not, ``cas`` with an expected value is
        :class:`~adapters.errors.Unsupported`."""
        try:
            sha = await self._command("SCRIPT", "LOAD", CAS_SCRIPT)
        except Rejected:
            return False
        return (sha.decode() if isinstance(sha, bytes) else str(sha)) == CAS_SHA

    async def _abandon(self) -> None:
        """Disconnect the half-made pool after a failed open, without touching any key."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def close(self) -> None:
        """Remove the run's keys (unless ``keep``) and disconnect."""
        if self._pool is None:
            return
        try:
            if self._owned and not self.settings.keep:
                async with asyncio.timeout(self.settings.connect_timeout):
                    await self._delete_everything()
        finally:
            self._owned = False
            await self._abandon()

    async def _delete_everything(self) -> None:
        """``UNLINK`` every key under the prefix, a batch at a time as ``SCAN`` finds them."""
        batch: list[bytes] = []
        async for key in self._scan(self.pattern):
            batch.append(key)
            if len(batch) >= UNLINK_BATCH:
                await self._command("UNLINK", *batch)
                batch = []
        if batch:
            await self._command("UNLINK", *batch)

    async def _scan(self, pattern: str) -> Any:
        """Every key matching ``pattern``, each once (``SCAN`` may repeat a key)."""
        seen: set[bytes] = set()
        cursor: Any = b"0"
        while True:
            cursor, keys = await self._command("SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_COUNT)
            for key in keys:
                if key not in seen:
                    seen.add(key)
                    yield key
            if cursor in (b"0", 0, "0"):
                return

    # ------------------------------------------------------------------ commands

    async def _command(self, *args: Any) -> Any:
        """Send one command on a connection of the pool and read its reply, mapping errors by
        what they prove."""
        pool = self._pool
        if pool is None:
            raise Unavailable(f"{self._where()}: store is not open", store=self.kind)
        try:
            con = await pool.acquire()
        except (RedisError, OSError, TimeoutError) as exc:
            raise transient(
                Unavailable(f"{self._where()}: no connection: {_connect_reason(exc)}", store=self.kind)
            ) from None
        try:
            await con.send_command(*args, check_health=False)
            reply = await con.read_response()
        except _SERVER_REPLIES as exc:
            # redis-py drops the connection after the replies it raises as ConnectionError
            # (LOADING, NOAUTH); after a ResponseError it is sound.
            pool.release(con, broken=not isinstance(exc, ResponseError))
            raise self._reply_error(exc) from None
        except (DataError, UnicodeError):
            pool.release(con)  # raised while packing the command, before anything was sent
            raise Rejected(
                f"{self._where()}: {args[0]}: a key or value redis-py cannot send", store=self.kind
            ) from None
        except RedisTimeoutError:
            pool.release(con, broken=True)
            limit = self.settings.command_timeout
            within = "in time" if limit is None else f"within {limit:g}s"
            raise Timeout(f"{self._where()}: no answer {within}", store=self.kind) from None
        except (RedisConnectionError, OSError, InvalidResponse) as exc:
            pool.release(con, broken=True)
            what = "a reply that is not RESP" if isinstance(exc, InvalidResponse) else _lost_reason(exc)
            raise ConnectionLost(f"{self._where()}: connection lost: {what}", store=self.kind) from None
        except BaseException:  # cancelled (an operation timeout, the end of the run)
            pool.release(con, broken=True)
            raise
        pool.release(con)
        return reply

    def _reply_error(self, exc: RedisError) -> AdapterError:
        code = reply_code(exc)
        error = Rejected(f"{self._where()}: {_reply_text(exc)}", store=self.kind)
        error.code = code  # type: ignore[attr-defined]
        return transient(error) if code in TRANSIENT_REPLIES else error

    # ------------------------------------------------------------------ primitives

    async def get(self, key: str) -> bytes | None:
        value: bytes | None = await self._command("GET", self.prefix + key)
        return value

    async def put(self, key: str, value: bytes) -> None:
        await self._command("SET", self.prefix + key, bytes(value))

    async def delete(self, key: str) -> None:
        await self._command("DEL", self.prefix + key)

    async def cas(self, key: str, expected: bytes | None, new: bytes) -> bool:
        full = self.prefix + key
        if expected is None:
            return await self._command("SET", full, bytes(new), "NX") is not None
        if not self.scripting:
            raise Unsupported(
                f"{self._where()}: cas needs Lua scripts (EVALSHA), which this server or user may not run",
                store=self.kind,
            )
        try:
            swapped = await self._command("EVALSHA", CAS_SHA, 1, full, bytes(expected), bytes(new))
        except Rejected as exc:
            if getattr(exc, "code", None) != "NOSCRIPT":
                raise
            # The script cache was flushed (SCRIPT FLUSH, a restart): NOSCRIPT means it did not
            # run, so sending the script itself is still the one attempt.
            swapped = await self._command("EVAL", CAS_SCRIPT, 1, full, bytes(expected), bytes(new))
        return bool(swapped == 1)

    async def list(self, prefix: str = "") -> list[str]:
        cut = len(self.prefix.encode())
        found = [key async for key in self._scan(glob_escape(self.prefix + prefix) + "*")]
        found.sort()
        return [key[cut:].decode("utf-8", "surrogateescape") for key in found]


def _lost_reason(exc: BaseException) -> str:
    text = str(exc)
    if "Connection closed by server" in text:
        return "closed by the server"
    if isinstance(exc, ConnectionResetError) or "reset" in text.lower():
        return "reset by peer"
    return type(exc).__name__


__all__ = [
    "CAS_SCRIPT",
    "CAS_SHA",
    "RedisSettings",
    "RedisStore",
    "closed_by_peer",
    "glob_escape",
    "reply_code",
    "url_address",
]
