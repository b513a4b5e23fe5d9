"""Consistency levels, and the anomalies each one forbids.

Following Adya ("Weak Consistency", 1999) and Elle's table of models (jepsen-io/elle,
``consistency_model.clj``), each level is the set of phenomena it proscribes; a history
satisfies the level iff none of them is found. The levels nest: every anomaly a weaker level
forbids, a stronger one forbids too.

==================  ============================================================================
level               forbids
==================  ============================================================================
read-uncommitted    G0 (write cycles), duplicated elements, elements nobody wrote
read-committed      + G1a (aborted reads), G1b (intermediate reads), G1c (circular information
                    flow), incompatible orders, future reads
snapshot-isolation  + G-single, G-nonadjacent (cycles whose anti-dependencies are never
                    adjacent), lost updates, internal inconsistency
repeatable-read     read-committed + G-single, G-nonadjacent, G2-item, lost updates (Adya's
                    PL-2.99: on histories of single items, no cycle at all)
serializable        all of the above: no dependency cycle at all
==================  ============================================================================

PostgreSQL's ``repeatable read`` is snapshot isolation: check it as ``snapshot-isolation``.
"""

from __future__ import annotations

from chaos.errors import BadInput

LEVELS: tuple[str, ...] = (
    "read-uncommitted",
    "read-committed",
    "snapshot-isolation",
    "repeatable-read",
    "serializable",
)
"""Every level :func:`forbidden` knows, weakest first."""

ALIASES = {
    "pl-1": "read-uncommitted",
    "pl-2": "read-committed",
    "si": "snapshot-isolation",
    "pl-si": "snapshot-isolation",
    "pl-2.99": "repeatable-read",
    "pl-3": "serializable",
    "read_committed": "read-committed",
    "read_uncommitted": "read-uncommitted",
    "snapshot_isolation": "snapshot-isolation",
    "repeatable_read": "repeatable-read",
}

_RU = frozenset({"G0", "duplicate-elements", "garbage-read", "PL-1-cycle-exists"})
_RC = _RU | {"G1a", "G1b", "G1c", "incompatible-order", "future-read", "PL-2-cycle-exists"}
_SI = _RC | {"G-single", "G-nonadjacent", "lost-update", "internal", "PL-SI-cycle-exists"}
_RR = _RC | {"G-single", "G-nonadjacent", "G2-item", "lost-update", "PL-SI-cycle-exists", "PL-3-cycle-exists"}
_SER = _SI | _RR

FORBIDS: dict[str, frozenset[str]] = {
    "read-uncommitted": _RU,
    "read-committed": frozenset(_RC),
    "snapshot-isolation": frozenset(_SI),
    "repeatable-read": frozenset(_RR),
    "serializable": frozenset(_SER),
}

SEVERITY: tuple[str, ...] = (
    "G0",
    "G1a",
    "G1b",
    "G1c",
    "G-single",
    "G-nonadjacent",
    "G2-item",
    "lost-update",
    "internal",
    "future-read",
    "incompatible-order",
    "duplicate-elements",
    "garbage-read",
    "PL-1-cycle-exists",
    "PL-2-cycle-exists",
    "PL-SI-cycle-exists",
    "PL-3-cycle-exists",
)
"""Anomaly names, worst first: the order of summaries and reports."""


def level(name: str) -> str:
    """The canonical name of consistency level ``name``; :class:`BadInput` for an unknown one."""
    normal = str(name).strip().lower()
    normal = ALIASES.get(normal, normal)
    if normal not in FORBIDS:
        raise BadInput(f"consistency: unknown level {name!r}; use one of {', '.join(LEVELS)}")
    return normal


def forbidden(consistency: str) -> frozenset[str]:
    """The anomalies that ``consistency`` forbids."""
    return FORBIDS[level(consistency)]


def ruled_out(kinds: set[str]) -> list[str]:
    """The levels that anomalies of ``kinds`` rule out, weakest first."""
    return [name for name in LEVELS if kinds & FORBIDS[name]]


def severity(kind: str) -> int:
    """Rank of ``kind`` in :data:`SEVERITY` (unknown kinds, such as the bank's, after it)."""
    try:
        return SEVERITY.index(kind)
    except ValueError:
        return len(SEVERITY)
