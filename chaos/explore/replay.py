"""Running an exploration as a ``chaos run``, and replay files.

A replay file (``replay.json`` in the run directory) holds everything an execution depends
on: the experiment as written, the plan (each server's requests) and the decisions (which
actor stepped at each scheduling point, with which fault). ``chaos replay FILE`` re-executes
it and writes the same history, byte for byte, on any machine: the driver has no wall clock,
no event loop and no randomness of its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import encoding
from ..checker import CheckResult
from ..experiment import Experiment, LoadedExperiment, loads
from ..history import HistoryError
from ..rundir import RunDir
from ..runner import exit_code_for
from .driver import Execution, Plan, _hours
from .search import Exploration, Explorer, Found
from .shrink import shrink
from .strategies import Decision

FORMAT = "asyncchaos-replay/1"


@dataclass
class ExploreResult:
    """What ``chaos run`` reports for ``mode: explore``."""

    loaded: LoadedExperiment
    seed: int
    run_dir: Path
    exploration: Exploration
    verdict: str
    exit_code: int
    check: CheckResult | None
    interrupted: bool = False

    @property
    def experiment(self) -> Experiment:
        return self.loaded.experiment

    @property
    def checks(self) -> list[CheckResult]:
        """The checker's verdict on the (shrunk) failing execution, if any: what a run reports."""
        return [self.check] if self.check is not None else []

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.loaded.experiment.name,
            "mode": "explore",
            "seed": self.seed,
            "run_dir": str(self.run_dir),
            "expect": self.loaded.experiment.expect,
            "verdict": self.verdict,
            "matched_expectation": self.exit_code == 0,
            "exit_code": self.exit_code,
            "exploration": self.exploration.to_dict(),
            "checks": [self.check.to_dict()] if self.check is not None else [],
        }


def write_history(path: Path, events: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(encoding.dumps(e) + b"\n" for e in events))


def replay_document(raw_text: str, seed: int, found: Found) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "seed": seed,
        "experiment": raw_text,
        "plan": found.execution.plan.to_json(),
        "decisions": [d.to_json() for d in found.decisions],
    }


def trace_lines(execution: Execution) -> list[str]:
    """The numbered story of an execution, like the seed page's trace table."""
    width = max((len(s.actor) for s in execution.steps), default=8)
    lines = []
    for step in execution.steps:
        flag = f"  <- {step.fault}" if step.fault and step.fault != "pause" else ""
        lines.append(f"{step.number:>3}. {_hours(step.time):>6}  {step.actor:<{width}}  {step.what}{flag}")
    return lines


def run_exploration(
    loaded: LoadedExperiment, out: Path | None, seed: int | None = None, junit: Path | None = None
) -> ExploreResult:
    """Explore ``loaded`` (``mode: explore``), shrink what it finds, write the run directory."""
    experiment = loaded.experiment
    chosen = seed if seed is not None else experiment.seed
    seed = chosen if chosen is not None else int(time.time()) % (2**31)
    rundir = RunDir.create(out, experiment.name)
    rundir.write_experiment(loaded.raw_text, seed)
    explorer = Explorer(experiment, seed)
    exploration = explorer.explore()
    best = exploration.found
    if best is not None and experiment.explore.shrink:
        best, exploration.shrink_steps = shrink(explorer, best)
        exploration.shrunk = best
    events = best.execution.events if best is not None else []
    write_history(rundir.history, events)
    if best is not None:
        replay = replay_document(loaded.raw_text, seed, best)
        (rundir.path / "replay.json").write_bytes(encoding.dumps(replay, indent=2))
        (rundir.path / "trace.txt").write_text("\n".join(trace_lines(best.execution)) + "\n", encoding="utf-8")
    verdict = "invalid" if best is not None else "valid"
    result = ExploreResult(
        loaded=loaded,
        seed=seed,
        run_dir=rundir.path,
        exploration=exploration,
        verdict=verdict,
        exit_code=exit_code_for(verdict, experiment.expect, interrupted=False),
        check=best.result if best is not None else None,
    )
    rundir.write_results(result.to_dict(), loaded.secrets)
    write_artifacts(result, rundir, junit)
    return result


def write_artifacts(result: ExploreResult, rundir: RunDir, junit: Path | None = None) -> None:
    """junit.xml (and a copy at ``junit``) and report.html, as for any run."""
    from ..junit import exploration_xml, write_junit
    from ..report import ReportMeta, write_report

    secrets = result.loaded.secrets
    text = exploration_xml(result)
    write_junit(rundir.junit, text, secrets)
    if junit is not None:
        write_junit(junit, text, secrets)
    experiment = result.loaded.experiment
    meta = ReportMeta(
        title=experiment.name,
        description=experiment.description,
        source=str(rundir.path),
        seed=result.seed,
        verdict=result.verdict,
        expect=experiment.expect,
        matched=result.exit_code == 0,
        experiment_text=result.loaded.raw_text,
        replay=f"chaos replay {rundir.path / 'replay.json'}" if result.verdict == "invalid" else None,
    )
    checks = [result.check.to_dict()] if result.check is not None else []
    best = result.exploration.shrunk or result.exploration.found
    events = best.execution.events if best is not None else []
    write_report(rundir.report, events, checks, meta, secrets=secrets)


def load_replay(path: Path) -> tuple[LoadedExperiment, Plan, list[Decision], int]:
    try:
        document = encoding.loads(Path(path).read_bytes())
    except (OSError, encoding.DecodeError) as exc:
        raise HistoryError(f"{path}: not a replay file: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise HistoryError(f"{path}: not a replay file (expected format {FORMAT})")
    loaded = loads(document["experiment"], f"{path}#experiment")
    plan = Plan.from_json(document["plan"])
    decisions = [Decision.from_json(d) for d in document["decisions"]]
    return loaded, plan, decisions, int(document.get("seed", 0))


def replay_file(path: Path, out: Path | None) -> tuple[Execution, CheckResult, Path]:
    """Re-execute a replay file; write its history (and trace) to ``out``."""
    loaded, plan, decisions, seed = load_replay(path)
    explorer = Explorer(loaded.experiment, seed)
    execution, _ = explorer.replay(plan, decisions)
    result = explorer.judge(execution)
    rundir = RunDir.create(out, f"{loaded.experiment.name}-replay")
    write_history(rundir.history, execution.events)
    (rundir.path / "trace.txt").write_text("\n".join(trace_lines(execution)) + "\n", encoding="utf-8")
    return execution, result, rundir.path
