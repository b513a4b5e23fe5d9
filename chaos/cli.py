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
from .experiment import ExperimentError, LoadedExperiment, load
from .history import HistoryError
from .systems.profile import DESIGN_NAMES

BAD_INPUT = 3
UNREACHABLE = 4

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)
"""soft_wrap: an error is one line however narrow the terminal (or a CI log) is, so that it
stays greppable and never splits a host:port or a path."""


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
@click.option(
    "--junit",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the JUnit XML here (it is always written into the run directory).",
)
@click.option("--report/--no-report", default=True, show_default=True, help="Write report.html into the run directory.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Live progress bar. Default: on a terminal; plain lines every few seconds otherwise.",
)
def run(
    experiment: Path, out: Path | None, seed: int | None, junit: Path | None, report: bool, progress: bool | None
) -> None:
    """Run an experiment, check its history and exit with the verdict."""
    from .junit import error_xml, write_junit
    from .progress import RunProgress
    from .rundir import RunDirError
    from .runner import InfrastructureError, Runner
    from .summary import print_run
    from .system import SystemLoadError

    try:
        loaded = load(experiment)
    except ExperimentError as exc:
        if junit is not None:
            write_junit(junit, error_xml(experiment.stem, str(exc), kind="bad-input"))
        _fail(str(exc), BAD_INPUT)
    name = loaded.experiment.name
    if loaded.experiment.mode == "explore":
        _explore(loaded, out, seed, junit)
    runner = Runner(loaded, out, seed=seed, report=report, junit=junit)
    console.print(f"running {name} with seed {runner.seed}")
    try:
        with RunProgress(console, name, live=progress) as shown:
            runner.on_progress = shown.update
            result = asyncio.run(runner.run())
    except (InfrastructureError, SystemLoadError, RunDirError) as exc:
        code = UNREACHABLE if isinstance(exc, InfrastructureError) else BAD_INPUT
        message = loaded.secrets.clean(f"error: {exc}")  # the system's own messages may quote a secret
        text = error_xml(name, message, kind="infrastructure" if code == UNREACHABLE else "bad-input")
        for path in (runner.rundir.junit if runner.rundir else None, junit):
            if path is not None:
                write_junit(path, text, loaded.secrets)
        _fail(message, code)
    print_run(console, result)
    sys.exit(result.exit_code)


def _explore(loaded: LoadedExperiment, out: Path | None, seed: int | None, junit: Path | None) -> None:
    from .explore import run_exploration
    from .rundir import RunDirError
    from .summary import print_exploration
    from .system import SystemLoadError

    console.print(f"exploring {loaded.experiment.name} ({loaded.experiment.explore.strategy})")
    try:
        result = run_exploration(loaded, out, seed, junit)
    except (SystemLoadError, RunDirError) as exc:
        _fail(loaded.secrets.clean(f"error: {exc}"), BAD_INPUT)
    print_exploration(console, result)
    sys.exit(result.exit_code)


@main.command()
@click.argument("replay_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Run directory to write.")
def replay(replay_file: Path, out: Path | None) -> None:
    """Re-execute a replay file from an exploration exactly; exit 1 if it shows a violation."""
    from .explore import replay_file as run_replay
    from .explore import trace_lines
    from .rundir import RunDirError
    from .summary import print_checks

    try:
        execution, result, run_dir = run_replay(replay_file, out)
    except (OSError, HistoryError, ExperimentError, RunDirError) as exc:
        _fail(f"error: {exc}", BAD_INPUT)
    console.print("\n".join(trace_lines(execution)), markup=False)
    print_checks(console, [result])
    console.print(f"history: {run_dir / 'history.jsonl'}")
    sys.exit({"valid": 0, "invalid": 1}.get(result.verdict, 2))


@main.group()
def serve() -> None:
    """Run a built-in system as a standalone service, for experiments to drive from outside."""


@serve.command(name="profile")
@click.option("--design", type=click.Choice(DESIGN_NAMES), default="working", show_default=True)
@click.option("--db", "dsn", required=True, envvar="CHAOS_PG_DSN", help="PostgreSQL DSN (or CHAOS_PG_DSN).")
@click.option("--blobs", "endpoint", envvar="CHAOS_S3_ENDPOINT", help="S3 endpoint URL (omit for AWS).")
@click.option("--bucket", envvar="CHAOS_S3_BUCKET", default="chaos", show_default=True)
@click.option("--region", default="us-east-1", show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--servers", default=1, show_default=True, type=click.IntRange(1, 1024),
              help="Instances of the design, each taking one request at a time.")
@click.option("--time-scale", default=1.0, show_default=True, type=float, help="System seconds per wall second.")
@click.option("--namespace", default="profile-service", show_default=True, help="Table and key prefix of the data.")
@click.option("--keep/--no-keep", default=True, show_default=True, help="Keep the data when the service stops.")
def serve_profile(
    design: str, dsn: str, endpoint: str | None, bucket: str, region: str, host: str, port: int, servers: int,
    time_scale: float, namespace: str, keep: bool,
) -> None:
    """The seed's profile store over HTTP: PUT/GET /profiles/{user} on PostgreSQL and S3."""
    from adapters import AdapterError

    from .clock import ScaledClock
    from .secrets import redact_urls
    from .system import SystemCodeError
    from .systems.profile.service import serve as run_service

    blobs: dict[str, object] = {"bucket": bucket, "region": region}
    if endpoint:
        blobs["endpoint_url"] = endpoint

    def ready(bound: int) -> None:
        console.print(f"profile service ({design}, {servers} server(s)) on http://{host}:{bound}")

    try:
        asyncio.run(run_service(design, {"dsn": dsn}, blobs, host=host, port=port, servers=servers,
                                clock=ScaledClock(time_scale), namespace=namespace, keep=keep, ready=ready))
    except KeyboardInterrupt:
        pass
    except (AdapterError, OSError) as exc:
        _fail(f"error: {redact_urls(str(exc))}", UNREACHABLE)
    except SystemCodeError as exc:  # a design's actor failed: the service does not go on without it
        _fail(f"error: {redact_urls(str(exc))}", BAD_INPUT)


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of RUN_DIR/report.html."
)
def report(run_dir: Path, out: Path | None) -> None:
    """Regenerate report.html from a stored run (history.jsonl, results.json, experiment.yaml)."""
    from .report import report_from_run_dir

    try:
        path = report_from_run_dir(run_dir, out)
    except (OSError, HistoryError, ValueError) as exc:
        _fail(f"error: {exc}", BAD_INPUT)
    console.print(f"report: {path}")


@main.command(name="check")
@click.argument("history", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", required=True,
              help="Model name (cas-register, kv, register, profile...) or a user model as module:attribute.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "edn", "jepsen-log"]), default=None,
              help="History format; by default detected from the file name, then its first bytes.")
@click.option("--init", "init_json", metavar="JSON",
              help='Initial state as JSON: 0 for a cas-register, {"x": 0, "y": 0} for a multi-register; '
                   "for a keyed model an object maps keys to initial values.")
@click.option("--independent", is_flag=True,
              help="Jepsen independent histories: split every [key value] value into a key and a value.")
@click.option("--time-limit", type=float, help="Seconds before the verdict is unknown (default 600).")
@click.option("--memory-limit", metavar="SIZE",
              help="Memory the check may use, e.g. 2GiB (default: half the RAM, at most 8 GiB).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write an HTML report of the history and the verdict to this file.")
def check_command(history: Path, model: str, fmt: str | None, init_json: str | None, independent: bool,
                  time_limit: float | None, memory_limit: str | None, report_path: Path | None) -> None:
    """Re-check a stored history (ours, or a Jepsen/Knossos/Porcupine history) against a model."""
    import json

    from .checker import check, load_history
    from .checker.budget import parse_size
    from .errors import BadInput
    from .models import get_model
    from .summary import print_checks

    try:
        chosen = get_model(model)
        limit = parse_size(memory_limit, "--memory-limit") if memory_limit is not None else None
        extra = {}
        if init_json is not None:
            try:
                extra["init"] = json.loads(init_json)
            except ValueError as exc:
                raise BadInput(
                    f"--init {init_json!r} is not JSON ({exc}); e.g. --init 0 or --init '{{\"x\": 0}}'"
                ) from None
        events, operations = load_history(history, fmt, independent=independent)
        result = check(operations, chosen, time_limit=time_limit, memory_limit=limit, **extra)
    except BadInput as exc:
        _fail(f"error: {exc}", BAD_INPUT)
    except (KeyError, ValueError) as exc:  # an unknown model name predating BadInput
        _fail(f"error: {exc.args[0] if exc.args else exc}", BAD_INPUT)
    print_checks(console, [result])
    if report_path is not None:
        from .report import ReportMeta, write_report

        meta = ReportMeta(title=history.name, source=str(history))
        console.print(f"report: {write_report(report_path, events, [result.to_dict()], meta, operations=operations)}")
    sys.exit({"valid": 0, "invalid": 1}.get(result.verdict, 2))
