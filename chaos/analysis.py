"""The check stage: an Execution record and its history in, a Result out.

Every check of the experiment runs on the history as it lies on disk (so a stored run is
re-checked the same way), the verdicts are merged, the health checks say whether the run could
have found anything, and the exit code follows from the verdict and ``expect``. An exploration
that found nothing is ``valid`` only when it covered its whole bounded space.
"""

from __future__ import annotations

from .checker import CheckResult
from .checker.result import Verdict
from .checks import AnySpec, check_name, run_spec
from .errors import ExitCode, verdict_exit_code
from .execution import Execution
from .experiment import LoadedExperiment
from .health import warnings
from .history import Operation, load_operations
from .result import Check, Result, merge_verdicts
from .system import resolve

INTERRUPTED = "interrupted while checking"
STRICT = "--strict"
"""How the reason of a valid verdict that --strict made unknown begins. A violation found is a
violation whatever the warnings say: strict only withholds ``valid``."""


def run_check(operations: list[Operation], spec: AnySpec) -> Check:
    """One check of the history (:func:`chaos.checks.run_spec`). A signal while it searches
    is an answer, not a crash: the verdict is ``unknown (interrupted)``, and the run goes on
    to write what it has."""
    try:
        return run_spec(operations, spec)
    except KeyboardInterrupt:
        return CheckResult(verdict="unknown", model=check_name(spec), reason=INTERRUPTED, operations=len(operations))


def interrupted(execution: Execution, loaded: LoadedExperiment) -> Result:
    """The result of an execution whose checking a signal stopped before it had a verdict."""
    checks: list[Check] = [
        CheckResult(verdict="unknown", model=check_name(spec), reason=INTERRUPTED) for spec in loaded.experiment.checks
    ]
    return Result(
        execution=execution,
        checks=checks,
        verdict="unknown",
        exit_code=ExitCode.INTERRUPTED,
        reason=INTERRUPTED,
        signalled=True,
    )


def analyse(execution: Execution, loaded: LoadedExperiment, *, strict: bool = False) -> Result:
    """Check ``execution``'s history with the experiment's checks and decide the outcome."""
    experiment = loaded.experiment
    strict = strict or experiment.strict
    operations = load_operations(execution.history)
    exploration = execution.exploration
    reason = ""
    if exploration is not None and not operations:
        checks: list[Check] = []  # nothing failed: the coverage decides
        verdict: Verdict
        if execution.ended == "explored" or exploration.strategy != "exhaustive":
            verdict = "valid"
        else:
            verdict = "unknown"
            reason = f"the exploration stopped before covering its space: {exploration.stopped or 'limit reached'}"
    else:
        checks = [run_check(operations, spec) for spec in experiment.checks]
        verdict = merge_verdicts([c.verdict for c in checks])
        if execution.ended == "memory" and verdict != "invalid":  # a violation stands; the rest was cut short
            verdict = "unknown"
            reason = (
                f"the run reached its memory limit of {execution.memory_limit / 2**20:,.0f} MiB after "
                f"{execution.stats.completed:,} operations (memory_limit:)"
            )
    stopped = any(c.reason == INTERRUPTED for c in checks)
    found = warnings(execution, checks)
    if strict and found and verdict == "valid":
        # "valid" would be the one word a CI log or results.json reader takes away from a run
        # that exercised nothing: under --strict it is not a verdict the run earned.
        verdict = "unknown"
        reason = f"{STRICT}: the run could not have found anything: {found[0]}"
    code = verdict_exit_code(verdict, experiment.expect, interrupted=execution.interrupted or stopped)
    explanation: list[str] = []
    if verdict == "invalid":
        explain = getattr(resolve(experiment.system.name), "explain", None)
        if explain is not None:
            explanation = [line for c in checks for line in explain(c, operations)]
    return Result(
        execution=execution,
        checks=checks,
        verdict=verdict,
        exit_code=code,
        reason=reason,
        warnings=found,
        strict=strict,
        explanation=explanation,
        signalled=stopped,
    )


__all__ = ["INTERRUPTED", "analyse", "interrupted", "run_check"]
