"""What executing an experiment produced, as data: the hand-over from execution to checking.

The runner (real time) and the explorer (controlled scheduler) both end with an
:class:`Execution`: where the history is, what the run did and why it stopped. Everything
after it (checking, verdicts, artifacts, exit codes) reads this record and the history on
disk, never the runner or the explorer, so a stored run can be analysed again the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .experiment import Experiment
from .stats import Stats

if TYPE_CHECKING:
    from .exploration.explorer import Exploration

Mode = Literal["run", "explore"]

Ended = Literal["operations", "duration", "interrupted", "memory", "explored", "violation", "limit"]
"""Why an execution stopped: its operation count or duration was reached (run), it was
interrupted, the process reached the run's memory limit, the exploration covered its whole
space, found a violation, or hit a limit (execution budget, time limit) before covering it."""


@dataclass(frozen=True, slots=True)
class FaultUsage:
    """How one declared fault was used: calls (or connections) it matched, and how often it
    fired. A fault that never matched anything tested nothing."""

    index: int
    kind: str
    matched: int
    fired: int

    def to_dict(self) -> dict[str, int | str]:
        return {"index": self.index, "kind": self.kind, "matched": self.matched, "fired": self.fired}


@dataclass(frozen=True, slots=True)
class StoreUsage:
    """Calls a store answered and calls it answered with an error (real stores only: the
    in-memory store errs only where a fault makes it)."""

    name: str
    adapter: str
    calls: int
    errors: int

    def to_dict(self) -> dict[str, int | str]:
        return {"name": self.name, "adapter": self.adapter, "calls": self.calls, "errors": self.errors}


@dataclass
class Execution:
    """One execution of an experiment, finished: the history on disk and the facts about it."""

    experiment: Experiment
    mode: Mode
    seed: int
    run_dir: Path
    stats: Stats
    ended: Ended
    wall_seconds: float
    faults: list[FaultUsage] = field(default_factory=list)
    stores: list[StoreUsage] = field(default_factory=list)
    fault_problems: list[str] = field(default_factory=list)
    """Faults that stopped working during the run (:meth:`chaos.faults.FaultLayer.problems`)."""
    unexpected_errors: dict[str, int] = field(default_factory=dict)
    """Exceptions from the system's own code recorded as ``info`` under
    ``system.unexpected_errors: info``, by type (empty otherwise: the first one stops the run)."""
    deterministic: bool = False
    """True when the seed fixes the whole history, interleaving included (in-memory stores on
    virtual time, or an exploration); otherwise it fixes the requests and fault decisions only."""
    exploration: Exploration | None = None
    """What the explorer covered and found (``mode: explore`` only)."""
    memory_limit: int = 0
    """The memory limit that ended the run (``ended == "memory"``), in bytes."""

    @property
    def history(self) -> Path:
        return self.run_dir / "history.jsonl"

    @property
    def interrupted(self) -> bool:
        return self.ended == "interrupted"


__all__ = ["Ended", "Execution", "FaultUsage", "Mode", "StoreUsage"]
