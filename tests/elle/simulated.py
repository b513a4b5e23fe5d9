"""Small list-append databases, stepped by a test, and a brute-force serializability oracle.

Each model runs transactions step by step (begin, one micro-op, commit) in the interleaving
the test chooses, and records the history a client would see. The levels are modelled the
way their definitions say, not the way any checker thinks:

* ``serial``: a transaction runs whole at its commit step (a serial execution);
* ``si``: snapshot isolation, reads from the snapshot taken at begin (plus the transaction's
  own appends), first committer wins on keys both appended to;
* ``rc``: read committed, every read sees the latest committed list (plus own appends); an
  append locks the key until commit, and an append to a key another transaction locked
  aborts (PostgreSQL would wait; aborting keeps the model small).

:func:`serializable` decides by brute force whether some serial order of the committed
transactions gives every read it saw: the definition, for at most seven transactions.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from chaos.history import Operation, pair

MicroOp = tuple[str, str, int | None]


@dataclass
class _Txn:
    process: int
    mops: list[MicroOp]
    done: list[list[Any]] = field(default_factory=list)
    snapshot: dict[str, list[int]] | None = None
    appended: dict[str, list[int]] = field(default_factory=dict)
    aborted: bool = False


class Database:
    """One model database at level ``level`` (``serial``, ``si`` or ``rc``)."""

    def __init__(self, level: str) -> None:
        self.level = level
        self.committed: dict[str, list[int]] = {}
        self.versions: dict[str, int] = {}
        """Key -> the step at which it was last committed (first committer wins)."""
        self.locks: dict[str, int] = {}
        self.events: list[dict[str, Any]] = []
        self.clock = 0
        self.started: dict[int, int] = {}

    def _event(self, process: int, kind: str, value: Any) -> None:
        self.events.append(
            {
                "index": len(self.events),
                "time": len(self.events),
                "process": process,
                "type": kind,
                "f": "txn",
                "value": value,
            }
        )

    def begin(self, txn: _Txn) -> None:
        self._event(txn.process, "invoke", [[f, k, None if f == "r" else v] for f, k, v in txn.mops])
        self.clock += 1
        self.started[txn.process] = self.clock
        if self.level == "si":
            txn.snapshot = {k: list(v) for k, v in self.committed.items()}

    def step(self, txn: _Txn, mop: MicroOp) -> None:
        """One micro-op (``serial`` keeps them all for the commit)."""
        if self.level == "serial" or txn.aborted:
            return
        f, key, value = mop
        base = txn.snapshot if txn.snapshot is not None else self.committed
        if f == "r":
            txn.done.append(["r", key, [*base.get(key, []), *txn.appended.get(key, [])]])
            return
        if self.level == "rc":
            holder = self.locks.get(key)
            if holder is not None and holder != txn.process:
                txn.aborted = True
                return
            self.locks[key] = txn.process
        txn.appended.setdefault(key, []).append(value)  # type: ignore[arg-type]
        txn.done.append(["append", key, value])

    def commit(self, txn: _Txn) -> None:
        self.clock += 1
        if self.level == "serial":
            for f, key, value in txn.mops:
                if f == "r":
                    txn.done.append(["r", key, list(self.committed.get(key, []))])
                else:
                    self.committed.setdefault(key, []).append(value)  # type: ignore[arg-type]
                    txn.done.append(["append", key, value])
        elif self.level == "si" and any(self.versions.get(k, 0) > self.started[txn.process] for k in txn.appended):
            txn.aborted = True
        if not txn.aborted and self.level != "serial":
            for key, values in txn.appended.items():
                self.committed.setdefault(key, []).extend(values)
                self.versions[key] = self.clock
        for key in [k for k, holder in self.locks.items() if holder == txn.process]:
            del self.locks[key]
        if txn.aborted:
            self._event(txn.process, "fail", [[f, k, None if f == "r" else v] for f, k, v in txn.mops])
        else:
            self._event(txn.process, "ok", txn.done)


def run(level: str, txns: list[list[MicroOp]], schedule: list[int]) -> list[Operation]:
    """Run ``txns`` at ``level``: ``schedule`` names, step by step, which transaction moves
    next (begin, each micro-op, commit); indices beyond the list wrap around, and what is left
    after the schedule runs out runs in order."""
    db = Database(level)
    states = [_Txn(i, mops) for i, mops in enumerate(txns)]
    progress = [0] * len(txns)

    def advance(i: int) -> None:
        txn, at = states[i], progress[i]
        if at == 0:
            db.begin(txn)
        elif at <= len(txn.mops):
            db.step(txn, txn.mops[at - 1])
        else:
            db.commit(txn)
        progress[i] = at + 1

    def live() -> list[int]:
        return [i for i, t in enumerate(states) if progress[i] <= len(t.mops) + 1]

    for choice in schedule:
        candidates = live()
        if not candidates:
            break
        advance(candidates[choice % len(candidates)])
    while live():
        advance(live()[0])
    return pair(db.events)


def serializable(ops: list[Operation]) -> bool:
    """Whether some order of the committed transactions, each run alone, reads what they read."""
    committed = [op.output for op in ops if op.status == "ok"]
    for order in itertools.permutations(committed):
        state: dict[str, list[int]] = {}
        if all(_replays(txn, state) for txn in order):
            return True
    return False


def _replays(txn: list[list[Any]], state: dict[str, list[int]]) -> bool:
    for f, key, value in txn:
        if f == "r":
            if list(value or []) != state.get(key, []):
                return False
        else:
            state.setdefault(key, []).append(value)
    return True
