"""The relay: the half of a network proxy that moves the bytes, in a process of its own.

A :class:`~chaos.faults.proxy.Proxy` starts this module as a child process
(``python -m chaos.faults.relay FD LOOP``) and talks to it over a socket pair
(:mod:`chaos.faults.channel`). Relaying in another process keeps it off the client's
interpreter lock: on a thread of the client's process, every relayed chunk waited for the
workers' Python code and slowed it in turn, and through a proxy with no toxic the client did
half the queries it did direct. The relay runs uvloop when it is installed (``LOOP`` ``auto``).

Every connection the store's adapter opens is relayed to the real server in two flows
(``upstream``: from the client to the server, ``downstream``: the replies). While no toxic
acts on a flow, each chunk is written to the other socket as it arrives, in the same
callback. Once a toxic chosen for the connection is on, each chunk is timestamped when it
arrives and goes through the flow's toxics in declaration order (:mod:`chaos.faults.toxics`);
what they let through is queued with the time it is due, and the flow writes it then.
When a toxic ends, the chunks queued in its flows go out at once, as Toxiproxy's interrupted
toxics let their data through.

Whether a toxic applies to a connection is drawn once, when the connection is accepted, from
the fault's own generator (the :class:`~chaos.faults.toxics.Toxic` arrives here with its
generators' state, seeded from the run's seed and the fault's index), so the same seed picks
the same connections in the same order. Toxic delays are wall time: they happen on a real
network. When each toxic is on is the proxy's business: it sends ``switch`` requests.

Requests (from the proxy) and what the relay answers:

==============  =====================================================================
``start``       the upstream address, the toxics: listen on a free port, answer it
``switch``      a toxic on or off: answered once applied (held chunks released, ...)
``stats``       connections accepted, bytes and writes in each direction
``listening``   answered once the port accepts connections again (after ``down``)
``shutdown``    stop listening, reset every connection, end every task; answer stats
==============  =====================================================================

Per-connection events (a toxic acted on connection N) go to the proxy as they happen. When
the proxy's end of the socket closes (the proxy is done, or its process died), the relay
resets whatever is still open and exits: it never outlives the run. It ignores SIGINT and
SIGTERM, which a terminal or CI sends to the whole process group: the proxy heals and closes
it in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import signal
import socket
import struct
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from .channel import frame, read_frame
from .toxics import STAGES, Piece, Stage, Toxic

CONNECT_TIMEOUT = 5.0
"""Seconds the relay waits for the real server to accept a connection."""
QUEUE_HIGH = 1 << 20
"""Bytes queued in a flow (toxics slow it down) before the relay stops reading its source."""


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
        """Write ``data`` toward this side, counted in the relay's ``stats``."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return False
        relay = self.conn.relay
        relay.bytes[direction] += len(data)
        relay.writes[direction] += 1
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
        self.relay = conn.relay
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
        relay = self.relay
        pieces: list[Piece] = [(relay.loop.time(), data)]
        then: Callable[[], None] | None = None
        for toxic in self.toxics:
            if not toxic.enabled:
                continue
            name = toxic.name
            stage = STAGES.get(name)
            if stage is not None:
                relay.report(conn, toxic, self.direction, action=_ACTIONS[name])
                pieces = stage(toxic, self.stages[toxic.index], pieces)
            elif name == "limit_data":
                pieces, then = self._limit(toxic, pieces)
            elif name == "timeout":
                relay.report(conn, toxic, self.direction, action="blackholed")
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
            self.pump = self.relay.spawn(self._run())

    def feed_eof(self) -> None:
        """The source half-closed: pass it on, after what is queued (and ``slow_close``)."""
        if self.sink.transport is None:  # before the real server answered: after the early data
            self.early.append(b"")
            return
        delay = self.slow_close()
        if self.pump is None and delay is None:
            self._forward_eof()
        else:
            self._queue(self.relay.loop.time() + (delay or 0.0), b"", self._forward_eof)

    def source_gone(self) -> bool:
        """The source closed: close the connection after what is queued (and ``slow_close``).
        Returns False when that can happen at once."""
        delay = self.slow_close()
        if self.pump is None and delay is None:
            return False
        self._queue(self.relay.loop.time() + (delay or 0.0), b"", self.conn.close)
        return True

    def slow_close(self) -> float | None:
        """The delay of an active ``slow_close`` toxic on this flow (with its event), if any."""
        for toxic in self.toxics:
            if toxic.enabled and toxic.name == "slow_close":
                self.relay.report(self.conn, toxic, self.direction, action="delayed close")
                return toxic.spec.delay  # type: ignore[union-attr]
        return None

    # ------------------------------------------------------------------ writing

    def release(self) -> None:
        """A toxic ended: what is queued is due now."""
        if not self.queue:
            return
        now = self.relay.loop.time()
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
        loop = self.relay.loop
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
        loop = self.relay.loop
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

    def __init__(self, relay: Relay, number: int, toxics: list[Toxic]) -> None:
        self.relay = relay
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
            self.relay.accepted(self)
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
            self.relay.conns.discard(self)

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
        self.timers[toxic.index] = self.relay.loop.call_later(seconds, self.relay.expire, self, toxic)

    def cut_off(self, toxic: Toxic, direction: str) -> None:
        """``limit_data`` used up: the connection closes."""
        if self.closed:
            return
        limit = toxic.spec.bytes  # type: ignore[union-attr]
        self.relay.event(toxic.value(connection=self.number, direction=direction, action="cut", after_bytes=limit))
        self.close()


class Relay:
    """The relay of one proxy: its listening socket, its connections, its toxics' state."""

    def __init__(
        self, upstream: tuple[str, int], toxics: list[Toxic], host: str, event: Callable[[dict[str, Any]], None]
    ) -> None:
        self.upstream = upstream
        self.toxics = {toxic.index: toxic for toxic in toxics}
        self.host = host
        self.port = 0
        self.event = event
        """Where per-connection events go (to the proxy)."""
        self.loop = asyncio.get_running_loop()
        self.connections = 0
        self.bytes = {"upstream": 0, "downstream": 0}
        self.writes = {"upstream": 0, "downstream": 0}
        self.conns: set[_Connection] = set()
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        """Upstream connects and flow pumps: cancelled at shutdown."""
        self._closing = False
        self._down: list[Toxic] = []
        self._relisten: asyncio.Task[int] | None = None

    def stats(self) -> dict[str, Any]:
        return {"connections": self.connections, "bytes": dict(self.bytes), "writes": dict(self.writes)}

    async def listen(self) -> int:
        """Listen (on a free port the first time, on the same one after a ``down`` toxic)."""
        self._server = await self.loop.create_server(self._new_connection, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def listening(self) -> None:
        """Return once the port accepts connections again (after a ``down`` toxic ended)."""
        if self._relisten is not None:
            await asyncio.shield(self._relisten)

    def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def shutdown(self) -> dict[str, Any]:
        """The orderly end: stop listening, reset every open connection, end every task."""
        self._closing = True
        if self._relisten is not None:  # a down toxic just ended: let the port reopen, then close it
            with contextlib.suppress(Exception):
                await self._relisten
        self.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return self.stats()

    def abort(self) -> None:
        """Close whatever is still open, at once."""
        self._closing = True
        self._stop_listening()
        for conn in list(self.conns):
            conn.reset()
        self.conns.clear()

    def switch(self, index: int, on: bool) -> None:
        """Switch the toxic of fault ``index`` on or off."""
        toxic = self.toxics[index]
        if toxic.enabled == on:
            return
        toxic.enabled = on
        name = toxic.name
        if name == "down":
            self._switched_down(toxic, on)
            return
        holders = [c for c in self.conns if toxic in c.toxics and not c.closed]
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
                self.event(toxic.value(connection=conn.number, action="closed", reason="toxic ended"))
                conn.close()
            elif name == "reset_peer" and toxic.index in conn.triggered:
                self.expire(conn, toxic)  # it dropped data already: the reset comes now
            else:
                conn.up.release()
                conn.down.release()

    def _switched_down(self, toxic: Toxic, on: bool) -> None:
        if on:
            self._down.append(toxic)
            if toxic.spec.mode == "refuse":  # type: ignore[union-attr]
                self._stop_listening()
                for conn in list(self.conns):
                    conn.close()
            else:
                for conn in list(self.conns):
                    conn.dropped = True
            return
        self._down.remove(toxic)
        for conn in [c for c in self.conns if c.dropped]:
            conn.reset()  # the protocol state is lost: make clients reconnect
        if toxic.spec.mode == "refuse" and self._server is None and not self._closing:  # type: ignore[union-attr]
            self._relisten = self.loop.create_task(self.listen())

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _new_connection(self) -> asyncio.Protocol:
        """A client connects: draw which toxics apply to it (in accept order, from each
        fault's generator) and hand asyncio its client side."""
        self.connections += 1
        chosen = [t for t in self.toxics.values() if t.name != "down" and t.choose()]
        conn = _Connection(self, self.connections, chosen)
        self.conns.add(conn)
        return conn.client

    def accepted(self, conn: _Connection) -> None:
        if self._closing:
            conn.reset()
            return
        if any(t.spec.mode == "drop" for t in self._down):  # type: ignore[union-attr]
            conn.dropped = True
            self.event(self._down[0].value(connection=conn.number, action="dropped"))
            return
        self.spawn(self._connect(conn))

    async def _connect(self, conn: _Connection) -> None:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await self.loop.create_connection(lambda: conn.server, *self.upstream)
        except (OSError, TimeoutError):
            conn.reset()  # the real server is unreachable: the client sees a reset
            self.conns.discard(conn)
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
        conn.timers[toxic.index] = self.loop.call_later(seconds, self.expire, conn, toxic)

    def expire(self, conn: _Connection, toxic: Toxic) -> None:
        """A ``timeout`` closes its connection, a ``reset_peer`` resets it."""
        conn.timers.pop(toxic.index, None)
        if conn.closed:
            return
        if toxic.name == "reset_peer":
            self.event(toxic.value(connection=conn.number, action="reset"))
            conn.reset()
        elif toxic.enabled:
            self.event(toxic.value(connection=conn.number, action="closed"))
            conn.close()

    def report(self, conn: _Connection, toxic: Toxic, direction: str, **extra: Any) -> None:
        """One event the first time a toxic acts on a connection in a direction."""
        mark = (toxic.index, direction)
        if mark not in conn.reported:
            conn.reported.add(mark)
            self.event(toxic.value(connection=conn.number, direction=direction, **extra))


# ---------------------------------------------------------------------- the process


REQUESTS = ("switch", "stats", "listening", "shutdown")
"""The :class:`Relay` methods the proxy may call once ``start`` has made it."""


async def serve(sock: socket.socket) -> None:
    """Answer the proxy's requests on ``sock`` until it closes its end. Requests are carried
    out in the order they come; those that wait (``start``, ``listening``, ``shutdown``) are
    answered when they are done, the others at once."""
    reader, writer = await asyncio.open_connection(sock=sock)
    loop = asyncio.get_running_loop()
    relay: Relay | None = None
    pending: set[asyncio.Task[None]] = set()

    def send(message: tuple[Any, ...]) -> None:
        if not writer.is_closing():
            writer.write(frame(message))

    def failed(number: int, exc: Exception) -> None:  # the proxy raises it there
        send(("reply", number, False, f"{type(exc).__name__}: {exc}"))

    async def answer(number: int, work: Awaitable[Any]) -> None:
        try:
            result = await work
        except Exception as exc:
            failed(number, exc)
        else:
            send(("reply", number, True, result))

    def carry_out(number: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            result = fn(*args)
        except Exception as exc:
            failed(number, exc)
            return
        if not inspect.isawaitable(result):
            send(("reply", number, True, result))
            return
        task = loop.create_task(answer(number, result))
        pending.add(task)
        task.add_done_callback(pending.discard)

    try:
        while True:
            try:
                number, op, args = await read_frame(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return  # the proxy closed its end, or its process is gone
            if op == "start":
                upstream, toxics, host = args
                relay = Relay(upstream, toxics, host, lambda value: send(("event", value)))
                carry_out(number, relay.listen, ())
            elif relay is not None and op in REQUESTS:
                carry_out(number, getattr(relay, op), args)
            else:
                send(("reply", number, False, f"unexpected request {op!r}"))
    finally:
        if relay is not None:
            relay.abort()
        for task in list(pending):
            task.cancel()
        writer.close()


def new_loop(name: str) -> asyncio.AbstractEventLoop:
    """``uvloop``, ``asyncio``, or ``auto`` (uvloop when it is installed)."""
    if name != "asyncio":
        try:
            import uvloop
        except ImportError:
            if name == "uvloop":
                raise
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


async def _settle() -> None:
    """End every task left, and give closed transports the turns they need to close their
    sockets (their ``connection_lost`` runs from the loop)."""
    this = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not this]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for _ in range(3):
        await asyncio.sleep(0)


def main(argv: list[str]) -> int:
    """``FD LOOP``: serve the proxy on the inherited socket ``FD`` with event loop ``LOOP``."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    fd, loop_name = int(argv[0]), argv[1]
    loop = new_loop(loop_name)
    try:
        loop.run_until_complete(serve(socket.socket(fileno=fd)))
        loop.run_until_complete(_settle())
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

__all__ = ["Relay", "main", "reset", "serve"]
