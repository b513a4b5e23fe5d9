"""The explore stage of the pipeline: an exploration (or a replay) in, an Execution record out.

Like the runner, it writes the run directory's history (here: the shrunk failing execution's,
or none when nothing failed), plus ``replay.json`` and ``trace.txt`` for a violation, and hands
on an :class:`~chaos.execution.Execution`; checking, verdicts and artifacts come after it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .. import encoding
from ..execution import Ended, Execution
from ..executors import Workers
from ..experiment import LoadedExperiment
from ..failure_db import FailureDB
from ..rundir import RunDir
from ..stats import Stats
from .explorer import Exploration, Explorer
from .recorded import Tried, try_recorded
from .replay import load_replay, replay, replay_document, trace_lines, write_history
from .shrink import shrink
from .strategies import ReplayDiverged

if TYPE_CHECKING:
    from .parallel import LevelSearch, SampleSearch


def explore(
    loaded: LoadedExperiment,
    rundir: RunDir,
    seed: int,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    progress: Callable[[Exploration], None] | None = None,
    workers: Workers | None = None,
    failure_db: FailureDB | None = None,
) -> Execution:
    """Explore ``loaded`` (``mode: explore``), shrink what it finds, write the history, the
    replay file and the trace. A bug in the system's own code stops it: the failing
    execution's history is written, then the :class:`~chaos.system.SystemCodeError` raised.

    ``workers``: an exhaustive exploration's levels fan out to them (see :mod:`.parallel`);
    the result is the same as in this process. ``failure_db``: its recorded plans are tried
    first, and what fails now is recorded."""
    experiment = loaded.experiment
    started = time.monotonic()
    explorer = Explorer(experiment, seed)
    explorer.should_stop = should_stop
    explorer.stats.start()
    tried = try_recorded(explorer, failure_db.plans()) if failure_db is not None else Tried()
    exploration = _search(explorer, tried, workers, progress, experiment.name)
    if exploration.failure is not None:
        execution, bug = exploration.failure
        write_history(rundir.history, execution.events)
        raise bug
    best = exploration.found
    if best is not None and experiment.explore.shrink and not exploration.interrupted:
        best, exploration.shrink_steps = shrink(explorer, best)
        exploration.shrunk = best
    explorer.stats.finish()
    write_history(rundir.history, best.execution.events if best is not None else [])
    if best is not None:
        exploration.trace = trace_lines(best.execution)
        document = replay_document(loaded.raw_text, seed, best)
        (rundir.path / "replay.json").write_bytes(encoding.dumps(document, indent=2))
        (rundir.path / "trace.txt").write_text("\n".join(exploration.trace) + "\n", encoding="utf-8")
    if failure_db is not None:
        for plan in tried.passing:
            failure_db.forget_plan(plan)
        if best is not None:
            failure_db.record_plan(document["plan"], document["decisions"], str(rundir.path))
    ended: Ended
    if exploration.interrupted:
        ended = "interrupted"
    elif best is not None:
        ended = "violation"
    else:
        ended = "explored" if exploration.exhausted else "limit"
    return Execution(
        experiment=experiment,
        mode="explore",
        seed=seed,
        run_dir=rundir.path,
        stats=explorer.stats,
        ended=ended,
        wall_seconds=time.monotonic() - started,
        unexpected_errors=dict(sorted(explorer.unexpected.items())),
        deterministic=True,
        exploration=exploration,
    )


def _search(
    explorer: Explorer,
    tried: Tried,
    workers: Workers | None,
    progress: Callable[[Exploration], None] | None,
    name: str,
) -> Exploration:
    """The search itself: with a recorded plan that still fails, only the levels below it
    (exhaustive) or nothing more (sampling); levels, or sampled executions, fanned out to
    ``workers`` when given."""
    exhaustive = explorer.spec.strategy == "exhaustive"
    up_to = None
    if tried.found is not None:
        if not exhaustive:
            exploration = Exploration(explorer.spec.strategy, found=tried.found)
            exploration.recorded, exploration.recorded_found = tried.count, True
            return exploration
        up_to = tried.found.execution.plan.operations - 1
    with contextlib.ExitStack() as stack:
        search_level: LevelSearch | None = None
        sample: SampleSearch | None = None
        if workers is not None and workers.parallel:
            from .parallel import LevelSearch, SampleSearch

            if exhaustive:
                search_level = stack.enter_context(LevelSearch(explorer, workers, name=name))
            else:
                sample = stack.enter_context(SampleSearch(explorer, workers, name=name))
        exploration = explorer.explore(progress, up_to=up_to, search_level=search_level, sample=sample)
        fanned = search_level or sample
        if fanned is not None:
            exploration.workers = fanned.description
    exploration.recorded = tried.count
    if tried.found is not None and exploration.found is None and not exploration.stopped:
        exploration.found, exploration.recorded_found = tried.found, True
    return exploration


def replay_execution(path: Path, out: Path | None) -> tuple[LoadedExperiment, Execution]:
    """Re-execute a replay file exactly into a new run directory (raises
    :class:`~chaos.exploration.strategies.ReplayDiverged` when it does not fit)."""
    loaded, plan, decisions, seed, trace = load_replay(path)
    started = time.monotonic()
    try:
        execution = replay(loaded, plan, decisions, seed, trace)
    except ReplayDiverged as exc:  # name the file that does not fit
        raise ReplayDiverged(f"{path}: {exc}") from None
    rundir = RunDir.create(out, f"{loaded.experiment.name}-replay")
    rundir.write_experiment(loaded.raw_text, seed)
    write_history(rundir.history, execution.events)
    lines = trace_lines(execution)
    (rundir.path / "trace.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if Path(path).resolve() != (rundir.path / "replay.json").resolve():
        (rundir.path / "replay.json").write_bytes(Path(path).read_bytes())  # what ran, beside what it wrote
    stats = Stats()
    for event in execution.events:
        if event["process"] != "nemesis" and event["type"] != "invoke":
            stats.record(event["f"], event["type"], 0)
    exploration = Exploration("replay", executions=1, plans=1, trace=lines)
    record = Execution(
        experiment=loaded.experiment,
        mode="explore",
        seed=seed,
        run_dir=rundir.path,
        stats=stats,
        ended="explored",
        wall_seconds=time.monotonic() - started,
        deterministic=True,
        exploration=exploration,
    )
    return loaded, record


__all__ = ["explore", "replay_execution"]
