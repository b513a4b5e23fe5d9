"""The history as transactions: what the checker reads from each operation.

An operation of a list-append history is a transaction (``f`` ``txn``) whose value is a list
of micro-operations::

    [["append", "x", 3], ["r", "y", null]]        # as invoked
    [["append", "x", 3], ["r", "y", [1, 2]]]      # as completed (``ok``): reads filled in

Which of the two the checker believes depends on how the transaction ended:

* ``ok``: it committed; its completed value is what it read and wrote;
* ``fail``: it definitely did not commit; its appends were never part of any version, so a
  read that contains one read aborted state (G1a);
* ``info``: it may have committed. Its appends count once someone reads them (a read proves
  the commit); its reads are unknown and ignored.

Keys and elements are made hashable (lists become tuples) so that they can index maps; a read
of ``nil`` is the empty list (the key has no appends yet).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chaos.errors import BadInput
from chaos.history import Operation

READ = "r"
APPEND = "append"
MICRO_OPS = frozenset({READ, APPEND})

MicroOp = tuple[str, Any, Any]
"""``(f, key, value)``: ``("append", k, element)`` or ``("r", k, elements or None)``."""


class TxnHistoryError(BadInput):
    """A transaction the checker cannot read: not a list of ``[f, key, value]`` micro-ops with
    ``f`` one of ``r`` and ``append``. The message names the operation."""


@dataclass(slots=True)
class Txn:
    """One transaction of the history.

    ``vertex`` is its number in the dependency graph: committed and indeterminate
    transactions are numbered 0, 1, ... in the order they were invoked; failed ones are not
    vertices (``-1``). ``mops`` are the completed micro-ops of an ``ok`` transaction and the
    invoked ones otherwise (reads then carry no value).
    """

    vertex: int
    op: Operation
    mops: list[MicroOp]

    @property
    def status(self) -> str:
        return self.op.status

    @property
    def name(self) -> str:
        """How reports refer to it: the operation id, which the history and the report share."""
        return f"op {self.op.id}"


@dataclass(slots=True)
class TxnHistory:
    """The transactions of a history, split by outcome."""

    possible: list[Txn]
    """``ok`` and ``info`` transactions: the graph's vertices, ``possible[t.vertex] is t``."""
    failed: list[Txn]
    """``fail`` transactions: definitely aborted."""
    skipped: int
    """Operations that are not transactions (other ``f``), left out."""

    @property
    def committed(self) -> int:
        return sum(1 for t in self.possible if t.status == "ok")

    @property
    def indeterminate(self) -> int:
        return sum(1 for t in self.possible if t.status == "info")


def hashable(value: Any) -> Any:
    """``value`` usable as a dict key: lists (JSON arrays) become tuples, recursively."""
    if isinstance(value, list | tuple):
        return tuple(hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted(((hashable(k), hashable(v)) for k, v in value.items()), key=repr))
    return value


def _micro_ops(op: Operation, value: Any, completed: bool) -> list[MicroOp]:
    """The micro-ops of ``value``; a bad shape is a :class:`TxnHistoryError` naming the op."""
    if not isinstance(value, list | tuple):
        raise TxnHistoryError(
            f"operation {op.id} (process {op.process}): a txn's value must be a list of [f, key, value] "
            f"micro-ops, got {type(value).__name__}"
        )
    mops: list[MicroOp] = []
    for i, mop in enumerate(value):
        if not isinstance(mop, list | tuple) or len(mop) != 3 or mop[0] not in MICRO_OPS:
            raise TxnHistoryError(
                f"operation {op.id} (process {op.process}): micro-op {i} is {mop!r}; expected "
                f'["r", key, value] or ["append", key, element]'
            )
        f, key, v = mop
        if type(key) is not int and type(key) is not str:
            key = hashable(key)
        if f == APPEND:
            mops.append((APPEND, key, v if type(v) is int or type(v) is str else hashable(v)))
        elif not completed:
            mops.append((READ, key, None))  # what an unfinished read returned is unknown
        elif v is None:
            mops.append((READ, key, ()))  # nil: the key has no appends yet
        elif isinstance(v, list | tuple):
            elements = tuple(v)
            try:
                hash(elements)  # scalars all: the common case, decided in C
            except TypeError:
                elements = tuple(hashable(e) for e in v)
            mops.append((READ, key, elements))
        else:
            raise TxnHistoryError(
                f"operation {op.id} (process {op.process}): micro-op {i} read {v!r}; a read returns a list or nil"
            )
    return mops


def transactions(operations: Iterable[Operation], f: str = "txn") -> TxnHistory:
    """The transactions among ``operations`` (those whose ``f`` is ``f``)."""
    possible: list[Txn] = []
    failed: list[Txn] = []
    skipped = 0
    for op in operations:
        if op.f != f:
            skipped += 1
            continue
        if op.status == "ok":
            value = op.output
            if not isinstance(value, list | tuple) or len(value) != len(op.value or ()):
                raise TxnHistoryError(
                    f"operation {op.id} (process {op.process}): an ok txn must complete with its micro-ops, "
                    f"reads filled in (got {op.output!r})"
                )
            possible.append(Txn(len(possible), op, _micro_ops(op, value, completed=True)))
        elif op.status == "info":
            possible.append(Txn(len(possible), op, _micro_ops(op, op.value, completed=False)))
        else:
            failed.append(Txn(-1, op, _micro_ops(op, op.value, completed=False)))
    return TxnHistory(possible, failed, skipped)
