"""The pipeline: an experiment through every stage, in one direction.

::

    Experiment -> execute (Runner, or the explorer) -> Execution -> analyse -> Result -> artifacts

Each stage hands the next plain data and never calls back; this module is the only one that
knows them all. It also owns what spans the stages: the seed, the run directory, signals (a
Ctrl-C at any moment ends in exit 130 with every artifact there is time for) and errors (a
:class:`~chaos.errors.ChaosError` from any stage still leaves results.json and junit.xml).

``chaos run``, the pytest plugin and :func:`chaos.run` all go through :class:`Pipeline`.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import artifacts
from .analysis import analyse, interrupted
from .errors import ChaosError, ExitCode, Interrupted, Unreachable
from .execution import Execution
from .executors import Workers
from .experiment import LoadedExperiment
from .failure_db import FailureDB
from .preflight import preflight
from .result import Result
from .rundir import RunDir
from .signals import Signals
from .stats import Stats


class Pipeline:
    """One experiment, run or explored, checked and written down.

    ``await pipeline.run()`` from async code, or :meth:`run_sync`. Stage objects stay
    reachable for tests and embedders (:attr:`runner`, :attr:`faults`, :attr:`stats`)."""

    def __init__(
        self,
        loaded: LoadedExperiment,
        out: Path | None = None,
        *,
        seed: int | None = None,
        junit: Path | None = None,
        report: bool = True,
        strict: bool = False,
        on_progress: Callable[[Stats], None] | None = None,
        signals: Signals | None = None,
        workers: Workers | None = None,
        failure_db: FailureDB | None = None,
    ) -> None:
        self.loaded = loaded
        self.experiment = loaded.experiment
        self.out = out
        chosen = seed if seed is not None else self.experiment.seed
        self.seed = chosen if chosen is not None else random.SystemRandom().randrange(2**31)
        self.junit = junit
        self.report = report
        self.strict = strict
        self.on_progress = on_progress
        self.rundir: RunDir | None = None
        self.stats = Stats(planned_ops=self.experiment.operations, planned_seconds=self.experiment.duration)
        """The run's live counters (an exploration keeps its own, over all executions)."""
        self.runner: Any = None
        """The :class:`~chaos.runner.Runner` of a run, once it exists."""
        self.signals = signals or Signals()
        """SIGINT/SIGTERM handling: the first stops the run, the second skips the rest of the
        clean-up, the third exits at once."""
        self._signals_before = self.signals.count
        self._interrupted = threading.Event()
        """Set by the first signal; the explorer polls it from its thread."""
        self.workers = workers
        """Where an exhaustive exploration's levels may fan out (see :mod:`chaos.executors`)."""
        self.failure_db = failure_db
        """Failing plans to try first, and where to record new ones (explorations)."""

    # ---------------------------------------------------------------- what tests look at

    @property
    def faults(self) -> Any:
        return None if self.runner is None else self.runner.faults

    @property
    def interrupted(self) -> bool:
        return self._interrupted.is_set()

    # ---------------------------------------------------------------- stages

    def prepare(self) -> RunDir:
        """Preflight (everything knowable without a store), then the run directory with the
        experiment as written and the seed."""
        if self.rundir is None:
            preflight(self.loaded)
            rundir = RunDir.create(self.out, self.experiment.name)
            rundir.write_experiment(self.loaded.raw_text, self.seed)
            self.rundir = rundir
        return self.rundir

    async def execute(self) -> Execution:
        """Run or explore the experiment (the asynchronous part), signals handled on the loop."""
        rundir = self.prepare()
        with self.signals.installed(), self.signals.on_loop(asyncio.get_running_loop(), self.interrupt):
            try:
                return await self._execute(rundir)
            except ChaosError as error:
                self._write_error(error)
                raise

    async def _execute(self, rundir: RunDir) -> Execution:
        if self.experiment.mode == "explore":
            from .exploration import explore

            stop = self._interrupted.is_set
            return await asyncio.to_thread(
                explore,
                self.loaded,
                rundir,
                self.seed,
                should_stop=stop,
                workers=self.workers,
                failure_db=self.failure_db,
            )
        from .runner import Runner

        runner = self.runner = Runner(self.loaded, rundir, self.seed, stats=self.stats, on_progress=self.on_progress)
        if self.interrupted:
            runner.interrupt()
        return await runner.run()

    def finish(self, execution: Execution) -> Result:
        """Check the execution and write every artifact (synchronous: a signal here is a
        ``KeyboardInterrupt``, which the checker turns into ``unknown``)."""
        try:
            result = analyse(execution, self.loaded, strict=self.strict)
        except KeyboardInterrupt:  # while reading the history back: no verdict, every artifact still
            result = interrupted(execution, self.loaded)
        except ChaosError as error:  # a user's model raised: still leave results and junit
            self._write_error(error)
            raise
        if self.signals.count > self._signals_before and not result.interrupted:
            # the signal came as the execution ended, before the loop could act on it
            result.signalled, result.exit_code = True, ExitCode.INTERRUPTED
        try:
            artifacts.write(
                result,
                self.loaded.secrets,
                raw_text=self.loaded.raw_text,
                junit=self.junit,
                report=self.report,
                hold=self.signals.held,
            )
        except OSError as exc:
            unwritable = Unreachable(f"cannot write the artifacts in {result.run_dir}: {exc.strerror or exc}")
            self._write_error(unwritable)
            raise unwritable from None
        return result

    async def run(self) -> Result:
        """Every stage, from async code."""
        return self.finish(await self.execute())

    def run_sync(self) -> Result:
        """Every stage, on a fresh event loop; SIGINT and SIGTERM are handled throughout (the
        first is an orderly stop, see :attr:`signals`). Must be called from the main thread
        for signals to reach it; elsewhere it runs without them."""
        with self.signals.installed():
            try:
                execution = asyncio.run(self.execute())
            except KeyboardInterrupt:  # before the run directory and the loop were ready
                self._interrupted.set()
                raise Interrupted("interrupted before the run started") from None
            return self.finish(execution)

    # ---------------------------------------------------------------- interruption

    def interrupt(self) -> None:
        """Ctrl-C, SIGTERM: stop now and keep what was recorded (a second call skips the rest
        of the run's clean-up)."""
        self._interrupted.set()
        if self.runner is not None:
            self.runner.interrupt()

    def _write_error(self, error: ChaosError) -> None:
        """Mask secrets in ``error`` (the system's own messages may quote one) before it goes
        anywhere, and leave results.json and junit.xml saying what stopped the run."""
        error.args = (self.loaded.secrets.clean(str(error)),)
        artifacts.write_error(
            self.experiment.name, error, self.loaded.secrets, rundir=self.rundir, seed=self.seed, junit=self.junit
        )


def replay(path: Path, out: Path | None = None, *, report: bool = True) -> Result:
    """Re-execute an exploration's replay file exactly, check it and write its artifacts
    (``chaos replay``); raises :class:`~chaos.exploration.ReplayDiverged` when it does not fit."""
    from .exploration import replay_execution

    loaded, execution = replay_execution(path, out)
    result = analyse(execution, loaded)
    artifacts.write(result, loaded.secrets, raw_text=loaded.raw_text, report=report)
    return result


async def run_experiment(
    loaded: LoadedExperiment,
    out: Path | None = None,
    *,
    seed: int | None = None,
    report: bool = True,
    junit: Path | None = None,
    strict: bool = False,
) -> Result:
    """Run (or explore) ``loaded`` through every stage, from async code."""
    return await Pipeline(loaded, out, seed=seed, report=report, junit=junit, strict=strict).run()


__all__ = ["Pipeline", "replay", "run_experiment"]
