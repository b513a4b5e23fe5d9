"""A TCP proxy with Toxiproxy's faults, for network faults between this process and a real server.

The runner starts one :class:`Proxy` per store that has ``kind: network`` faults, on a free
loopback port, and points the store's adapter at it. Every connection the adapter opens is
relayed to the real server in two flows (``upstream``: from this process to the server,
``downstream``: the replies). While no toxic acts on a flow, each chunk is written to the
other socket as it arrives, in the same event-loop callback (a clean proxy costs little);
once a toxic chosen for the connection is active, the flow's chunks queue up and a task
applies the toxics to them in order:

=============  ====================================================================
``latency``    each chunk waits ``latency`` ± ``jitter``
``bandwidth``  at most ``rate`` bytes per second
``down``       ``refuse``: the listening port closes (new connections are refused)
               and open connections are reset; ``drop``: everything is swallowed
``timeout``    nothing gets through; the connection is closed after ``timeout``
               (never, with 0)
``reset_peer`` the connection is reset (TCP RST, ``SO_LINGER`` 0) ``timeout`` after
               the toxic reaches it
``limit_data`` the connection is closed once ``bytes`` went through: a request or a
               reply is cut mid-stream
``slicer``     chunks are cut into slices of ``average_size`` ± ``size_variation``
               bytes, ``delay`` apart
=============  ====================================================================

Whether a toxic applies to a connection is drawn once, when the connection is accepted, from
the fault's own generator (seeded from the run's seed and the fault's index), so the same
seed picks the same connections in the same order. Toxic delays are wall time: they happen
on a real network. Activity windows are system time, like every fault's.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections import deque
from collections.abc import Callable
from typing import Any

from ..clock import sleep_until
from .spec import NetworkFault

Emit = Callable[[str, dict[str, Any], bool], None]

CONNECT_TIMEOUT = 5.0
"""Seconds the proxy waits for the real server to accept a connection."""
QUEUE_HIGH = 1 << 20
"""Bytes queued in a flow (toxics slow it down) before the proxy stops reading its source."""


def reset(transport: asyncio.BaseTransport | None) -> None:
    """Close a connection with a TCP RST instead of a FIN (``SO_LINGER`` 0)."""
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()  # type: ignore[attr-defined]


class Toxic:
    """One network fault at run time: its generator, whether it is on, its per-connection choice."""

    def __init__(self, index: int, spec: NetworkFault, seed: int, store: str) -> None:
        self.index = index
        self.spec = spec
        self.store = store
        self.name = spec.toxic
        self.rng = random.Random(f"{seed}/fault/{index}")
        self.enabled = False
        self.directions = ("upstream", "downstream") if spec.direction == "both" else (spec.direction,)

    def choose(self) -> bool:
        """Does the next accepted connection get this toxic? (one draw per connection)"""
        return self.rng.random() < self.spec.probability

    def value(self, **extra: Any) -> dict[str, Any]:
        value: dict[str, Any] = {"fault": self.index, "store": self.store, "toxic": self.name}
        if self.name != "down":
            value["direction"] = self.spec.direction
        value.update(extra)
        return value


class _Side(asyncio.Protocol):
    """One socket of a relayed connection (the client's, or the real server's)."""

    def __init__(self, conn: _Connection) -> None:
        self.conn = conn
        self.transport: asyncio.Transport | None = None
        self.writable = asyncio.Event()
        self.writable.set()
        self.gone = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.conn.made(self)

    def data_received(self, data: bytes) -> None:
        self.conn.flow_from(self).feed(data)

    def eof_received(self) -> bool:
        self.conn.flow_from(self).feed_eof()
        return True  # keep the socket open: the other direction may still flow

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True
        self.writable.set()
        self.conn.lost(self)

    def pause_writing(self) -> None:
        self.writable.clear()
        self.conn.flow_to(self).source_pause()

    def resume_writing(self) -> None:
        self.writable.set()
        self.conn.flow_to(self).source_resume()

    def write(self, data: bytes) -> bool:
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        transport.write(data)
        return True


class _Flow:
    """One direction of a connection: from ``source`` to ``sink``, through its toxics."""

    def __init__(self, conn: _Connection, direction: str, source: _Side, sink: _Side, toxics: list[Toxic]) -> None:
        self.conn = conn
        self.proxy = conn.proxy
        self.direction = direction
        self.source = source
        self.sink = sink
        self.toxics = toxics
        self.queue: deque[bytes] = deque()
        self.queued = 0
        self.pump: asyncio.Task[None] | None = None
        self.eof = False
        self.throttled = False
        self.sink_full = False

    def feed(self, data: bytes) -> None:
        conn = self.conn
        if conn.dropped or conn.closed:
            return
        if self.pump is None and not any(t.enabled for t in self.toxics):
            if self.sink.write(data):  # the clean path: no task, no queue
                self.proxy.bytes[self.direction] += len(data)
                self.proxy.writes[self.direction] += 1
            return
        self.queue.append(data)
        self.queued += len(data)
        if self.queued > QUEUE_HIGH and not self.throttled:
            self.throttled = True
            self._pause_source()
        if self.pump is None:
            self.pump = self.proxy._spawn(self._run())

    def feed_eof(self) -> None:
        if self.pump is None:
            self._forward_eof()
        else:
            self.eof = True

    def _forward_eof(self) -> None:
        transport = self.sink.transport
        if transport is not None and not transport.is_closing() and transport.can_write_eof():
            with contextlib.suppress(OSError):
                transport.write_eof()

    def _pause_source(self) -> None:
        transport = self.source.transport
        if transport is not None and not transport.is_closing():
            transport.pause_reading()

    def _resume_source(self) -> None:
        transport = self.source.transport
        if transport is not None and not transport.is_closing() and not self.throttled and not self.sink_full:
            transport.resume_reading()

    def source_pause(self) -> None:
        self.sink_full = True
        self._pause_source()

    def source_resume(self) -> None:
        self.sink_full = False
        self._resume_source()

    async def write(self, data: bytes) -> None:
        """Write ``data`` to the sink and wait while it is full (the slow path's drain)."""
        if self.sink.write(data):
            self.proxy.bytes[self.direction] += len(data)
            self.proxy.writes[self.direction] += 1
            if not self.sink.writable.is_set():
                await self.sink.writable.wait()

    async def _run(self) -> None:
        """Apply the toxics to queued chunks, in order; the flow goes back to the clean path
        once the queue is empty."""
        conn = self.conn
        try:
            while self.queue and not conn.closed:
                data = self.queue.popleft()
                self.queued -= len(data)
                if self.throttled and self.queued < QUEUE_HIGH // 2:
                    self.throttled = False
                    self._resume_source()
                if conn.dropped:
                    continue
                for toxic in self.toxics:
                    if toxic.enabled and data:
                        data = await self.proxy._apply(conn, toxic, self, data)
                if data:
                    await self.write(data)
            if self.eof and not conn.closed:
                self._forward_eof()
            if self.source.gone and not conn.closed:
                conn.close()
        except (ConnectionError, OSError):
            conn.reset()
        finally:
            self.pump = None


class _Connection:
    """One relayed connection: its two sides, its two flows, and the toxics chosen for it."""

    def __init__(self, proxy: Proxy, number: int, toxics: list[Toxic]) -> None:
        self.proxy = proxy
        self.number = number
        self.toxics = toxics
        self.client = _Side(self)
        self.server = _Side(self)
        self.up = _Flow(self, "upstream", self.client, self.server,
                        [t for t in toxics if "upstream" in t.directions])
        self.down = _Flow(self, "downstream", self.server, self.client,
                          [t for t in toxics if "downstream" in t.directions])
        self.sent: dict[tuple[int, str], int] = {}
        self.reported: set[tuple[int, str]] = set()
        self.timers: dict[int, asyncio.Task[None]] = {}
        self.dropped = False
        self.closed = False

    def flow_from(self, side: _Side) -> _Flow:
        return self.up if side is self.client else self.down

    def flow_to(self, side: _Side) -> _Flow:
        return self.down if side is self.client else self.up

    def made(self, side: _Side) -> None:
        if side is self.client:
            self.proxy._accepted(self)

    def lost(self, side: _Side) -> None:
        """One side went away: close the other once what is queued toward it is written."""
        flow = self.flow_from(side)
        if flow.pump is None and not self.closed:
            self.close()
        if self.client.gone and (self.server.gone or self.server.transport is None):
            self.finish()
            self.proxy._conns.discard(self)

    def sides(self) -> list[asyncio.Transport]:
        return [s.transport for s in (self.client, self.server) if s.transport is not None]

    def reset(self) -> None:
        for transport in self.sides():
            reset(transport)
        self.finish()

    def close(self) -> None:
        for transport in self.sides():
            if not transport.is_closing():
                transport.close()
        self.finish()

    def finish(self) -> None:
        self.closed = True
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()


class Proxy:
    """A loopback TCP proxy in front of ``upstream`` (host, port), with ``toxics``."""

    def __init__(
        self,
        store: str,
        upstream: tuple[str, int],
        toxics: list[Toxic],
        clock: Any,
        emit: Emit,
        host: str = "127.0.0.1",
    ) -> None:
        self.store = store
        self.upstream = upstream
        self.toxics = toxics
        self.clock = clock
        self._emit = emit
        self.host = host
        self.port = 0
        self.connections = 0
        """Connections accepted so far."""
        self.bytes = {"upstream": 0, "downstream": 0}
        """Bytes forwarded in each direction."""
        self.writes = {"upstream": 0, "downstream": 0}
        """Writes (chunks or slices) forwarded in each direction."""
        self._server: asyncio.Server | None = None
        self._conns: set[_Connection] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        """Upstream connects, flow pumps, timers, re-listening: cancelled at close."""
        self._schedules: list[asyncio.Task[None]] = []
        self._healed = False
        self._closing = False
        self._down: list[Toxic] = []
        self._relisten: asyncio.Task[Any] | None = None

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> int:
        """Listen on a free loopback port and start the toxics' schedules; returns the port."""
        await self._listen()
        for toxic in self.toxics:
            self._schedules.append(asyncio.create_task(self._schedule(toxic), name=f"fault-{toxic.index}"))
        await asyncio.sleep(0)  # let always-on toxics switch on before the first connection
        return self.port

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._new_connection, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def listening(self) -> None:
        """Wait until the port accepts connections again (after a ``down`` toxic ends)."""
        if self._relisten is not None:
            await asyncio.shield(self._relisten)

    def set_active(self, fault: int, on: bool) -> None:
        """Switch the toxic of fault number ``fault`` on or off by hand (a custom nemesis, a
        test), with its ``start``/``end`` event; its own window keeps running."""
        for toxic in self.toxics:
            if toxic.index == fault:
                self._switch(toxic, on, reason=None if on else "switched off")
                return
        raise KeyError(f"proxy of {self.store!r} has no fault {fault}")

    def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def heal(self) -> None:
        """Switch every toxic off (with its ``end`` event) and forward cleanly from now on."""
        if self._healed:
            return
        self._healed = True
        for task in self._schedules:
            task.cancel()
        for toxic in self.toxics:
            if toxic.enabled:
                self._switch(toxic, False, reason="healed")

    async def close(self) -> None:
        """Heal, stop listening, reset every open connection and stop every task."""
        self.heal()
        self._closing = True
        for task in self._schedules:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._relisten is not None:  # a down toxic just ended: let the port reopen, then close it
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._relisten
        self._stop_listening()
        for conn in list(self._conns):
            conn.reset()
        self._conns.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ schedules

    async def _schedule(self, toxic: Toxic) -> None:
        active = toxic.spec.active
        if active is None or not active.bounded:
            self._switch(toxic, True)
            return
        after = -1.0
        while (phase := active.next_phase(after)) is not None:
            begin, end = phase
            await sleep_until(self.clock, begin)
            self._switch(toxic, True)
            if end is None:
                return
            await sleep_until(self.clock, end)
            self._switch(toxic, False, reason="elapsed")
            after = end

    def _switch(self, toxic: Toxic, on: bool, reason: str | None = None) -> None:
        if toxic.enabled == on:
            return
        toxic.enabled = on
        extra: dict[str, Any] = {"phase": "start" if on else "end", "clock": round(self.clock.peek(), 6)}
        if reason is not None:
            extra["reason"] = reason
        self._emit("network", toxic.value(**extra), on)
        spec = toxic.spec
        if spec.toxic == "down":
            if on:
                self._down.append(toxic)
                if spec.mode == "refuse":
                    self._stop_listening()
                    for conn in list(self._conns):
                        conn.reset()
                else:
                    for conn in list(self._conns):
                        conn.dropped = True
            else:
                self._down.remove(toxic)
                for conn in [c for c in self._conns if c.dropped]:
                    conn.reset()  # the protocol state is lost: make clients reconnect
                if spec.mode == "refuse" and self._server is None and not self._closing:
                    self._relisten = self._spawn(self._listen())
        elif spec.toxic in ("timeout", "reset_peer"):
            for conn in list(self._conns):
                if toxic in conn.toxics:
                    if on:
                        self._arm(conn, toxic)
                    else:
                        timer = conn.timers.pop(toxic.index, None)
                        if timer is not None:
                            timer.cancel()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------ connections

    def _new_connection(self) -> asyncio.Protocol:
        """A client connects: draw which toxics apply to it (in accept order, from each
        fault's generator) and hand asyncio its client side."""
        self.connections += 1
        conn = _Connection(self, self.connections, [t for t in self.toxics if t.name != "down" and t.choose()])
        self._conns.add(conn)
        return conn.client

    def _accepted(self, conn: _Connection) -> None:
        if self._closing:
            conn.reset()
            return
        if any(t.spec.mode == "drop" for t in self._down):
            conn.dropped = True
            self._emit("network", self._down[0].value(connection=conn.number, action="dropped"), True)
            return
        assert conn.client.transport is not None
        conn.client.transport.pause_reading()  # until the real server answers
        self._spawn(self._connect(conn))

    async def _connect(self, conn: _Connection) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await loop.create_connection(lambda: conn.server, *self.upstream)
        except (OSError, TimeoutError):
            conn.reset()  # the real server is unreachable: the client sees a reset
            self._conns.discard(conn)
            return
        if conn.closed or conn.client.gone:
            conn.close()
            return
        for toxic in conn.toxics:
            if toxic.enabled and toxic.name in ("timeout", "reset_peer"):
                self._arm(conn, toxic)
        if conn.client.transport is not None and not conn.client.transport.is_closing():
            conn.client.transport.resume_reading()

    def _arm(self, conn: _Connection, toxic: Toxic) -> None:
        if toxic.index in conn.timers or conn.closed:
            return
        conn.timers[toxic.index] = self._spawn(self._timer(conn, toxic))

    async def _timer(self, conn: _Connection, toxic: Toxic) -> None:
        """``reset_peer``: reset after ``timeout``; ``timeout``: close after ``timeout`` (data
        is dropped meanwhile by the flows; 0 means never close)."""
        seconds = toxic.spec.timeout
        if toxic.name == "timeout" and seconds == 0:
            return
        await asyncio.sleep(seconds)
        conn.timers.pop(toxic.index, None)
        if toxic.enabled and not conn.closed:
            action = "reset" if toxic.name == "reset_peer" else "closed"
            self._emit("network", toxic.value(connection=conn.number, action=action), True)
            if toxic.name == "reset_peer":
                conn.reset()
            else:
                conn.close()

    def _report(self, conn: _Connection, toxic: Toxic, direction: str, **extra: Any) -> None:
        """One event the first time a toxic acts on a connection in a direction."""
        mark = (toxic.index, direction)
        if mark not in conn.reported:
            conn.reported.add(mark)
            self._emit("network", toxic.value(connection=conn.number, direction=direction, **extra), True)

    async def _apply(self, conn: _Connection, toxic: Toxic, flow: _Flow, data: bytes) -> bytes:
        """Apply ``toxic`` to one chunk; returns what is left to write (``b""``: consumed)."""
        spec: Any = toxic.spec
        name = toxic.name
        direction = flow.direction
        if name == "latency":
            self._report(conn, toxic, direction, action="delayed")
            delay = spec.latency + (toxic.rng.uniform(-spec.jitter, spec.jitter) if spec.jitter else 0.0)
            await asyncio.sleep(max(0.0, delay))
            return data
        if name == "bandwidth":
            self._report(conn, toxic, direction, action="throttled")
            piece = max(1, int(spec.rate // 20))  # ~50 ms worth of bytes per write
            for start in range(0, len(data), piece):
                part = data[start : start + piece]
                await flow.write(part)
                await asyncio.sleep(len(part) / spec.rate)
            return b""
        if name == "slicer":
            self._report(conn, toxic, direction, action="sliced")
            start = 0
            while start < len(data):
                size = spec.average_size
                if spec.size_variation:
                    size += toxic.rng.randint(-spec.size_variation, spec.size_variation)
                part = data[start : start + max(1, size)]
                start += len(part)
                await flow.write(part)
                if spec.delay and start < len(data):
                    await asyncio.sleep(spec.delay)
            return b""
        if name == "limit_data":
            mark = (toxic.index, direction)
            sent = conn.sent.get(mark, 0)
            allowed = spec.bytes - sent
            if allowed <= 0 and sent:
                return b""  # already cut
            if len(data) < allowed:
                conn.sent[mark] = sent + len(data)
                return data
            part = data[: max(0, allowed)]
            if part:
                flow.sink.write(part)
                self.bytes[direction] += len(part)
                self.writes[direction] += 1
            conn.sent[mark] = spec.bytes
            self._emit("network", toxic.value(connection=conn.number, direction=direction, action="cut",
                                              after_bytes=spec.bytes), True)
            conn.close()
            return b""
        if name == "timeout":
            self._report(conn, toxic, direction, action="blackholed")
            return b""
        # reset_peer acts through its timer; data flows until then
        return data


__all__ = ["Proxy", "Toxic", "reset"]
