"""Version orders: which element was appended to each key after which, from the reads alone.

Appending unique values makes every read a record of history: a read of ``[1, 2, 3]`` says
the key went through the versions ``[]``, ``[1]``, ``[1, 2]``, ``[1, 2, 3]``, in that order. If
the store keeps one order of appends per key, every read of the key is a prefix of the
longest one, and the longest read *is* the order of every element anyone observed (Elle,
section 4.1). A read that is not a prefix of the longest is an ``incompatible-order``: two
reads saw orders no single history can give. The longest read is still used as the order,
so that the rest of the analysis goes on.

Elements appended but never read have no known position; the graph treats each as coming
after the last observed element, which it must (any read that included it would be longer).

This module also builds the two indexes the graph needs: who appended each element
(:func:`writers`) and who observed each version (:func:`readers`, keyed by a version's last
element, :data:`INIT` for the empty version).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .result import Anomaly
from .txns import APPEND, READ, Txn


class _Init:
    """The empty version of every key, before the first append."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "INIT"


INIT: Any = _Init()


@dataclass(slots=True)
class VersionOrder:
    """The inferred order of the observed appends to one key."""

    elements: tuple[Any, ...]
    """The longest read, duplicates dropped: element ``i`` was the ``i``-th append."""
    position: dict[Any, int] = field(default_factory=dict)

    def previous(self, element: Any) -> Any:
        """The element appended just before ``element`` (:data:`INIT` for the first). An
        element never observed follows the last observed one."""
        index = self.position.get(element)
        if index is None:
            return self.elements[-1] if self.elements else INIT
        return self.elements[index - 1] if index else INIT


def version_orders(txns: Iterable[Txn]) -> tuple[dict[Any, VersionOrder], list[Anomaly]]:
    """The version order of every key read by a committed transaction, and the
    ``incompatible-order`` anomalies (one per key whose reads disagree)."""
    reads: dict[Any, dict[tuple[Any, ...], Txn]] = {}
    for txn in txns:
        if txn.op.status != "ok":
            continue
        for f, key, value in txn.mops:
            if f == READ and value:
                seen = reads.get(key)
                if seen is None:
                    reads[key] = {value: txn}
                elif value not in seen:
                    seen[value] = txn
    orders: dict[Any, VersionOrder] = {}
    anomalies: list[Anomaly] = []
    for key, values in reads.items():
        longest = max(values, key=len)
        n = len(longest)
        for value, reader in values.items():
            if len(value) < n and longest[: len(value)] != value:
                writer = values[longest]
                anomalies.append(
                    Anomaly(
                        "incompatible-order",
                        [writer.op.id, reader.op.id],
                        [
                            f"key {key!r} was read as {list(longest)!r} by {writer.name} and as {list(value)!r} by "
                            f"{reader.name}: the second is not a prefix of the first, so no single order of appends "
                            "explains both",
                        ],
                        details={"key": key, "values": [list(longest), list(value)]},
                    )
                )
                break
        elements = tuple(dict.fromkeys(longest)) if len(set(longest)) != n else longest
        orders[key] = VersionOrder(elements, {e: i for i, e in enumerate(elements)})
    return orders, anomalies


def writers(txns: Iterable[Txn]) -> tuple[dict[tuple[Any, Any], Txn], list[tuple[Any, Any, Txn, Txn]]]:
    """``(key, element) -> the transaction that appended it``, and the elements appended by
    more than one invocation (``(key, element, first, second)``): with those, reads no longer
    say who wrote what."""
    index: dict[tuple[Any, Any], Txn] = {}
    duplicates: list[tuple[Any, Any, Txn, Txn]] = []
    for txn in txns:
        for f, key, value in txn.mops:
            if f == APPEND:
                slot = (key, value)
                first = index.get(slot)
                if first is None:
                    index[slot] = txn
                elif first is not txn:
                    duplicates.append((key, value, first, txn))
    return index, duplicates


def readers(txns: Iterable[Txn]) -> dict[tuple[Any, Any], list[int]]:
    """``(key, last element of the version read, or INIT) -> vertices of the committed
    transactions that read it`` (a transaction that read it twice is listed twice)."""
    index: dict[tuple[Any, Any], list[int]] = {}
    for txn in txns:
        if txn.op.status != "ok":
            continue
        vertex = txn.vertex
        for f, key, value in txn.mops:
            if f == READ:
                slot = (key, value[-1] if value else INIT)
                found = index.get(slot)
                if found is None:
                    index[slot] = [vertex]
                else:
                    found.append(vertex)
    return index
