"""Reading histories as they are: our JSON Lines, Jepsen's and Knossos' EDN, Jepsen's logs.

All end as our event dicts (``index``, ``time``, ``process``, ``type``, ``f``, ``key``,
``value``, ``error``), each checked field by field, and go through
:func:`chaos.history.pair`, so a Jepsen history is checked exactly like one of ours. Every
problem is a :class:`chaos.history.HistoryError` naming the file, the line and the field.

Formats (``format=None`` detects one from the file's first bytes, then from its name; a
format given that does not match the file gets a hint):

- ``jsonl``: ours (chaos/history.py).
- ``edn``: one event map per line, or every event in one vector or list. Knossos'
  conventions hold: keywords become strings (``:write`` -> ``"write"``), the ``:nemesis``
  process's events are faults, sets become sorted lists, an event without ``:time`` takes its
  position as its time (the file order is the real-time order), ``:fail`` operations did not
  happen, ``:info`` ones may or may not have, and **an ok ``:read`` of ``nil`` constrains
  nothing** (Knossos' registers read nil for "unknown"): it is checked as an indeterminate read.
- ``jepsen-log``: the lines ``INFO  jepsen.util - 3	:invoke	:write	4`` that Jepsen's
  older tests printed (Porcupine's etcd test data): process, type, f and value separated by
  tabs; the value of an ``:info`` line is the error (``:timed-out``).

``independent=True`` splits Jepsen's independent values (jepsen.independent): every client
event's value is a ``[key value]`` pair, which becomes the event's ``key`` and ``value``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from chaos.checker.edn import EdnError, Keyword, Symbol, plain, read_flat_maps, read_forms
from chaos.history import (
    COMPLETIONS,
    MAX_DEPTH,
    NEMESIS,
    HistoryError,
    Operation,
    _too_deep,
    check_event,
    pair,
    read_events_located,
)

Format = Literal["jsonl", "edn", "jepsen-log"]
FORMATS: tuple[str, ...] = ("jsonl", "edn", "jepsen-log")
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".edn": "edn"}
_TYPES = frozenset({"invoke", *COMPLETIONS})
_SCALARS = (int, float, bool, type(None))
_MISSING = object()
_LOG_LINE = re.compile(r"^\S+\s+jepsen\.util\s+-\s+(\S+)\t(\S+)\t(\S+)(?:\t(.*))?$")
_NAMES = {"jsonl": "JSON Lines", "edn": "EDN (Jepsen, Knossos)", "jepsen-log": "a Jepsen log"}


def sniff(head: bytes) -> str | None:
    """The format the first bytes of a file look like, or None when they do not say."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b'{"') or text.startswith(b'{ "'):
        return "jsonl"
    if text[:1] in (b"[", b"(", b";") or text.startswith(b"{:") or text.startswith(b"{ :") or text.startswith(b"#"):
        return "edn"
    first = text.split(b"\n", 1)[0]
    if b"jepsen.util" in first and b"\t" in first:
        return "jepsen-log"
    return None


def detect_format(path: str | Path, head: bytes) -> str:
    """A file's format: by its first bytes, else by its extension, else JSON Lines."""
    return sniff(head) or _EXTENSIONS.get(Path(path).suffix.lower()) or "jsonl"


def load_history(
    path: str | Path, format: Format | str | None = None, *, independent: bool = False
) -> tuple[list[dict[str, Any]], list[Operation]]:
    """Read a history file: its raw events and its paired operations.

    ``format`` is ``"jsonl"``, ``"edn"``, ``"jepsen-log"`` or None to detect it. Raises
    :class:`chaos.history.HistoryError` naming the file, the line and the field of any bad event.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as exc:
        raise HistoryError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if format is None:
        format = detect_format(path, head)
    elif format not in FORMATS:
        raise HistoryError(f"unknown history format {format!r}: use {', '.join(FORMATS)} (or leave it out)")
    looks = sniff(head)
    if looks is not None and looks != format:
        raise HistoryError(
            f"{path}: this looks like {_NAMES[looks]}, not {_NAMES[format]}: "
            f"use --format {looks}, or leave --format out to detect it"
        )
    if format == "jsonl":
        events, lines = read_events_located(path)
        events = [dict(e) for e in events] if independent else events
        where = _where(path, lines)
    else:
        text = _text(path)
        if format == "edn":
            events, lines = edn_events_located(text, str(path))
        else:
            events, lines = jepsen_log_events(text, str(path))
        where = _where(path, lines)
    if independent:
        _split_independent(events, where)
    ops = pair(events, where)
    if format != "jsonl":
        _knossos_reads(ops)
    return events, ops


def _where(path: str | Path, lines: list[int]) -> Callable[[int], str]:
    return lambda i: f"{path}:{lines[i]}"


def _text(path: str | Path) -> str:
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise HistoryError(f"{path}:{line}: not UTF-8 text (byte {exc.start + 1}); is this a history file?") from None


def _knossos_reads(ops: list[Operation]) -> None:
    """Knossos' convention: an ok read of nil says nothing about the register, so it is checked
    as an indeterminate read (which constrains nothing)."""
    for op in ops:
        if op.status == "ok" and op.f == "read" and op.output is None:
            op.status = "info"
            op.ret = None
            op.extra["nil_read"] = True


def _split_independent(events: list[dict[str, Any]], where: Callable[[int], str]) -> None:
    for i, event in enumerate(events):
        if event["process"] == NEMESIS:
            continue
        value = event.get("value")
        if not isinstance(value, list) or len(value) != 2:
            raise HistoryError(
                f"{where(i)}: field 'value': --independent needs a [key value] pair, got {_shown(value)}"
            )
        key, inner = value
        if isinstance(key, dict):
            raise HistoryError(f"{where(i)}: field 'value': the key of a [key value] pair cannot be an object")
        event["key"] = key
        event["value"] = inner


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def edn_events(text: str, name: str = "<edn>") -> list[dict[str, Any]]:
    """Jepsen events from EDN text, as our event dicts, validated for pairing."""
    return edn_events_located(text, name)[0]


def edn_events_located(text: str, name: str = "<edn>") -> tuple[list[dict[str, Any]], list[int]]:
    """:func:`edn_events` and each event's line."""
    try:
        located: list[tuple[int, Any]] | None = read_flat_maps(text)
        if located is None:
            located = read_forms(text, unwrap=True)
    except EdnError as exc:
        raise HistoryError(f"{name}:{exc.line}: bad EDN: {exc.message}") from None
    events: list[dict[str, Any]] = []
    lines: list[int] = []
    open_by_process: dict[Any, int] = {}
    for line, form in located:
        event = _edn_event(form, name, line, len(events))
        process = event["process"]
        kind = event["type"]
        if process != NEMESIS:
            if kind == "invoke":
                if process in open_by_process:
                    raise HistoryError(
                        f"{name}:{line}: process {process} invoked while its call from line "
                        f"{open_by_process[process]} is still open; a process has one call at a time"
                    )
                open_by_process[process] = line
            elif open_by_process.pop(process, None) is None:
                raise HistoryError(f"{name}:{line}: {kind} for process {process} with no open invoke")
        events.append(event)
        lines.append(line)
    return events, lines


def _edn_event(form: Any, name: str, line: int, position: int) -> dict[str, Any]:
    """One EDN event map as our event dict, field by field. (Keyword keys hash and compare
    as the strings they are, so ``form.get("process")`` finds ``:process``.)"""
    if type(form) is not dict:
        raise HistoryError(f"{name}:{line}: expected an event map, got {_edn_kind(form)}")
    get = form.get
    process = get("process", _MISSING)
    kind = get("type", _MISSING)
    if process is _MISSING or kind is _MISSING:
        raise HistoryError(f"{name}:{line}: event has no :{'process' if process is _MISSING else 'type'}")
    if not isinstance(kind, str) or kind not in _TYPES:
        raise HistoryError(f"{name}:{line}: field :type: expected :invoke, :ok, :fail or :info, got {_edn_kind(kind)}")
    tp = type(process)
    if tp is not int and not isinstance(process, str):
        raise HistoryError(f"{name}:{line}: field :process: expected an integer or a keyword, got {_edn_kind(process)}")
    f = get("f", "")
    if f is not None and not isinstance(f, str):
        raise HistoryError(f"{name}:{line}: field :f: expected a keyword, got {_edn_kind(f)}")
    value = get("value")
    if value is not None and not isinstance(value, _SCALARS):
        if _too_deep(value):
            raise HistoryError(f"{name}:{line}: field :value: nested deeper than {MAX_DEPTH} levels")
        value = plain(value)
    t = get("time", position)
    if type(t) is not int and (type(t) is not float or t != t):
        raise HistoryError(f"{name}:{line}: field :time: expected a number, got {_edn_kind(t)}")
    index = get("index")
    event: dict[str, Any] = {
        "index": index if type(index) is int else position,
        "time": t,
        "process": process if tp is int else str.__str__(process),
        "type": str.__str__(kind),
        "f": str.__str__(f) if f is not None else "",
        "value": str.__str__(value) if isinstance(value, str) else value,
    }
    if "key" in form:
        key = get("key")
        if key is not None and not isinstance(key, _SCALARS):
            if isinstance(key, dict) or _too_deep(key):
                raise HistoryError(
                    f"{name}:{line}: field :key: expected a keyword, string, number or vector, got {_edn_kind(key)}"
                )
            key = plain(key)
        event["key"] = str.__str__(key) if isinstance(key, str) else key
    if "error" in form:
        error = plain(get("error"))
        event["error"] = error if isinstance(error, str) or error is None else str(error)
    return event


def _edn_kind(value: Any) -> str:
    if isinstance(value, Keyword):
        return f"the keyword :{str.__str__(value)}"
    if isinstance(value, Symbol):
        return f"the symbol {str.__str__(value)}"
    if isinstance(value, list):
        return "a vector"
    if isinstance(value, frozenset):
        return "a set"
    if isinstance(value, dict):
        return "a map"
    if value is None:
        return "nil"
    if isinstance(value, str):
        return f"the string {value!r}"
    return repr(value)


def jepsen_log_events(text: str, name: str = "<log>") -> tuple[list[dict[str, Any]], list[int]]:
    """Events from a Jepsen log (see the module docstring) and each event's line."""
    events: list[dict[str, Any]] = []
    lines: list[int] = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        m = _LOG_LINE.match(raw)
        if m is None:
            if "jepsen" not in raw:
                raise HistoryError(
                    f"{name}:{number}: not a Jepsen log line (process, type, f and value separated by tabs)"
                )
            continue  # other log lines (nemesis chatter, setup) say nothing about operations
        process_text, kind, f, value_text = m.groups()
        try:
            process: Any = plain(_one(process_text, number))
            kind_v = plain(_one(kind, number))
            f_v = plain(_one(f, number))
            value = plain(_one(value_text, number)) if value_text else None
        except EdnError as exc:
            raise HistoryError(f"{name}:{number}: bad EDN: {exc.message}") from None
        event: dict[str, Any] = {"index": len(events), "process": process, "type": kind_v, "f": f_v, "value": value}
        if kind_v == "info" and process != NEMESIS:
            event["error"] = value if isinstance(value, str) else _shown(value)
            event["value"] = None
        problem = check_event(event, len(events))
        if problem is not None:
            raise HistoryError(f"{name}:{number}: {problem}")
        events.append(event)
        lines.append(number)
    return events, lines


def _one(text: str, line: int) -> Any:
    forms = read_forms(text)
    if len(forms) != 1:
        raise EdnError(f"expected one value, found {len(forms)}", line)
    return forms[0][1]
