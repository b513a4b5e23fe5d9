"""The runner: wires stores, the system under test and workers once, then lets data flow forward.

A run opens every store, builds the system's servers, and starts ``concurrency`` asyncio
workers. Each worker takes requests from its own seeded stream and records every operation as
an invoke and exactly one completion in the history. The run ends at its duration or
operation count, or when interrupted; in-flight operations are then recorded as ``info``, the
stores are closed (and any fault healed), and the history, read back from disk, is checked.

The worker loop is the hot path of every chaos run and is kept short: the framework must
never be what limits a run's throughput (``bench/runner.py`` measures it).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters import AdapterError, ConnectError, DefiniteError, Store, create

from . import history as history_mod
from .calls import current_actor
from .checker import CheckResult, check
from .clock import make_clock
from .errors import Unreachable
from .experiment import Experiment, LoadedExperiment
from .faults import FaultLayer, FaultSetupError, ServerCrash
from .history import FLUSH_BYTES, Event
from .rundir import RunDir
from .secrets import Secrets
from .stats import Stats
from .system import Env, OperationFailed, Server, SystemCodeError, bind_roles, construct, resolve, supervise
from .workload import streams

CONNECT_TIMEOUT = 10.0
"""Seconds a store may take to open when its settings give no ``connect_timeout``."""
END_GRACE = 1.0
"""Wall seconds in-flight operations get to finish once a run's duration is over."""


class InfrastructureError(Unreachable):
    """A store could not be reached or prepared: exit code 4, one line, no traceback."""


@dataclass
class RunResult:
    """Everything a run produced, as data."""

    experiment: Experiment
    seed: int
    run_dir: Path
    stats: Stats
    checks: list[CheckResult]
    verdict: str
    interrupted: bool
    exit_code: int
    wall_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment.name,
            "seed": self.seed,
            "run_dir": str(self.run_dir),
            "expect": self.experiment.expect,
            "verdict": self.verdict,
            "matched_expectation": self.exit_code == 0,
            "interrupted": self.interrupted,
            "exit_code": self.exit_code,
            "wall_seconds": round(self.wall_seconds, 3),
            "operations": self.stats.to_dict(),
            "checks": [c.to_dict() for c in self.checks],
            **self.extra,
        }


def combine_verdicts(results: list[CheckResult]) -> str:
    """Invalid if any check is invalid; unknown if any gave up; valid otherwise."""
    verdicts = {r.verdict for r in results}
    if "invalid" in verdicts:
        return "invalid"
    if "unknown" in verdicts:
        return "unknown"
    return "valid"


def exit_code_for(verdict: str, expect: str, interrupted: bool) -> int:
    """DESIGN.md's exit codes: 0 matched, 1 did not, 2 unknown, 130 interrupted."""
    if interrupted:
        return 130
    if verdict == "unknown":
        return 2
    return 0 if verdict == expect else 1


class Runner:
    """Runs one experiment once; ``on_progress`` is called about ten times a second. (The
    controlled scheduler of ``mode: explore`` is a driver of its own, :mod:`chaos.explore`.)"""

    def __init__(
        self,
        loaded: LoadedExperiment,
        out: Path | None = None,
        *,
        seed: int | None = None,
        on_progress: Callable[[Stats], None] | None = None,
        report: bool = True,
        junit: Path | None = None,
    ) -> None:
        self.loaded = loaded
        self.report = report
        """Write report.html into the run directory (junit.xml is always written)."""
        self.junit = junit
        """A second place for junit.xml (``chaos run --junit PATH``)."""
        self.experiment = loaded.experiment
        self.secrets: Secrets = loaded.secrets
        chosen = seed if seed is not None else self.experiment.seed
        self.seed = chosen if chosen is not None else random.SystemRandom().randrange(2**31)
        self.out = out
        self.on_progress = on_progress
        self.stats = Stats(planned_ops=self.experiment.operations, planned_seconds=self.experiment.duration)
        self.interrupted = False
        self.rundir: RunDir | None = None
        self._tickets = self.experiment.operations
        self._stopping = False
        self._workers: list[asyncio.Task[None]] = []
        self._failure: BaseException | None = None
        """What ended the run early (see :meth:`_task_ended`)."""
        self._actor_env: Env | None = None
        self.clock: Any = None
        self.faults: FaultLayer | None = None
        """The run's fault layer (``None`` when the experiment declares no faults)."""

    # ---------------------------------------------------------------- public entry point

    async def run(self) -> RunResult:
        experiment = self.experiment
        self.rundir = RunDir.create(self.out, experiment.name)
        self.rundir.write_experiment(self.loaded.raw_text, self.seed)
        wall_start = time.monotonic()
        stores: dict[str, Store] = {}
        servers: list[Server] = []
        writer = history_mod.HistoryWriter(self.rundir.history)
        self.clock = make_clock(experiment.clock, experiment.time_scale, writer.start_ns)
        self.faults = self._fault_layer(writer) if experiment.faults else None
        self._install_signal_handlers()
        try:
            self.clock.start()
            settings = await self._start_faults()
            stores = await self._open_stores(settings)
            system = resolve(experiment.system.name)
            servers = self._servers(system, stores, writer.start_ns)
            try:
                await servers[0].setup()
            except AdapterError as exc:
                raise InfrastructureError(f"system setup: {self._clean(str(exc))}") from None
            await self._drive(servers, system, writer)
        finally:
            self._remove_signal_handlers()
            self._heal()  # before anything else: paused servers resume, toxics stop
            for server in servers:
                with contextlib.suppress(Exception):
                    await server.close()
            await self._close_stores(stores)
            if self.faults is not None:
                await self.faults.aclose()  # proxies closed, schedules stopped; no event after this
            await self.clock.aclose()
            try:
                writer.close()
            except OSError as exc:
                raise _unwritable(writer, exc) from None
        if self.stats.finished is None:  # the run stopped before its workers started
            self.stats.finish()
        checks = self._check()
        verdict = combine_verdicts(checks)
        code = exit_code_for(verdict, experiment.expect, self.interrupted)
        result = RunResult(
            experiment=experiment,
            seed=self.seed,
            run_dir=self.rundir.path,
            stats=self.stats,
            checks=checks,
            verdict=verdict,
            interrupted=self.interrupted,
            exit_code=code,
            wall_seconds=time.monotonic() - wall_start,
        )
        explain = getattr(resolve(experiment.system.name), "explain", None)
        if explain is not None and verdict == "invalid":
            operations = history_mod.load_operations(self.rundir.history)
            result.extra["explanation"] = [line for check in checks for line in explain(check, operations)]
        self.rundir.write_results(result.to_dict(), self.secrets)
        self._write_artifacts(result)
        return result

    def _write_artifacts(self, result: RunResult) -> None:
        """junit.xml (in the run directory, and at ``self.junit``) and report.html. A report
        that cannot be drawn becomes ``result.extra["report_error"]``, never a lost verdict."""
        from .junit import junit_xml, write_junit
        from .report import write_run_report

        assert self.rundir is not None
        source = self.loaded.source if Path(self.loaded.source).is_file() else str(self.rundir.path / "experiment.yaml")
        text = junit_xml(result, replay=f"chaos run {source} --seed {self.seed}")
        write_junit(self.rundir.junit, text, self.secrets)
        if self.junit is not None:
            write_junit(self.junit, text, self.secrets)
        if self.report:
            try:
                write_run_report(result, raw_text=self.loaded.raw_text, secrets=self.secrets, source=source)
            except Exception as exc:  # the verdict and the history stand without a page
                result.extra["report_error"] = f"{type(exc).__name__}: {exc}"

    def interrupt(self) -> None:
        """Stop now (Ctrl-C, SIGTERM): in-flight operations are recorded as ``info``."""
        self.interrupted = True
        self._stopping = True
        self._heal()
        for task in self._workers:
            task.cancel()

    def _heal(self) -> None:
        """Remove every fault now (idempotent): at the end of the run, on Ctrl-C and on an
        exception, always before the history is checked."""
        if self.faults is not None:
            self.faults.heal()

    # ---------------------------------------------------------------- wiring

    def _namespace(self) -> str:
        assert self.rundir is not None
        return f"{self.experiment.name}-{self.rundir.path.name}"

    def _fault_layer(self, writer: history_mod.HistoryWriter) -> FaultLayer:
        """The experiment's faults, seeded from the run's seed; their events go to the history
        (process ``nemesis``) and injected ones are counted in ``stats.faults``."""
        append = writer.append
        stats = self.stats

        def record(event: dict[str, Any], injected: bool) -> None:
            append(event)
            if injected:
                stats.faults += 1

        return FaultLayer(self.experiment.faults, self.seed, self.clock, record, stores=list(self.experiment.stores))

    async def _start_faults(self) -> dict[str, dict[str, Any]]:
        """Start fault schedules and proxies; returns the settings of stores reached through a
        proxy (the experiment itself keeps the real addresses)."""
        if self.faults is None:
            return {}
        try:
            return await self.faults.start(self.experiment.stores)
        except (FaultSetupError, OSError) as exc:
            raise InfrastructureError(f"network faults: {self._clean(str(exc))}") from None

    async def _open_stores(self, overrides: dict[str, dict[str, Any]] | None = None) -> dict[str, Store]:
        opened: dict[str, Store] = {}
        overrides = overrides or {}
        try:
            for name, spec in self.experiment.stores.items():
                try:
                    store = create(
                        spec.adapter,
                        overrides.get(name, spec.settings),
                        self._namespace(),
                        concurrency=self.experiment.concurrency,
                    )
                except AdapterError as exc:
                    raise InfrastructureError(f"store {name!r}: {self._clean(str(exc))}") from None
                timeout = float(spec.settings.get("connect_timeout", CONNECT_TIMEOUT))
                try:
                    async with asyncio.timeout(timeout):
                        await store.open()
                except TimeoutError:
                    raise InfrastructureError(
                        f"store {name!r} ({spec.adapter}): no connection within {timeout:g}s"
                    ) from None
                except AdapterError as exc:
                    raise InfrastructureError(f"store {name!r}: {self._clean(str(exc))}") from None
                opened[name] = store
        except BaseException:
            await self._close_stores(opened)
            raise
        return opened

    async def _close_stores(self, stores: dict[str, Store]) -> None:
        for store in stores.values():
            with contextlib.suppress(Exception):
                await store.close()

    def _servers(self, system: type, stores: dict[str, Store], start_ns: int) -> list[Server]:
        spec = self.experiment.system
        roles = bind_roles(system, spec.stores, list(stores))
        count = spec.servers or self.experiment.concurrency
        shared = count < self.experiment.concurrency
        clock = self.clock
        faults = self.faults if self.faults is not None and self.faults.in_process else None
        # Faults wrap only the stores (and primitives) they can hit.
        wrapped = {name: store if faults is None else faults.wrap(name, store) for name, store in stores.items()}
        shared_state: dict[str, Any] = {}

        def env(index: int) -> Env:
            by_role = {role: wrapped[store_name] for role, store_name in roles.items()}
            return Env(stores=by_role, clock=clock, options=dict(spec.options), server=index, servers=count,
                       shared=shared_state)

        self._actor_env = env(-1)
        return [Server(construct(system, env(index)), index, shared) for index in range(count)]

    # ---------------------------------------------------------------- the run itself

    async def _drive(self, servers: list[Server], system: type, writer: history_mod.HistoryWriter) -> None:
        experiment = self.experiment
        workers = experiment.concurrency
        worker_streams = streams(experiment.workload, self.seed, workers, system)
        self.stats.start()
        self._workers = [
            asyncio.create_task(self._worker(w, servers[w % len(servers)], worker_streams[w], writer))
            for w in range(workers)
        ]
        ticker = asyncio.create_task(self._tick(writer))
        actors = [
            asyncio.create_task(supervise(name, factory, self._actor_env))
            for name, factory in getattr(system, "actors", {}).items()
        ]
        for task in (*self._workers, ticker, *actors):
            task.add_done_callback(self._task_ended)
        try:
            _, pending = await asyncio.wait(self._workers, timeout=experiment.duration)
            if pending:
                self._stopping = True
                self._heal()  # stalled and paused operations may finish during the grace
                _, pending = await asyncio.wait(pending, timeout=END_GRACE)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
            if isinstance(self._failure, OSError):  # a history line could not be written
                raise _unwritable(writer, self._failure) from None
            if self._failure is not None:
                raise self._failure
        except asyncio.CancelledError:
            self.interrupt()
            await asyncio.gather(*self._workers, return_exceptions=True)
        finally:
            self.stats.finish()  # throughput counts the operations' time, not the teardown's
            for task in (ticker, *actors):
                task.cancel()
            await asyncio.gather(ticker, *actors, return_exceptions=True)

    def _task_ended(self, task: asyncio.Task[None]) -> None:
        """A worker or an actor that raised met a bug (in the system's hooks, an actor's code,
        or ours) or a history it cannot write: stop every worker now, not at the end of the
        run, and fail the run with that exception."""
        if not task.cancelled() and task.exception() is not None and self._failure is None:
            self._failure = task.exception()
            self._stopping = True
            for worker in self._workers:
                worker.cancel()

    async def _tick(self, writer: history_mod.HistoryWriter) -> None:
        """Flush the history to the OS and report progress, ten times a second."""
        while True:
            await asyncio.sleep(0.1)
            writer.flush()
            if self.on_progress is not None:
                self.on_progress(self.stats)

    async def _worker(self, index: int, server: Server, stream: Any, writer: history_mod.HistoryWriter) -> None:
        """Issue operations until the run ends. After an ``info`` the worker continues under a
        new process id, because the old process may still have an operation in flight."""
        current_actor.set(f"server-{server.index}")
        workers = self.experiment.concurrency
        timeout = self.experiment.workload.operation_timeout
        rate = self.experiment.workload.rate
        interval = workers / rate if rate else 0.0
        # The hot path encodes its two lines itself, as HistoryWriter.add would: calling add
        # costs 0.1-0.2 µs more per operation (in-memory store), a third of what the structs save.
        append = writer.append  # for the rare paths
        buffer, encode_into, next_index = writer.buffer, writer.encode_into, writer.next_index
        as_text = writer.add_as_text
        clock = time.monotonic_ns
        start = writer.start_ns
        record = self.stats.record
        latencies, outcomes = self.stats.latencies, self.stats.outcomes
        # Unshared servers are called directly: one Python call less per operation.
        call = server.call if server.shared else server.direct
        clean = self._clean
        process = index
        next_at = time.monotonic()
        while not self._stopping:
            if self._tickets is not None:
                if self._tickets <= 0:
                    return
                self._tickets -= 1
            if interval:
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            try:
                f, key, value = stream.next()
            except Exception as exc:  # the system's request() hook
                raise SystemCodeError("request()", exc) from exc
            began = clock() - start
            event = Event(process, "invoke", f, key, value, began, next_index())
            mark = len(buffer)
            try:
                encode_into(event, buffer, -1)
                buffer += b"\n"
            except Exception:
                as_text(event, mark)
            error: str | None = None
            try:
                if timeout is None:
                    output = await call(f, key, value)
                else:
                    async with asyncio.timeout(timeout):
                        output = await call(f, key, value)
                kind = "ok"
            except (OperationFailed, DefiniteError) as exc:
                kind, output, error = "fail", value, clean(str(exc) or type(exc).__name__)
            except TimeoutError:
                kind, output, error = "info", value, f"timeout after {timeout:g}s"
            except ServerCrash as exc:  # an injected crash: the operation died mid-way
                kind, output, error = "info", value, str(exc)
            except asyncio.CancelledError:
                ended = clock() - start
                append({"process": process, "type": "info", "f": f, "key": key, "value": value, "time": ended,
                        "error": "interrupted" if self.interrupted else "run ended"})
                record(f, "info", ended - began)
                raise
            except SystemCodeError as exc:  # the system's code outside the operation failed: stop the run
                append({"process": process, "type": "info", "f": f, "key": key, "value": value,
                        "time": clock() - start, "error": clean(str(exc))})
                raise
            except Exception as exc:  # the system's own bug or an indefinite store error
                kind, output, error = "info", value, clean(f"{type(exc).__name__}: {exc}")
            ended = clock() - start
            event = Event(process, kind, f, key, output, ended, next_index(), error)
            mark = len(buffer)
            try:
                encode_into(event, buffer, -1)
                buffer += b"\n"
            except Exception:
                as_text(event, mark)
            if len(buffer) > FLUSH_BYTES:
                writer.flush()
            try:
                latencies[f].append(ended - began)
                outcomes[f][kind] += 1
            except KeyError:
                record(f, kind, ended - began)
            if kind == "info":
                process += workers

    # ---------------------------------------------------------------- checking

    def _check(self) -> list[CheckResult]:
        assert self.rundir is not None
        operations = history_mod.load_operations(self.rundir.history)
        results = []
        for spec in self.experiment.checks:
            try:
                result = check(operations, spec.model, time_limit=spec.time_limit, memory_limit=spec.memory_limit)
            except ValueError as exc:  # the history has operations the model cannot judge
                result = CheckResult(verdict="unknown", model=spec.model, reason=str(exc), operations=len(operations))
            results.append(result)
        return results

    def _clean(self, text: str) -> str:
        return self.secrets.clean(text)

    # ---------------------------------------------------------------- signals

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.interrupt)

    def _remove_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)


def _unwritable(writer: history_mod.HistoryWriter, exc: OSError) -> InfrastructureError:
    """The history cannot be written (disk full, file too large): the run stops, exit 4."""
    return InfrastructureError(f"cannot write the history {writer.path}: {exc.strerror or exc}")


async def run_experiment(loaded: LoadedExperiment, out: Path | None = None, **kwargs: Any) -> RunResult:
    """Run ``loaded`` once and return its result (the Python entry point behind ``chaos run``)."""
    return await Runner(loaded, out, **kwargs).run()


__all__ = ["ConnectError", "InfrastructureError", "RunResult", "Runner", "run_experiment"]
