"""The ``chaos`` command line: thin, every command a few calls into the library.

Exit codes are chaos/errors.py's table, the same in every command: 0 matched (``check``:
valid), 1 did not, 2 unknown, 3 bad input (a usage error included: click's own code 2 would
read as "unknown" to a CI job), 4 infrastructure unreachable, 130 interrupted. Every error is
one line (an experiment's problem list excepted), never a traceback.

Start-up is kept light: the heavy parts (pydantic, rich, the adapters) are imported by the
commands that need them.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import COMMAND, __version__
from .errors import BadInput, ChaosError, ExitCode, Interrupted, verdict_exit_code
from .signals import COMMAND as SIGNALS

if COMMAND:  # from here on the command's own handler, holding until the command runs
    SIGNALS.install()
    SIGNALS.hold()
from .systems.profile import DESIGN_NAMES

if TYPE_CHECKING:
    from .experiment import LoadedExperiment
    from .terminal import SafeConsole


def _console(stderr: bool = False) -> SafeConsole:
    from .terminal import safe_console

    return safe_console(stderr)


def _error(message: str) -> None:
    from .terminal import printable

    click.echo(printable(message), err=True)


class _Chaos(click.Group):
    """The command group, with the project's exit codes instead of click's."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        with SIGNALS.installed():
            try:
                if SIGNALS.holding:
                    SIGNALS.release()  # a signal during start-up ends the command here
                code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            except click.exceptions.NoArgsIsHelpError as exc:
                exc.show()
                code = ExitCode.BAD_INPUT
            except click.UsageError as exc:  # usage line and the problem, exit 3
                if exc.ctx is None:  # click's parser raises some without one, and shows no usage
                    exc.ctx = self._usage_context(args, prog_name)
                exc.show()
                code = ExitCode.BAD_INPUT
            except click.ClickException as exc:
                exc.show()
                code = ExitCode.BAD_INPUT
            except (click.Abort, KeyboardInterrupt, Interrupted):
                _error("interrupted")
                code = ExitCode.INTERRUPTED
            except ChaosError as exc:
                _error(exc.render())
                code = exc.exit_code
        if COMMAND:  # every file is written and closed: end here, before the interpreter's own
            # teardown, where a last signal would find its default handler again and kill the
            # process without an exit code of ours
            seen = SIGNALS.ending()
            sys.stdout.flush()
            sys.stderr.flush()
            if (SIGNALS.count > seen or SIGNALS.owed) and code != ExitCode.INTERRUPTED:  # interrupted all the same
                _error("interrupted")
                code = ExitCode.INTERRUPTED
            os._exit(int(code or 0))
        sys.exit(int(code or 0))

    def _usage_context(self, args: Any, prog_name: str | None) -> click.Context:
        """A context for the command the arguments name (not parsed: they are what is wrong),
        so that its usage line is shown."""
        detect = getattr(click.utils, "_detect_program_name", lambda: "chaos")
        ctx = click.Context(self, info_name=prog_name or detect())
        command: click.Command = self
        for word in sys.argv[1:] if args is None else list(args):
            if not isinstance(command, click.Group):
                break
            found = None if word.startswith("-") else command.get_command(ctx, word)
            if found is not None:
                ctx, command = click.Context(found, info_name=word, parent=ctx), found
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # before click turns it into Abort and a blank line
            raise Interrupted("interrupted") from None


class _Path(click.Path):
    """A path that is not empty: ``--out "$OUT"`` with ``OUT`` unset would otherwise mean the
    working directory, and a run would replace the files of that name there."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("an empty path (is the variable that should give it unset?)", param, ctx)
        return super().convert(value, param, ctx)


class _Seconds(click.ParamType[float]):
    """A positive, finite number of seconds."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or seconds <= 0:
            self.fail(f"{value!r} is not a positive, finite number of seconds", param, ctx)
        return seconds


@click.group(cls=_Chaos)
@click.version_option(__version__, prog_name="chaos")
def main() -> None:
    """Asyncio chaos testing: run experiments, check histories."""


def _load(path: Path) -> LoadedExperiment:
    """The experiment, validated. Signals wait until it is loaded: the imports it takes (the
    schema, the user's system module) may run code that turns a ``KeyboardInterrupt`` into an
    error of its own (pydantic does), which would end the command with a traceback."""
    with SIGNALS.held():
        from .experiment import load
        from .preflight import preflight

        loaded = load(path)
        preflight(loaded)
    return loaded


@main.command()
@click.argument("experiment", type=_Path(dir_okay=False, path_type=Path))
def validate(experiment: Path) -> int:
    """Check an experiment file without running it: the schema, and everything knowable
    without a store (the system's module and methods, models, adapters and their settings)."""
    loaded = _load(experiment)
    click.echo(f"{experiment}: ok ({loaded.experiment.name})")
    return ExitCode.MATCHED


@main.command()
@click.argument("experiment", type=_Path(dir_okay=False, path_type=Path))
@click.option("--out", type=_Path(file_okay=False, path_type=Path), help="Run directory to write.")
@click.option("--seed", type=int, help="Override the experiment's seed.")
@click.option(
    "--junit",
    type=_Path(dir_okay=False, path_type=Path),
    help="Also write the JUnit XML here (it is always written into the run directory).",
)
@click.option("--report/--no-report", default=True, show_default=True, help="Write report.html into the run directory.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Live progress bar. Default: on a terminal; plain lines every few seconds otherwise.",
)
@click.option("--strict", is_flag=True, help="A run that could not have found anything is unknown (exit 2).")
@click.option(
    "--seeds",
    "seeds_spec",
    metavar="N|A-B",
    help="Run N seeds (from --seed, else the experiment's seed, else 1) or seeds A to B, each a whole run, "
    "in parallel; one summary, one junit.xml with a test case per seed, one exit code over all seeds.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    help="Worker processes for --seeds and for exhaustive explorations (default: one per core).",
)
@click.option(
    "--cluster",
    metavar="tcp://HOST:8786",
    help="Run seeds and exploration shards on this Dask scheduler (pip install 'asyncchaos[dask]').",
)
@click.option(
    "--failure-db/--no-failure-db",
    default=True,
    show_default=True,
    help="Try the seeds and exploration plans that failed before first, and record new ones "
    "(runs/<experiment>/failures.json, or in --out).",
)
def run(
    experiment: Path,
    out: Path | None,
    seed: int | None,
    junit: Path | None,
    report: bool,
    progress: bool | None,
    strict: bool,
    seeds_spec: str | None,
    jobs: int | None,
    cluster: str | None,
    failure_db: bool,
) -> int:
    """Run (or explore) an experiment, check its history and exit with the outcome."""
    from .artifacts import write_error
    from .executors import Workers
    from .failure_db import FailureDB
    from .pipeline import Pipeline
    from .progress import RunProgress
    from .secrets import Secrets
    from .summary import print_result

    _writable(junit, "--junit")
    try:
        loaded = _load(experiment)
        explore = loaded.experiment.mode == "explore"
        if cluster is not None and seeds_spec is None and not explore:
            raise BadInput(
                f"--cluster {cluster}: a checked real-time run stays on one host; "
                "give --seeds N to spread seeds over the cluster"
            )
    except ChaosError as exc:
        if junit is not None:
            write_error(experiment.stem, exc, Secrets(), junit=junit)
        raise
    console = _console()
    console.secrets = loaded.secrets
    workers = Workers(jobs=jobs, cluster=cluster)
    if seeds_spec is not None:
        return _run_seeds(
            console,
            loaded,
            seeds_spec,
            seed=seed,
            out=out,
            workers=workers,
            junit=junit,
            report=report,
            strict=strict,
            failure_db=failure_db,
            progress=progress,
        )
    database = FailureDB.for_run(out, loaded.experiment.name) if failure_db and explore else None
    pipeline = Pipeline(
        loaded,
        out,
        seed=seed,
        junit=junit,
        report=report,
        strict=strict,
        signals=SIGNALS,
        workers=workers if explore else None,
        failure_db=database,
    )
    verb = "exploring" if loaded.experiment.mode == "explore" else "running"
    console.print(f"{verb} {loaded.experiment.name} with seed {pipeline.seed}", markup=False)
    with RunProgress(console, loaded.experiment.name, live=progress) as shown:
        pipeline.on_progress = shown.update
        result = pipeline.run_sync()
    print_result(console, result)
    return result.exit_code


def _run_seeds(
    console: SafeConsole,
    loaded: LoadedExperiment,
    spec: str,
    *,
    seed: int | None,
    out: Path | None,
    workers: Any,
    junit: Path | None,
    report: bool,
    strict: bool,
    failure_db: bool,
    progress: bool | None,
) -> int:
    """``chaos run --seeds``: every seed a whole run on a worker, one combined outcome."""
    from .progress import SeedsProgress
    from .seeds import SeedsRun, parse_seeds
    from .summary import print_seeds

    base = seed if seed is not None else loaded.experiment.seed
    seeds = parse_seeds(spec, base)
    batch = SeedsRun(
        loaded,
        seeds,
        out,
        workers=workers,
        junit=junit,
        report=report,
        strict=strict,
        failure_db=failure_db,
        signals=SIGNALS,
    )
    order, recorded = batch.order()
    where = f"the Dask cluster at {workers.cluster}" if workers.cluster else f"{workers.count} process(es)"
    first = f", {len(recorded)} from the failure database first" if recorded else ""
    console.print(f"running {loaded.experiment.name}: {len(order)} seeds{first} on {where}", markup=False)
    with SeedsProgress(console, loaded.experiment.name, len(order), live=progress) as shown:
        batch.on_seed = shown.update
        result = batch.run_sync()
    print_seeds(console, result)
    return int(result.exit_code)


def _writable(path: Path | None, option: str) -> None:
    """Refuse an output path (``--junit``, ``--report``) that cannot be written before anything
    runs, rather than lose the outcome of a long run at its very end. Nothing is left behind:
    a file or directory made only to find out is removed again."""
    if path is None:
        return
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise BadInput(f"{option} {path}: cannot write: {blocker} is not a directory")
    made = [p for p in reversed(path.parents) if not p.exists()]
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise BadInput(f"{option} {path}: cannot write: {exc.strerror or exc}") from None
    finally:
        if not existed:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
            for directory in reversed(made):
                with contextlib.suppress(OSError):
                    directory.rmdir()


@main.command()
@click.argument("replay_file", type=_Path(dir_okay=False, path_type=Path))
@click.option("--out", type=_Path(file_okay=False, path_type=Path), help="Run directory to write.")
def replay(replay_file: Path, out: Path | None) -> int:
    """Re-execute a replay file from an exploration exactly; exit 1 if it shows a violation."""
    from .pipeline import replay as run_replay
    from .summary import print_result

    result = run_replay(replay_file, out)
    print_result(_console(), result)
    return verdict_exit_code(result.verdict)  # a replay shows a violation, or not, whatever was expected


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
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--servers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 1024),
    help="Instances of the design, each taking one request at a time.",
)
@click.option("--time-scale", default=1.0, show_default=True, type=_Seconds(), help="System seconds per wall second.")
@click.option("--namespace", default="profile-service", show_default=True, help="Table and key prefix of the data.")
@click.option("--keep/--no-keep", default=True, show_default=True, help="Keep the data when the service stops.")
def serve_profile(
    design: str,
    dsn: str,
    endpoint: str | None,
    bucket: str,
    region: str,
    host: str,
    port: int,
    servers: int,
    time_scale: float,
    namespace: str,
    keep: bool,
) -> int:
    """The seed's profile store over HTTP: PUT/GET /profiles/{user} on PostgreSQL and S3."""
    import asyncio

    from adapters import AdapterError, ConfigError

    from .clock import ScaledClock
    from .errors import Unreachable
    from .secrets import redact_urls
    from .systems.profile.service import serve as run_service

    blobs: dict[str, object] = {"bucket": bucket, "region": region}
    if endpoint:
        blobs["endpoint_url"] = endpoint

    def ready(bound: int) -> None:
        click.echo(f"profile service ({design}, {servers} server(s)) on http://{host}:{bound}")

    try:
        asyncio.run(
            run_service(
                design,
                {"dsn": dsn},
                blobs,
                host=host,
                port=port,
                servers=servers,
                clock=ScaledClock(time_scale),
                namespace=namespace,
                keep=keep,
                ready=ready,
            )
        )
    except KeyboardInterrupt:
        return ExitCode.MATCHED  # the way to stop a service
    except ConfigError as exc:  # a malformed --db, --blobs, --bucket...: bad input, not a store that is down
        option = "--db" if str(exc).startswith("postgres") else "--blobs/--bucket/--region"
        raise BadInput(f"{option}: {redact_urls(str(exc))}") from None
    except (AdapterError, OSError) as exc:
        raise Unreachable(redact_urls(str(exc))) from None
    except ChaosError as exc:  # a design's actor failed: the service does not go on without it
        raise type(exc)(redact_urls(str(exc))) from None
    return ExitCode.MATCHED


@main.command()
@click.argument("run_dir", type=_Path(file_okay=False, path_type=Path))
@click.option("--out", type=_Path(dir_okay=False, path_type=Path), help="Write here instead of RUN_DIR/report.html.")
def report(run_dir: Path, out: Path | None) -> int:
    """Regenerate report.html from a stored run (history.jsonl, results.json, experiment.yaml)."""
    from .report import report_from_run_dir

    _writable(out, "--out")
    try:
        path = report_from_run_dir(run_dir, out)
    except OSError as exc:
        raise BadInput(f"{exc.filename or run_dir}: {exc.strerror or exc}") from None
    click.echo(f"report: {path}")
    return ExitCode.MATCHED


@main.command(name="check")
@click.argument("history", type=_Path(dir_okay=False, path_type=Path))
@click.option("--model", help="Model name (cas-register, kv, register, profile...) or a user's model as module:attr.")
@click.option(
    "--checker",
    "checker",
    type=click.Choice(["linearizability", "elle", "bank"]),
    default="linearizability",
    show_default=True,
    help="What to check: linearizability against --model, Elle's transactional anomalies, or Jepsen's bank.",
)
@click.option(
    "--consistency",
    default="serializable",
    show_default=True,
    help="--checker elle: serializable, snapshot-isolation, repeatable-read, read-committed...",
)
@click.option("--total", type=int, help="--checker bank: what every read sums to (default: the first read's sum).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "edn", "jepsen-log"]),
    default=None,
    help="History format; by default detected from the file name, then its first bytes.",
)
@click.option(
    "--init",
    "init_json",
    metavar="JSON",
    help='Initial state as JSON: 0 for a cas-register, {"x": 0, "y": 0} for a multi-register; '
    "for a keyed model an object maps keys to initial values.",
)
@click.option(
    "--independent",
    is_flag=True,
    help="Jepsen independent histories: split every [key value] value into a key and a value.",
)
@click.option("--time-limit", type=_Seconds(), help="Seconds before the verdict is unknown (default 600).")
@click.option(
    "--memory-limit", metavar="SIZE", help="Memory the check may use, e.g. 2GiB (default: half the RAM, at most 8 GiB)."
)
@click.option(
    "--report",
    "report_path",
    type=_Path(dir_okay=False, path_type=Path),
    help="Write an HTML report of the history and the verdict to this file.",
)
def check_command(
    history: Path,
    model: str | None,
    checker: str,
    consistency: str,
    total: int | None,
    fmt: str | None,
    init_json: str | None,
    independent: bool,
    time_limit: float | None,
    memory_limit: str | None,
    report_path: Path | None,
) -> int:
    """Re-check a stored history (ours, or a Jepsen/Knossos/Porcupine history)."""
    import json

    from adapters.units import parse_size

    from .checker import load_history
    from .summary import print_checks

    _writable(report_path, "--report")
    try:
        limit = parse_size(memory_limit) if memory_limit is not None else None
    except ValueError as exc:
        raise BadInput(f"--memory-limit {memory_limit!r}: {exc}") from None
    init: dict[str, Any] = {}
    if init_json is not None:
        try:
            init["init"] = json.loads(init_json)
        except ValueError as exc:
            example = "--init 0 or --init '{\"x\": 0}'"
            raise BadInput(f"--init {init_json!r} is not JSON ({exc}); e.g. {example}") from None
    try:
        events, operations = load_history(history, fmt, independent=independent)
    except OSError as exc:
        raise BadInput(f"{history}: {exc.strerror or exc}") from None
    result: Any
    if checker == "linearizability":
        from .checker import check
        from .models import get_model

        if model is None:
            raise click.UsageError("--model is needed to check linearizability (e.g. --model cas-register)")
        result = check(operations, get_model(model), time_limit=time_limit, memory_limit=limit, **init)
    elif checker == "elle":
        from .elle import check as check_transactions
        from .elle.consistency import level

        result = check_transactions(operations, level(consistency), time_limit=time_limit)
    else:
        from .elle import check_bank

        result = check_bank(operations, total)
    console = _console()
    print_checks(console, [result])
    if report_path is not None:
        from .report import ReportMeta, write_report

        meta = ReportMeta(title=history.name, source=str(history))
        console.print(
            f"report: {write_report(report_path, events, [result.to_dict()], meta, operations=operations)}",
            markup=False,
        )
    return verdict_exit_code(result.verdict)
