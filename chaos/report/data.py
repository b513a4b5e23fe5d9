"""The report's data: a history and its check results turned into compact, columnar arrays.

A 100,000-operation history must open in a browser in well under three seconds, so the page
gets one JSON document of parallel arrays (one entry per operation: lane, call, end, status,
name, key...) with strings interned in tables, instead of one object per operation. The page
draws only the visible window of these arrays on a canvas.

Nothing here renders HTML: values stay data, and the page shows them with ``textContent`` or
canvas text only.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..encoding import dumps
from ..history import NEMESIS, Operation, pair
from ..stats import percentile

STATUS_CODE = {"ok": 0, "fail": 1, "info": 2}
"""Operation outcome -> the small integer the page's arrays carry."""

ROLE_PREFIX, ROLE_FAILED, ROLE_CONCURRENT = 1, 2, 3
"""What an operation is in a counterexample (0: not part of it)."""

_START = re.compile(r"^(?:start|begin)[-_: ]?(?P<name>.*)$|^(?P<name2>.+?)[-_: ](?:start|begin)$", re.IGNORECASE)
_END = re.compile(r"^(?:stop|end|heal)[-_: ]?(?P<name>.*)$|^(?P<name2>.+?)[-_: ](?:stop|end|heal)$", re.IGNORECASE)


@dataclass(slots=True)
class FaultWindow:
    """One fault as the report shows it: a band from ``start`` to ``end`` (equal for an
    instantaneous fault), its name and a short text of its details."""

    name: str
    start: int
    end: int
    detail: str
    instant: bool = False
    open: bool = False
    """The history ended before the fault's end event (it was never healed in the record)."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return dumps(value, sort_keys=True).decode()


_VOLATILE = frozenset({"phase", "reason", "clock", "until", "delay", "when"})
"""Fields of a fault's value that differ between its start and end events."""


def _identity(value: Any) -> Hashable:
    """What makes a start and an end event the same fault: the value without its volatile
    fields (the fault layer writes ``{fault, store, op, key, actor, phase, ...}``)."""
    if isinstance(value, dict):
        return tuple(sorted((k, _text(v)) for k, v in value.items() if k not in _VOLATILE))
    return _text(value)


def _detail(value: Any) -> str:
    """A fault's value as short text: ``store=db op=put key=k1`` for a mapping."""
    if isinstance(value, dict):
        return " ".join(f"{k}={_text(v)}" for k, v in value.items() if k != "phase" and v is not None)
    return _text(value)


def _phase(event: dict[str, Any]) -> tuple[str | None, str]:
    """``("start" | "end" | None, fault name)`` for a nemesis event.

    Duration faults are recognised by a ``phase`` (``start`` / ``end``) in the event or in its
    value (the fault layer's form), or by
    Jepsen's naming (``start-partition`` / ``stop-partition``, also ``partition-start`` /
    ``partition-end``). Anything else is an instantaneous fault (or a nemesis operation whose
    invoke and completion bound it).
    """
    f = str(event.get("f") or "fault")
    value = event.get("value")
    phase = event.get("phase")
    if phase is None and isinstance(value, dict):
        phase = value.get("phase")
    if isinstance(phase, str):
        lowered = phase.lower()
        if lowered in ("start", "begin"):
            return "start", f
        if lowered in ("end", "stop", "heal"):
            return "end", f
    match = _START.match(f)
    if match and (match["name"] or match["name2"]):
        return "start", match["name"] or match["name2"]
    match = _END.match(f)
    if match and (match["name"] or match["name2"]):
        return "end", match["name"] or match["name2"]
    return None, f


def fault_windows(events: Iterable[dict[str, Any]], end_time: int) -> list[FaultWindow]:
    """The fault events of a history (process ``nemesis``) as windows.

    A start event opens a window that the matching end event (same fault name and target key)
    closes; a window still open at the end of the history runs to its end. A nemesis
    ``invoke`` followed by a completion of the same name is a window from one to the other
    (Jepsen's nemesis operations). Any other event is an instantaneous fault.
    """
    windows: list[FaultWindow] = []
    started: dict[tuple[str, str, Hashable], list[FaultWindow]] = {}
    invoked: set[Hashable] = set()
    pending: dict[str, tuple[int, dict[str, Any]]] = {}
    for event in events:
        if event.get("process") != NEMESIS:
            continue
        time = int(event.get("time") or 0)
        phase, name = _phase(event)
        value = event.get("value")
        detail = " ".join(part for part in (_text(event.get("key")), _detail(value), _text(event.get("error"))) if part)
        ident = (name, _text(event.get("key")), _identity(value))
        if phase == "start":
            if event.get("type") != "invoke" and ident in invoked:
                invoked.discard(ident)  # the completion of a nemesis invoke that opened it
                continue
            if event.get("type") == "invoke":
                invoked.add(ident)
            window = FaultWindow(name, time, time, detail, open=True)
            started.setdefault(ident, []).append(window)
            windows.append(window)
            continue
        if phase == "end":
            waiting = started.get(ident)
            if not waiting:  # Jepsen's stop events carry no target: the oldest open one of that name
                waiting = next((w for key, w in started.items() if key[0] == name and w), None)
            if waiting:
                window = waiting.pop(0)
                window.end = max(time, window.start)
                window.open = False
            continue
        kind = event.get("type")
        f = str(event.get("f") or "fault")
        if kind == "invoke":
            pending[f] = (time, event)
            continue
        opened = pending.pop(f, None)
        if opened is not None:
            windows.append(FaultWindow(name, opened[0], max(time, opened[0]), detail))
        else:
            windows.append(FaultWindow(name, time, time, detail, instant=True))
    for f, (time, event) in pending.items():
        windows.append(FaultWindow(f, time, max(end_time, time), _text(event.get("value")), open=True))
    for waiting in started.values():
        for window in waiting:
            window.end = max(end_time, window.start)
    windows.sort(key=lambda w: (w.start, w.end))
    return windows


def time_unit(events: list[dict[str, Any]]) -> str:
    """``ns`` for real timestamps; ``event`` when every time is just the event's position
    (an EDN history without ``:time``), so the page labels its axis in events, not seconds."""
    if events and all(e.get("time") == i for i, e in enumerate(events)):
        return "event"
    return "ns"


ONE_ROW_EACH = 64
"""Up to this many processes, each gets its own row, as in Jepsen's and Porcupine's pictures;
beyond it (workers that went on under new ids after many unknown outcomes) rows are shared."""


def _lanes(ops: list[Operation], ends: list[int]) -> tuple[list[int], list[list[str]]]:
    """Rows of the timeline. Few processes: one row each, in order of first call. Many: pack
    them, a process joining the first row whose last process finished before it began, so a
    worker that goes on under a new process id after an ``info`` stays on its row and the
    timeline keeps about one row per worker."""
    first: dict[Any, int] = {}
    last: dict[Any, int] = {}
    for op, end in zip(ops, ends, strict=True):
        first.setdefault(op.process, op.call)
        last[op.process] = max(last.get(op.process, end), end)
    order = sorted(first, key=lambda p: (first[p], str(p)))
    lane_of: dict[Any, int] = {}
    labels: list[list[str]] = []
    if len(order) <= ONE_ROW_EACH:
        for process in order:
            lane_of[process] = len(labels)
            labels.append([str(process)])
        return [lane_of[op.process] for op in ops], labels
    free_at: list[int] = []
    for process in order:
        lane = next((i for i, busy_until in enumerate(free_at) if busy_until < first[process]), len(free_at))
        if lane == len(free_at):
            free_at.append(0)
            labels.append([])
        free_at[lane] = last[process]
        lane_of[process] = lane
        labels[lane].append(str(process))
    return [lane_of[op.process] for op in ops], labels


def linearization_points(prefix: list[int], by_id: dict[int, Operation], ends: dict[int, int]) -> list[int]:
    """A time for each op of a linearizable prefix, in order, at which it can have taken
    effect: the earliest time not before its call nor before the previous op's point. For a
    correct prefix this never passes the op's return; the page draws these points joined by a
    line, as Porcupine's visualization does."""
    points: list[int] = []
    at = 0
    for op_id in prefix:
        op = by_id.get(op_id)
        if op is None:
            points.append(at)
            continue
        at = max(at, op.call)
        if op.ret is not None:
            at = min(at, op.ret)
        points.append(at)
    return points


@dataclass
class ReportData:
    """Everything the page draws, plus the figures the template prints directly."""

    payload: dict[str, Any]
    operations: int
    faults: list[FaultWindow]
    latency: list[dict[str, Any]] = field(default_factory=list)
    span: int = 0
    unit: str = "ns"


def latency_table(ops: list[Operation], ends: list[int], unit: str) -> list[dict[str, Any]]:
    """Per operation name: counts by outcome and latency percentiles (ms for real time).
    An ``info`` counts with the time until its caller gave up."""
    scale = 1e6 if unit == "ns" else 1.0
    by_f: dict[str, list[int]] = {}
    counts: dict[str, dict[str, int]] = {}
    for op, end in zip(ops, ends, strict=True):
        by_f.setdefault(op.f, []).append(end - op.call)
        bucket = counts.setdefault(op.f, {"ok": 0, "fail": 0, "info": 0})
        bucket[op.status] += 1
    rows = []
    for f in sorted(by_f):
        values = sorted(by_f[f])
        row: dict[str, Any] = {"f": f, "count": len(values), **counts[f]}
        for name, q in (("p50", 50), ("p90", 90), ("p95", 95), ("p99", 99), ("p999", 99.9), ("max", 100)):
            row[name] = percentile(values, q) / scale
        rows.append(row)
    return rows


def build(
    events: list[dict[str, Any]], checks: list[dict[str, Any]], operations: list[Operation] | None = None
) -> ReportData:
    """The report data of a history (its raw events) and its check results (``to_dict()``
    form, as stored in results.json). ``operations`` may be passed when already paired; they
    must come from ``events`` so that op ids match the counterexamples'."""
    ops = operations if operations is not None else pair(events)
    unit = time_unit(events)
    completion_time: dict[int, int] = {}
    for event in events:
        if event.get("process") != NEMESIS and event.get("type") != "invoke":
            completion_time[event["index"]] = int(event["time"])
    times = [int(e["time"]) for e in events if isinstance(e.get("time"), int | float)]
    t0 = min(times) if times else 0
    t_end = max(times) if times else 0
    if unit == "ns" and 0 <= t0 <= t_end - t0:
        t0 = 0  # our histories count from the start of the run: keep that origin (setup included)
    ends: list[int] = []
    for op in ops:
        if op.ret is not None:
            ends.append(int(op.ret))
        elif op.complete_index is not None and op.complete_index in completion_time:
            ends.append(completion_time[op.complete_index])  # info: when its caller gave up
        else:
            ends.append(t_end)  # never completed: open until the end of the record
    order = sorted(range(len(ops)), key=lambda i: (ops[i].call, ops[i].id))
    ops = [ops[i] for i in order]
    ends = [ends[i] for i in order]
    lanes, lane_labels = _lanes(ops, ends)

    tables: dict[str, dict[str, int]] = {"f": {}, "key": {}, "error": {}, "process": {}}

    def intern(table: str, value: str) -> int:
        found = tables[table].get(value)
        if found is None:
            found = tables[table][value] = len(tables[table])
        return found

    roles = [0] * len(ops)
    position = {op.id: i for i, op in enumerate(ops)}
    by_id = {op.id: op for op in ops}
    end_by_id = {op.id: end for op, end in zip(ops, ends, strict=True)}
    counterexamples = []
    for check_index, check in enumerate(checks):
        ce = check.get("counterexample")
        if not ce:
            continue
        prefix = [i for i in ce.get("prefix", []) if i in position]
        failed = [i for i in ce.get("failed", []) if i in position]
        involved = [op["id"] for op in ce.get("operations", []) if op.get("id") in position]
        for op_id in involved:
            roles[position[op_id]] = ROLE_CONCURRENT
        for op_id in prefix:
            roles[position[op_id]] = ROLE_PREFIX
        for op_id in failed:
            roles[position[op_id]] = ROLE_FAILED
        counterexamples.append(
            {
                "check": check_index,
                "model": check.get("model", ""),
                "key": _text(ce.get("key")),
                "prefix": [position[i] for i in prefix],
                "points": [p - t0 for p in linearization_points(prefix, by_id, end_by_id)],
                "failed": [position[i] for i in failed],
                "involved": [position[i] for i in involved],
                "reason": ce.get("reason", ""),
            }
        )

    windows = fault_windows(events, t_end)
    for window in windows:  # the page and its tables share one origin
        window.start -= t0
        window.end -= t0
    fault_names: dict[str, int] = {}
    fault_name_index = [fault_names.setdefault(w.name, len(fault_names)) for w in windows]
    payload = {
        "unit": unit,
        "span": t_end - t0,
        "lanes": lane_labels,
        "ops": {
            "id": [op.id for op in ops],
            "lane": lanes,
            "p": [intern("process", str(op.process)) for op in ops],
            "f": [intern("f", op.f) for op in ops],
            "k": [intern("key", _text(op.key)) for op in ops],
            "s": [STATUS_CODE[op.status] for op in ops],
            "c": [op.call - t0 for op in ops],
            "e": [end - t0 for end in ends],
            "v": [op.value for op in ops],
            "o": [op.output if op.status == "ok" else None for op in ops],
            "err": [-1 if op.error is None else intern("error", op.error) for op in ops],
            "role": roles,
        },
        "tables": {name: list(values) for name, values in tables.items()},
        "faults": {
            "names": list(fault_names),
            "start": [w.start for w in windows],
            "end": [w.end for w in windows],
            "name": fault_name_index,
            "detail": [w.detail for w in windows],
            "open": [1 if w.open else 0 for w in windows],
        },
        "counterexamples": counterexamples,
    }
    return ReportData(
        payload=payload,
        operations=len(ops),
        faults=windows,
        latency=latency_table(ops, ends, unit),
        span=t_end - t0,
        unit=unit,
    )


def dumps_for_html(payload: dict[str, Any]) -> str:
    """JSON that is safe inside ``<script type="application/json">``: ``<``, ``>`` and ``&``
    become ``\\u003c``-style escapes (they can only occur inside JSON strings, where the
    escape means the same character), so no value can close the element or open a comment;
    U+2028/U+2029 are escaped too, for any consumer that evaluates the text as script."""
    text = dumps(payload).decode()
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
