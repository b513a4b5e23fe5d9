"""Many seeds of one experiment: each seed a whole run in a worker, one combined outcome.

``chaos run FILE --seeds 100 --jobs 2`` runs seeds S..S+99 (S: ``--seed``, else the
experiment's ``seed:``, else 1), or ``--seeds 100-199`` that range, each through the whole
pipeline (:class:`~chaos.pipeline.Pipeline`) in a worker process or on a Dask cluster (see
:mod:`chaos.executors`). A seed's run is one checked run on one host, exactly as ``chaos run
--seed N`` would make it; only independent seeds are spread.

What comes back from a worker is a :class:`SeedOutcome` (plain data), and, from a worker
that does not share this host's disk, its run directory's files, written here under the batch
directory: ``runs/<experiment>/<stamp>/seed-<N>/`` (or ``--out DIR/seed-<N>/``), beside the
batch's own ``results.json`` and ``junit.xml`` (one test case per seed).

The exit code over seeds (:func:`combined_exit_code`): 130 if interrupted; 3 if any seed hit
bad input, 4 if any hit unreachable infrastructure; then with ``expect: valid`` 0 only if every
seed matched, 1 if any found a violation, 2 if none did but some were unknown; with ``expect:
invalid`` 0 as soon as one seed found the violation, else 2 if some were unknown, else 1.
Bad input that is the same for every seed (the file, its system, its models) is found once, in
the parent, before anything fans out.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import __version__, artifacts
from .errors import BadInput, ChaosError, ExitCode, Interrupted, Unreachable
from .executors import Done, Fanout, Workers, open_backend, stop_requested
from .experiment import LoadedExperiment
from .failure_db import FailureDB
from .junit import seeds_junit_xml, write_junit
from .result import Result
from .rundir import RunDir
from .signals import Signals

FORMAT = "asyncchaos-seeds/1"
"""The batch's results.json."""
MAX_SEEDS = 100_000
_SPEC = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
RECORDED_FIRST = 10
"""Seeds from the failure database added in front of those asked for (the most recent)."""
TEXT_FILES = ("results.json", "junit.xml", "report.html", "trace.txt", "replay.json")
"""Files of a shipped run directory that name the directory (rewritten to the local path)."""


def parse_seeds(spec: str, base: int | None = None) -> list[int]:
    """``N``: N seeds from ``base`` (default 1) on; ``A-B``: seeds A to B, both included."""
    match = _SPEC.match(spec)
    if match is None:
        raise _bad(spec, "expected a count of seeds (8) or a range (100-199)")
    first, last = match.groups()
    if last is None:
        count = int(first)
        if count < 1:
            raise _bad(spec, "ask for at least one seed")
        start = 1 if base is None else base
        seeds = range(start, start + count)
    else:
        if int(last) < int(first):
            raise _bad(spec, f"the range ends ({last}) before it starts ({first})")
        seeds = range(int(first), int(last) + 1)
    if len(seeds) > MAX_SEEDS:
        raise _bad(spec, f"{len(seeds):,} seeds; at most {MAX_SEEDS:,} in one command")
    return list(seeds)


def _bad(spec: str, why: str) -> BadInput:
    return BadInput(f"--seeds {spec}: {why}")


# ---------------------------------------------------------------------------- one seed, in a worker


@dataclass(frozen=True)
class SeedTask:
    """One seed to run: the experiment as written (loaded again in the worker, whose
    environment supplies its ``${VAR}`` values) and where its run directory goes."""

    source: str
    raw_text: str
    seed: int
    run_dir: str | None
    """The local run directory; None: a temporary one, whose files come back as data."""
    report: bool
    strict: bool
    label: str


@dataclass
class SeedOutcome:
    """What one seed's run came to, as plain data."""

    seed: int
    exit_code: int
    verdict: str | None = None
    """valid / invalid / unknown; None when the run ended on an error or never ran."""
    operations: int = 0
    first_violation: float | None = None
    """Seconds into the run (its own clock) at which the first operation that could not be
    linearized completed."""
    run_dir: str = ""
    replay: str = ""
    wall_seconds: float = 0.0
    ended: str = ""
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)
    reason: str = ""
    """One line: the counterexample's reason, the error, why it did not run."""
    evidence: str = ""
    """The checks' description (counterexamples), for junit."""
    error_kind: str | None = None
    ran: bool = True
    worker: str = ""
    files: dict[str, bytes] | None = None
    """The run directory's files, from a worker that does not share this disk."""
    origin: str = ""
    """The run directory's path where the worker wrote it."""

    @property
    def matched(self) -> bool:
        return self.exit_code == ExitCode.MATCHED

    @property
    def found(self) -> bool:
        """This seed's run found a violation."""
        return self.verdict == "invalid"

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "matched_expectation": self.matched,
            "operations": self.operations,
            "first_violation_seconds": None if self.first_violation is None else round(self.first_violation, 6),
            "run_dir": self.run_dir,
            "replay": self.replay,
            "wall_seconds": round(self.wall_seconds, 3),
            "ended": self.ended,
            "interrupted": self.interrupted,
            "ran": self.ran,
            "warnings": list(self.warnings),
            "reason": self.reason,
            "error": self.error_kind,
            "worker": self.worker,
        }


def first_violation(result: Result) -> float | None:
    """When the first operation that could not be placed completed, in seconds of the run."""
    times = []
    for check in result.checks:
        counterexample = check.counterexample
        if counterexample is None:
            continue
        failed = set(counterexample.failed)
        for op in counterexample.operations:
            if op.get("id") in failed:
                at = op.get("ret") if op.get("ret") is not None else op.get("call")
                if isinstance(at, int):
                    times.append(at)
    return min(times) / 1e9 if times else None


def outcome_of(result: Result, loaded: LoadedExperiment) -> SeedOutcome:
    """A finished run as plain data (secrets masked in what it quotes)."""
    secrets = loaded.secrets
    reason = result.reason
    for check in result.checks:
        if check.verdict != "valid":
            counterexample = check.counterexample
            reason = reason or (counterexample.reason if counterexample else check.reason) or check.verdict
    evidence = "\n\n".join(check.describe() for check in result.checks if check.verdict != "valid")
    if result.exploration is not None and result.exploration.trace:
        evidence = "\n".join(result.exploration.trace) + ("\n\n" + evidence if evidence else "")
    return SeedOutcome(
        seed=result.seed,
        exit_code=int(result.exit_code),
        verdict=result.verdict,
        operations=result.stats.completed,
        first_violation=first_violation(result),
        run_dir=str(result.run_dir),
        replay=result.replay,
        wall_seconds=result.wall_seconds,
        ended=result.execution.ended,
        interrupted=result.interrupted,
        warnings=[secrets.clean(w) for w in result.warnings],
        reason=secrets.clean(reason),
        evidence=secrets.clean(evidence),
        worker=_worker(),
    )


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_seed(task: SeedTask) -> SeedOutcome:
    """A worker's part: one seed through the whole pipeline. Errors become outcomes (their
    results.json and junit.xml are in the run directory, as for a single run)."""
    from .experiment import loads
    from .pipeline import Pipeline

    if stop_requested():
        return SeedOutcome(
            task.seed,
            int(ExitCode.INTERRUPTED),
            ran=False,
            interrupted=True,
            reason="not run: interrupted",
            error_kind="interrupted",
            worker=_worker(),
        )
    remote = task.run_dir is None
    path = Path(tempfile.mkdtemp(prefix=f"chaos-seed-{task.seed}-")) if remote else Path(str(task.run_dir))
    try:
        started = time.monotonic()
        try:
            loaded = loads(task.raw_text, task.source)
            result = Pipeline(loaded, path, seed=task.seed, report=task.report, strict=task.strict).run_sync()
            outcome = outcome_of(result, loaded)
        except ChaosError as error:
            outcome = SeedOutcome(
                task.seed,
                int(error.exit_code),
                run_dir=str(path),
                wall_seconds=time.monotonic() - started,
                interrupted=isinstance(error, Interrupted),
                reason=f"{error.title}: {error}",
                error_kind=error.kind,
                replay=f"chaos run {path / 'experiment.yaml'} --seed {task.seed}",
                worker=_worker(),
            )
        if remote:
            outcome.origin = str(path)
            outcome.files = {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file()}
        return outcome
    finally:
        if remote:
            shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------- the combined outcome


def combined_exit_code(outcomes: list[SeedOutcome], expect: str, *, interrupted: bool = False) -> ExitCode:
    """One exit code over every seed (see the module's docstring)."""
    codes = {o.exit_code for o in outcomes}
    if interrupted or ExitCode.INTERRUPTED in codes:
        return ExitCode.INTERRUPTED
    for code in (ExitCode.BAD_INPUT, ExitCode.UNREACHABLE):
        if code in codes:
            return code
    if not outcomes:
        return ExitCode.UNKNOWN
    if expect == "invalid":
        if ExitCode.MATCHED in codes:
            return ExitCode.MATCHED
        return ExitCode.UNKNOWN if ExitCode.UNKNOWN in codes else ExitCode.MISMATCH
    if ExitCode.MISMATCH in codes:
        return ExitCode.MISMATCH
    return ExitCode.UNKNOWN if ExitCode.UNKNOWN in codes else ExitCode.MATCHED


@dataclass
class SeedsResult:
    """Every seed's outcome, in the order they were asked for (failure-database seeds first)."""

    experiment: str
    expect: str
    seeds: list[int]
    outcomes: dict[int, SeedOutcome]
    run_dir: Path
    workers: str
    wall_seconds: float = 0.0
    reruns: dict[int, int] = field(default_factory=dict)
    """Seed -> extra runs it took (its worker was lost mid-run)."""
    recorded: list[int] = field(default_factory=list)
    """Seeds from the failure database, run first."""
    failure_db: str | None = None
    interrupted: bool = False

    @property
    def ordered(self) -> list[SeedOutcome]:
        return [self.outcomes[s] for s in self.seeds if s in self.outcomes]

    @property
    def exit_code(self) -> ExitCode:
        return combined_exit_code(self.ordered, self.expect, interrupted=self.interrupted)

    @property
    def matched(self) -> bool:
        return self.exit_code == ExitCode.MATCHED

    @property
    def found(self) -> list[SeedOutcome]:
        """The seeds whose run found a violation."""
        return [o for o in self.ordered if o.found]

    @property
    def first_failing(self) -> SeedOutcome | None:
        """The seed to replay: the first that found a violation, else the first that did not
        match (an error, unknown; an interrupted one tells nothing)."""
        found = self.found
        if found:
            return found[0]
        return next((o for o in self.ordered if not o.matched and o.ran and not o.interrupted), None)

    def counts(self) -> dict[str, int]:
        out = {"valid": 0, "invalid": 0, "unknown": 0, "error": 0, "not run": 0}
        for o in self.ordered:
            key = "not run" if not o.ran else (o.verdict or "error")
            out[key] = out.get(key, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        failing = self.first_failing
        return {
            "format": FORMAT,
            "tool": f"asyncchaos {__version__}",
            "experiment": self.experiment,
            "expect": self.expect,
            "seeds": list(self.seeds),
            "run_dir": str(self.run_dir),
            "workers": self.workers,
            "exit_code": int(self.exit_code),
            "matched_expectation": self.matched,
            "interrupted": self.interrupted,
            "wall_seconds": round(self.wall_seconds, 3),
            "counts": self.counts(),
            "found_by": [o.seed for o in self.found],
            "replay": failing.replay if failing is not None else None,
            "reruns": {str(k): v for k, v in sorted(self.reruns.items())},
            "failure_database": {"path": self.failure_db, "tried_first": list(self.recorded)},
            "outcomes": [o.to_dict() for o in self.ordered],
        }


# ---------------------------------------------------------------------------- the parent


class SeedsRun:
    """Runs ``seeds`` of ``loaded`` on workers and writes the combined artifacts.

    Signals are handled as in a single run: the first stops every seed in an orderly way (what
    is running is checked and written, what is queued never starts), the second is relayed
    too (the workers skip their clean-up), the third exits at once."""

    def __init__(
        self,
        loaded: LoadedExperiment,
        seeds: list[int],
        out: Path | None = None,
        *,
        workers: Workers | None = None,
        junit: Path | None = None,
        report: bool = True,
        strict: bool = False,
        failure_db: bool = True,
        signals: Signals | None = None,
        on_seed: Callable[[SeedOutcome, int, int], None] | None = None,
    ) -> None:
        self.loaded = loaded
        self.name = loaded.experiment.name
        self.requested = list(dict.fromkeys(seeds))
        self.out = out
        self.workers = workers or Workers()
        self.junit = junit
        self.report = report
        self.strict = strict
        self.db = FailureDB.for_run(out, self.name) if failure_db else None
        self.signals = signals or Signals()
        self.on_seed = on_seed
        self.rundir: RunDir | None = None
        self._stops = 0
        self._lock = threading.Lock()

    def order(self) -> tuple[list[int], list[int]]:
        """Seeds in the order they run, and those of them from the failure database (first)."""
        recorded = self.db.seeds()[:RECORDED_FIRST] if self.db is not None else []
        return list(dict.fromkeys([*recorded, *self.requested])), recorded

    def interrupt(self) -> None:
        with self._lock:
            self._stops += 1

    def prepare(self) -> RunDir:
        if self.rundir is None:
            self.rundir = RunDir.create(self.out, self.name)
            (self.rundir.path / "experiment.yaml").write_text(self.loaded.raw_text, encoding="utf-8")
        return self.rundir

    def run_sync(self) -> SeedsResult:
        """Every seed, from the main thread (signals handled throughout)."""
        with self.signals.installed():
            try:
                self.prepare()
                return asyncio.run(self._run())
            except KeyboardInterrupt:
                raise Interrupted("interrupted before the seeds started") from None

    async def _run(self) -> SeedsResult:
        loop = asyncio.get_running_loop()
        with self.signals.on_loop(loop, self.interrupt):
            return await asyncio.to_thread(self._fan_out)

    def _fan_out(self) -> SeedsResult:
        started = time.monotonic()
        rundir = self.prepare()
        order, recorded = self.order()
        try:
            backend = open_backend(self.workers)
        except ChaosError as error:
            artifacts.write_error(self.name, error, self.loaded.secrets, rundir=rundir, junit=self.junit)
            raise
        batch = uuid.uuid4().hex[:12]
        tasks = [
            SeedTask(
                self.loaded.source,
                self.loaded.raw_text,
                seed,
                None if backend.ships_files else str((rundir.path / f"seed-{seed}").resolve()),
                self.report,
                self.strict,
                f"{self.name}/{batch}/seed-{seed}",
            )
            for seed in order
        ]
        by_label = {task.label: task.seed for task in tasks}
        outcomes: dict[int, SeedOutcome] = {}
        with backend:
            fan: Fanout[SeedTask, SeedOutcome] = Fanout(
                backend, run_seed, tasks, label=lambda t: t.label, should_stop=lambda: self._stops
            )
            for done in fan.results():
                outcome = self._outcome(done, rundir)
                outcomes[outcome.seed] = outcome
                if self.on_seed is not None:
                    self.on_seed(outcome, len(outcomes), len(tasks))
            reruns = {by_label[label]: n for label, n in fan.reruns.items() if label in by_label}
            workers = backend.description
        result = SeedsResult(
            experiment=self.name,
            expect=self.loaded.experiment.expect,
            seeds=order,
            outcomes=outcomes,
            run_dir=rundir.path,
            workers=workers,
            wall_seconds=time.monotonic() - started,
            reruns=reruns,
            recorded=recorded,
            failure_db=str(self.db.path) if self.db is not None else None,
            interrupted=self._stops > 0,
        )
        self._write(result, rundir)
        self._remember(result)
        return result

    def _outcome(self, done: Done[SeedTask, SeedOutcome], rundir: RunDir) -> SeedOutcome:
        seed = done.task.seed
        if done.cancelled and not self._stops:  # nobody asked: the cluster dropped it (its scheduler went away)
            error = Unreachable(f"seed {seed}: the cluster cancelled it before it finished")
            return SeedOutcome(
                seed, int(error.exit_code), reason=f"{error.title}: {error}", error_kind=error.kind, ran=False
            )
        if done.cancelled:
            return SeedOutcome(
                seed,
                int(ExitCode.INTERRUPTED),
                ran=False,
                interrupted=True,
                reason="not run: interrupted",
                error_kind="interrupted",
            )
        if done.error is not None:
            error = Unreachable(f"seed {seed}: its worker failed: {type(done.error).__name__}: {done.error}")
            return SeedOutcome(
                seed, int(error.exit_code), reason=f"{error.title}: {error}", error_kind=error.kind, ran=False
            )
        outcome = done.result
        assert outcome is not None
        if outcome.files is not None:
            local = rundir.path / f"seed-{seed}"
            try:
                outcome = _land(outcome, local)
            except OSError as exc:
                error = Unreachable(f"seed {seed}: cannot write its run directory {local}: {exc.strerror or exc}")
                return replace(
                    outcome,
                    files=None,
                    exit_code=int(error.exit_code),
                    verdict=None,
                    reason=f"{error.title}: {error}",
                    error_kind=error.kind,
                )
        return outcome

    def _write(self, result: SeedsResult, rundir: RunDir) -> None:
        secrets = self.loaded.secrets
        try:
            with self.signals.held():
                artifacts.write_results(rundir.results, result.to_dict(), secrets)
                text = seeds_junit_xml(result)
                write_junit(rundir.junit, text, secrets)
                if self.junit is not None:
                    write_junit(self.junit, text, secrets)
        except OSError as exc:
            raise Unreachable(f"cannot write the artifacts in {rundir.path}: {exc.strerror or exc}") from None

    def _remember(self, result: SeedsResult) -> None:
        """Record the seeds that found a violation; forget recorded ones that now pass."""
        if self.db is None:
            return
        for outcome in result.ordered:
            if outcome.found:
                self.db.record_seed(outcome.seed, "invalid", outcome.run_dir)
            elif outcome.verdict == "valid" and outcome.seed in result.recorded:
                self.db.forget_seed(outcome.seed)


def _land(outcome: SeedOutcome, local: Path) -> SeedOutcome:
    """Write a shipped run directory under the local run root, its own path in its files
    replaced by the local one."""
    local.mkdir(parents=True, exist_ok=True)
    origin, here = outcome.origin.encode(), str(local).encode()
    for name, data in (outcome.files or {}).items():
        if "/" in name or name in ("", ".", ".."):
            continue  # a run directory is flat: anything else is not ours to write
        if name in TEXT_FILES and origin:
            data = data.replace(origin, here)
        (local / name).write_bytes(data)
    return replace(
        outcome,
        files=None,
        run_dir=str(local),
        replay=outcome.replay.replace(outcome.origin, str(local)) if outcome.origin else outcome.replay,
    )


__all__ = [
    "SeedOutcome",
    "SeedTask",
    "SeedsResult",
    "SeedsRun",
    "combined_exit_code",
    "first_violation",
    "parse_seeds",
    "run_seed",
]
