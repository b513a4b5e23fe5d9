"""The linearizability checker: history in, verdict out.

::

    from chaos.checker import check, load_history

    events, operations = load_history("history.jsonl")
    result = check(operations, "cas-register", time_limit=10)
    print(result.describe())

``check`` returns a :class:`CheckResult` whose verdict is ``valid`` (with a linearization as
certificate), ``invalid`` (with a :class:`Counterexample`) or ``unknown`` (a time or memory
limit was reached; the reason says which and names the partitions left undecided).
``load_history`` reads our JSONL, Jepsen's and Knossos' EDN and Jepsen's logs, detecting the
format. A user model's bug is a :class:`ModelError`; an operation the model does not support
an :class:`UnsupportedOperation`. Semantics and the model interface: docs/checker.md.
"""

from __future__ import annotations

from chaos.checker.formats import detect_format, edn_events, load_history
from chaos.checker.linearizability import check
from chaos.checker.result import CheckResult, Counterexample, Verdict
from chaos.models.errors import ModelError, UnsupportedOperation

__all__ = [
    "CheckResult",
    "Counterexample",
    "ModelError",
    "UnsupportedOperation",
    "Verdict",
    "check",
    "detect_format",
    "edn_events",
    "load_history",
]
