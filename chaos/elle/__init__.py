"""Transactional checkers: Elle's list-append analysis, and Jepsen's bank.

::

    from chaos.checker import load_history
    from chaos.elle import check

    events, operations = load_history("history.edn", "edn")
    result = check(operations, "snapshot-isolation")
    print(result.summary)      # anomalies: G2-item x3
    print(result.describe())   # each anomaly's transactions and edges, in words

``check`` infers each key's version order from the reads of a list-append history, builds the
ww/wr/rw dependency graph, finds its strongly connected components and, per anomaly class, a
shortest cycle in each, and names what the consistency level forbids (Kingsbury and Alvaro,
"Elle: Inferring Isolation Anomalies from Experimental Observations", VLDB 2020).
``check_bank`` checks Jepsen's bank workload: every read sums to the total, no balance is
negative. Both return an :class:`ElleResult`. Semantics: docs/elle.md.

Pure Python, no adapter imported: it reads :class:`chaos.history.Operation` lists, from a run
or from a file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import exports

if TYPE_CHECKING:
    from .bank import check_bank
    from .consistency import LEVELS, forbidden
    from .list_append import check
    from .result import Anomaly, ElleResult, Step
    from .run import run_check
    from .spec import BankCheckSpec, ElleCheckSpec, TxnCheckSpec, parse_spec
    from .txns import TxnHistoryError

__getattr__, __dir__ = exports(
    __name__,
    {
        "check_bank": ".bank",
        "check": ".list_append",
        "LEVELS": ".consistency",
        "forbidden": ".consistency",
        "Anomaly": ".result",
        "ElleResult": ".result",
        "Step": ".result",
        "run_check": ".run",
        "BankCheckSpec": ".spec",
        "ElleCheckSpec": ".spec",
        "TxnCheckSpec": ".spec",
        "parse_spec": ".spec",
        "TxnHistoryError": ".txns",
    },
)

__all__ = [
    "LEVELS",
    "Anomaly",
    "BankCheckSpec",
    "ElleCheckSpec",
    "ElleResult",
    "Step",
    "TxnCheckSpec",
    "TxnHistoryError",
    "check",
    "check_bank",
    "forbidden",
    "parse_spec",
    "run_check",
]
