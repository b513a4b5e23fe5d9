"""Anomalies, in words: the ones a single transaction or a single key shows, and the cycles.

Without the graph (Adya, section 4; Elle, section 4.2):

* ``G1a`` (aborted read): a committed transaction read an element that a *failed* transaction
  appended. One case per read element.
* ``G1b`` (intermediate read): a committed transaction read a version whose last element was
  not the last one its writer appended to that key.
* ``internal``: a transaction read a key inconsistently with its own earlier read or append of
  it (Cerone et al.'s INT axiom).
* ``future-read``: a transaction read an element it only appended later (a cycle of one).
* ``duplicate-elements``: a read holds one element twice; appends are unique, so the store
  applied one twice.
* ``lost-update``: two committed transactions read the same version of a key and both
  appended to it, each unaware of the other (Elle's direct test: in list-append the two
  appends both survive, but the updates were made blind to each other).
* ``garbage-read``: a read holds an element no transaction appended.

And the cycles of :mod:`.cycles`, one case per class per strongly connected component, each
explained edge by edge.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from .cycles import ComponentFindings
from .graph import KIND_NAMES, DependencyGraph, kind_of
from .result import Anomaly, Step
from .txns import APPEND, READ, MicroOp, Txn
from .versions import INIT

LEVEL_CYCLES = {
    "PL-1": ("PL-1-cycle-exists", ("G0",), "a cycle of write dependencies (G0)"),
    "PL-2": ("PL-2-cycle-exists", ("G0", "G1c"), "a cycle of write and read dependencies (G0 or G1c)"),
    "PL-SI": (
        "PL-SI-cycle-exists",
        ("G0", "G1c", "G-single", "G-nonadjacent"),
        "a cycle whose anti-dependencies are never adjacent (G0, G1c, G-single or G-nonadjacent)",
    ),
    "PL-3": ("PL-3-cycle-exists", ("G0", "G1c", "G-single", "G-nonadjacent", "G2-item"), "a dependency cycle"),
}
"""Level broken by a component -> (fallback anomaly, witness classes that prove it, what it is)."""


SHOWN_ELEMENTS = 10
"""Elements of a read spelled out in explanations; longer reads show their first two and last
six (the end is what the edges are about; the whole read is in the operation)."""


def _show(value: Any) -> str:
    if value is None:
        return "?"
    if isinstance(value, tuple):
        if len(value) > SHOWN_ELEMENTS:
            hidden = len(value) - 8
            return f"[{_elements(value[:2])} ...{hidden} more... {_elements(value[-6:])}]"
        return f"[{_elements(value)}]"
    return repr(value) if isinstance(value, str) else str(value)


def _elements(values: tuple[Any, ...]) -> str:
    return " ".join(str(v) if type(v) is int else _show(v) for v in values)


def describe_mops(mops: Iterable[MicroOp]) -> str:
    """``append 1 5, r 2 [1 2]``: a transaction as it read and wrote."""
    return ", ".join(f"{f} {_show(key)} {_show(value)}" for f, key, value in mops)


def _read(txn: Txn, key: Any, value: tuple[Any, ...]) -> str:
    return f"{txn.name} read key {_show(key)} as {_show(value)}"


# ---------------------------------------------------------------------------- within transactions


def internal_anomalies(txns: Iterable[Txn]) -> list[Anomaly]:
    """``internal``, ``future-read`` and ``duplicate-elements`` cases of committed transactions."""
    found: list[Anomaly] = []
    for txn in txns:
        if txn.op.status != "ok":
            continue
        state: dict[Any, tuple[bool, tuple[Any, ...]]] = {}
        read_before: dict[Any, set[Any]] = {}
        inconsistent = False
        for f, key, value in txn.mops:
            if f == APPEND:
                if value in read_before.get(key, ()):
                    found.append(
                        Anomaly(
                            "future-read",
                            [txn.op.id],
                            [f"{txn.name} read key {_show(key)} with element {_show(value)} before appending it"],
                            details={"key": key, "element": value},
                        )
                    )
                known, elements = state.get(key, (False, ()))
                state[key] = (known, (*elements, value))
                continue
            if len(set(value)) != len(value):
                twice = sorted({e for e in value if value.count(e) > 1}, key=repr)
                found.append(
                    Anomaly(
                        "duplicate-elements",
                        [txn.op.id],
                        [f"{_read(txn, key, value)}: {', '.join(_show(e) for e in twice)} appear(s) more than once"],
                        details={"key": key, "value": list(value), "duplicates": twice},
                    )
                )
            expected = state.get(key)
            if expected is not None and not inconsistent:
                known, elements = expected
                if known:
                    bad = value != elements
                    shown = _show(elements)
                else:
                    bad = len(value) < len(elements) or value[len(value) - len(elements) :] != elements
                    shown = "[... " + " ".join(_show(e) for e in elements) + "]"
                if bad:
                    inconsistent = True  # one case per transaction, as Elle reports it
                    found.append(
                        Anomaly(
                            "internal",
                            [txn.op.id],
                            [
                                f"{_read(txn, key, value)}, but its own earlier reads and appends of the key say "
                                f"it must be {shown}"
                            ],
                            details={"key": key, "value": list(value), "expected": shown},
                        )
                    )
            state[key] = (True, value)
            read_before.setdefault(key, set()).update(value)
    return found


# ---------------------------------------------------------------------------- reads of what was not committed


def read_anomalies(
    possible: list[Txn],
    failed: list[Txn],
    writers: dict[tuple[Any, Any], Txn],
    failed_writers: dict[tuple[Any, Any], Txn],
) -> list[Anomaly]:
    """``G1a``, ``G1b`` and ``garbage-read`` cases of committed transactions' reads."""
    intermediate: dict[tuple[Any, Any], Txn] = {}
    for txn in (*possible, *failed):
        last: dict[Any, Any] = {}
        for f, key, value in txn.mops:
            if f == APPEND:
                if key in last:
                    intermediate[(key, last[key])] = txn
                last[key] = value
    found: list[Anomaly] = []
    garbage: set[tuple[Any, Any]] = set()
    for txn in possible:
        if txn.op.status != "ok":
            continue
        for f, key, value in txn.mops:
            if f != READ or not value:
                continue
            for element in value:
                slot = (key, element)
                if slot in writers:
                    continue
                aborted = failed_writers.get(slot)
                if aborted is not None:
                    found.append(
                        Anomaly(
                            "G1a",
                            [txn.op.id, aborted.op.id],
                            [
                                f"{_read(txn, key, value)}: element {_show(element)} was appended by "
                                f"{aborted.name}, which failed (it did not commit)"
                            ],
                            details={"key": key, "element": element, "writer": aborted.op.id},
                        )
                    )
                elif slot not in garbage:
                    garbage.add(slot)
                    found.append(
                        Anomaly(
                            "garbage-read",
                            [txn.op.id],
                            [f"{_read(txn, key, value)}: no transaction appended {_show(element)} to it"],
                            details={"key": key, "element": element},
                        )
                    )
            writer = intermediate.get((key, value[-1]))
            if writer is not None and writer is not txn:
                later = [v for g, k, v in writer.mops if g == APPEND and k == key]
                found.append(
                    Anomaly(
                        "G1b",
                        [txn.op.id, writer.op.id],
                        [
                            f"{_read(txn, key, value)}: {_show(value[-1])} was an intermediate append of "
                            f"{writer.name}, whose appends to the key were {_show(tuple(later))}"
                        ],
                        details={"key": key, "element": value[-1], "writer": writer.op.id},
                    )
                )
    return found


def lost_updates(txns: Iterable[Txn]) -> list[Anomaly]:
    """Committed transactions that read the same version of a key and then appended to it."""
    groups: dict[tuple[Any, tuple[Any, ...]], list[tuple[Txn, Any]]] = {}
    for txn in txns:
        if txn.op.status != "ok":
            continue
        first_read: dict[Any, tuple[Any, ...]] = {}
        written: set[Any] = set()
        for f, key, value in txn.mops:
            if f == READ:
                if key not in first_read and key not in written:
                    first_read[key] = value
            elif key not in written:
                written.add(key)
                if key in first_read:
                    groups.setdefault((key, first_read[key]), []).append((txn, value))
    found = []
    for (key, value), members in groups.items():
        if len(members) < 2:
            continue
        names = ", ".join(t.name for t, _ in members)
        appended = ", ".join(f"{t.name} appended {_show(e)}" for t, e in members)
        found.append(
            Anomaly(
                "lost-update",
                [t.op.id for t, _ in members],
                [
                    f"{names} {'both' if len(members) == 2 else 'all'} read key {_show(key)} as {_show(value)} "
                    f"and then appended to it ({appended}): each update was made without seeing the "
                    f"{'other' if len(members) == 2 else 'others'}"
                ],
                details={"key": key, "value": list(value)},
            )
        )
    return found


# ---------------------------------------------------------------------------- cycles


def cycle_anomaly(kind: str, cycle: list[int], graph: DependencyGraph) -> Anomaly:
    """A witness cycle (vertices, first repeated last) as an anomaly explained edge by edge."""
    txns = graph.txns
    vertices = cycle[:-1]
    label = {v: f"T{i + 1}" for i, v in enumerate(vertices)}
    lines = ["Let:"]
    for v in vertices:
        txn = txns[v]
        lines.append(
            f"  {label[v]} = {txn.name} (process {txn.op.process}, {txn.op.status}): {describe_mops(txn.mops)}"
        )
    lines.append("Then:")
    steps: list[Step] = []
    pairs = list(itertools.pairwise(cycle))
    for i, (a, b) in enumerate(pairs):
        kind_bits = kind_of(graph.out[a][b])
        key, text = graph.explain(a, b, kind_bits, (label[a], label[b]))
        name = KIND_NAMES[kind_bits]
        steps.append(Step(name, txns[a].op.id, txns[b].op.id, key, text))
        lead = "However, " if i == len(pairs) - 1 and len(pairs) > 1 else ""
        tail = ": a contradiction!" if i == len(pairs) - 1 else "."
        lines.append(f"  - {lead}{label[a]} < {label[b]} ({name}), because {text}{tail}")
    return Anomaly(kind, [txns[v].op.id for v in vertices], lines, steps=steps, details={"length": len(vertices)})


def component_anomalies(findings: list[ComponentFindings], graph: DependencyGraph) -> list[Anomaly]:
    """Every witness cycle, and a ``*-cycle-exists`` case for each level a component breaks
    whose witness the search did not find in time."""
    found: list[Anomaly] = []
    for component in findings:
        for kind, cycle in component.witnesses.items():
            found.append(cycle_anomaly(kind, cycle, graph))
        for level, (fallback, classes, what) in LEVEL_CYCLES.items():
            if level in component.broken and not any(c in component.witnesses for c in classes):
                why = "stopped at the time limit" if component.timed_out else "tried its candidate edges without one"
                found.append(
                    Anomaly(
                        fallback,
                        [],
                        [
                            f"a strongly connected component of {component.size} transactions contains {what}; "
                            f"the search for a witness cycle {why}"
                        ],
                        details={"size": component.size},
                    )
                )
    return found


__all__ = [
    "INIT",
    "component_anomalies",
    "cycle_anomaly",
    "describe_mops",
    "internal_anomalies",
    "lost_updates",
    "read_anomalies",
]
