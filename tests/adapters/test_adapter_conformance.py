"""One conformance suite, run against every store backend: memory, PostgreSQL, S3 (moto), Redis
and an HTTP key-value service through the http adapter.

A system under test must behave the same whichever store is behind it, so every primitive is
pinned down here, including the corners where backends like to differ: a missing key against
an empty value, compare-and-set on a missing key, the order of ``list``, two runs sharing one
server, and what ``close`` leaves behind.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
import redis.asyncio
from aiohttp import web

from adapters import NamespaceNotEmpty, Store, create
from adapters.postgres import table_name
from tests.kv_service import KV_DATA, kv_app, kv_store_settings

BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("postgres", marks=pytest.mark.postgres, id="postgres"),
    pytest.param("s3", marks=pytest.mark.s3, id="s3"),
    pytest.param("redis", marks=pytest.mark.redis, id="redis"),
    pytest.param("http", id="http"),
]


class Backend:
    """Opens stores of one backend in fresh namespaces, and looks behind them afterwards."""

    def __init__(self, name: str, settings: dict[str, Any], kv_data: dict[str, bytes] | None = None) -> None:
        self.name = name
        self.settings = settings
        self.kv_data = kv_data
        self.opened: list[Store] = []

    @staticmethod
    def namespace() -> str:
        return f"conformance-{uuid.uuid4().hex[:10]}"

    async def open(self, namespace: str, **overrides: Any) -> Store:
        store = create(self.name, {**self.settings, **overrides}, namespace)
        await store.open()
        self.opened.append(store)
        return store

    async def leftovers(self, namespace: str) -> list[str]:
        """What the backend still holds of ``namespace``, seen without the store under test."""
        if self.name == "postgres":
            conn = await asyncpg.connect(self.settings["dsn"])
            try:
                found = await conn.fetchval("SELECT to_regclass($1)::text", f'"{table_name(namespace)}"')
            finally:
                await conn.close()
            return [] if found is None else [found]
        if self.name == "redis":
            client = redis.asyncio.Redis.from_url(self.settings["url"])
            try:  # every key of the database, filtered here: independent of the store's own matching
                found = [key async for key in client.scan_iter(count=1000)]
            finally:
                await client.aclose()
            return sorted(k.decode() for k in found if k.startswith(f"{namespace}:".encode()))
        if self.name == "http":
            assert self.kv_data is not None
            return sorted(k for k in self.kv_data if k.startswith(namespace + "/"))
        extra = {"conditional_writes": False} if self.name == "s3" else {}
        peek = create(self.name, {**self.settings, **extra, "reuse": True, "keep": True}, namespace)
        await peek.open()
        try:
            return await peek.list()
        finally:
            await peek.close()

    async def close_all(self) -> None:
        for store in reversed(self.opened):
            await store.close()


@pytest.fixture(params=BACKENDS)
def backend_settings(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    """The backend's name and base settings; only the servers its own backend needs are
    started (a missing PostgreSQL skips or fails the postgres cases only)."""
    name = request.param
    if name == "postgres":
        return name, {"dsn": request.getfixturevalue("pg_dsn")}
    if name == "s3":
        return name, request.getfixturevalue("s3_settings")
    if name == "redis":
        return name, {"url": request.getfixturevalue("redis_url")}
    if name == "memory":
        return name, {"name": f"conformance-{uuid.uuid4().hex[:8]}"}
    return name, {}


@pytest.fixture
async def backend(
    backend_settings: tuple[str, dict[str, Any]],
    http_service: Callable[[web.Application], Awaitable[str]],
) -> AsyncIterator[Backend]:
    name, settings = backend_settings
    kv_data = None
    if name == "http":
        app = kv_app()
        settings = kv_store_settings(await http_service(app))
        kv_data = app[KV_DATA]
    found = Backend(name, settings, kv_data)
    yield found
    await found.close_all()


@pytest.fixture
async def store(backend: Backend) -> Store:
    return await backend.open(backend.namespace())


# ---------------------------------------------------------------------------- single primitives


async def test_missing_key_reads_as_none(store: Store) -> None:
    assert await store.get("absent") is None
    assert await store.list() == []
    await store.delete("absent")  # deleting a missing key is not an error
    assert await store.get("absent") is None


async def test_put_then_get_and_overwrite(store: Store) -> None:
    await store.put("k", b"one")
    assert await store.get("k") == b"one"
    await store.put("k", b"two")
    assert await store.get("k") == b"two"
    assert await store.list() == ["k"]


async def test_empty_value_is_not_a_missing_key(store: Store) -> None:
    await store.put("empty", b"")
    assert await store.get("empty") == b""
    assert await store.list() == ["empty"]
    assert await store.cas("empty", None, b"x") is False  # it exists
    assert await store.cas("empty", b"", b"x") is True
    assert await store.get("empty") == b"x"
    assert await store.cas("gone", b"", b"y") is False  # missing is not empty
    assert await store.get("gone") is None


async def test_binary_values_round_trip(store: Store) -> None:
    values = {"all-bytes": bytes(range(256)), "nul": b"\x00", "big": bytes(range(256)) * 256}
    for key, value in values.items():
        await store.put(key, value)
    for key, value in values.items():
        assert await store.get(key) == value


async def test_delete_removes_only_its_key(store: Store) -> None:
    await store.put("a", b"1")
    await store.put("b", b"2")
    await store.delete("a")
    assert await store.get("a") is None
    assert await store.get("b") == b"2"
    assert await store.list() == ["b"]


async def test_cas_on_a_missing_key(store: Store) -> None:
    assert await store.cas("k", b"anything", b"new") is False
    assert await store.get("k") is None
    assert await store.cas("k", None, b"first") is True
    assert await store.get("k") == b"first"
    assert await store.cas("k", None, b"second") is False
    assert await store.get("k") == b"first"


async def test_cas_mismatch_leaves_the_value(store: Store) -> None:
    await store.put("k", b"current")
    assert await store.cas("k", b"stale", b"new") is False
    assert await store.get("k") == b"current"


async def test_cas_match_swaps(store: Store) -> None:
    await store.put("k", b"v1")
    assert await store.cas("k", b"v1", b"v2") is True
    assert await store.get("k") == b"v2"
    assert await store.cas("k", b"v1", b"v3") is False
    assert await store.get("k") == b"v2"


async def test_list_is_in_byte_order_and_filters_by_prefix(store: Store) -> None:
    keys = ["b", "a", "a/b", "A", "a0", "é", "z", "a b", "~", "a_%x", "abx", "a\\x"]
    for key in keys:
        await store.put(key, b"")
    assert await store.list() == sorted(keys, key=lambda k: k.encode())
    assert await store.list("a") == sorted((k for k in keys if k.startswith("a")), key=lambda k: k.encode())
    assert await store.list("a_%") == ["a_%x"]  # LIKE wildcards are plain characters
    assert await store.list("a\\") == ["a\\x"]
    assert await store.list("a/") == ["a/b"]
    assert await store.list("nothing") == []


async def test_glob_and_pattern_characters_in_keys_are_plain(store: Store) -> None:
    keys = ["a*", "a?", "a[b]", "a[!x]", "a\\*", "ab", "a^", "a-z", "a%", "a_"]
    for key in keys:
        await store.put(key, key.encode())
    for key in keys:
        assert await store.get(key) == key.encode()
    assert await store.list() == sorted(keys, key=lambda k: k.encode())
    assert await store.list("a*") == ["a*"]
    assert await store.list("a?") == ["a?"]
    assert await store.list("a[") == ["a[!x]", "a[b]"]
    assert await store.list("a[b]") == ["a[b]"]
    assert await store.list("a\\") == ["a\\*"]
    await store.delete("a*")
    assert await store.get("ab") == b"ab"  # deleting "a*" is not a pattern either
    assert "a*" not in await store.list()


# ---------------------------------------------------------------------------- namespaces and life cycle


async def test_namespaces_running_together_are_isolated(backend: Backend) -> None:
    first, second = await asyncio.gather(backend.open(backend.namespace()), backend.open(backend.namespace()))
    await asyncio.gather(first.put("shared", b"first"), second.put("shared", b"second"))
    await first.put("only-first", b"1")
    assert await first.get("shared") == b"first"
    assert await second.get("shared") == b"second"
    assert await second.get("only-first") is None
    assert await first.list() == ["only-first", "shared"]
    assert await second.list() == ["shared"]
    await second.delete("shared")
    assert await first.get("shared") == b"first"
    assert await second.cas("only-first", None, b"2") is True  # absent in second's namespace
    assert await first.get("only-first") == b"1"


async def test_close_removes_the_namespace(backend: Backend) -> None:
    namespace = backend.namespace()
    store = await backend.open(namespace)
    await store.put("k", b"v")
    await store.put("dir/k", b"v")
    await store.close()
    assert await backend.leftovers(namespace) == []
    again = await backend.open(namespace)  # an emptied namespace opens without reuse
    assert await again.list() == []


async def test_close_removes_only_its_own_namespace(backend: Backend) -> None:
    leaving, staying = backend.namespace(), backend.namespace()
    first = await backend.open(leaving)
    second = await backend.open(staying)
    await first.put("k", b"first")
    await second.put("k", b"second")
    await first.close()
    assert await backend.leftovers(leaving) == []
    assert await second.get("k") == b"second"
    assert await second.list() == ["k"]


async def test_keep_leaves_the_data_and_a_new_run_refuses_it(backend: Backend) -> None:
    namespace = backend.namespace()
    kept = await backend.open(namespace, keep=True)
    await kept.put("k", b"kept")
    await kept.close()
    assert await backend.leftovers(namespace) != []
    with pytest.raises(NamespaceNotEmpty):
        await backend.open(namespace)
    assert await backend.leftovers(namespace) != []  # the refusal touched nothing
    reused = await backend.open(namespace, reuse=True)
    assert await reused.get("k") == b"kept"
    await reused.close()
    assert await backend.leftovers(namespace) == []


# ---------------------------------------------------------------------------- atomicity


async def test_concurrent_insert_if_absent_has_one_winner(store: Store) -> None:
    values = [f"writer-{i}".encode() for i in range(12)]
    won = await asyncio.gather(*(store.cas("k", None, v) for v in values))
    assert sum(won) == 1
    assert await store.get("k") == values[won.index(True)]


async def test_concurrent_increments_through_cas_lose_nothing(store: Store) -> None:
    await store.put("counter", b"0")

    async def increment(times: int) -> None:
        for _ in range(times):
            while True:
                current = await store.get("counter")
                assert current is not None
                if await store.cas("counter", current, str(int(current) + 1).encode()):
                    break

    await asyncio.gather(*(increment(5) for _ in range(4)))
    assert await store.get("counter") == b"20"
