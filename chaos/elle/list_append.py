"""``check``: which isolation anomalies does a list-append history show?

The steps, each in the module named after it:

1. :mod:`.txns`: operations whose ``f`` is ``txn`` become transactions (committed, failed,
   indeterminate).
2. :mod:`.anomalies`: what single transactions and single reads show (G1a, G1b, internal,
   duplicated elements, lost updates...).
3. :mod:`.versions`: each key's version order, from the longest read.
4. :mod:`.graph`: the ``ww``/``wr``/``rw`` dependency graph under those orders.
5. :mod:`.cycles`: its strongly connected components and, in each, a shortest cycle per
   anomaly class.
6. :mod:`.consistency`: which of the anomalies found the level forbids: any, and the
   verdict is ``invalid``.

The verdict is ``unknown`` when the history cannot say: no transaction committed, or an
element was appended twice (reads then no longer say who wrote what).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable
from typing import Any

from chaos.checker.result import Verdict
from chaos.history import Operation

from .anomalies import component_anomalies, internal_anomalies, lost_updates, read_anomalies
from .consistency import forbidden, level, ruled_out, severity
from .cycles import Budget, find_cycles
from .graph import build
from .result import Anomaly, ElleResult
from .txns import TxnHistory, transactions
from .versions import readers, version_orders, writers

DEFAULT_TIME_LIMIT = 60.0
"""Seconds the witness-cycle searches may run when no time limit is given (the existence of
each level's cycles is always decided, whatever the limit)."""
CANDIDATES = 8
"""Candidate edges tried per anomaly class in each component (G-single: four times as many,
its searches being confined to a narrow window)."""


def check(
    operations: Iterable[Operation],
    consistency: str = "serializable",
    *,
    time_limit: float | None = None,
    candidates: int = CANDIDATES,
    f: str = "txn",
) -> ElleResult:
    """Check the list-append transactions among ``operations`` against ``consistency``
    (``serializable``, ``snapshot-isolation``, ``read-committed``, ``repeatable-read``,
    ``read-uncommitted``).

    Raises :class:`chaos.errors.BadInput` for an unknown level and
    :class:`~chaos.elle.txns.TxnHistoryError` (a ``BadInput``) for a transaction that is not a
    list of ``r``/``append`` micro-ops.
    """
    name = level(consistency)
    started = time.monotonic()
    collecting = gc.isenabled()
    gc.disable()  # the indexes hold no cycles: collector passes would find nothing
    try:
        history = transactions(operations, f)
        result = _check(history, name, started + (DEFAULT_TIME_LIMIT if time_limit is None else time_limit), candidates)
    finally:
        if collecting:
            gc.enable()
    result.elapsed = time.monotonic() - started
    return result


def _unknown(history: TxnHistory, consistency: str, reason: str) -> ElleResult:
    return ElleResult(
        verdict="unknown",
        checker="elle",
        consistency=consistency,
        reason=reason,
        operations=len(history.possible) + len(history.failed),
        stats=_stats(history),
    )


def _stats(history: TxnHistory) -> dict[str, int]:
    return {
        "ok": history.committed,
        "info": history.indeterminate,
        "fail": len(history.failed),
        "skipped": history.skipped,
    }


def _check(history: TxnHistory, consistency: str, deadline: float, candidates: int) -> ElleResult:
    if not history.possible and not history.failed:
        return _unknown(history, consistency, "the history has no transactions (operations with f txn)")
    writer_index, duplicates = writers(history.possible)
    failed_index, failed_duplicates = writers(history.failed)
    duplicates += failed_duplicates
    duplicates += [(k, v, writer_index[(k, v)], t) for (k, v), t in failed_index.items() if (k, v) in writer_index]
    if duplicates:
        key, element, first, second = duplicates[0]
        return _unknown(
            history,
            consistency,
            f"element {element!r} was appended to key {key!r} by both {first.name} and {second.name} "
            f"({len(duplicates)} such element(s)): appends must be unique for reads to say who wrote what",
        )

    anomalies: list[Anomaly] = []
    anomalies += internal_anomalies(history.possible)
    anomalies += read_anomalies(history.possible, history.failed, writer_index, failed_index)
    anomalies += lost_updates(history.possible)
    orders, incompatible = version_orders(history.possible)
    anomalies += incompatible
    graph = build(history, orders, writer_index, readers(history.possible))
    budget = Budget(deadline)
    findings = find_cycles(graph.out, budget, candidates)
    anomalies += component_anomalies(findings, graph)

    forbids = forbidden(consistency)
    for anomaly in anomalies:
        anomaly.forbidden = anomaly.kind in forbids
    anomalies.sort(key=lambda a: (severity(a.kind), a.ops))
    kinds = {a.kind for a in anomalies}
    stats = _stats(history)
    keys = {key for txn in (*history.possible, *history.failed) for _, key, _ in txn.mops}
    stats.update(
        keys=len(keys),
        edges=graph.edges,
        components=len(findings),
        largest_component=max((c.size for c in findings), default=0),
    )
    notes: list[str] = []
    unsearched = sum(1 for c in findings if c.timed_out)
    if unsearched:
        notes.append(
            f"the search for witness cycles stopped at the time limit in {unsearched} of {len(findings)} "
            "components: what they break is still reported (as *-cycle-exists)"
        )
    if history.skipped:
        notes.append(f"{history.skipped} operation(s) that are not transactions were left out")
    verdict: Verdict
    if any(a.forbidden for a in anomalies):
        verdict = "invalid"
        reason = f"{consistency} forbids " + ", ".join(k for k in _ordered(kinds) if k in forbids)
    elif history.committed == 0:
        verdict = "unknown"
        reason = "no transaction committed: the history shows nothing about isolation"
    else:
        verdict = "valid"
        allowed = [k for k in _ordered(kinds) if k not in forbids]
        reason = f"{consistency} allows the anomalies found ({', '.join(allowed)})" if allowed else ""
    involved = {i for a in anomalies for i in a.ops}
    by_id: dict[int, dict[str, Any]] = {}
    for txn in (*history.possible, *history.failed):
        if txn.op.id in involved:
            by_id[txn.op.id] = txn.op.to_dict()
    return ElleResult(
        verdict=verdict,
        checker="elle",
        consistency=consistency,
        anomalies=anomalies,
        reason=reason,
        operations=len(history.possible) + len(history.failed),
        partitions=len(keys),
        stats=stats,
        ruled_out=ruled_out(kinds),
        notes=notes,
        operation_index=by_id,
    )


def _ordered(kinds: set[str]) -> list[str]:
    return sorted(kinds, key=lambda k: (severity(k), k))
