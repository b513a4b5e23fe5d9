"""What a transactional check returns: a verdict, and each anomaly in words.

:class:`ElleResult` offers what :class:`chaos.checker.CheckResult` offers the rest of the
code, so that the summary, results.json, junit.xml and the report can show it beside the
linearizability checks: ``verdict``, ``valid``, ``model``, ``reason``, ``operations``,
``partitions``, ``elapsed``, ``counterexample`` (the worst anomaly, shaped as the report marks
operations), ``describe()`` and ``to_dict()``. It adds ``summary``, one line such as
``anomalies: G2-item x3, G-single x1``, and ``anomalies``, every case found.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chaos.checker.result import Counterexample, Verdict, jsonable

from .consistency import severity

SHOWN_PER_KIND = 2
"""Cases of each anomaly kind that ``describe()`` spells out (all are in ``to_dict()``)."""


@dataclass(slots=True)
class Step:
    """One edge of a dependency cycle: ``source`` must precede ``target`` because of ``kind``
    (``ww``, ``wr`` or ``rw``) on ``key``. Op ids, as in the history."""

    kind: str
    source: int
    target: int
    key: Any
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "from": self.source, "to": self.target, "key": jsonable(self.key), "text": self.text}


@dataclass(slots=True)
class Anomaly:
    """One case of one kind of anomaly.

    ``ops`` are the operations involved (op ids, in the order the explanation names them:
    around the cycle for a cycle); ``steps`` the cycle's edges (empty for other kinds);
    ``explanation`` the case in words; ``forbidden`` whether the checked level forbids it.
    """

    kind: str
    ops: list[int]
    explanation: list[str]
    steps: list[Step] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    forbidden: bool = True

    @property
    def headline(self) -> str:
        """One line: a cycle as its path (``op 3 -rw-> op 5 -wr-> op 3``), else the first line
        of the explanation."""
        if self.steps:
            path = " ".join(f"op {s.source} -{s.kind}->" for s in self.steps)
            return f"{self.kind}: {path} op {self.steps[-1].target}"
        return f"{self.kind}: {self.explanation[0]}" if self.explanation else self.kind

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "headline": self.headline,
            "forbidden": self.forbidden,
            "ops": list(self.ops),
            "steps": [s.to_dict() for s in self.steps],
            "explanation": list(self.explanation),
            "details": {k: jsonable(v) for k, v in self.details.items()},
        }


@dataclass(slots=True)
class ElleResult:
    """The verdict of a transactional check (``elle`` or ``bank``) on a whole history."""

    verdict: Verdict
    checker: str
    consistency: str = ""
    anomalies: list[Anomaly] = field(default_factory=list)
    reason: str = ""
    operations: int = 0
    """Transactions (or bank operations) checked."""
    partitions: int = 0
    """Keys (accounts) the history touches."""
    elapsed: float = 0.0
    stats: dict[str, int] = field(default_factory=dict)
    ruled_out: list[str] = field(default_factory=list)
    """Consistency levels the anomalies found rule out, weakest first."""
    notes: list[str] = field(default_factory=list)
    operation_index: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)
    """Op id -> the operation as a dict, for the operations the anomalies name."""

    @property
    def valid(self) -> bool:
        return self.verdict == "valid"

    @property
    def model(self) -> str:
        """What was checked, as the summary and JUnit name a check: ``elle serializable``."""
        return f"{self.checker} {self.consistency}".strip()

    @property
    def counts(self) -> dict[str, int]:
        """Anomaly kind -> cases, worst kind first."""
        counted = Counter(a.kind for a in self.anomalies)
        return {kind: counted[kind] for kind in sorted(counted, key=lambda k: (severity(k), k))}

    @property
    def summary(self) -> str:
        """One line: ``anomalies: G2-item x3, G-single x1`` (kinds the level allows are marked)."""
        if not self.anomalies:
            return "anomalies: none"
        allowed = {a.kind for a in self.anomalies if not a.forbidden}
        parts = [f"{kind} x{n}" + (" (allowed)" if kind in allowed else "") for kind, n in self.counts.items()]
        return "anomalies: " + ", ".join(parts)

    @property
    def counterexample(self) -> Counterexample | None:
        """The worst forbidden anomaly, shaped like a linearizability counterexample so that
        the report can mark its operations (``failed``) and JUnit can quote its ``reason``."""
        forbidden = [a for a in self.anomalies if a.forbidden]
        if not forbidden:
            return None
        worst = min(forbidden, key=lambda a: (severity(a.kind), len(a.ops)))
        return Counterexample(
            key=worst.details.get("key"),
            prefix=[],
            failed=list(worst.ops),
            states=[],
            operations=[self.operation_index[i] for i in worst.ops if i in self.operation_index],
            reason=worst.headline,
            explanation=[f"{worst.kind}:", *("  " + line for line in worst.explanation)],
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON for results.json and the report (its ``counterexample`` as the report reads it)."""
        counterexample = self.counterexample
        return {
            "type": self.checker,
            "model": self.model,
            "consistency": self.consistency,
            "verdict": self.verdict,
            "reason": self.reason,
            "summary": self.summary,
            "counts": self.counts,
            "operations": self.operations,
            "partitions": self.partitions,
            "elapsed": self.elapsed,
            "stats": dict(self.stats),
            "not": list(self.ruled_out),
            "notes": list(self.notes),
            "anomalies": [a.to_dict() for a in self.anomalies],
            "counterexample": counterexample.to_dict() if counterexample else None,
        }

    def describe(self) -> str:
        """Multi-line text for a terminal: the verdict, the summary line, then the first cases
        of each kind in words."""
        stats = self.stats
        if self.checker == "elle":
            what = (
                f"{self.operations:,} transactions ({stats.get('ok', 0):,} ok, {stats.get('info', 0):,} info, "
                f"{stats.get('fail', 0):,} fail) over {self.partitions:,} keys"
            )
        else:
            what = f"{self.operations:,} operations over {self.partitions:,} accounts"
        lines = [f"{self.verdict.upper()}: {self.model}, {what}, checked in {self.elapsed * 1000:.1f} ms"]
        if self.reason:
            lines.append(f"  {self.reason}")
        lines.append(f"  {self.summary}")
        if self.ruled_out:
            lines.append(f"  not: {', '.join(self.ruled_out)}")
        lines.extend(f"  note: {note}" for note in self.notes)
        shown: Counter[str] = Counter()
        for anomaly in sorted(self.anomalies, key=lambda a: (not a.forbidden, severity(a.kind), len(a.ops))):
            shown[anomaly.kind] += 1
            if shown[anomaly.kind] > SHOWN_PER_KIND:
                continue
            total = self.counts[anomaly.kind]
            allowed = "" if anomaly.forbidden else f", allowed by {self.consistency}"
            lines.append(f"  {anomaly.kind} ({shown[anomaly.kind]} of {total}{allowed}):")
            lines.extend("    " + line for line in anomaly.explanation)
        more = {k: n - SHOWN_PER_KIND for k, n in self.counts.items() if n > SHOWN_PER_KIND}
        if more:
            lines.append("  (" + ", ".join(f"{n} more {k}" for k, n in more.items()) + " in results.json)")
        return "\n".join(lines)
