"""The network proxies' own thread and event loop, and the way their events reach the history.

A proxy relays every byte the stores exchange with their servers. On the client's event loop it
competed with the workers for every turn of that loop: each relayed chunk waited behind the
workers' callbacks (and a busy loop made latency toxics late), and the workers waited behind
the relay. :class:`NetLoop` gives the proxies a thread with an event loop of their own.

Two things cross between the threads, each one way:

* control, client thread -> proxy loop: switching a toxic on or off, healing, closing.
  :meth:`NetLoop.call_wait` runs a function on the proxy loop and waits until it has run, so
  that when :meth:`~chaos.faults.proxy.Proxy.heal` returns the toxics have stopped.
* events, proxy loop -> client thread: the history writer is not thread-safe, so the proxy
  thread never calls it. :class:`Outbox` keeps the events in a deque and asks the client loop
  (``call_soon_threadsafe``) to write them; :meth:`Outbox.drain` also writes whatever is left,
  on the client thread, before an event of the client thread's own and when the proxy closes,
  so that the history is complete and in the order things happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

Emit = Callable[[str, dict[str, Any], bool], None]
"""Where nemesis events go: ``emit(f, value, injected)``."""

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

STOP_TIMEOUT = 5.0
"""Seconds :meth:`NetLoop.stop` waits for the thread to finish (it is a daemon thread: a proxy
loop stuck past this cannot keep the process alive)."""
CALL_TIMEOUT = 5.0
"""Seconds :meth:`NetLoop.call_wait` waits for the proxy loop to run a control call."""


class NetLoop:
    """A daemon thread running an event loop of its own until :meth:`stop`.

    ``on_stop`` runs on that thread once the loop has stopped, before its tasks are cancelled
    and the loop closed: the proxy closes its listening socket and every connection there, so
    that even a stop that skipped the orderly shutdown (an interrupt) leaves nothing open."""

    def __init__(self, name: str, loop_factory: LoopFactory | None = None) -> None:
        self.name = name
        self._factory = loop_factory or asyncio.new_event_loop
        self.loop: asyncio.AbstractEventLoop | None = None
        self.on_stop: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failed: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self.loop is not None

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def start(self) -> None:
        """Start the thread and wait until its loop runs."""
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failed is not None:
            raise self._failed

    def _main(self) -> None:
        try:
            loop = self._factory()
        except BaseException as exc:  # reported to start()
            self._failed = exc
            self._ready.set()
            return
        asyncio.set_event_loop(loop)
        self.loop = loop
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
        finally:
            try:
                if self.on_stop is not None:
                    self.on_stop()
                loop.run_until_complete(_settle())
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                asyncio.set_event_loop(None)
                loop.close()
                self._ready.set()

    def in_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the proxy loop soon (from any thread; nothing once stopped)."""
        loop = self.loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: the proxy is gone
            loop.call_soon_threadsafe(fn, *args)

    def call_wait(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the proxy loop and wait until it has run (at once when called
        on that thread; nothing when the loop no longer runs)."""
        if self.in_thread():
            fn(*args)
            return
        loop = self.loop
        if loop is None or not self.running:
            return
        done = threading.Event()
        failed: list[BaseException] = []

        def run() -> None:
            try:
                fn(*args)
            except BaseException as exc:
                failed.append(exc)
            finally:
                done.set()

        try:
            loop.call_soon_threadsafe(run)
        except RuntimeError:
            return
        done.wait(CALL_TIMEOUT)
        if failed:
            raise failed[0]

    async def submit(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on the proxy loop and await its result from the caller's loop."""
        loop = self.loop
        if loop is None or not self.running:
            coro.close()
            raise RuntimeError(f"{self.name}: the proxy loop is not running")
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    def stop(self) -> None:
        """Stop the loop, let ``on_stop`` close what is open, and join the thread."""
        thread = self._thread
        loop = self.loop
        if thread is None:
            return
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
        if thread is not threading.current_thread():
            thread.join(STOP_TIMEOUT)


async def _settle() -> None:
    """End every task left on the stopped loop, and give closed transports the turns they need
    to close their sockets (their ``connection_lost`` runs from the loop)."""
    this = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not this]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for _ in range(3):
        await asyncio.sleep(0)


class Outbox:
    """Events produced on the proxy thread, written on the client thread.

    :meth:`put` may be called from any thread; it appends to a deque (thread-safe) and, when
    the deque was empty, asks the client loop to :meth:`drain` it. :meth:`drain` must only run
    on the client thread."""

    def __init__(self, emit: Emit, loop: asyncio.AbstractEventLoop) -> None:
        self._emit = emit
        self._loop = loop
        self._events: deque[tuple[str, dict[str, Any], bool]] = deque()
        self._scheduled = False
        self._lock = threading.Lock()

    def put(self, f: str, value: dict[str, Any], injected: bool) -> None:
        self._events.append((f, value, injected))
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        with contextlib.suppress(RuntimeError):  # the client loop is closed: close() drains what is left
            self._loop.call_soon_threadsafe(self.drain)

    def drain(self) -> None:
        """Write every pending event, oldest first (client thread only)."""
        with self._lock:
            self._scheduled = False
        events = self._events
        while events:
            f, value, injected = events.popleft()
            self._emit(f, value, injected)

    def __len__(self) -> int:
        return len(self._events)


__all__ = ["CALL_TIMEOUT", "STOP_TIMEOUT", "Emit", "LoopFactory", "NetLoop", "Outbox"]
