"""The socket pair between a proxy and its relay process, and the messages that cross it.

A message is a pickled tuple behind its length (4 bytes, big-endian). Pickle is safe here:
both ends are this package, on a socket pair no one else holds. The proxy sends requests
``(number, op, args)``; the relay sends ``("reply", number, ok, value)`` for each, and
``("event", value)`` whenever a toxic acts on a connection.

The proxy's end (:class:`Channel`) lives on the client's thread and is read two ways: by the
client's event loop as messages arrive (:meth:`Channel.attach`), and by a blocking
:meth:`Channel.call` that waits for its own reply. The second is how
:meth:`~chaos.faults.proxy.Proxy.heal` returns only once the toxics have stopped, from code
that is not a coroutine. Both read into one buffer, and events are handed to ``on_event`` in
the order the relay sent them, whichever way they were read.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import select
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

HEADER = struct.Struct("!I")

CALL_TIMEOUT = 5.0
"""Seconds :meth:`Channel.call` waits for its reply."""


def frame(message: tuple[Any, ...]) -> bytes:
    data = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


async def read_frame(reader: asyncio.StreamReader) -> Any:
    (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
    return pickle.loads(await reader.readexactly(size))


class ChannelClosed(ConnectionError):
    """The relay's end is gone (it exited, or was never started), or it did not answer."""


class RelayError(RuntimeError):
    """A request the relay could not carry out (its message says why)."""


class Channel:
    """The proxy's end of the socket pair (client thread only)."""

    def __init__(
        self,
        sock: socket.socket,
        on_event: Callable[[dict[str, Any]], None],
        on_lost: Callable[[], None] = lambda: None,
    ) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._on_event = on_event
        self._on_lost = on_lost
        """Called when the relay's end closes first: the relay exited on its own."""
        self._buffer = bytearray()
        self._number = 0
        self._replies: dict[int, tuple[bool, Any]] = {}
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Read messages on ``loop`` as they arrive."""
        self._loop = loop
        loop.add_reader(self._sock, self.poll)

    async def request(self, op: str, *args: Any) -> Any:
        """Send a request and await its reply."""
        assert self._loop is not None
        number = self._send(op, args)
        future = self._loop.create_future()
        self._waiting[number] = future
        return await future

    def call(self, op: str, *args: Any, timeout: float = CALL_TIMEOUT) -> Any:
        """Send a request and block until its reply (events read meanwhile are handed on)."""
        number = self._send(op, args)
        deadline = time.monotonic() + timeout
        while number not in self._replies:
            left = deadline - time.monotonic()
            if self.closed or left <= 0:
                raise ChannelClosed(f"no answer to {op!r}" if not self.closed else "the relay is gone")
            select.select([self._sock], [], [], left)
            self.poll()
        return _result(op, *self._replies.pop(number))

    def poll(self) -> None:
        """Read and hand on whatever has arrived, without waiting."""
        while not self.closed:
            try:
                data = self._sock.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                data = b""
            if not data:
                self._dispatch()  # what it sent before it went
                self.close()
                self._on_lost()
                return
            self._buffer += data
        self._dispatch()

    def close(self) -> None:
        """Close this end (the relay exits when it sees it); pending requests fail."""
        if self.closed:
            return
        self.closed = True
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self._sock)
        self._sock.close()
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ChannelClosed("the relay is gone"))
        self._waiting.clear()

    def _send(self, op: str, args: tuple[Any, ...]) -> int:
        if self.closed:
            raise ChannelClosed("the relay is gone")
        self._number += 1
        data = memoryview(frame((self._number, op, args)))
        deadline = time.monotonic() + CALL_TIMEOUT
        while data:
            try:
                data = data[self._sock.send(data) :]
            except (BlockingIOError, InterruptedError):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ChannelClosed(f"the relay does not read ({op!r})") from None
                select.select([], [self._sock], [], left)
            except OSError as exc:
                self.close()
                raise ChannelClosed("the relay is gone") from exc
        return self._number

    def _dispatch(self) -> None:
        buffer = self._buffer
        while len(buffer) >= HEADER.size:
            (size,) = HEADER.unpack_from(buffer)
            end = HEADER.size + size
            if len(buffer) < end:
                break
            message = pickle.loads(bytes(buffer[HEADER.size : end]))
            del buffer[:end]
            if message[0] == "event":
                self._on_event(message[1])
                continue
            _, number, ok, value = message
            future = self._waiting.pop(number, None)
            if future is None:
                self._replies[number] = (ok, value)
            elif not future.done():
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(RelayError(value))


def _result(op: str, ok: bool, value: Any) -> Any:
    if not ok:
        raise RelayError(f"{op}: {value}")
    return value


__all__ = ["CALL_TIMEOUT", "Channel", "ChannelClosed", "RelayError", "frame", "read_frame"]
