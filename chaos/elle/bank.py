"""Jepsen's bank checker: money moves between accounts, and none is made or lost.

The bank workload transfers amounts between N accounts inside transactions (``f``
``transfer``, value ``{"from": a, "to": b, "amount": x}``) and reads every balance in one
transaction (``f`` ``read``, output ``{account: balance}``). Whatever the interleaving, a
snapshot of the balances must sum to the total the accounts started with, and (transfers
refusing to overdraw) no balance may be negative. A store that loses an update, or a read
that sees one transfer half applied, breaks the sum.

Cases, one per bad read (as Jepsen's ``bank/checker`` names them):

* ``wrong-total``: the balances sum to something else;
* ``negative-value``: a balance below zero;
* ``nil-balance``: an account read without a balance (missing, or ``nil``);
* ``unexpected-key``: an account that is not one of ``accounts``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from chaos.checker.result import Verdict
from chaos.history import Operation

from .result import Anomaly, ElleResult

KINDS = ("wrong-total", "negative-value", "nil-balance", "unexpected-key")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_bank(
    operations: Iterable[Operation],
    total: int | float | None = None,
    *,
    accounts: Iterable[Any] | None = None,
    negative_balances: bool = False,
    f: str = "read",
) -> ElleResult:
    """Check every ``ok`` read (``f`` ``read``) of a bank history.

    ``total`` is what the balances must sum to; when it is not given, the earliest read's sum
    is taken (and a note says so: a store that lost money before any read is then not caught).
    ``accounts`` (when given) are the only account names a read may show; names are compared
    as text, since JSON histories make every map key a string. ``negative_balances`` allows
    overdrafts.
    """
    started = time.monotonic()
    ops = list(operations)
    reads = [op for op in ops if op.f == f and op.status == "ok"]
    reads.sort(key=lambda op: (op.call, op.id))
    expected = None if accounts is None else {str(a) for a in accounts}
    notes: list[str] = []
    anomalies: list[Anomaly] = []
    names: set[str] = set()
    index: dict[int, dict[str, Any]] = {}
    for op in reads:
        if not isinstance(op.output, dict):
            anomalies.append(Anomaly("nil-balance", [op.id], [f"op {op.id} read {op.output!r}, not a map of balances"]))
            index[op.id] = op.to_dict()
            continue
        balances = {str(k): v for k, v in op.output.items()}
        names.update(balances)
        if total is None and all(_number(v) for v in balances.values()) and balances:
            total = sum(balances.values())
            notes.append(f"total not given: {total} taken from the earliest read (op {op.id})")
        found = _read_anomalies(op, balances, total, expected, negative_balances)
        if found:
            anomalies.extend(found)
            index[op.id] = op.to_dict()
    verdict: Verdict
    if not reads:
        verdict, reason = "unknown", f"no read (f {f}) completed: the history shows nothing about the balances"
    elif anomalies:
        verdict, reason = "invalid", f"{len({a.ops[0] for a in anomalies})} of {len(reads)} reads are wrong"
    else:
        verdict, reason = "valid", ""
    return ElleResult(
        verdict=verdict,
        checker="bank",
        anomalies=anomalies,
        reason=reason,
        operations=len(ops),
        partitions=len(names | (expected or set())),
        elapsed=time.monotonic() - started,
        stats={"reads": len(reads), "total": total if isinstance(total, int) else 0},
        ruled_out=["snapshot-isolation"] if anomalies else [],
        notes=notes,
        operation_index=index,
    )


def _read_anomalies(
    op: Operation, balances: dict[str, Any], total: int | float | None, expected: set[str] | None, negative: bool
) -> list[Anomaly]:
    found: list[Anomaly] = []
    shown = ", ".join(f"{k}: {v!r}" for k, v in sorted(balances.items()))
    missing = sorted(expected - set(balances)) if expected is not None else []
    nil = [k for k, v in balances.items() if v is None] + missing
    if nil:
        found.append(
            Anomaly(
                "nil-balance",
                [op.id],
                [f"op {op.id} read no balance for account(s) {', '.join(nil)}"],
                details={"accounts": nil},
            )
        )
    if expected is not None:
        unexpected = sorted(set(balances) - expected)
        if unexpected:
            found.append(
                Anomaly(
                    "unexpected-key",
                    [op.id],
                    [f"op {op.id} read unknown account(s) {', '.join(unexpected)}"],
                    details={"accounts": unexpected},
                )
            )
    numbers = {k: v for k, v in balances.items() if _number(v)}
    if not negative:
        below = {k: v for k, v in numbers.items() if v < 0}
        if below:
            found.append(
                Anomaly(
                    "negative-value",
                    [op.id],
                    [f"op {op.id} read negative balance(s): {below}"],
                    details={"balances": below},
                )
            )
    if total is not None and not nil and len(numbers) == len(balances):
        got = sum(numbers.values())
        if got != total:
            found.append(
                Anomaly(
                    "wrong-total",
                    [op.id],
                    [f"op {op.id} read balances summing to {got}, not {total} ({got - total:+}): {shown}"],
                    details={"total": got, "expected": total},
                )
            )
    return found
