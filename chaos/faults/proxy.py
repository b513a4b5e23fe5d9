"""A TCP proxy with Toxiproxy's faults, for network faults between this process and a real server.

The runner starts one :class:`Proxy` per store that has ``kind: network`` faults, on a free
loopback port, and points the store's adapter at it. Every connection the adapter opens is
relayed to the real server by two pumps (``upstream``: from this process to the server,
``downstream``: the replies); each fault ("toxic") chosen for the connection acts on the
chunks of its direction while it is active:

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
from collections.abc import Callable
from typing import Any

from .spec import NetworkFault

Emit = Callable[[str, dict[str, Any], bool], None]

CHUNK = 65536
CONNECT_TIMEOUT = 5.0
"""Seconds the proxy waits for the real server to accept a connection."""


def reset(writer: asyncio.StreamWriter | None) -> None:
    """Close ``writer``'s connection with a TCP RST instead of a FIN (``SO_LINGER`` 0)."""
    if writer is None or writer.transport.is_closing():
        return
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _close(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None and not writer.transport.is_closing():
        writer.close()


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


class _Connection:
    """One relayed connection: the client side, the server side, and what happens to it."""

    def __init__(self, number: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.number = number
        self.client_reader = reader
        self.client_writer = writer
        self.server_reader: asyncio.StreamReader | None = None
        self.server_writer: asyncio.StreamWriter | None = None
        self.toxics: list[Toxic] = []
        self.sent: dict[tuple[int, str], int] = {}
        self.reported: set[tuple[int, str]] = set()
        self.timers: dict[int, asyncio.Task[None]] = {}
        self.dropped = False
        self.closed = asyncio.Event()

    def writers(self) -> list[asyncio.StreamWriter]:
        return [w for w in (self.client_writer, self.server_writer) if w is not None]

    def reset(self) -> None:
        for writer in self.writers():
            reset(writer)
        self.finish()

    def close(self) -> None:
        for writer in self.writers():
            _close(writer)
        self.finish()

    def finish(self) -> None:
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
        self.closed.set()


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
        """Pumps, timers, re-listening: cancelled at close."""
        self._handlers: set[asyncio.Task[Any]] = set()
        """Connection handlers: never cancelled (asyncio's streams log a cancelled handler as
        an error); they end once their pumps do."""
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
        self._server = await asyncio.start_server(self._accept, self.host, self.port, reuse_address=True)
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
        """Heal, stop listening, reset every open connection and wait for the pumps to end."""
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
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._handlers:
            _, stuck = await asyncio.wait(list(self._handlers), timeout=CONNECT_TIMEOUT)
            for task in stuck:  # only a handler still connecting to an unresponsive server
                task.cancel()

    # ------------------------------------------------------------------ schedules

    async def _schedule(self, toxic: Toxic) -> None:
        active = toxic.spec.active
        if active is None or not active.bounded:
            self._switch(toxic, True)
            return
        after = -1.0
        while (phase := active.next_phase(after)) is not None:
            begin, end = phase
            now = self.clock.peek()
            if begin > now:
                await self.clock.sleep(begin - now)
            self._switch(toxic, True)
            if end is None:
                return
            now = self.clock.peek()
            if end > now:
                await self.clock.sleep(end - now)
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

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        self.connections += 1
        conn = _Connection(self.connections, reader, writer)
        conn.toxics = [t for t in self.toxics if t.name != "down" and t.choose()]
        self._conns.add(conn)
        try:
            if self._closing:
                conn.reset()
                return
            if any(t.spec.mode == "drop" for t in self._down):
                conn.dropped = True
                self._emit("network", self._down[0].value(connection=conn.number, action="dropped"), True)
            else:
                try:
                    async with asyncio.timeout(CONNECT_TIMEOUT):
                        conn.server_reader, conn.server_writer = await asyncio.open_connection(*self.upstream)
                except (OSError, TimeoutError):
                    conn.reset()  # the real server is unreachable: the client sees a reset
                    return
            for toxic in conn.toxics:
                if toxic.enabled and toxic.name in ("timeout", "reset_peer"):
                    self._arm(conn, toxic)
            pumps = [self._spawn(self._pump(conn, conn.client_reader, conn.server_writer, "upstream"))]
            if conn.server_reader is not None:
                pumps.append(self._spawn(self._pump(conn, conn.server_reader, writer, "downstream")))
            await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            self._conns.discard(conn)
            conn.close()

    def _arm(self, conn: _Connection, toxic: Toxic) -> None:
        if toxic.index in conn.timers:
            return
        conn.timers[toxic.index] = self._spawn(self._timer(conn, toxic))

    async def _timer(self, conn: _Connection, toxic: Toxic) -> None:
        """``reset_peer``: reset after ``timeout``; ``timeout``: close after ``timeout`` (data
        is dropped meanwhile by the pumps; 0 means never close)."""
        seconds = toxic.spec.timeout
        if toxic.name == "timeout" and seconds == 0:
            return
        await asyncio.sleep(seconds)
        conn.timers.pop(toxic.index, None)
        if toxic.enabled and not conn.closed.is_set():
            action = "reset" if toxic.name == "reset_peer" else "closed"
            self._emit("network", toxic.value(connection=conn.number, action=action), True)
            if toxic.name == "reset_peer":
                conn.reset()
            else:
                conn.close()

    async def _pump(
        self,
        conn: _Connection,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter | None,
        direction: str,
    ) -> None:
        toxics = [t for t in conn.toxics if direction in t.directions]
        try:
            while True:
                data = await source.read(CHUNK)
                if not data or conn.closed.is_set():
                    break
                if conn.dropped or sink is None:
                    continue
                for toxic in toxics:
                    if toxic.enabled and data:
                        data = await self._apply(conn, toxic, direction, data, sink)
                if data:
                    sink.write(data)
                    self.bytes[direction] += len(data)
                    self.writes[direction] += 1
                    await sink.drain()
            if sink is not None and not sink.transport.is_closing() and sink.can_write_eof():
                sink.write_eof()
        except (ConnectionError, OSError):
            conn.reset()

    def _report(self, conn: _Connection, toxic: Toxic, direction: str, **extra: Any) -> None:
        """One event the first time a toxic acts on a connection in a direction."""
        mark = (toxic.index, direction)
        if mark not in conn.reported:
            conn.reported.add(mark)
            self._emit("network", toxic.value(connection=conn.number, direction=direction, **extra), True)

    async def _apply(
        self, conn: _Connection, toxic: Toxic, direction: str, data: bytes, sink: asyncio.StreamWriter
    ) -> bytes:
        """Apply ``toxic`` to one chunk; returns what is left to write (``b""``: consumed)."""
        spec: Any = toxic.spec
        name = toxic.name
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
                sink.write(part)
                self.bytes[direction] += len(part)
                self.writes[direction] += 1
                await sink.drain()
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
                sink.write(part)
                self.bytes[direction] += len(part)
                self.writes[direction] += 1
                await sink.drain()
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
                sink.write(part)
                self.bytes[direction] += len(part)
                self.writes[direction] += 1
                with contextlib.suppress(ConnectionError, OSError):
                    await sink.drain()
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
