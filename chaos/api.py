"""The Python API behind ``import chaos``: run or explore an experiment, check a history.

Everything here is re-exported from the package root; other modules are the framework's
internals.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import BadInput

if TYPE_CHECKING:
    from .checker import CheckResult
    from .experiment import Experiment, LoadedExperiment
    from .history import Operation
    from .models import Model
    from .pipeline import Pipeline
    from .result import Result


def load(experiment: str | Path | Experiment | LoadedExperiment, *, mode: str | None = None) -> LoadedExperiment:
    """An experiment from a file, a validated :class:`~chaos.experiment.Experiment` object or a
    loaded one, checked as ``chaos validate`` checks it (schema, then preflight)."""
    import yaml

    from .experiment import Experiment, LoadedExperiment
    from .experiment import load as load_file
    from .experiment import loads as load_text
    from .preflight import preflight

    if isinstance(experiment, LoadedExperiment):
        loaded = experiment
    elif isinstance(experiment, Experiment):
        text = yaml.safe_dump(experiment.model_dump(mode="json", exclude_defaults=True), sort_keys=False)
        loaded = load_text(text, f"<{experiment.name}>")
    elif isinstance(experiment, str | Path):
        loaded = load_file(experiment)
    else:
        raise BadInput(f"an experiment is a file path or an Experiment, not a {type(experiment).__name__}")
    if mode is not None and loaded.experiment.mode != mode:
        text = yaml.safe_dump({**yaml.safe_load(loaded.raw_text), "mode": mode}, sort_keys=False)
        loaded = load_text(text, loaded.source)
    preflight(loaded)
    return loaded


def run(
    experiment: str | Path | Experiment | LoadedExperiment,
    *,
    out: str | Path | None = None,
    seed: int | None = None,
    junit: str | Path | None = None,
    report: bool = True,
    strict: bool = False,
) -> Result:
    """Run an experiment (or explore it, when it says ``mode: explore``) through every stage
    and return its :class:`~chaos.result.Result`; the run directory holds the history and the
    artifacts. Raises a :class:`~chaos.errors.ChaosError` for bad input, a bug in the system's
    own code or an unreachable store. From async code, ``await chaos.run_async(...)``.

    >>> result = chaos.run("experiments/register-memory.yaml", seed=7)   # doctest: +SKIP
    >>> result.verdict, result.exit_code
    ('valid', <ExitCode.MATCHED: 0>)
    """
    return _pipeline(load(experiment), out, seed, junit, report, strict).run_sync()


async def run_async(
    experiment: str | Path | Experiment | LoadedExperiment,
    *,
    out: str | Path | None = None,
    seed: int | None = None,
    junit: str | Path | None = None,
    report: bool = True,
    strict: bool = False,
) -> Result:
    """:func:`run`, from a running event loop."""
    loaded = await asyncio.to_thread(load, experiment)
    return await _pipeline(loaded, out, seed, junit, report, strict).run()


def explore(
    experiment: str | Path | Experiment | LoadedExperiment,
    *,
    out: str | Path | None = None,
    seed: int | None = None,
    report: bool = True,
) -> Result:
    """Explore an experiment with the controlled scheduler (its ``explore:`` settings), as if it
    said ``mode: explore``; in-memory stores only."""
    return _pipeline(load(experiment, mode="explore"), out, seed, None, report, False).run_sync()


def _pipeline(loaded: LoadedExperiment, out: Any, seed: int | None, junit: Any, report: bool, strict: bool) -> Pipeline:
    from .pipeline import Pipeline

    return Pipeline(
        loaded,
        Path(out) if out is not None else None,
        seed=seed,
        junit=Path(junit) if junit is not None else None,
        report=report,
        strict=strict,
    )


def check(
    history: str | Path | list[Operation],
    model: str | Model,
    *,
    time_limit: float | None = None,
    memory_limit: int | None = None,
) -> CheckResult:
    """Check a history (a JSONL or EDN file, or operations) against a model (a built-in name,
    ``module:attr``, or a :class:`~chaos.models.Model`).

    >>> chaos.check("runs/register-memory/20260101T000000/history.jsonl", "cas-register").verdict  # doctest: +SKIP
    'valid'
    """
    from .checker import check as run_check

    operations = load_history(history) if isinstance(history, str | Path) else history
    return run_check(operations, model, time_limit=time_limit, memory_limit=memory_limit)


def load_history(path: str | Path, fmt: str | None = None) -> list[Operation]:
    """The operations of a history file: ours (JSON Lines) or Jepsen's (EDN), by ``fmt`` or,
    when omitted, by the file's extension."""
    from .checker import load_history as load_file

    chosen: Literal["jsonl", "edn"] = "edn" if (fmt or Path(path).suffix.lstrip(".")) == "edn" else "jsonl"
    _, operations = load_file(Path(path), chosen)
    return operations


__all__ = ["check", "explore", "load", "load_history", "run", "run_async"]
