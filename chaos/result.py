"""The result of an experiment, run or explored: one type for both, handed to the artifacts.

A :class:`Result` is the :class:`~chaos.execution.Execution` (what happened) plus what the
checks made of it (verdict, evidence, warnings, exit code). ``to_dict()`` is results.json,
versioned: ``format`` changes when a field changes meaning, ``tool`` says which version wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .checker import CheckResult
from .elle.result import ElleResult
from .errors import ChaosError, ExitCode
from .execution import Execution, Mode
from .experiment import Experiment
from .stats import Stats

if TYPE_CHECKING:
    from .checker.result import Verdict
    from .exploration.explorer import Exploration

Check = CheckResult | ElleResult
"""What one check of a history returns: a linearizability verdict, or a transactional one."""

FORMAT = "asyncchaos-results/2"
"""results.json's format: /2 added ``mode``, ``warnings``, ``ended``, ``coverage`` and ``error``."""


def merge_verdicts(verdicts: list[Verdict]) -> Verdict:
    """One verdict from several: invalid if any is (a violation is a violation whatever else
    gave up), else unknown if any gave up, else valid."""
    if "invalid" in verdicts:
        return "invalid"
    if "unknown" in verdicts:
        return "unknown"
    return "valid"


@dataclass
class Result:
    """An experiment's outcome: the execution, the checks, the verdict and the exit code."""

    execution: Execution
    checks: list[Check]
    verdict: Verdict
    exit_code: ExitCode
    reason: str = ""
    """Why the verdict is what it is when no check says (an exploration that stopped early)."""
    warnings: list[str] = field(default_factory=list)
    """Signs that the run could not have found anything (see :mod:`chaos.health`)."""
    strict: bool = False
    """Warnings count as ``unknown`` (exit 2): ``chaos run --strict`` or ``strict: true``."""
    explanation: list[str] = field(default_factory=list)
    """The violation in words, from the system under test."""
    report_error: str | None = None
    """Why report.html could not be written (the verdict stands without it)."""
    signalled: bool = False
    """A signal came after the execution ended, while checking or writing (the outcome is then
    ``interrupted`` too)."""

    @property
    def experiment(self) -> Experiment:
        return self.execution.experiment

    @property
    def mode(self) -> Mode:
        return self.execution.mode

    @property
    def seed(self) -> int:
        return self.execution.seed

    @property
    def run_dir(self) -> Path:
        return self.execution.run_dir

    @property
    def stats(self) -> Stats:
        return self.execution.stats

    @property
    def interrupted(self) -> bool:
        return self.execution.interrupted or self.signalled

    @property
    def wall_seconds(self) -> float:
        return self.execution.wall_seconds

    @property
    def exploration(self) -> Exploration | None:
        return self.execution.exploration

    @property
    def withheld(self) -> bool:
        """``valid`` withheld under --strict: the run could not have found anything."""
        return self.strict and self.verdict == "unknown" and self.reason.startswith("--strict")

    @property
    def matched(self) -> bool:
        """The outcome matched the experiment's ``expect`` (exit code 0)."""
        return self.exit_code == ExitCode.MATCHED

    @property
    def replay(self) -> str:
        """The command that reproduces this result (see :attr:`seed_note` for how exactly). An
        exploration that found nothing writes no replay file: running it again is its replay."""
        if self.mode == "explore" and (self.run_dir / "replay.json").is_file():
            return f"chaos replay {self.run_dir / 'replay.json'}"
        return f"chaos run {self.run_dir / 'experiment.yaml'} --seed {self.seed}"

    @property
    def seed_note(self) -> str:
        """What the seed fixes, honestly."""
        if self.execution.deterministic:
            return "the seed fixes the whole history: replaying it gives the same events"
        return (
            "the seed fixes the requests and the fault decisions, not the interleaving (real time); "
            "use mode: explore for an exact trace"
        )

    def to_dict(self) -> dict[str, Any]:
        execution = self.execution
        out: dict[str, Any] = {
            "format": FORMAT,
            "tool": f"asyncchaos {__version__}",
            "experiment": self.experiment.name,
            "mode": self.mode,
            "seed": self.seed,
            "run_dir": str(self.run_dir),
            "expect": self.experiment.expect,
            "verdict": self.verdict,
            "reason": self.reason,
            "matched_expectation": self.matched,
            "interrupted": self.interrupted,
            "ended": execution.ended,
            "exit_code": int(self.exit_code),
            "strict": self.strict,
            "warnings": list(self.warnings),
            "wall_seconds": round(self.wall_seconds, 3),
            "deterministic": execution.deterministic,
            "operations": self.stats.to_dict(),
            "faults": [f.to_dict() for f in execution.faults],
            "stores": [s.to_dict() for s in execution.stores],
            "unexpected_errors": dict(execution.unexpected_errors),
            "checks": [c.to_dict() for c in self.checks],
            "explanation": list(self.explanation),
            "replay": self.replay,
        }
        if self.exploration is not None:
            out["coverage"] = self.exploration.to_dict()
        if self.report_error:
            out["report_error"] = self.report_error
        return out


def error_dict(experiment: str, error: ChaosError, run_dir: Path | None, seed: int | None) -> dict[str, Any]:
    """results.json of a run that stopped on an error before it had a verdict."""
    return {
        "format": FORMAT,
        "tool": f"asyncchaos {__version__}",
        "experiment": experiment,
        "seed": seed,
        "run_dir": str(run_dir) if run_dir is not None else None,
        "verdict": None,
        "matched_expectation": False,
        "exit_code": int(error.exit_code),
        "error": {"kind": error.kind, "message": str(error)},
    }


__all__ = ["FORMAT", "Result", "error_dict", "merge_verdicts"]
