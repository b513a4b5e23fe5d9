"""The ``chaos`` command line: thin, every command a few calls into the library.

Exit codes (DESIGN.md): ``run`` 0 the outcome matched the experiment's expectation, 1 it did
not, 2 unknown, 3 bad input, 4 infrastructure unreachable, 130 interrupted; ``check`` 0 valid,
1 invalid, 2 unknown, 3 bad input.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from rich.console import Console

from . import __version__
from .experiment import ExperimentError, load
from .history import HistoryError

BAD_INPUT = 3
UNREACHABLE = 4

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


def _fail(message: str, code: int) -> None:
    errors.print(message, markup=False)
    sys.exit(code)


@click.group()
@click.version_option(__version__, prog_name="chaos")
def main() -> None:
    """Asyncio chaos testing: run experiments, check histories."""


@main.command()
@click.argument("experiment", type=click.Path(dir_okay=False, path_type=Path))
def validate(experiment: Path) -> None:
    """Check an experiment file without running it."""
    try:
        loaded = load(experiment)
    except ExperimentError as exc:
        _fail(str(exc), BAD_INPUT)
    console.print(f"{experiment}: ok ({loaded.experiment.name})")


@main.command()
@click.argument("experiment", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Run directory to write.")
@click.option("--seed", type=int, help="Override the experiment's seed.")
def run(experiment: Path, out: Path | None, seed: int | None) -> None:
    """Run an experiment, check its history and exit with the verdict."""
    from .runner import InfrastructureError, Runner
    from .summary import print_run
    from .system import SystemLoadError

    try:
        loaded = load(experiment)
    except ExperimentError as exc:
        _fail(str(exc), BAD_INPUT)
    runner = Runner(loaded, out, seed=seed)
    console.print(f"running {loaded.experiment.name} with seed {runner.seed}")
    try:
        result = asyncio.run(runner.run())
    except InfrastructureError as exc:
        _fail(f"error: {exc}", UNREACHABLE)
    except SystemLoadError as exc:
        _fail(f"error: {exc}", BAD_INPUT)
    print_run(console, result)
    sys.exit(result.exit_code)


@main.command(name="check")
@click.argument("history", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", required=True, help="Model name, e.g. cas-register, kv, register, profile.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "edn"]), default="jsonl", show_default=True)
@click.option("--time-limit", type=float, help="Seconds before the verdict is unknown.")
def check_command(history: Path, model: str, fmt: str, time_limit: float | None) -> None:
    """Re-check a stored history (ours, or a Jepsen EDN history)."""
    from .checker import check, load_history
    from .models import get_model
    from .summary import print_checks

    try:
        chosen = get_model(model)
    except (KeyError, ValueError) as exc:
        _fail(f"error: {exc.args[0] if exc.args else exc}", BAD_INPUT)
    try:
        _, operations = load_history(history, fmt)
    except (OSError, HistoryError) as exc:
        _fail(f"error: {exc}", BAD_INPUT)
    try:
        result = check(operations, chosen, time_limit=time_limit)
    except ValueError as exc:
        _fail(f"error: {exc}", BAD_INPUT)
    print_checks(console, [result])
    sys.exit({"valid": 0, "invalid": 1}.get(result.verdict, 2))
