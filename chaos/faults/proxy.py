"""A TCP proxy with Toxiproxy's toxics, for network faults between this process and a real server.

The runner starts one :class:`Proxy` per store that has ``kind: network`` faults, on a free
loopback port, and points the store's adapter at it. Every connection the adapter opens is
relayed to the real server in two flows (``upstream``: from this process to the server,
``downstream``: the replies). The relay runs on a thread with an event loop of its own
(:mod:`chaos.faults.netloop`), so that it neither waits for the workers' loop nor slows it.

While no toxic acts on a flow, each chunk is written to the other socket as it arrives, in the
same callback. Once a toxic chosen for the connection is on, each chunk is timestamped when it
arrives and goes through the flow's toxics in declaration order (:mod:`chaos.faults.toxics`);
what they let through is queued with the time it is due, and the flow writes it then:

==============  ===================================================================
``latency``     each chunk is held ``latency`` ± ``jitter`` from its own arrival
``bandwidth``   at most ``rate`` bytes per second
``slicer``      chunks are cut into slices of ``average_size`` ± ``size_variation``
                bytes, each followed by ``delay``
``slow_close``  when one side closes, the other sees it ``delay`` later
``timeout``     nothing gets through; the connection is closed after ``timeout``
                (never, with 0), and when the toxic ends
``reset_peer``  once data reaches it, the connection is reset (TCP RST, ``SO_LINGER``
                0) ``timeout`` later; data meanwhile is dropped
``limit_data``  the connection is closed once ``bytes`` went through: a request or a
                reply is cut mid-stream
``down``        ``refuse`` (Toxiproxy's disabled proxy): the port closes (new
                connections are refused) and open connections are closed; ``drop``:
                everything is swallowed, and connections are reset when it ends
==============  ===================================================================

When a toxic ends (its window closes, or the run heals), the chunks queued in its flows go out
at once, as Toxiproxy's interrupted toxics let their data through.

Whether a toxic applies to a connection is drawn once, when the connection is accepted, from
the fault's own generator (seeded from the run's seed and the fault's index), so the same
seed picks the same connections in the same order. Toxic delays are wall time: they happen
on a real network. Activity windows are system time, like every fault's: the schedules run
on the client's loop, on the run's clock, and switch toxics on the proxy thread.

Threads: the client thread owns the schedules and the ``start``/``end`` events; the proxy
thread owns the sockets, the connections and the per-connection events, which reach the
client's ``emit`` through an :class:`~chaos.faults.netloop.Outbox`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import socket
import struct
from collections import deque
from collections.abc import Callable
from typing import Any

from ..clock import sleep_until
from .netloop import Emit, LoopFactory, NetLoop, Outbox
from .toxics import STAGES, Piece, Stage, Toxic

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


class _Side(asyncio.Protocol):
    """One socket of a relayed connection (the client's, or the real server's)."""

    def __init__(self, conn: _Connection) -> None:
        self.conn = conn
        self.transport: asyncio.Transport | None = None
        self.flow: _Flow | None = None
        """The flow this side is the source of."""
        self.writable = asyncio.Event()
        self.writable.set()
        self.gone = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.conn.made(self)

    def data_received(self, data: bytes) -> None:
        self.flow.feed(data)  # type: ignore[union-attr]

    def eof_received(self) -> bool:
        self.flow.feed_eof()  # type: ignore[union-attr]
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

    def write(self, data: bytes, direction: str) -> bool:
        """Write ``data`` toward this side, counted first (the other thread may see the bytes
        arrive before this one runs its next line)."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        proxy = self.conn.proxy
        proxy.bytes[direction] += len(data)
        proxy.writes[direction] += 1
        transport.write(data)
        return True


class _Item:
    """Something a flow has to do when it is due: write ``data``, then call ``then``."""

    __slots__ = ("data", "due", "then")

    def __init__(self, due: float, data: bytes, then: Callable[[], None] | None = None) -> None:
        self.due = due
        self.data = data
        self.then = then


class _Flow:
    """One direction of a connection: from ``source`` to ``sink``, through its toxics."""

    def __init__(self, conn: _Connection, direction: str, source: _Side, sink: _Side, toxics: list[Toxic]) -> None:
        self.conn = conn
        self.proxy = conn.proxy
        self.direction = direction
        self.source = source
        self.sink = sink
        self.toxics = toxics
        self.stages: dict[int, Stage] = {t.index: Stage() for t in toxics if t.name in STAGES}
        self.queue: deque[_Item] = deque()
        self.queued = 0
        self.last_due = 0.0
        self.pump: asyncio.Task[None] | None = None
        self.waker: asyncio.Future[None] | None = None
        self.throttled = False
        self.sink_full = False
        self.ended = False
        """The source's EOF was passed on."""
        self.early: list[bytes] = []
        """What the client sent before the real server accepted the connection."""
        source.flow = self

    # ------------------------------------------------------------------ arrivals

    def feed(self, data: bytes) -> None:
        conn = self.conn
        if conn.dropped or conn.closed:
            return
        if self.sink.transport is None:  # the real server has not answered yet
            self.early.append(data)
            self.queued += len(data)
            if self.queued > QUEUE_HIGH:
                self._pause_source()
            return
        if self.pump is None:
            for toxic in self.toxics:
                if toxic.enabled:
                    break
            else:  # the clean path: no toxic on, nothing queued
                self.sink.write(data, self.direction)
                return
        self._through_toxics(data)

    def _through_toxics(self, data: bytes) -> None:
        """Timestamp ``data`` and queue what the flow's toxics let through, when it is due."""
        conn = self.conn
        proxy = self.proxy
        pieces: list[Piece] = [(proxy.loop.time(), data)]
        then: Callable[[], None] | None = None
        for toxic in self.toxics:
            if not toxic.enabled:
                continue
            name = toxic.name
            stage = STAGES.get(name)
            if stage is not None:
                proxy._report(conn, toxic, self.direction, action=_ACTIONS[name])
                pieces = stage(toxic, self.stages[toxic.index], pieces)
            elif name == "limit_data":
                pieces, then = self._limit(toxic, pieces)
            elif name == "timeout":
                proxy._report(conn, toxic, self.direction, action="blackholed")
                pieces = []
            elif name == "reset_peer":
                conn.trigger_reset(toxic)
                pieces = []
            if not pieces:
                break
        for at, piece in pieces:
            self._queue(at, piece)
        if then is not None:
            self._queue(self.last_due, b"", then)

    def _limit(self, toxic: Toxic, pieces: list[Piece]) -> tuple[list[Piece], Callable[[], None] | None]:
        """``limit_data``: the pieces that fit in what is left of ``bytes``; once it is used up,
        the connection is cut (after the last byte that fits is written)."""
        conn = self.conn
        limit: int = toxic.spec.bytes  # type: ignore[union-attr]
        mark = (toxic.index, self.direction)
        sent = conn.sent.get(mark, 0)
        if sent >= limit and mark in conn.cut:
            return [], None
        out: list[Piece] = []
        for at, data in pieces:
            allowed = limit - sent
            if len(data) < allowed:
                out.append((at, data))
                sent += len(data)
                continue
            if allowed > 0:
                out.append((at, data[:allowed]))
            sent = limit
            conn.sent[mark] = sent
            conn.cut.add(mark)
            return out, lambda: conn.cut_off(toxic, self.direction)
        conn.sent[mark] = sent
        return out, None

    def _queue(self, due: float, data: bytes, then: Callable[[], None] | None = None) -> None:
        due = max(due, self.last_due)
        self.last_due = due
        self.queue.append(_Item(due, data, then))
        if data:
            self.queued += len(data)
            if self.queued > QUEUE_HIGH and not self.throttled:
                self.throttled = True
                self._pause_source()
        if self.pump is None:
            self.pump = self.proxy._spawn(self._run())

    def feed_eof(self) -> None:
        """The source half-closed: pass it on, after what is queued (and ``slow_close``)."""
        if self.sink.transport is None:  # before the real server answered: after the early data
            self.early.append(b"")
            return
        delay = self.slow_close()
        if self.pump is None and delay is None:
            self._forward_eof()
        else:
            self._queue(self.proxy.loop.time() + (delay or 0.0), b"", self._forward_eof)

    def source_gone(self) -> bool:
        """The source closed: close the connection after what is queued (and ``slow_close``).
        Returns False when that can happen at once."""
        delay = self.slow_close()
        if self.pump is None and delay is None:
            return False
        self._queue(self.proxy.loop.time() + (delay or 0.0), b"", self.conn.close)
        return True

    def slow_close(self) -> float | None:
        """The delay of an active ``slow_close`` toxic on this flow (with its event), if any."""
        for toxic in self.toxics:
            if toxic.enabled and toxic.name == "slow_close":
                self.proxy._report(self.conn, toxic, self.direction, action="delayed close")
                return toxic.spec.delay  # type: ignore[union-attr]
        return None

    # ------------------------------------------------------------------ writing

    def release(self) -> None:
        """A toxic ended: what is queued is due now."""
        if not self.queue:
            return
        now = self.proxy.loop.time()
        for item in self.queue:
            if item.due > now:
                item.due = now
        self.last_due = min(self.last_due, now)
        self.wake()

    def wake(self) -> None:
        waker = self.waker
        if waker is not None and not waker.done():
            waker.set_result(None)

    def _forward_eof(self) -> None:
        """Half-close the sink; once both directions have ended, close the connection (asyncio
        keeps a socket open after EOF for as long as nobody closes it)."""
        self.ended = True
        conn = self.conn
        transport = self.sink.transport
        if transport is not None and not transport.is_closing() and transport.can_write_eof():
            with contextlib.suppress(OSError):
                transport.write_eof()
        else:
            conn.close()
        if conn.up.ended and conn.down.ended and not conn.closed:
            conn.close()

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

    async def _sleep_until(self, due: float) -> None:
        """Sleep until ``due`` (loop time), or until :meth:`wake`."""
        loop = self.proxy.loop
        waker = self.waker = loop.create_future()
        handle = loop.call_at(due, _set, waker)
        try:
            await waker
        finally:
            handle.cancel()
            self.waker = None

    async def _run(self) -> None:
        """Write the queued items when they are due, in order; the flow goes back to the clean
        path once the queue is empty."""
        conn = self.conn
        queue = self.queue
        loop = self.proxy.loop
        try:
            while queue and not conn.closed:
                item = queue[0]
                if item.due > loop.time():
                    await self._sleep_until(item.due)
                    continue
                queue.popleft()
                data = item.data
                if data:
                    self.queued -= len(data)
                    if self.throttled and self.queued < QUEUE_HIGH // 2:
                        self.throttled = False
                        self._resume_source()
                    written = not conn.dropped and self.sink.write(data, self.direction)
                    if written and not self.sink.writable.is_set():
                        await self.sink.writable.wait()
                if item.then is not None:
                    item.then()
            if self.source.gone and not conn.closed:
                conn.close()
        except (ConnectionError, OSError):
            conn.reset()
        finally:
            self.pump = None


def _set(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


_ACTIONS = {"latency": "delayed", "bandwidth": "throttled", "slicer": "sliced"}


class _Connection:
    """One relayed connection: its two sides, its two flows, and the toxics chosen for it."""

    def __init__(self, proxy: Proxy, number: int, toxics: list[Toxic]) -> None:
        self.proxy = proxy
        self.number = number
        self.toxics = toxics
        self.client = _Side(self)
        self.server = _Side(self)
        self.up = _Flow(self, "upstream", self.client, self.server, [t for t in toxics if "upstream" in t.directions])
        self.down = _Flow(
            self, "downstream", self.server, self.client, [t for t in toxics if "downstream" in t.directions]
        )
        self.sent: dict[tuple[int, str], int] = {}
        self.cut: set[tuple[int, str]] = set()
        self.reported: set[tuple[int, str]] = set()
        self.timers: dict[int, asyncio.TimerHandle] = {}
        self.triggered: set[int] = set()
        """``reset_peer`` toxics that data reached: a reset is coming, data is dropped."""
        self.dropped = False
        self.closed = False

    def flow_to(self, side: _Side) -> _Flow:
        return self.down if side is self.client else self.up

    def made(self, side: _Side) -> None:
        if side is self.client:
            self.proxy._accepted(self)
            return
        early, self.up.early = self.up.early, []
        self.up.queued = 0
        for data in early:
            if data:
                self.up.feed(data)
            else:
                self.up.feed_eof()
        self.up._resume_source()

    def lost(self, side: _Side) -> None:
        """One side went away: close the other once what is queued toward it is written."""
        flow = side.flow
        assert flow is not None
        if not self.closed and not flow.source_gone():
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
        self.up.wake()
        self.down.wake()

    def trigger_reset(self, toxic: Toxic) -> None:
        """Data reached a ``reset_peer`` toxic: reset the connection ``timeout`` from now."""
        if toxic.index in self.triggered or self.closed:
            return
        self.triggered.add(toxic.index)
        seconds: float = toxic.spec.timeout  # type: ignore[union-attr]
        self.timers[toxic.index] = self.proxy.loop.call_later(seconds, self.proxy._expire, self, toxic)

    def cut_off(self, toxic: Toxic, direction: str) -> None:
        """``limit_data`` used up: the connection closes."""
        if self.closed:
            return
        limit = toxic.spec.bytes  # type: ignore[union-attr]
        self.proxy._event(toxic.value(connection=self.number, direction=direction, action="cut", after_bytes=limit))
        self.close()


class Proxy:
    """A loopback TCP proxy in front of ``upstream`` (host, port), with ``toxics``.

    :meth:`start`, :meth:`heal`, :meth:`set_active`, :meth:`listening` and :meth:`close` are
    called on the client's loop; the relay itself runs on the proxy's own thread. ``emit``
    is only ever called on the client's thread."""

    def __init__(
        self,
        store: str,
        upstream: tuple[str, int],
        toxics: list[Toxic],
        clock: Any,
        emit: Emit,
        host: str = "127.0.0.1",
        loop_factory: LoopFactory | None = None,
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
        self.net = NetLoop(f"chaos-proxy-{store}", loop_factory)
        self.net.on_stop = self._abort
        self._outbox: Outbox | None = None
        # client thread
        self._schedules: list[asyncio.Task[None]] = []
        self._healed = False
        # proxy thread
        self._server: asyncio.AbstractServer | None = None
        self._conns: set[_Connection] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        """Upstream connects and flow pumps: cancelled at close."""
        self._closing = False
        self._down: list[Toxic] = []
        self._relisten: concurrent.futures.Future[None] | None = None

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The proxy's own event loop (proxy thread)."""
        loop = self.net.loop
        assert loop is not None
        return loop

    # ------------------------------------------------------------------ lifecycle (client thread)

    async def start(self) -> int:
        """Start the proxy thread, listen on a free loopback port and start the toxics'
        schedules; returns the port."""
        self._outbox = Outbox(self._emit, asyncio.get_running_loop())
        self.net.start()
        try:
            await self.net.submit(self._listen())
        except BaseException:
            self.net.stop()
            raise
        for toxic in self.toxics:
            self._schedules.append(asyncio.create_task(self._schedule(toxic), name=f"fault-{toxic.index}"))
        await asyncio.sleep(0)  # let always-on toxics switch on before the first connection
        return self.port

    async def listening(self) -> None:
        """Wait until the port accepts connections again (after a ``down`` toxic ends)."""
        relisten = self._relisten
        if relisten is not None:
            await asyncio.wrap_future(relisten)

    def set_active(self, fault: int, on: bool) -> None:
        """Switch the toxic of fault number ``fault`` on or off by hand (a custom nemesis, a
        test), with its ``start``/``end`` event; its own window keeps running. When this
        returns, the proxy thread has applied the change."""
        for toxic in self.toxics:
            if toxic.index == fault:
                self._switch(toxic, on, reason=None if on else "switched off")
                return
        raise KeyError(f"proxy of {self.store!r} has no fault {fault}")

    def heal(self) -> None:
        """Switch every toxic off (with its ``end`` event) and forward cleanly from now on:
        chunks the toxics hold go out at once. Returns once the proxy thread has done so."""
        if self._healed:
            return
        self._healed = True
        for task in self._schedules:
            task.cancel()
        for toxic in self.toxics:
            if toxic.enabled:
                self._switch(toxic, False, reason="healed")

    async def close(self) -> None:
        """Heal, stop listening, reset every open connection, stop the proxy thread and
        deliver its last events. Whatever interrupts it, the thread is stopped and joined,
        and its sockets closed."""
        try:
            self.heal()
            for task in self._schedules:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if self.net.running:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.net.submit(self._shutdown()), 10)
        finally:
            self.net.stop()
            if self._outbox is not None:
                self._outbox.drain()

    def abort(self) -> None:
        """Stop the proxy thread now, closing its sockets, without the orderly shutdown (an
        interrupted :meth:`close`); nothing when it is stopped already. Client thread."""
        self.net.stop()
        if self._outbox is not None:
            self._outbox.drain()

    # ------------------------------------------------------------------ schedules (client thread)

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
        """Switch ``toxic`` (client thread): its event, then the proxy thread's side of it."""
        if toxic.enabled == on:
            return
        toxic.enabled = on
        extra: dict[str, Any] = {"phase": "start" if on else "end", "clock": round(self.clock.peek(), 6)}
        if reason is not None:
            extra["reason"] = reason
        if self._outbox is not None:
            self._outbox.drain()  # what the proxy thread reported so far comes first
        self._emit("network", toxic.value(**extra), on)
        self.net.call_wait(self._switched, toxic, on)

    # ------------------------------------------------------------------ proxy thread

    def _event(self, value: dict[str, Any]) -> None:
        """A per-connection event, from the proxy thread to the client's ``emit``."""
        assert self._outbox is not None
        self._outbox.put("network", value, True)

    async def _listen(self) -> None:
        self._server = await self.loop.create_server(self._new_connection, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _shutdown(self) -> None:
        """The orderly end: stop listening, reset every open connection, end every task."""
        self._closing = True
        if self._relisten is not None:  # a down toxic just ended: let the port reopen, then close it
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(self._relisten)
        self._stop_listening()
        for conn in list(self._conns):
            conn.reset()
        self._conns.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _abort(self) -> None:
        """The loop stopped (``on_stop``): close whatever is still open, at once."""
        self._closing = True
        self._stop_listening()
        for conn in list(self._conns):
            conn.reset()
        self._conns.clear()

    def _switched(self, toxic: Toxic, on: bool) -> None:
        """The proxy thread's side of switching ``toxic``."""
        name = toxic.name
        if name == "down":
            self._switched_down(toxic, on)
            return
        holders = [c for c in self._conns if toxic in c.toxics and not c.closed]
        if on:
            if name == "timeout":
                for conn in holders:
                    self._arm(conn, toxic)
            return
        for conn in holders:
            timer = conn.timers.pop(toxic.index, None)
            if timer is not None:
                timer.cancel()
            if name == "timeout":
                # Toxiproxy closes the connections when a timeout toxic is removed: what it
                # dropped is lost, and the two ends no longer agree on the stream.
                self._event(toxic.value(connection=conn.number, action="closed", reason="toxic ended"))
                conn.close()
            elif name == "reset_peer" and toxic.index in conn.triggered:
                self._expire(conn, toxic)  # it dropped data already: the reset comes now
            else:
                conn.up.release()
                conn.down.release()

    def _switched_down(self, toxic: Toxic, on: bool) -> None:
        if on:
            self._down.append(toxic)
            if toxic.spec.mode == "refuse":  # type: ignore[union-attr]
                self._stop_listening()
                for conn in list(self._conns):
                    conn.close()
            else:
                for conn in list(self._conns):
                    conn.dropped = True
            return
        self._down.remove(toxic)
        for conn in [c for c in self._conns if c.dropped]:
            conn.reset()  # the protocol state is lost: make clients reconnect
        if toxic.spec.mode == "refuse" and self._server is None and not self._closing:  # type: ignore[union-attr]
            self._relisten = asyncio.run_coroutine_threadsafe(self._listen(), self.loop)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

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
        if any(t.spec.mode == "drop" for t in self._down):  # type: ignore[union-attr]
            conn.dropped = True
            self._event(self._down[0].value(connection=conn.number, action="dropped"))
            return
        self._spawn(self._connect(conn))

    async def _connect(self, conn: _Connection) -> None:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await self.loop.create_connection(lambda: conn.server, *self.upstream)
        except (OSError, TimeoutError):
            conn.reset()  # the real server is unreachable: the client sees a reset
            self._conns.discard(conn)
            return
        if conn.closed or conn.client.gone:
            conn.close()
            return
        for toxic in conn.toxics:
            if toxic.enabled and toxic.name == "timeout":
                self._arm(conn, toxic)

    def _arm(self, conn: _Connection, toxic: Toxic) -> None:
        """``timeout``: close the connection ``timeout`` from now (never, with 0)."""
        seconds: float = toxic.spec.timeout  # type: ignore[union-attr]
        if toxic.index in conn.timers or conn.closed or seconds == 0:
            return
        conn.timers[toxic.index] = self.loop.call_later(seconds, self._expire, conn, toxic)

    def _expire(self, conn: _Connection, toxic: Toxic) -> None:
        """A ``timeout`` closes its connection, a ``reset_peer`` resets it."""
        conn.timers.pop(toxic.index, None)
        if conn.closed:
            return
        if toxic.name == "reset_peer":
            self._event(toxic.value(connection=conn.number, action="reset"))
            conn.reset()
        elif toxic.enabled:
            self._event(toxic.value(connection=conn.number, action="closed"))
            conn.close()

    def _report(self, conn: _Connection, toxic: Toxic, direction: str, **extra: Any) -> None:
        """One event the first time a toxic acts on a connection in a direction."""
        mark = (toxic.index, direction)
        if mark not in conn.reported:
            conn.reported.add(mark)
            self._event(toxic.value(connection=conn.number, direction=direction, **extra))


__all__ = ["Proxy", "Toxic", "reset"]
