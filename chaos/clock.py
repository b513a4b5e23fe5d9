"""The clock a system under test reads and sleeps on.

Systems never call ``time`` or ``asyncio.sleep`` directly: they await ``env.clock.now()`` and
``env.clock.sleep()``. That makes every clock read an await point the controlled scheduler can
hold, and lets ``time_scale`` run the seed's hour-long scenarios in seconds: with
``time_scale: 3600`` one system hour passes in one wall second.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import AsyncIterator, Callable, Sized
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """System time in seconds since the run started."""

    async def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class ScaledClock:
    """Wall time multiplied by ``scale``: ``scale`` system seconds pass per wall second."""

    def __init__(self, scale: float = 1.0, start_ns: int | None = None) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self._start = time.monotonic_ns() if start_ns is None else start_ns

    async def now(self) -> float:
        return (time.monotonic_ns() - self._start) / 1e9 * self.scale

    def peek(self) -> float:
        """:meth:`now` without an await point, for the framework's own bookkeeping (fault
        windows); systems under test use :meth:`now`, which the controlled scheduler can hold."""
        return (time.monotonic_ns() - self._start) / 1e9 * self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.scale)

    def start(self) -> None:
        """Nothing to start: wall time runs by itself (the runner treats both clocks alike)."""

    async def aclose(self) -> None:
        """Nothing to stop."""


class VirtualClock:
    """System time that stands still while anything can run, and jumps to the next wake-up
    when nothing can: an hour-long sleep costs no wall time at all.

    How: every :meth:`sleep` registers a deadline. A helper task (started by :meth:`start`)
    gives the event loop one turn at a time while sleepers exist; when it finds the loop's
    ready queue empty (every other task waits on something: a clock sleep, a lock held by a
    sleeper, a paused server's gate), it moves time to the earliest deadline and wakes every
    sleeper due by then. This is Trio's ``MockClock`` with ``autojump_threshold=0``.

    Limits, by construction:

    * Computation takes no system time: a task that never waits on this clock (a worker
      issuing operations back to back on the in-memory store) keeps time still for everyone.
      Time moves once all of them wait, e.g. when the operations run out, or between
      operations if the system sleeps on the clock.
    * A task waiting on real I/O or a wall-clock timer (``asyncio.sleep``, the operation
      timeout, ``workload.rate``) does not hold virtual time back: the loop looks idle to the
      helper, so time may jump while such a task waits. Hence virtual time is for in-memory
      stores only (the experiment schema enforces it).
    * It reads ``loop._ready``, a detail of asyncio's own event loop; :meth:`start` refuses
      other loops (uvloop) with a clear error instead of guessing.
    """

    def __init__(self) -> None:
        self._now = 0.0
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0
        self._task: asyncio.Task[None] | None = None
        self._sleepers: asyncio.Event | None = None
        self.jumps = 0
        """How many times time moved forward (for tests and the run summary)."""

    async def now(self) -> float:
        return self._now

    def peek(self) -> float:
        return self._now

    def stamps(self) -> Callable[[], int]:
        """History times for a run on this clock: virtual nanoseconds plus a count of events
        so far, strictly increasing and the same for the same run on any machine."""
        ticks = itertools.count().__next__

        def stamp() -> int:
            return int(self._now * 1e9) + ticks()

        return stamp

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        if self._task is None:
            self.start()
        assert self._sleepers is not None
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._heap, (self._now + seconds, self._seq, future))
        self._sleepers.set()
        try:
            await future
        finally:
            future.cancel()  # a cancelled sleeper leaves the heap lazily (no-op once woken)

    def start(self) -> None:
        """Start the helper task on the running loop (the first sleep starts it if needed)."""
        if self._task is not None:
            return
        loop = asyncio.get_running_loop()
        ready = getattr(loop, "_ready", None)
        if ready is None:
            raise RuntimeError(
                f"clock: virtual needs asyncio's default event loop; {type(loop).__name__} does not expose "
                "its ready queue (use clock: scaled with time_scale instead)"
            )
        self._sleepers = asyncio.Event()
        self._task = loop.create_task(self._advance(ready), name="virtual-clock")

    async def aclose(self) -> None:
        """Stop the helper; sleepers still waiting stay asleep (the run is over)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _advance(self, ready: Sized) -> None:
        heap = self._heap
        sleepers = self._sleepers
        assert sleepers is not None
        while True:
            while heap and heap[0][2].done():
                heapq.heappop(heap)
            if not heap:
                sleepers.clear()
                await sleepers.wait()
                continue
            await asyncio.sleep(0)
            if len(ready):
                continue  # something can still run at the current time
            while heap and heap[0][2].done():
                heapq.heappop(heap)
            if not heap:
                continue
            self._now = max(self._now, heap[0][0])
            self.jumps += 1
            while heap and heap[0][0] <= self._now:
                future = heapq.heappop(heap)[2]
                if not future.done():
                    future.set_result(None)


async def sleep_until(clock: ScaledClock | VirtualClock, when: float) -> None:
    """Sleep until ``clock`` reads ``when`` (not at all if it already does): how a fault
    schedule waits for the start and the end of each active phase."""
    delay = when - clock.peek()
    if delay > 0:
        await clock.sleep(delay)


def make_clock(kind: str, time_scale: float = 1.0, start_ns: int | None = None) -> ScaledClock | VirtualClock:
    """The clock an experiment asks for: ``scaled`` (wall time times ``time_scale``) or ``virtual``."""
    if kind == "virtual":
        return VirtualClock()
    return ScaledClock(time_scale, start_ns)


def timeout(clock: Clock, seconds: float) -> contextlib.AbstractAsyncContextManager[None]:
    """An async context manager raising ``TimeoutError`` when its block lasts longer than
    ``seconds`` of ``clock``'s system time: how a system under test kills a request that ran
    too long (the seed's "kill servers stalled over an hour"). A clock with its own
    ``timeout`` (the controlled scheduler's) provides it; otherwise a watchdog sleeps on the
    clock and expires an ``asyncio.timeout``. The watchdog is not a step of the server: it runs
    as actor ``supervisor``, so pausing the server does not pause its killer."""
    own: Callable[[float], contextlib.AbstractAsyncContextManager[None]] | None = getattr(clock, "timeout", None)
    if own is not None:
        return own(seconds)
    return _watchdog_timeout(clock, seconds)


@contextlib.asynccontextmanager
async def _watchdog_timeout(clock: Clock, seconds: float) -> AsyncIterator[None]:
    from .calls import current_actor

    loop = asyncio.get_running_loop()
    async with asyncio.timeout(None) as deadline:

        async def fire() -> None:
            current_actor.set("supervisor")
            await clock.sleep(seconds)
            deadline.reschedule(loop.time())

        watchdog = asyncio.create_task(fire())
        try:
            yield
        finally:
            watchdog.cancel()
