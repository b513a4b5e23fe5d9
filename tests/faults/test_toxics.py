"""Each toxic against Toxiproxy's documented behaviour, through the proxy between a real client
socket and a real server socket on loopback (both on the test's loop; the proxy on its own).

Times are bounded from below (a toxic may not let data through early), which a loaded machine
cannot break; the only upper bound is the one the latency toxic is specified by, with the
sender's own lateness added to it."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from chaos.clock import ScaledClock
from chaos.faults.proxy import Proxy
from chaos.faults.toxics import Stage, Toxic, slicer

from .conftest import specs

Events = list[dict[str, Any]]
EPSILON = 0.002
"""Timer granularity: a timer may fire this much before its deadline."""


@dataclass
class Peer:
    """One connection as the real server saw it."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    eof_at: float | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def data(self) -> bytes:
        return b"".join(chunk for _, chunk in self.chunks)

    def first_seen(self) -> dict[int, float]:
        """When each byte value first arrived (a read may hold several writes)."""
        seen: dict[int, float] = {}
        for at, chunk in self.chunks:
            for byte in set(chunk):
                seen.setdefault(byte, at)
        return seen

    async def received(self, size: int) -> None:
        while len(self.data) < size and not self.ended.is_set():
            await asyncio.sleep(0.001)


@dataclass
class Server:
    """A raw TCP server on loopback that records what arrives, when."""

    port: int = 0
    peers: list[Peer] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def peer(self, number: int = 0) -> Peer:
        while len(self.peers) <= number:
            self.arrived.clear()
            await self.arrived.wait()
        return self.peers[number]


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    seen = Server()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(reader, writer)
        seen.peers.append(peer)
        seen.arrived.set()
        try:
            while data := await reader.read(65536):
                peer.chunks.append((time.monotonic(), data))
            peer.eof_at = time.monotonic()
        except ConnectionError:
            pass
        finally:
            peer.ended.set()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    seen.port = listener.sockets[0].getsockname()[1]
    try:
        yield seen
    finally:
        for peer in seen.peers:
            peer.writer.close()
        listener.close()
        await listener.wait_closed()


@pytest.fixture
async def make_proxy() -> AsyncIterator[Callable[..., Any]]:
    """Proxies in front of a port, from the YAML of network faults; events in a list, each
    with the thread that emitted it."""
    made: list[Proxy] = []

    async def make(port: int, faults: str, seed: int = 1) -> tuple[Proxy, Events]:
        events: Events = []

        def emit(f: str, value: dict[str, Any], injected: bool) -> None:
            events.append({"f": f, "value": value, "injected": injected, "thread": threading.get_ident()})

        toxics = [Toxic(i, spec, seed, "s") for i, spec in enumerate(specs(faults))]
        proxy = Proxy("s", ("127.0.0.1", port), toxics, ScaledClock(), emit)
        await proxy.start()
        made.append(proxy)
        return proxy, events

    yield make
    for proxy in made:
        await proxy.close()


def actions(events: Events) -> list[str]:
    return [e["value"].get("action") or e["value"]["phase"] for e in events]


async def connect(proxy: Proxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", proxy.port)


async def read_until_closed(reader: asyncio.StreamReader) -> tuple[bytes, float]:
    """Everything until EOF, and when EOF came."""
    data = await reader.read()
    return data, time.monotonic()


# ------------------------------------------------------------------------------ latency


async def test_latency_holds_each_chunk_from_its_own_arrival(server: Server, make_proxy: Callable[..., Any]) -> None:
    """10 chunks 5 ms apart through 50 ms: the last arrives about 95 ms after the first was
    sent (Toxiproxy), not 500 ms (each chunk waiting the whole delay after the one before)."""
    proxy, events = await make_proxy(
        server.port, "- {kind: network, store: s, toxic: latency, latency: 50ms, stream: upstream}"
    )
    _, writer = await connect(proxy)
    peer = await server.peer()
    loop = asyncio.get_running_loop()
    sent: list[float] = []
    began = loop.time()
    for i in range(10):
        await asyncio.sleep(max(0.0, began + i * 0.005 - loop.time()))  # absolute times: no drift
        sent.append(time.monotonic())
        writer.write(bytes([65 + i]) * 100)
    await peer.received(1000)
    writer.close()
    assert peer.data == b"".join(bytes([65 + i]) * 100 for i in range(10)), "in order, nothing lost"
    first_seen = peer.first_seen()
    for i, at in enumerate(sent):
        assert first_seen[65 + i] >= at + 0.050 - EPSILON, f"chunk {i} arrived early"
    sender_late = max(0.0, (sent[-1] - sent[0]) - 0.045)  # a loaded machine may send late
    last = peer.chunks[-1][0]
    assert last - sent[0] < 0.110 + sender_late, f"the last chunk came {last - sent[0]:.3f}s after the first was sent"
    assert actions(events) == ["start", "delayed"]


async def test_jitter_keeps_the_stream_in_order(server: Server, make_proxy: Callable[..., Any]) -> None:
    proxy, _ = await make_proxy(
        server.port, "- {kind: network, store: s, toxic: latency, latency: 30ms, jitter: 20ms, stream: upstream}"
    )
    _, writer = await connect(proxy)
    peer = await server.peer()
    sent: list[float] = []
    for i in range(20):
        sent.append(time.monotonic())
        writer.write(bytes([65 + i]) * 10)
        await asyncio.sleep(0.002)
    await peer.received(200)
    writer.close()
    assert peer.data == b"".join(bytes([65 + i]) * 10 for i in range(20)), "a chunk never overtakes the one before"
    first_seen = peer.first_seen()
    assert all(first_seen[65 + i] >= at + 0.010 - EPSILON for i, at in enumerate(sent)), "latency - jitter at least"


async def test_healing_lets_held_chunks_through_at_once(server: Server, make_proxy: Callable[..., Any]) -> None:
    proxy, events = await make_proxy(
        server.port, "- {kind: network, store: s, toxic: latency, latency: 1h, stream: upstream}"
    )
    _, writer = await connect(proxy)
    peer = await server.peer()
    writer.write(b"held")
    while not any(e["value"].get("action") == "delayed" for e in events):  # the proxy holds it
        await asyncio.sleep(0.001)
    proxy.heal()
    await asyncio.wait_for(peer.received(4), 30)  # not an hour: the chunk went out when healed
    assert peer.data == b"held"
    assert [e["value"].get("reason") for e in events if e["value"].get("phase") == "end"] == ["healed"]
    writer.close()


# ------------------------------------------------------------------------------ bandwidth, slicer


async def test_bandwidth_paces_the_reply(server: Server, make_proxy: Callable[..., Any]) -> None:
    proxy, events = await make_proxy(server.port, "- {kind: network, store: s, toxic: bandwidth, rate: 100KB/s}")
    reader, writer = await connect(proxy)
    peer = await server.peer()
    body = bytes(i % 251 for i in range(51200))
    began = time.monotonic()
    peer.writer.write(body)
    peer.writer.write_eof()
    got = await reader.readexactly(len(body))
    spent = time.monotonic() - began
    assert got == body
    assert spent >= len(body) / (100 * 1024) - EPSILON, "no faster than the rate"
    assert proxy.writes["downstream"] >= 5, "sent in parts of 100 ms worth (10 KB)"
    assert "throttled" in actions(events)
    writer.close()


def test_slicer_cuts_average_size_plus_or_minus_variation() -> None:
    [spec] = specs("- {kind: network, store: s, toxic: slicer, average_size: 100, size_variation: 20, delay: 1ms}")
    toxic = Toxic(0, spec, 1, "s")
    slices = slicer(toxic, Stage(), [(10.0, bytes(5000))])
    sizes = [len(data) for _, data in slices]
    assert sum(sizes) == 5000
    assert all(80 <= size <= 120 for size in sizes[:-1]) and 0 < sizes[-1] <= 120
    times = [at for at, _ in slices]
    assert times == pytest.approx([10.0 + i * 0.001 for i in range(len(slices))]), "delay after each slice"


async def test_slicer_writes_slices_delay_apart(server: Server, make_proxy: Callable[..., Any]) -> None:
    proxy, events = await make_proxy(
        server.port, "- {kind: network, store: s, toxic: slicer, average_size: 100, size_variation: 20, delay: 5ms}"
    )
    reader, writer = await connect(proxy)
    peer = await server.peer()
    body = bytes(i % 251 for i in range(2000))
    began = time.monotonic()
    peer.writer.write(body)
    assert await reader.readexactly(2000) == body
    spent = time.monotonic() - began
    slices = proxy.writes["downstream"]
    assert slices >= 2000 // 120
    assert spent >= (slices - 1) * 0.005 - EPSILON
    assert "sliced" in actions(events)
    writer.close()


# ------------------------------------------------------------------------------ slow_close


async def test_slow_close_delays_the_close_not_the_data(server: Server, make_proxy: Callable[..., Any]) -> None:
    proxy, events = await make_proxy(server.port, "- {kind: network, store: s, toxic: slow_close, delay: 300ms}")
    reader, writer = await connect(proxy)
    peer = await server.peer()
    peer.writer.write(b"reply")
    await peer.writer.drain()
    assert await reader.readexactly(5) == b"reply", "data goes through before the close"
    closed_at = time.monotonic()
    peer.writer.close()  # the server closes
    rest, eof_at = await read_until_closed(reader)
    assert rest == b""
    assert eof_at - closed_at >= 0.300 - EPSILON, "the client saw the close 300 ms later"
    assert "delayed close" in actions(events)
    writer.close()


async def test_slow_close_upstream(server: Server, make_proxy: Callable[..., Any]) -> None:
    proxy, _ = await make_proxy(
        server.port, "- {kind: network, store: s, toxic: slow_close, delay: 200ms, stream: upstream}"
    )
    _, writer = await connect(proxy)
    peer = await server.peer()
    writer.write(b"bye")
    await peer.received(3)
    closed_at = time.monotonic()
    writer.close()
    await peer.ended.wait()
    assert peer.data == b"bye"
    assert peer.eof_at is not None and peer.eof_at - closed_at >= 0.200 - EPSILON


# ------------------------------------------------------------------------------ timeout, reset_peer


async def test_timeout_drops_data_then_closes(server: Server, make_proxy: Callable[..., Any]) -> None:
    proxy, events = await make_proxy(server.port, "- {kind: network, store: s, toxic: timeout, timeout: 200ms}")
    began = time.monotonic()
    reader, writer = await connect(proxy)
    peer = await server.peer()
    writer.write(b"ping")
    await peer.received(4)
    assert peer.data == b"ping", "upstream is untouched"
    peer.writer.write(b"pong")
    rest, eof_at = await read_until_closed(reader)
    assert rest == b"", "the reply was dropped"
    assert eof_at - began >= 0.200 - EPSILON, "closed after the timeout"
    assert actions(events) == ["start", "blackholed", "closed"]
    writer.close()


async def test_timeout_zero_holds_until_the_toxic_ends_then_closes(
    server: Server, make_proxy: Callable[..., Any]
) -> None:
    proxy, events = await make_proxy(server.port, "- {kind: network, store: s, toxic: timeout, timeout: 0}")
    reader, writer = await connect(proxy)
    peer = await server.peer()
    peer.writer.write(b"pong")
    while "blackholed" not in actions(events):
        await asyncio.sleep(0.001)
    assert not reader.at_eof(), "0: never closed by the toxic itself"
    proxy.heal()
    rest, _ = await read_until_closed(reader)
    assert rest == b"", "what was dropped stays dropped; the connection is closed when the toxic ends"
    closed = [e["value"] for e in events if e["value"].get("action") == "closed"]
    assert closed and closed[0]["reason"] == "toxic ended"
    writer.close()


async def test_reset_peer_resets_after_timeout_once_data_flows(server: Server, make_proxy: Callable[..., Any]) -> None:
    proxy, events = await make_proxy(server.port, "- {kind: network, store: s, toxic: reset_peer, timeout: 200ms}")
    reader, writer = await connect(proxy)
    peer = await server.peer()
    await asyncio.sleep(0.3)  # idle for longer than the timeout: Toxiproxy resets on data, not on time
    assert "reset" not in actions(events) and not reader.at_eof()
    writer.write(b"ping")
    await peer.received(4)
    replied = time.monotonic()
    peer.writer.write(b"pong")
    with pytest.raises(ConnectionResetError):
        await reader.read()  # nothing came through; a reset, not a FIN
    assert time.monotonic() - replied >= 0.200 - EPSILON
    assert actions(events) == ["start", "reset"]
    writer.close()


# ------------------------------------------------------------------------------ limit_data, down


async def test_limit_data_closes_when_the_limit_is_reached(server: Server, make_proxy: Callable[..., Any]) -> None:
    proxy, events = await make_proxy(
        server.port, "- {kind: network, store: s, toxic: limit_data, bytes: 100, stream: upstream}"
    )
    reader, writer = await connect(proxy)
    peer = await server.peer()
    writer.write(bytes(100))  # exactly the limit: Toxiproxy closes once it is reached
    await peer.ended.wait()
    assert peer.data == bytes(100)
    rest, _ = await read_until_closed(reader)
    assert rest == b""
    assert [e["value"]["after_bytes"] for e in events if e["value"].get("action") == "cut"] == [100]
    writer.close()


async def test_down_closes_open_connections_refuses_new_ones_then_comes_back(
    server: Server, make_proxy: Callable[..., Any]
) -> None:
    proxy, events = await make_proxy(server.port, "- {kind: network, store: s, toxic: down, active: {start: 1h}}")
    reader, writer = await connect(proxy)
    await server.peer()
    proxy.set_active(0, True)
    rest, _ = await read_until_closed(reader)  # a FIN, as Toxiproxy's disabled proxy closes them
    assert rest == b""
    with pytest.raises(ConnectionRefusedError):
        await connect(proxy)
    proxy.set_active(0, False)
    await proxy.listening()
    _, again = await connect(proxy)
    assert (await server.peer(1)) is server.peers[1]
    again.close()
    writer.close()
    assert actions(events) == ["start", "end"]


# ------------------------------------------------------------------------------ Toxiproxy's names, seeds


async def test_toxicity_picks_connections_in_accept_order(server: Server, make_proxy: Callable[..., Any]) -> None:
    """``toxicity`` (Toxiproxy's name for probability) is drawn once per accepted connection,
    from a generator the jitter does not draw from: the same seed picks the same connections."""

    async def chosen(seed: int) -> list[int]:
        proxy, events = await make_proxy(
            server.port,
            "- {kind: network, store: s, toxic: latency, latency: 1ms, jitter: 1ms, toxicity: 0.5, stream: upstream}",
            seed=seed,
        )
        for _ in range(12):
            number = len(server.peers)
            _, writer = await connect(proxy)
            writer.write(b"x" * 10)
            writer.write(b"y" * 10)
            await (await server.peer(number)).received(20)
            writer.close()
        await proxy.close()
        return sorted(e["value"]["connection"] for e in events if e["value"].get("action") == "delayed")

    first = await chosen(3)
    assert 0 < len(first) < 12
    assert first == await chosen(3)


async def test_events_reach_the_client_thread_and_all_before_close_returns(
    server: Server, make_proxy: Callable[..., Any]
) -> None:
    proxy, events = await make_proxy(server.port, "- {kind: network, store: s, toxic: limit_data, bytes: 10}")
    assert proxy.process.pid != os.getpid(), "the proxy relays in a process of its own"
    readers = []
    for _ in range(5):
        reader, writer = await connect(proxy)
        readers.append((reader, writer))
    for i in range(5):
        (await server.peer(i)).writer.write(bytes(20))
    for reader, writer in readers:
        await read_until_closed(reader)  # each connection cut: its event is on its way
        writer.close()
    await proxy.close()
    me = threading.get_ident()
    assert all(e["thread"] == me for e in events), "emit is only ever called on the client's thread"
    assert sorted(e["value"]["connection"] for e in events if e["value"].get("action") == "cut") == [1, 2, 3, 4, 5]
    assert proxy.process.returncode == 0, "the relay process has ended, in order"
