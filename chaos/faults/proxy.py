"""A TCP proxy with Toxiproxy's toxics, for network faults between this process and a real server.

The runner starts one :class:`Proxy` per store that has ``kind: network`` faults, on a free
loopback port, and points the store's adapter at it. Every connection the adapter opens is
relayed to the real server in two flows (``upstream``: from this process to the server,
``downstream``: the replies). The relaying runs in a child process
(:mod:`chaos.faults.relay`), so that it neither waits for the workers' Python code nor slows
it; this module is the run's handle on it.

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
here, on the client's loop and the run's clock, and switch toxics in the relay.

Who does what: the proxy (client thread) owns the schedules, the ``start``/``end`` events and
the relay process's life; the relay owns the sockets, the connections and the per-connection
events, which reach ``emit`` on the client thread (:mod:`chaos.faults.channel`). Before an
event of its own, the proxy reads what the relay has sent, so that the history has them in
the order they happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ..clock import sleep_until
from ..errors import Unreachable
from .channel import Channel, ChannelClosed, RelayError
from .toxics import Toxic

Emit = Callable[[str, dict[str, Any], bool], None]
"""Where nemesis events go: ``emit(f, value, injected)``."""

START_TIMEOUT = 30.0
"""Seconds the relay process has to start and listen (an interpreter's start-up, on a
machine that may be busy)."""
STOP_TIMEOUT = 5.0
"""Seconds :meth:`Proxy.close` waits for the relay process to exit before killing it."""
SHUTDOWN_TIMEOUT = 10.0
"""Seconds the relay has to reset its connections and end its tasks in order."""


class Proxy:
    """A loopback TCP proxy in front of ``upstream`` (host, port), with ``toxics``.

    Every method is called on the client's loop (thread); the relaying runs in a child
    process (``loop``: its event loop, ``auto``, ``uvloop`` or ``asyncio``). ``emit`` is only
    ever called on the client's thread."""

    def __init__(
        self,
        store: str,
        upstream: tuple[str, int],
        toxics: list[Toxic],
        clock: Any,
        emit: Emit,
        host: str = "127.0.0.1",
        loop: str = "auto",
    ) -> None:
        self.store = store
        self.upstream = upstream
        self.toxics = toxics
        self.clock = clock
        self._emit = emit
        self.host = host
        self.port = 0
        self.loop_name = loop
        self.process: subprocess.Popen[bytes] | None = None
        """The relay process."""
        self._channel: Channel | None = None
        self._stats: dict[str, Any] = {
            "connections": 0,
            "bytes": {"upstream": 0, "downstream": 0},
            "writes": {"upstream": 0, "downstream": 0},
        }
        self._schedules: list[asyncio.Task[None]] = []
        self._healed = False
        self._stderr: IO[bytes] | None = None
        """Where the relay's stderr goes (read when it dies)."""
        self.lost: str | None = None
        """Set when the relay process ended on its own during the run (it was killed): from
        then on nothing was relayed, and no toxic injected."""

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def connections(self) -> int:
        """Connections accepted so far."""
        return int(self._read_stats()["connections"])

    @property
    def bytes(self) -> dict[str, int]:
        """Bytes forwarded in each direction."""
        return dict(self._read_stats()["bytes"])

    @property
    def writes(self) -> dict[str, int]:
        """Writes (chunks or slices) forwarded in each direction."""
        return dict(self._read_stats()["writes"])

    def _read_stats(self) -> dict[str, Any]:
        """The relay's counters now, or as it last told them once it is gone."""
        channel = self._channel
        if channel is not None and not channel.closed:
            with contextlib.suppress(ChannelClosed):
                self._stats = channel.call("stats")
        return self._stats

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> int:
        """Start the relay process, have it listen on a free loopback port and start the
        toxics' schedules; returns the port."""
        ours, theirs = socket.socketpair()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (open for the relay's life: abort() closes it)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "chaos.faults.relay", str(theirs.fileno()), self.loop_name],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                env=_child_env(),
            )
        except OSError as exc:
            ours.close()
            self.abort()
            raise Unreachable(f"store {self.store!r}: cannot start the network proxy: {exc}") from None
        finally:
            theirs.close()
        self._channel = Channel(ours, self._relayed, self._relay_lost)
        self._channel.attach(asyncio.get_running_loop())
        try:
            async with asyncio.timeout(START_TIMEOUT):
                self.port = await self._channel.request("start", self.upstream, self.toxics, self.host)
        except BaseException as exc:
            said = self._last_words() if isinstance(exc, ChannelClosed) else ""
            self.abort()
            if isinstance(exc, TimeoutError | ChannelClosed | RelayError):
                raise Unreachable(f"store {self.store!r}: the network proxy did not start: {exc}{said}") from None
            raise
        for toxic in self.toxics:
            self._schedules.append(asyncio.create_task(self._schedule(toxic), name=f"fault-{toxic.index}"))
        await asyncio.sleep(0)  # let always-on toxics switch on before the first connection
        return self.port

    async def listening(self) -> None:
        """Wait until the port accepts connections again (after a ``down`` toxic ends)."""
        if self._channel is not None and not self._channel.closed:
            await self._channel.request("listening")

    def set_active(self, fault: int, on: bool) -> None:
        """Switch the toxic of fault number ``fault`` on or off by hand (a custom nemesis, a
        test), with its ``start``/``end`` event; its own window keeps running. When this
        returns, the relay has applied the change."""
        for toxic in self.toxics:
            if toxic.index == fault:
                self._switch(toxic, on, reason=None if on else "switched off")
                return
        raise KeyError(f"proxy of {self.store!r} has no fault {fault}")

    def heal(self) -> None:
        """Switch every toxic off (with its ``end`` event) and forward cleanly from now on:
        chunks the toxics hold go out at once. Returns once the relay has done so."""
        if self._healed:
            return
        self._healed = True
        for task in self._schedules:
            task.cancel()
        for toxic in self.toxics:
            if toxic.enabled:
                self._switch(toxic, False, reason="healed")

    async def close(self) -> None:
        """Heal, stop listening, reset every open connection, stop the relay process and
        deliver its last events. Whatever interrupts it, the process is ended and its
        sockets closed."""
        try:
            self.heal()
            for task in self._schedules:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            channel = self._channel
            if channel is not None and not channel.closed:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                        self._stats = await channel.request("shutdown")
        finally:
            self.abort()

    def abort(self) -> None:
        """End the relay process now: it resets whatever is open as it exits. Nothing when
        it has ended already."""
        channel = self._channel
        if channel is not None:
            channel.poll()  # its last events
            channel.close()
        process = self.process
        if process is not None and process.returncode is None:
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

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
        """Switch ``toxic``: its event, then the relay's side of it."""
        if toxic.enabled == on:
            return
        toxic.enabled = on
        extra: dict[str, Any] = {"phase": "start" if on else "end", "clock": round(self.clock.peek(), 6)}
        if reason is not None:
            extra["reason"] = reason
        channel = self._channel
        if channel is not None:
            channel.poll()  # what the relay reported so far comes first
        self._emit("network", toxic.value(**extra), on)
        if channel is not None and not channel.closed:
            with contextlib.suppress(ChannelClosed):  # the relay is gone: nothing is relayed
                channel.call("switch", toxic.index, on)

    def _relayed(self, value: dict[str, Any]) -> None:
        """A per-connection event from the relay."""
        self._emit("network", value, True)

    def _relay_lost(self) -> None:
        """The relay process ended without being asked to: say so in the history, and keep it
        for the run's health warnings (the faults declared on this store stopped there)."""
        if not self.port:
            return  # it never started: start() says so
        said = self._last_words()
        code = self.process.returncode if self.process is not None else None
        self.lost = f"the network proxy of store {self.store!r} stopped during the run (exit code {code}{said})"
        self._emit("network", {"store": self.store, "action": "proxy lost", "exit_code": code}, False)

    def _last_words(self) -> str:
        """``: <the last line the relay wrote>``, or nothing. The relay's stderr goes to a
        file, never to the run's terminal: a crash there is reported in one line, without its
        traceback."""
        process, stderr = self.process, self._stderr
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(1)  # it is going: let it finish writing
        if stderr is None:
            return ""
        stderr.seek(0)
        lines = [line.strip() for line in stderr.read().decode(errors="replace").splitlines() if line.strip()]
        return f": {lines[-1]}" if lines else ""


def _child_env() -> dict[str, str]:
    """The relay's environment: this one, with this package importable wherever it is
    (an installed package, or a source tree on ``sys.path``)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


__all__ = ["Emit", "Proxy", "Toxic"]
