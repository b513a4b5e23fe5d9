"""The dependency graph of a list-append history (Adya's direct serialization graph).

Vertices are the committed and indeterminate transactions; an edge ``a -> b`` says ``a`` must
come before ``b`` in any serial order, for one of three reasons (Adya, section 3.1.4):

* ``ww`` (write dependency): ``b`` appended the element right after ``a``'s in the key's
  version order;
* ``wr`` (read dependency): ``b`` read a version whose last element ``a`` appended;
* ``rw`` (anti-dependency): ``a`` read a version and ``b`` appended the next element, which
  ``a`` did not see.

Reads by a transaction of its own writes add no edge. An edge may carry several reasons; its
*kind* is the first of ww, wr, rw that holds (as Elle explains edges), so a pair that is both a
write dependency and an anti-dependency counts as a write dependency.

The graph is a list of dicts (``out[a][b]`` = bitmask of reasons): for 100,000 transactions
that is a few hundred thousand small entries, built in one pass over the micro-ops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .txns import APPEND, READ, Txn, TxnHistory
from .versions import INIT, VersionOrder

WW = 1
WR = 2
RW = 4
DEPENDENCY = WW | WR
"""Write and read dependencies: the edges of read-committed's cycles (G0, G1c)."""
KIND_NAMES = {WW: "ww", WR: "wr", RW: "rw"}


def kind_of(bits: int) -> int:
    """The edge's kind: the first reason of ww, wr, rw that it carries."""
    return bits & -bits


@dataclass(slots=True)
class DependencyGraph:
    """``out[a]`` maps each successor ``b`` of vertex ``a`` to the reasons ``a -> b``."""

    out: list[dict[int, int]]
    txns: list[Txn]
    orders: dict[Any, VersionOrder]
    writers: dict[tuple[Any, Any], Txn]

    @property
    def edges(self) -> int:
        return sum(len(d) for d in self.out)

    def previous(self, key: Any, element: Any) -> Any:
        """The element appended to ``key`` just before ``element`` (INIT for the first)."""
        order = self.orders.get(key)
        return INIT if order is None else order.previous(element)

    def explain(self, a: int, b: int, kind: int, names: tuple[str, str] | None = None) -> tuple[Any, str]:
        """Why ``a -> b`` is an edge of ``kind``: the key and a sentence (Elle's wording),
        naming the two transactions ``names`` (default: their op ids)."""
        ta, tb = self.txns[a], self.txns[b]
        A, B = names or (ta.name, tb.name)
        if kind == WR:
            for f, key, value in tb.mops:
                if f == READ and value and self.writers.get((key, value[-1])) is ta:
                    return key, f"{B} observed {A}'s append of {value[-1]!r} to key {key!r}"
        for f, key, element in tb.mops:
            if f != APPEND:
                continue
            prev = self.previous(key, element)
            if kind == WW and prev is not INIT and self.writers.get((key, prev)) is ta:
                return key, f"{B} appended {element!r} after {A} appended {prev!r} to key {key!r}"
            if kind == RW:
                for g, k, value in ta.mops:
                    if g == READ and k == key and value is not None and (value[-1] if value else INIT) == prev:
                        if prev is INIT:
                            return key, (
                                f"{A} observed the initial (empty) state of key {key!r}, which {B} created by "
                                f"appending {element!r}"
                            )
                        return key, f"{A} did not observe {B}'s append of {element!r} to key {key!r}"
        return None, f"{A} precedes {B} ({KIND_NAMES.get(kind, '?')})"  # pragma: no cover - every edge has a reason


def build(
    history: TxnHistory,
    orders: dict[Any, VersionOrder],
    writers: dict[tuple[Any, Any], Txn],
    readers: dict[tuple[Any, Any], list[int]],
) -> DependencyGraph:
    """The dependency graph of ``history`` under the inferred version ``orders``."""
    txns = history.possible
    out: list[dict[int, int]] = [{} for _ in txns]
    empty: list[int] = []
    no_order = VersionOrder(())
    for txn in txns:
        t = txn.vertex
        committed = txn.op.status == "ok"
        for f, key, value in txn.mops:
            if f == APPEND:
                order = orders.get(key, no_order)
                index = order.position.get(value)
                if index is None:
                    prev = order.elements[-1] if order.elements else INIT
                else:
                    prev = order.elements[index - 1] if index else INIT
                if prev is not INIT:
                    writer = writers.get((key, prev))
                    if writer is not None and writer is not txn and writer.vertex >= 0:
                        d = out[writer.vertex]
                        d[t] = d.get(t, 0) | WW
                for r in readers.get((key, prev), empty):
                    if r != t:
                        d = out[r]
                        d[t] = d.get(t, 0) | RW
            elif committed and value:
                writer = writers.get((key, value[-1]))
                if writer is not None and writer is not txn and writer.vertex >= 0:
                    d = out[writer.vertex]
                    d[t] = d.get(t, 0) | WR
    return DependencyGraph(out, txns, orders, writers)
