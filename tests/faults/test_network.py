"""Network faults: the proxy in front of real PostgreSQL (through asyncpg) and a real aiohttp
server on loopback. Each toxic's effect is checked from the client's side (what it gets), the
server's side (what arrived) and the events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import asyncpg
import pytest

from chaos.clock import ScaledClock
from chaos.faults.network import FaultSetupError, find_address, rewrite
from chaos.faults.proxy import Proxy, Toxic

from .conftest import HttpServer, specs

Events = list[dict[str, Any]]


def upstream_of(dsn: str) -> tuple[str, int]:
    _, host, port = find_address("pg", {"dsn": dsn})
    return host, port


@pytest.fixture(params=["uvloop", "asyncio"])
async def make_proxy(request: pytest.FixtureRequest) -> AsyncIterator[Callable[..., Any]]:
    """Builds proxies (closed at the end of the test) from the YAML of network faults, relaying
    on each event loop the relay process can run: uvloop (the default where it is installed)
    and asyncio's own (where it is not)."""
    made: list[Proxy] = []

    async def make(upstream: tuple[str, int], faults: str, seed: int = 1) -> tuple[Proxy, Events]:
        events: Events = []
        toxics = [Toxic(i, spec, seed, "pg") for i, spec in enumerate(specs(faults))]
        proxy = Proxy(
            "pg",
            upstream,
            toxics,
            ScaledClock(),
            lambda f, v, injected: events.append({"f": f, "value": v, "injected": injected}),
            loop=request.param,
        )
        await proxy.start()
        made.append(proxy)
        return proxy, events

    yield make
    for proxy in made:
        await proxy.close()


def via(dsn: str, proxy: Proxy) -> str:
    return rewrite(dsn, proxy.host, proxy.port)


def actions(events: Events) -> list[str]:
    return [e["value"].get("action") or e["value"]["phase"] for e in events]


# ------------------------------------------------------------------------------ PostgreSQL


async def test_clean_proxy_forwards_queries(pg_dsn: str, make_proxy: Callable[..., Any]) -> None:
    proxy, events = await make_proxy(upstream_of(pg_dsn), "[]")
    conn = await asyncpg.connect(via(pg_dsn, proxy))
    try:
        assert await conn.fetchval("SELECT 40 + 2") == 42
    finally:
        await conn.close()
    assert proxy.connections == 1
    assert proxy.bytes["upstream"] > 0 and proxy.bytes["downstream"] > 0
    assert events == []


async def test_latency_delays_each_round_trip(pg_dsn: str, make_proxy: Callable[..., Any]) -> None:
    proxy, events = await make_proxy(
        upstream_of(pg_dsn), "- {kind: network, store: pg, toxic: latency, latency: 100ms, jitter: 10ms}"
    )
    conn = await asyncpg.connect(via(pg_dsn, proxy))
    try:
        began = time.monotonic()
        for _ in range(3):
            assert await conn.fetchval("SELECT 1") == 1
        spent = time.monotonic() - began
    finally:
        await conn.close()
    assert spent >= 3 * 0.09, "each reply waited at least latency - jitter"
    assert actions(events) == ["start", "delayed"]
    assert events[1]["value"]["direction"] == "downstream"


async def test_bandwidth_limits_a_large_reply(pg_dsn: str, make_proxy: Callable[..., Any]) -> None:
    proxy, events = await make_proxy(upstream_of(pg_dsn), "- {kind: network, store: pg, toxic: bandwidth, rate: 100KB}")
    conn = await asyncpg.connect(via(pg_dsn, proxy))
    try:
        began = time.monotonic()
        assert len(await conn.fetchval("SELECT repeat('x', 60000)")) == 60000
        spent = time.monotonic() - began
    finally:
        await conn.close()
    assert spent >= 60000 / (100 * 1024) * 0.9
    assert "throttled" in actions(events)


async def test_down_refuse_resets_open_connections_and_refuses_new_ones(
    pg_dsn: str, make_proxy: Callable[..., Any]
) -> None:
    proxy, events = await make_proxy(
        upstream_of(pg_dsn), "- {kind: network, store: pg, toxic: down, active: {start: 1h}}"
    )
    conn = await asyncpg.connect(via(pg_dsn, proxy))
    assert await conn.fetchval("SELECT 1") == 1
    proxy.set_active(0, True)
    with pytest.raises((ConnectionError, asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError)):
        await conn.fetchval("SELECT 1")
    with pytest.raises(ConnectionRefusedError):
        await asyncpg.connect(via(pg_dsn, proxy), timeout=5)
    proxy.heal()
    await proxy.listening()
    again = await asyncpg.connect(via(pg_dsn, proxy))
    assert await again.fetchval("SELECT 2") == 2
    await again.close()
    assert [(e["value"]["phase"], e["value"].get("reason")) for e in events] == [("start", None), ("end", "healed")]


async def test_down_drop_swallows_everything(pg_dsn: str, make_proxy: Callable[..., Any]) -> None:
    proxy, events = await make_proxy(
        upstream_of(pg_dsn), "- {kind: network, store: pg, toxic: down, mode: drop, active: {start: 1h}}"
    )
    conn = await asyncpg.connect(via(pg_dsn, proxy))
    proxy.set_active(0, True)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(conn.fetchval("SELECT 1"), 0.5)
    with pytest.raises(TimeoutError):
        await asyncpg.connect(via(pg_dsn, proxy), timeout=0.5)
    conn.terminate()
    proxy.heal()
    again = await asyncpg.connect(via(pg_dsn, proxy))
    assert await again.fetchval("SELECT 3") == 3
    await again.close()
    seen = actions(events)
    assert seen[0] == "start" and seen[-1] == "end" and "dropped" in seen


async def test_timeout_stops_forwarding_then_closes(pg_dsn: str, make_proxy: Callable[..., Any]) -> None:
    proxy, events = await make_proxy(
        upstream_of(pg_dsn), "- {kind: network, store: pg, toxic: timeout, timeout: 300ms, active: {start: 1h}}"
    )
    conn = await asyncpg.connect(via(pg_dsn, proxy))
    proxy.set_active(0, True)
    with pytest.raises((ConnectionError, asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError)):
        await asyncio.wait_for(conn.fetchval("SELECT 1"), 10)
    assert actions(events)[:1] == ["start"] and "closed" in actions(events)
    conn.terminate()


async def test_limit_data_cuts_a_reply_mid_stream(pg_dsn: str, make_proxy: Callable[..., Any]) -> None:
    proxy, events = await make_proxy(
        upstream_of(pg_dsn), "- {kind: network, store: pg, toxic: limit_data, bytes: 30000, direction: downstream}"
    )
    conn = await asyncpg.connect(via(pg_dsn, proxy))
    with pytest.raises((ConnectionError, asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError)):
        await conn.fetchval("SELECT repeat('x', 100000)")
    assert proxy.bytes["downstream"] == 30000
    [cut] = [e for e in events if e["value"].get("action") == "cut"]
    assert cut["value"]["after_bytes"] == 30000
    conn.terminate()


# ------------------------------------------------------------------------------ HTTP (aiohttp on loopback)


async def raw_get(port: int, path: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    try:
        return await reader.read()
    finally:
        writer.close()


async def test_limit_data_cuts_a_request_mid_stream(http_server: HttpServer, make_proxy: Callable[..., Any]) -> None:
    proxy, events = await make_proxy(
        ("127.0.0.1", http_server.port),
        "- {kind: network, store: pg, toxic: limit_data, bytes: 5000, direction: upstream}",
    )
    body = b"y" * 200_000
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            async with session.post(f"http://127.0.0.1:{proxy.port}/upload", data=body) as response:
                await response.read()
    for _ in range(500):  # the server notices the cut when its read fails
        if http_server.uploads_cut:
            break
        await asyncio.sleep(0.01)
    assert http_server.uploads_started == 1, "the headers got through: the request reached the server"
    assert http_server.uploads_complete == [], "the body never arrived whole"
    assert http_server.uploads_cut, "the server saw the request cut mid-body"
    assert proxy.bytes["upstream"] == 5000
    assert [e["value"]["action"] for e in events if "action" in e["value"]] == ["cut"]


async def test_reset_peer_sends_a_tcp_reset(http_server: HttpServer, make_proxy: Callable[..., Any]) -> None:
    proxy, events = await make_proxy(
        ("127.0.0.1", http_server.port), "- {kind: network, store: pg, toxic: reset_peer, timeout: 0s}"
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"GET /bytes/10 HTTP/1.1\r\nHost: x\r\n\r\n")
    with pytest.raises(ConnectionResetError):
        await reader.read()  # a FIN would give b"": a reset raises
    writer.close()
    assert "reset" in actions(events)


async def test_slicer_cuts_replies_into_small_writes(http_server: HttpServer, make_proxy: Callable[..., Any]) -> None:
    proxy, events = await make_proxy(
        ("127.0.0.1", http_server.port),
        "- {kind: network, store: pg, toxic: slicer, average_size: 1000, size_variation: 200, delay: 0s}",
    )
    reply = await raw_get(proxy.port, "/bytes/100000")
    assert reply.endswith(bytes(i % 251 for i in range(100000))), "sliced, not changed"
    assert proxy.writes["downstream"] >= 100000 // 1200
    assert "sliced" in actions(events)


async def test_direction_upstream_only(http_server: HttpServer, make_proxy: Callable[..., Any]) -> None:
    proxy, events = await make_proxy(
        ("127.0.0.1", http_server.port),
        "- {kind: network, store: pg, toxic: latency, latency: 1ms, direction: upstream}",
    )
    await raw_get(proxy.port, "/bytes/10")
    assert [e["value"]["direction"] for e in events if "action" in e["value"]] == ["upstream"]


async def test_connections_are_chosen_from_the_seed(http_server: HttpServer, make_proxy: Callable[..., Any]) -> None:
    async def chosen(seed: int) -> list[int]:
        proxy, events = await make_proxy(
            ("127.0.0.1", http_server.port),
            "- {kind: network, store: pg, toxic: latency, latency: 0s, probability: 0.5}",
            seed=seed,
        )
        for _ in range(16):
            await raw_get(proxy.port, "/bytes/10")
        return [e["value"]["connection"] for e in events if e["value"].get("action") == "delayed"]

    first = await chosen(3)
    assert 0 < len(first) < 16
    assert first == await chosen(3)
    assert first != await chosen(4)


# ------------------------------------------------------------------------------ addresses


def test_addresses_are_found_and_rewritten_keeping_credentials() -> None:
    dsn = "postgresql://alice:s3cret@db.example:6543/app?sslmode=disable"
    assert find_address("pg", {"dsn": dsn}) == ("dsn", "db.example", 6543)
    assert rewrite(dsn, "127.0.0.1", 40000) == "postgresql://alice:s3cret@127.0.0.1:40000/app?sslmode=disable"
    assert find_address("pg", {"dsn": "postgres://u@h/db"}) == ("dsn", "h", 5432)
    keywords = "host=db.example port=6543 user=alice password=s3cret dbname=app"
    assert find_address("pg", {"dsn": keywords}) == ("dsn", "db.example", 6543)
    assert rewrite(keywords, "127.0.0.1", 40000) == "host=127.0.0.1 port=40000 user=alice password=s3cret dbname=app"
    assert find_address("s3", {"endpoint_url": "http://127.0.0.1:9000"}) == ("endpoint_url", "127.0.0.1", 9000)
    assert find_address("api", {"base_url": "https://api.example/v1"}) == ("base_url", "api.example", 443)
    assert rewrite("https://api.example/v1", "127.0.0.1", 1) == "https://127.0.0.1:1/v1"


def test_address_problems_never_quote_the_setting() -> None:
    with pytest.raises(FaultSetupError) as caught:
        find_address("pg", {"dsn": "host=/var/run/postgresql password=s3cret"})
    assert "s3cret" not in str(caught.value) and "unix socket" in str(caught.value)
    with pytest.raises(FaultSetupError) as caught:
        find_address("pg", {"dsn": "postgresql://u:s3cret@h:notaport/db"})
    assert "s3cret" not in str(caught.value)
