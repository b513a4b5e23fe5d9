"""Reading histories: our JSON Lines and Jepsen's EDN.

Both end as our event dicts (``index``, ``time``, ``process``, ``type``, ``f``, ``key``,
``value``, ``error``) and go through :func:`chaos.history.pair`, so a Jepsen history is checked
exactly like one of ours. EDN events may be one map per line or all in one vector (or list).
Keywords become strings (``:write`` -> ``"write"``), the ``:nemesis`` process becomes
``"nemesis"``, sets become sorted lists, and an event without ``:time`` takes its index as
its time, so the file order is the real-time order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from chaos.checker.edn import EdnError, Keyword, _Reader, plain
from chaos.history import COMPLETIONS, NEMESIS, HistoryError, Operation, pair, read_events

_FIELDS = {"process", "type", "f", "value", "time", "index", "error", "key"}


def load_history(
    path: str | Path, format: Literal["jsonl", "edn"] = "jsonl"
) -> tuple[list[dict[str, Any]], list[Operation]]:
    """Read a history file: its raw events and its paired operations.

    Raises :class:`chaos.history.HistoryError` naming the line of any bad event.
    """
    if format == "jsonl":
        events = read_events(path)
    elif format == "edn":
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise HistoryError(f"{path}: not UTF-8 text: {exc}") from None
        events = edn_events(text, str(path))
    else:
        raise HistoryError(f"unknown history format {format!r}: use 'jsonl' or 'edn'")
    return events, pair(events)


def edn_events(text: str, name: str = "<edn>") -> list[dict[str, Any]]:
    """Jepsen events from EDN text, as our event dicts, validated for pairing."""
    reader = _Reader(text)
    located: list[tuple[int, Any]] = []
    try:
        reader.skip()
        if reader.pos < reader.n and reader.text[reader.pos] in "[(" and _one_form(text):
            closer = "]" if reader.text[reader.pos] == "[" else ")"
            reader.pos += 1
            while True:
                reader.skip()
                if reader.pos >= reader.n:
                    raise reader.error(f"unclosed history (expected {closer!r})")
                if reader.text[reader.pos] == closer:
                    break
                line = reader.line()
                located.append((line, reader.read()))
        else:
            located = list(reader.forms())
    except EdnError as exc:
        raise HistoryError(f"{name}:{exc.line}: bad EDN: {exc.message}") from None
    events: list[dict[str, Any]] = []
    open_by_process: dict[Any, int] = {}
    for line, form in located:
        if not isinstance(form, dict):
            raise HistoryError(f"{name}:{line}: expected an event map, got {plain(form)!r}")
        event: dict[str, Any] = {}
        for k, v in form.items():
            field = str.__str__(k) if isinstance(k, str) else k
            if field in _FIELDS:
                event[field] = v
        for required in ("process", "type"):
            if required not in event:
                raise HistoryError(f"{name}:{line}: event has no :{required}")
        kind = plain(event["type"])
        if kind != "invoke" and kind not in COMPLETIONS:
            raise HistoryError(f"{name}:{line}: unknown :type {event['type']!r}")
        process = event["process"]
        process = plain(process) if isinstance(process, Keyword) else process
        index = event.get("index", len(events))
        out: dict[str, Any] = {
            "index": index if isinstance(index, int) else len(events),
            "time": event["time"] if isinstance(event.get("time"), int | float) else len(events),
            "process": process,
            "type": kind,
            "f": plain(event.get("f", "")),
            "value": plain(event.get("value")),
        }
        if "key" in event:
            out["key"] = plain(event["key"])
        if "error" in event:
            error = plain(event["error"])
            out["error"] = error if isinstance(error, str) or error is None else str(error)
        if process != NEMESIS:
            if kind == "invoke":
                if process in open_by_process:
                    raise HistoryError(
                        f"{name}:{line}: process {process} invoked while its call from line "
                        f"{open_by_process[process]} is still open"
                    )
                open_by_process[process] = line
            elif open_by_process.pop(process, None) is None:
                raise HistoryError(f"{name}:{line}: {kind} for process {process} with no open invoke")
        events.append(out)
    return events


def _one_form(text: str) -> bool:
    """True when the text is a single top-level form (a history vector), not one map per line."""
    try:
        forms = _Reader(text).forms()
        next(forms)
        for _ in forms:
            return False
    except (EdnError, StopIteration):
        return True
    return True
