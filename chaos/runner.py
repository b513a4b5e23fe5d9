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
import functools
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from adapters import AdapterError, ConfigError, DefiniteError, Store, create

from . import history as history_mod
from .calls import MeteredStore, current_actor
from .checker.budget import default_memory_limit, rss_bytes
from .clock import VirtualClock, make_clock
from .errors import BadInput, Unreachable
from .execution import Ended, Execution, FaultUsage, StoreUsage
from .experiment import LoadedExperiment
from .faults import FaultLayer, FaultSetupError, ServerCrash
from .faults.spec import NETWORK_ADDRESS_KEYS
from .history import FLUSH_BYTES, Event
from .rundir import RunDir
from .secrets import Secrets, redact_urls
from .stats import Stats
from .system import (
    Env,
    OperationFailed,
    OperationUnknown,
    Server,
    SystemCodeError,
    bind_roles,
    construct,
    resolve,
    supervise,
)
from .workload import streams

CONNECT_TIMEOUT = 10.0
"""Seconds a store may take to open when its settings give no ``connect_timeout``."""
END_GRACE = 1.0
"""Wall seconds in-flight operations get to finish once a run's duration is over."""


class InfrastructureError(Unreachable):
    """A store could not be reached or prepared: exit code 4, one line, no traceback."""


class Runner:
    """Runs one experiment once, into ``rundir``, and returns the :class:`Execution`: what
    happened and where the history is. Checking it is the next stage's business.
    ``on_progress`` is called about ten times a second. (The controlled scheduler of
    ``mode: explore`` is a driver of its own, :mod:`chaos.exploration`.)"""

    def __init__(
        self,
        loaded: LoadedExperiment,
        rundir: RunDir,
        seed: int,
        *,
        stats: Stats | None = None,
        on_progress: Callable[[Stats], None] | None = None,
    ) -> None:
        self.loaded = loaded
        self.experiment = loaded.experiment
        self.secrets: Secrets = loaded.secrets
        self.rundir = rundir
        self.seed = seed
        self.on_progress = on_progress
        self.stats = stats or Stats(planned_ops=self.experiment.operations, planned_seconds=self.experiment.duration)
        self.interrupted = False
        self._tickets = self.experiment.operations
        self._stopping = False
        self._workers: list[asyncio.Task[None]] = []
        self._failure: BaseException | None = None
        """What ended the run early (see :meth:`_task_ended`)."""
        self._task: asyncio.Task[Any] | None = None
        """The task running :meth:`run`, cancelled by an interruption before the workers run."""
        self._actor_env: Env | None = None
        self._meters: list[MeteredStore] = []
        self._unexpected: dict[str, int] = {}
        self._record_unexpected = self.experiment.system.unexpected_errors == "info"
        self.memory_limit = self.experiment.memory_limit or default_memory_limit()
        self.out_of_memory = False
        self.clock: Any = None
        self.faults: FaultLayer | None = None
        """The run's fault layer (``None`` when the experiment declares no faults)."""

    # ---------------------------------------------------------------- public entry point

    async def run(self) -> Execution:
        experiment = self.experiment
        wall_start = time.monotonic()
        stores: dict[str, Store] = {}
        servers: list[Server] = []
        writer = history_mod.HistoryWriter(self.rundir.history)
        if self.secrets:
            writer.mask = self.secrets.mask_line  # a value equal to a secret (an echoed token) is masked too
        self.clock = make_clock(experiment.clock, experiment.time_scale, writer.start_ns)
        if isinstance(self.clock, VirtualClock):
            writer.use_clock(self.clock.stamps())
        self.faults = self._fault_layer(writer) if experiment.faults else None
        self._task = asyncio.current_task()
        try:
            if self.interrupted:
                raise asyncio.CancelledError
            self.clock.start()
            settings = await self._start_faults()
            stores = await self._open_stores(settings)
            system = resolve(experiment.system.name)
            servers = self._servers(system, stores)
            try:
                await servers[0].setup()
            except AdapterError as exc:
                raise InfrastructureError(f"system setup: {self._clean(str(exc))}") from None
            await self._drive(servers, system, writer)
        except asyncio.CancelledError:
            if not self.interrupted:
                raise
            if self._task is not None:
                self._task.uncancel()  # an orderly stop: the clean-up below may still await
        finally:
            self._heal()  # before anything else: paused servers resume, toxics stop
            close_bug: SystemCodeError | None = None
            for server in servers:
                try:
                    await self._clean_up(server.close())
                except SystemCodeError as exc:  # raised once everything is closed and written
                    close_bug = close_bug or exc
            await self._clean_up(self._close_stores(stores))
            if self.faults is not None:  # proxies closed, schedules stopped; no event after this
                await self._clean_up(self.faults.aclose())
            await self._clean_up(self.clock.aclose())
            try:
                writer.close()
            except OSError as exc:
                raise _unwritable(writer, exc) from None
        if close_bug is not None and not self.interrupted:
            raise close_bug  # a bug in the system's close(), as in an exploration: exit 3
        if self.stats.finished is None:  # the run stopped before its workers started
            self.stats.finish()
        if self.interrupted:
            ended: Ended = "interrupted"
        elif self.out_of_memory:
            ended = "memory"
        elif self._tickets is not None and self._tickets <= 0:
            ended = "operations"
        else:
            ended = "duration"
        return Execution(
            experiment=experiment,
            mode="run",
            seed=self.seed,
            run_dir=self.rundir.path,
            stats=self.stats,
            ended=ended,
            wall_seconds=time.monotonic() - wall_start,
            faults=[FaultUsage(*usage) for usage in self.faults.usage()] if self.faults is not None else [],
            stores=[StoreUsage(m.name, m.kind, m.calls, m.errors) for m in self._meters],
            fault_problems=self.faults.problems() if self.faults is not None else [],
            unexpected_errors=dict(sorted(self._unexpected.items())),
            deterministic=self._deterministic(ended),
            memory_limit=self.memory_limit if self.out_of_memory else 0,
        )

    def _deterministic(self, ended: Ended) -> bool:
        """Whether this seed gives this history again, byte for byte: in-memory stores on
        virtual time (one thread, a FIFO event loop, no wall time in the history), ended by
        its operation count rather than by wall time, with no wall-clock pacing."""
        experiment = self.experiment
        return (
            experiment.clock == "virtual"
            and ended == "operations"
            and experiment.workload.rate is None
            and experiment.workload.operation_timeout is None
            and all(spec.adapter == "memory" for spec in experiment.stores.values())
        )

    def interrupt(self) -> None:
        """Stop now (Ctrl-C, SIGTERM): in-flight operations are recorded as ``info``. Before
        the workers run (stores connecting, setup) the run itself is cancelled, so that a slow
        server cannot hold it; a second interruption cancels what the clean-up awaits."""
        again = self.interrupted
        self.interrupted = True
        self._stopping = True
        self._heal()
        for task in self._workers:
            task.cancel()
        if (again or not self._workers) and self._task is not None and not self._task.done():
            self._task.cancel()

    async def _clean_up(self, step: Awaitable[Any]) -> None:
        """One step of the clean-up. A failing step does not stop the others; a second
        interruption cancels the step it lands in, and the clean-up goes on with the next (the
        history is still written last). A bug in the system's ``close()`` is passed up, for
        the run to raise once the clean-up is done."""
        try:
            await step
        except asyncio.CancelledError:
            if not self.interrupted:
                raise
            if self._task is not None:
                self._task.uncancel()
        except SystemCodeError:
            raise
        except Exception:
            pass

    def _heal(self) -> None:
        """Remove every fault now (idempotent): at the end of the run, on Ctrl-C and on an
        exception, always before the history is checked."""
        if self.faults is not None:
            self.faults.heal()

    # ---------------------------------------------------------------- wiring

    @functools.cached_property
    def namespace(self) -> str:
        """The run's own table, key prefix or memory namespace: unique per run whatever the run
        directory is called, so that two runs of one experiment against one database or
        bucket (two CI jobs, say) never see, overwrite or drop each other's data."""
        return f"{self.experiment.name}-{secrets.token_hex(6)}"

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
        except FaultSetupError:
            raise
        except OSError as exc:
            raise InfrastructureError(f"network faults: {self._clean(str(exc))}") from None

    async def _open_stores(self, overrides: dict[str, dict[str, Any]] | None = None) -> dict[str, Store]:
        opened: dict[str, Store] = {}
        overrides = overrides or {}
        try:
            for name, spec in self.experiment.stores.items():
                with self._real_address(name, overrides):
                    opened[name] = await self._open_store(name, spec, overrides)
        except BaseException:
            await self._close_stores(opened)
            raise
        return opened

    @contextlib.contextmanager
    def _real_address(self, name: str, overrides: dict[str, dict[str, Any]]) -> Any:
        """A store reached through a network fault's proxy is reported at its server's address,
        not the proxy's: the proxy is ours, the server is what could not be reached."""
        if name not in overrides:
            yield
            return
        from .faults.network import find_address

        _, proxy_host, proxy_port = find_address(name, overrides[name])
        _, host, port = find_address(name, self.experiment.stores[name].settings)
        try:
            yield
        except Unreachable as exc:
            text = str(exc).replace(f"{proxy_host}:{proxy_port}", f"{host}:{port}")
            raise type(exc)(f"{text} (through the network fault's proxy{self._toxics_on(name)})") from None

    def _toxics_on(self, store: str) -> str:
        """The toxics already on in front of ``store`` when it failed to connect: most likely
        the cause, and then the experiment's to fix (faults also act while stores connect)."""
        proxies = self.faults.proxies if self.faults is not None else []
        on = [t for p in proxies if p.store == store for t in p.toxics if t.enabled]
        if not on:
            return ""
        listed = ", ".join(f"fault {t.index} ({t.name})" for t in on)
        return f", with {listed} already on: a window such as active: {{start: 1s}} lets the stores connect first"

    async def _open_store(self, name: str, spec: Any, overrides: dict[str, dict[str, Any]]) -> Store:
        """One store, created and opened within its ``connect_timeout``."""
        try:
            store: Store = create(
                spec.adapter,
                overrides.get(name, spec.settings),
                self.namespace,
                concurrency=self.experiment.concurrency,
            )
        except ConfigError as exc:
            raise BadInput(f"store {name!r}: {self._clean(str(exc))}") from None
        except AdapterError as exc:
            raise InfrastructureError(f"store {name!r}: {self._clean(str(exc))}") from None
        timeout = float(spec.settings.get("connect_timeout", CONNECT_TIMEOUT))
        try:
            async with asyncio.timeout(timeout):
                await store.open()
        except TimeoutError:  # the adapter's own timeout says the same, whichever fires first
            server = getattr(store, "address", None)
            where = f"{store.kind} at {server}" if server else f"{spec.adapter}{address(spec.settings)}"
            raise InfrastructureError(f"store {name!r}: {where}: no connection within {timeout:g}s") from None
        except ConfigError as exc:
            raise BadInput(f"store {name!r}: {self._clean(str(exc))}") from None
        except AdapterError as exc:
            raise InfrastructureError(f"store {name!r}: {self._clean(str(exc))}") from None
        return store

    async def _close_stores(self, stores: dict[str, Store]) -> None:
        for store in stores.values():
            with contextlib.suppress(Exception):
                await store.close()

    def _servers(self, system: type, stores: dict[str, Store]) -> list[Server]:
        spec = self.experiment.system
        roles = bind_roles(system, spec.stores, list(stores))
        count = spec.servers or self.experiment.concurrency
        shared = count < self.experiment.concurrency
        clock = self.clock
        faults = self.faults if self.faults is not None and self.faults.in_process else None
        # Real stores are metered (calls, errors); faults wrap only the stores (and primitives)
        # they can hit, outside the meter: an injected error is not the store's.
        metered: dict[str, Any] = {}
        for name, store in stores.items():
            if store.kind != "memory":
                meter = MeteredStore(name, store)
                self._meters.append(meter)
                metered[name] = meter
            else:
                metered[name] = store
        wrapped = {name: store if faults is None else faults.wrap(name, store) for name, store in metered.items()}
        shared_state: dict[str, Any] = {}

        def env(index: int) -> Env:
            by_role = {role: wrapped[store_name] for role, store_name in roles.items()}
            return Env(
                stores=by_role,
                clock=clock,
                options=dict(spec.options),
                server=index,
                servers=count,
                shared=shared_state,
            )

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
        actor_env = self._actor_env
        assert actor_env is not None  # made with the servers
        actors = [
            asyncio.create_task(supervise(name, factory, actor_env))
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
        """Flush the history to the OS, report progress and watch the memory limit, ten times a
        second. Out of memory is an answer, not a crash: past the limit the run stops, as
        interrupted, and the outcome is ``unknown`` naming the limit."""
        limit = self.memory_limit
        while True:
            await asyncio.sleep(0.1)
            writer.flush()
            if self.on_progress is not None:
                self.on_progress(self.stats)
            if rss_bytes() > limit and not self._stopping:
                self.out_of_memory = True
                self._stopping = True
                self._heal()
                for task in self._workers:
                    task.cancel()

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
        mask = writer.mask
        clock, start = (time.monotonic_ns, writer.start_ns) if self.experiment.clock != "virtual" else (writer.now, 0)
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
            f, key, value = stream.next()  # the system's request() hook raises SystemCodeError
            began = clock() - start
            event = Event(process, "invoke", f, key, value, began, next_index())
            mark = len(buffer)
            try:
                encode_into(event, buffer, -1)
                buffer += b"\n"
            except Exception:
                as_text(event, mark)
            if mask is not None:
                mask(buffer, mark)
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
                append(
                    {
                        "process": process,
                        "type": "info",
                        "f": f,
                        "key": key,
                        "value": value,
                        "time": ended,
                        "error": "interrupted" if self.interrupted else "run ended",
                    }
                )
                record(f, "info", ended - began)
                raise
            except SystemCodeError as exc:  # the system's code outside the operation failed: stop the run
                append(
                    {
                        "process": process,
                        "type": "info",
                        "f": f,
                        "key": key,
                        "value": value,
                        "time": clock() - start,
                        "error": clean(str(exc)),
                    }
                )
                raise
            except (AdapterError, OperationUnknown) as exc:  # an indefinite store error: it may have taken effect
                kind, output, error = "info", value, clean(f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # a bug in the system's own code: not a finding about the stores
                error = clean(f"{type(exc).__name__}: {exc}")
                if not self._record_unexpected:
                    append(
                        {
                            "process": process,
                            "type": "info",
                            "f": f,
                            "key": key,
                            "value": value,
                            "time": clock() - start,
                            "error": error,
                        }
                    )
                    record(f, "info", clock() - start - began)
                    raise SystemCodeError(f"operation {f}({key!r})", exc) from exc
                kind, output = "info", value
                name = type(exc).__name__
                self._unexpected[name] = self._unexpected.get(name, 0) + 1
            ended = clock() - start
            event = Event(process, kind, f, key, output, ended, next_index(), error)
            mark = len(buffer)
            try:
                encode_into(event, buffer, -1)
                buffer += b"\n"
            except Exception:
                as_text(event, mark)
            if mask is not None:
                mask(buffer, mark)
            if len(buffer) > FLUSH_BYTES:
                writer.flush()
            try:
                latencies[f].append(ended - began)
                outcomes[f][kind] += 1
            except KeyError:
                record(f, kind, ended - began)
            if kind == "info":
                process += workers

    def _clean(self, text: str) -> str:
        return self.secrets.clean(text)


def _unwritable(writer: history_mod.HistoryWriter, exc: OSError) -> InfrastructureError:
    """The history cannot be written (disk full, file too large): the run stops, exit 4."""
    return InfrastructureError(f"cannot write the history {writer.path}: {exc.strerror or exc}")


def address(settings: dict[str, Any]) -> str:
    """`` at <address>`` of a store's server (its password masked), for a message saying which
    server could not be reached; empty when the settings name none."""
    for key in (*NETWORK_ADDRESS_KEYS, "url"):
        value = settings.get(key)
        if isinstance(value, str) and value:
            return f" at {redact_urls(value)}"
    return ""


__all__ = ["InfrastructureError", "Runner"]
