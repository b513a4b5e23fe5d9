"""Histories: the append-only record of every call a run made, and its pairing into operations.

A history is Jepsen's model written as JSON Lines. Each line is one event::

    {"index": 0, "time": 1200, "process": 3, "type": "invoke", "f": "write", "key": "k1", "value": 7}
    {"index": 1, "time": 9800, "process": 3, "type": "ok", "f": "write", "key": "k1", "value": 7}

``time`` is monotonic nanoseconds from the start of the run. ``type`` is ``invoke`` or one
completion: ``ok``, ``fail`` (the operation definitely did not take effect) or ``info``
(unknown: it may or may not have taken effect). Fault events use ``process: "nemesis"``.

The writer is on the hot path of every run. Client events are :class:`Event` structs that
msgspec encodes straight into one growing buffer: building a struct costs a third of what a
dict does, and encoding into a buffer spares a bytes object and a write call per line. Everything
else (pairing, reading) works on the file afterwards, so that an interrupted run's history is
checked exactly as it lies on disk.
Values that are not plain JSON are written as :mod:`chaos.encoding` says.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

from .encoding import ENCODER, DecodeError, as_text, loads
from .errors import BadInput

EventType = Literal["invoke", "ok", "fail", "info"]
COMPLETIONS = frozenset({"ok", "fail", "info"})
NEMESIS = "nemesis"
FLUSH_BYTES = 1 << 16
"""Pending lines beyond this size go to the OS at once rather than at the next :meth:`HistoryWriter.flush`."""


class Event(msgspec.Struct, omit_defaults=True, gc=False):
    """A client event, its fields in the order a line shows them (``error`` only when set).

    ``gc=False``: an event lives only until it is encoded, and nothing it holds can refer back
    to it, so the garbage collector need not track the many made per second.
    """

    process: int | str
    type: str
    f: str
    key: Any
    value: Any
    time: int
    index: int
    error: str | None = None


def _as_text(event: Event | dict[str, Any]) -> dict[str, Any]:
    """``event`` with every value that is not a JSON scalar written as its ``repr``: the line
    for an event whose value the encoder refused (one that contains itself, say)."""
    fields = msgspec.structs.asdict(event) if isinstance(event, Event) else event
    return {
        name: value if value is None or isinstance(value, str | int | float) else as_text(value)
        for name, value in fields.items()
        if not (name == "error" and value is None)
    }


class HistoryError(BadInput):
    """A history file that cannot be read: the message names the line and the problem."""


@dataclass(slots=True)
class Operation:
    """One client call: an invoke paired with its completion.

    ``value`` is what the client asked for (the invoke's value); ``output`` is what the
    completion reported (for ``ok`` reads, the value read). ``ret`` is ``None`` when the
    operation never completed (an ``info`` or an invoke left open by an interruption): it may
    then take effect at any time after ``call``, or never.
    """

    id: int
    process: int | str
    f: str
    key: Any
    value: Any
    output: Any
    status: Literal["ok", "fail", "info"]
    call: int
    ret: int | None
    error: str | None = None
    invoke_index: int = -1
    complete_index: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def definite(self) -> bool:
        """True when the outcome is known (ok or fail)."""
        return self.status != "info"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for results.json and reports."""
        return {
            "id": self.id,
            "process": self.process,
            "f": self.f,
            "key": self.key,
            "value": self.value,
            "output": self.output,
            "status": self.status,
            "call": self.call,
            "ret": self.ret,
            "error": self.error,
        }


class HistoryWriter:
    """Appends events to ``history.jsonl`` as the run goes.

    Lines collect in :attr:`buffer` and reach the OS by :meth:`flush`, which the runner calls on
    a short timer, whenever the buffer passes :data:`FLUSH_BYTES`, and at the end: a run
    interrupted by Ctrl-C, SIGTERM or an exception leaves every event written before it on
    disk. The index counter lives here so indices strictly increase in file order.
    """

    __slots__ = ("_file", "_start", "buffer", "encode_into", "mask", "next_index", "now", "path")

    def __init__(self, path: Path, start_ns: int | None = None) -> None:
        self.path = path
        self._file = open(path, "wb")  # noqa: SIM115
        self._start = time.monotonic_ns() if start_ns is None else start_ns
        self.buffer = bytearray()
        """Encoded lines not yet handed to the OS; the runner's hot path appends to it directly."""
        self.encode_into = ENCODER.encode_into
        self.next_index = itertools.count().__next__
        """The index of the next event."""
        self.mask: Callable[[bytearray, int], None] | None = None
        """Called with the buffer and where the last line starts, to mask secrets in it (set
        only when the run has secrets)."""
        self.now: Callable[[], int] = self._wall
        """The ``time`` of the next event: wall nanoseconds since the run started, or what
        :meth:`use_clock` set (virtual time)."""

    @property
    def start_ns(self) -> int:
        return self._start

    def _wall(self) -> int:
        return time.monotonic_ns() - self._start

    def use_clock(self, now: Callable[[], int]) -> None:
        """Stamp events with ``now()`` instead of wall time (virtual time: a run whose seed
        fixes every event, times included)."""
        self.now = now

    def add(self, event: Event | dict[str, Any]) -> None:
        """Encode ``event`` as the next line."""
        buffer = self.buffer
        mark = len(buffer)
        try:
            self.encode_into(event, buffer, -1)
            buffer += b"\n"
        except Exception:
            self.add_as_text(event, mark)
        if self.mask is not None:
            self.mask(buffer, mark)
        if len(buffer) > FLUSH_BYTES:
            self.flush()

    def add_as_text(self, event: Event | dict[str, Any], mark: int) -> None:
        """Write an event whose value the encoder refused (one that contains itself, say)
        with its values as text, rather than lose it. The refused attempt left its torn bytes
        in the buffer after ``mark``, the buffer's length before it."""
        buffer = self.buffer
        del buffer[mark:]
        self.encode_into(_as_text(event), buffer, -1)
        buffer += b"\n"

    def append(self, event: dict[str, Any]) -> dict[str, Any]:
        """Stamp ``event`` with its index (and time, unless it has one) and write it."""
        event["index"] = self.next_index()
        if "time" not in event:
            event["time"] = self.now()
        self.add(event)
        return event

    def flush(self) -> None:
        """Hand the pending lines to the OS (an ``OSError`` here means the disk refused them)."""
        if self.buffer:
            try:
                self._file.write(self.buffer)
            finally:
                self.buffer.clear()  # never offered twice: part may be on disk, and a torn line is dropped on reading
            self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            try:
                self.flush()
                os.fsync(self._file.fileno())
            finally:
                self._file.close()


MAX_DEPTH = 64
"""How deeply a value or key may nest lists and objects: deeper is bad input, not a crash of
whatever walks it later (a recursion limit)."""
_SCALARS = (str, int, float, bool, type(None))


def read_events(path: Path | str) -> list[dict[str, Any]]:
    """Read a JSONL history, every event checked field by field.

    A torn last line (the process died mid-write: the start of a JSON object, no newline) is
    dropped; any other unreadable line, or a field of the wrong type, is a
    :class:`HistoryError` naming the file, the line and the field.
    """
    return read_events_located(path)[0]


def read_events_located(path: Path | str) -> tuple[list[dict[str, Any]], list[int]]:
    """:func:`read_events`, and the line number of each event (for error messages)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise HistoryError(f"{path}: cannot read: {exc.strerror or exc}") from None
    events: list[dict[str, Any]] = []
    lines: list[int] = []
    chunks = data.split(b"\n")
    last = len(chunks)
    for number, line in enumerate(chunks, 1):
        if not line.strip():
            continue
        try:
            event = loads(line)
        except RecursionError:
            raise HistoryError(f"{path}:{number}: nested deeper than JSON can be read here") from None
        except DecodeError as exc:
            if number == last and _torn(line):  # last line without its newline: a torn write
                break
            raise HistoryError(f"{path}:{number}: not a JSON object: {_decode_reason(line, exc)}") from None
        if type(event) is not dict:
            raise HistoryError(f"{path}:{number}: expected a JSON object, got {_kind(event)}")
        problem = check_event(event, len(events))
        if problem is not None:
            raise HistoryError(f"{path}:{number}: {problem}")
        events.append(event)
        lines.append(number)
    return events, lines


def _torn(line: bytes) -> bool:
    """A line that is the start of a JSON object cut short, not garbage."""
    if not line.lstrip().startswith(b"{"):
        return False
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode_reason(line: bytes, exc: Exception) -> str:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not UTF-8 text (byte {bad.start + 1}); is this a history file?"
    return str(exc)


def _kind(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def check_event(event: dict[str, Any], position: int) -> str | None:
    """Check one decoded event field by field, filling in ``index`` and ``time`` when absent
    (the position in the file). Returns what is wrong, naming the field, or None."""
    kind = event.get("type")
    if kind is None:
        if "type" not in event:
            return "event has no 'type'"
        return "field 'type': expected invoke, ok, fail or info, got null"
    if kind not in COMPLETIONS and kind != "invoke":
        shown = repr(kind) if isinstance(kind, str) else _kind(kind)
        return f"field 'type': expected invoke, ok, fail or info, got {shown}"
    if "process" not in event:
        return "event has no 'process'"
    process = event["process"]
    kp = type(process)
    if kp is not int and kp is not str:
        return f"field 'process': expected an integer or a string, got {_kind(process)}"
    f = event.get("f")
    if f is not None and type(f) is not str:
        return f"field 'f': expected a string, got {_kind(f)}"
    key = event.get("key")
    if (
        key is not None
        and type(key) is not str
        and type(key) is not int
        and (isinstance(key, dict) or not _plain_key(key))
    ):
        return f"field 'key': expected a string, a number or an array of them, got {_kind(key)}"
    value = event.get("value")
    if value is not None and not isinstance(value, _SCALARS) and _too_deep(value):
        return f"field 'value': nested deeper than {MAX_DEPTH} levels"
    index = event.get("index")
    if index is None:
        if "index" in event:
            return "field 'index': expected an integer, got null"
        event["index"] = position
    elif type(index) is not int:
        return f"field 'index': expected an integer, got {_kind(index)}"
    if "time" in event:
        t = event["time"]
        kt = type(t)
        if kt is not int and (kt is not float or t != t or t in (float("inf"), float("-inf"))):
            return f"field 'time': expected a number (nanoseconds), got {_kind(t)}"
    else:
        event["time"] = event["index"]
    error = event.get("error")
    if error is not None and type(error) is not str:
        event["error"] = as_text(error)
    return None


def _plain_key(key: Any) -> bool:
    """A key may be a scalar or an array of scalars and arrays (it is frozen into a tuple)."""
    if isinstance(key, _SCALARS):
        return True
    if isinstance(key, list):
        return not _too_deep(key) and all(_plain_key(k) for k in key)
    return False


def _too_deep(value: Any) -> bool:
    """True when ``value`` nests lists and objects more than :data:`MAX_DEPTH` deep (iterative)."""
    work = [(value, 1)]
    while work:
        item, depth = work.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, list):
            work.extend((v, depth + 1) for v in item if not isinstance(v, _SCALARS))
        elif isinstance(item, dict):
            work.extend((v, depth + 1) for v in item.values() if not isinstance(v, _SCALARS))
    return False


def pair(events: Iterable[dict[str, Any]], where: Callable[[int], str] | None = None) -> list[Operation]:
    """Pair each client invoke with the next completion of the same process.

    Nemesis events are skipped (they are not client operations). An invoke without a
    completion (the run was interrupted) becomes an ``info`` operation with no return time.
    A completion without an invoke, or a second invoke while one is open, is an error:
    Jepsen's rule that a process has at most one call outstanding. ``where(i)`` names the
    place of the ``i``-th event in its file (``path:line``) for those errors; without it the
    event's index is named.
    """
    open_ops: dict[Any, Operation] = {}
    ops: list[Operation] = []
    for position, event in enumerate(events):
        process = event["process"]
        if process == NEMESIS:
            continue
        kind = event["type"]
        if kind == "invoke":
            if process in open_ops:
                place = where(position) if where is not None else f"event {event['index']}"
                raise HistoryError(
                    f"{place}: process {process} invoked while its operation {open_ops[process].id} "
                    f"(event {open_ops[process].invoke_index}) is still open; a process has one call at a time"
                )
            op = Operation(
                id=len(ops),
                process=process,
                f=event.get("f") or "",
                key=event.get("key"),
                value=event.get("value"),
                output=None,
                status="info",
                call=event["time"],
                ret=None,
                invoke_index=event["index"],
            )
            open_ops[process] = op
            ops.append(op)
        else:
            opened = open_ops.pop(process, None)
            if opened is None:
                place = where(position) if where is not None else f"event {event['index']}"
                raise HistoryError(f"{place}: {kind} for process {process} with no open invoke")
            op = opened
            op.status = kind
            op.complete_index = event["index"]
            op.error = event.get("error")
            if kind == "info":
                continue  # unknown outcome: it may take effect at any time after its invoke
            ret = event["time"]
            if ret < op.call:
                place = where(position) if where is not None else f"event {event['index']}"
                raise HistoryError(f"{place}: field 'time': {kind} at {ret} is before its invoke at {op.call}")
            op.ret = ret
            op.output = event.get("value")
    return ops


def load_operations(path: Path | str) -> list[Operation]:
    """Read and pair a JSONL history file (errors name the file and line)."""
    events, lines = read_events_located(path)
    return pair(events, lambda i: f"{path}:{lines[i]}")


def nemesis_events(events: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The fault events of a history, in order."""
    return (e for e in events if e.get("process") == NEMESIS)
