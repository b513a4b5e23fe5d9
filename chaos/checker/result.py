"""What a check returns: a verdict, and the evidence for it.

Plain data (dataclasses) so that results.json and the HTML report are one ``to_dict()`` away,
and ``describe()`` gives the same evidence as text for a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Verdict = Literal["valid", "invalid", "unknown"]

SHOWN_PREFIX = 8
"""How many of the last linearized operations ``describe()`` prints before the failure."""


def jsonable(value: Any) -> Any:
    """Keys and states as JSON: tuples become lists, sets sorted lists, others their repr."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return repr(value)


@dataclass(slots=True)
class Counterexample:
    """Why one partition is not linearizable.

    ``prefix``: op ids of the longest linearizable prefix the search found, in order.
    ``failed``: op ids that could not be placed after it (the ok op that had to go next).
    ``states``: the model states (described) in which they were illegal.
    ``operations``: the ops involved, as dicts: the failed ops, the end of the prefix and the
    ops concurrent with the failed ones; small enough to print whatever the history's size.
    """

    key: Any
    prefix: list[int]
    failed: list[int]
    states: list[str]
    operations: list[dict[str, Any]]
    reason: str = ""
    explanation: list[str] = field(default_factory=list)
    """Human lines: the failed ops, the tail of the prefix, the concurrent ops (described)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": jsonable(self.key),
            "prefix": list(self.prefix),
            "failed": list(self.failed),
            "states": list(self.states),
            "operations": [{k: jsonable(v) for k, v in op.items()} for op in self.operations],
            "reason": self.reason,
            "explanation": list(self.explanation),
        }


@dataclass(slots=True)
class CheckResult:
    """The verdict on a whole history.

    ``linearization`` is the certificate of a valid history: for a partitioned model a dict
    from partition key to op ids in linearization order, else one list. It holds every ok op
    exactly once, plus the info ops that took effect.
    """

    verdict: Verdict
    model: str
    reason: str = ""
    counterexample: Counterexample | None = None
    linearization: dict[Any, list[int]] | list[int] = field(default_factory=dict)
    partitions: int = 0
    operations: int = 0
    elapsed: float = 0.0
    explored: int = 0
    """Configurations the search memoised in total (a measure of work)."""

    @property
    def valid(self) -> bool:
        return self.verdict == "valid"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable: keys and states are made plain (see :func:`jsonable`)."""
        if isinstance(self.linearization, dict):
            lin: Any = [{"key": jsonable(k), "order": list(v)} for k, v in self.linearization.items()]
        else:
            lin = list(self.linearization)
        return {
            "verdict": self.verdict,
            "model": self.model,
            "reason": self.reason,
            "partitions": self.partitions,
            "operations": self.operations,
            "elapsed": self.elapsed,
            "explored": self.explored,
            "counterexample": self.counterexample.to_dict() if self.counterexample else None,
            "linearization": lin,
        }

    def describe(self) -> str:
        """Multi-line text for a terminal."""
        head = (
            f"{self.verdict.upper()}: model {self.model}, {self.operations} operations in "
            f"{self.partitions} partition{'s' if self.partitions != 1 else ''}, "
            f"checked in {self.elapsed * 1000:.1f} ms"
        )
        lines = [head]
        if self.reason:
            lines.append(f"  {self.reason}")
        if self.counterexample is not None:
            lines.extend("  " + line for line in self.counterexample.explanation)
        return "\n".join(lines)
