"""The executor seam: where independent work runs (seeds, exploration shards).

Everything that fans out goes through one :class:`concurrent.futures.Executor`: a pool of
processes on this host by default, or Dask's distributed scheduler with ``--cluster
tcp://HOST:8786`` (the ``asyncchaos[dask]`` extra; ``distributed.Client.get_executor()`` is such
an executor). A task is a module-level function and plain data in, plain data out: never a
live runner, explorer or result, so the same task runs in a local process or on a machine
across the network.

What never fans out is one checked real-time run: linearizability is decided over the real-time
order of one clock, so a run's workers stay in one process on one host. A seed is such a run,
whole, in one worker.

Two things a fan-out needs beyond ``submit``:

* **Lost workers.** A worker process that dies (killed, out of memory) takes its task with it.
  Dask reschedules the task on another worker by itself; a local pool breaks as a whole, so
  :class:`Fanout` starts a new one and resubmits what was unfinished. Either way nothing is
  lost, and since every task reports its start (a shared counter per task in a local pool, an
  event on the scheduler on Dask), the caller learns which tasks really ran twice.
* **Interrupts.** Pool workers sit in their own process group, so a terminal's Ctrl-C reaches
  the parent only; the parent relays each signal through a shared counter, and a worker turns it
  into a SIGINT to itself: a seed then stops the way a single run does (its history checked and
  written, exit 130), an exploration shard stops between executions. An idle worker ignores
  it and never prints a traceback. Dask cannot interrupt a running task: its futures are
  cancelled instead.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .errors import BadInput, Unreachable

T = TypeVar("T")
R = TypeVar("R")

TOPIC = "asyncchaos-task-start"
"""The Dask event topic on which each task start is logged."""
POLL = 0.1
"""Seconds between two looks at the stop flag while waiting for results."""
ATTEMPTS = 3
"""Tries of one task whose worker was lost (Dask's own ``allowed-failures`` is also 3)."""


@dataclass(frozen=True)
class Workers:
    """Where fanned-out work runs: ``jobs`` local processes, or a Dask cluster.

    ``worth`` is for explorations: a level of plans whose estimated time is under it runs in
    the parent, because starting worker processes costs about half a second and the answer is
    the same either way."""

    jobs: int | None = None
    """Local worker processes (None: one per core)."""
    cluster: str | None = None
    """A Dask scheduler's address (``tcp://HOST:8786``): run there instead."""
    worth: float = 0.5

    @property
    def count(self) -> int:
        return self.jobs if self.jobs is not None else (os.cpu_count() or 1)

    @property
    def parallel(self) -> bool:
        return self.cluster is not None or self.count > 1


# ---------------------------------------------------------------------------- inside a worker

_STOP: Any = None
"""The parent's stop counter, in a pool worker (a ``multiprocessing.Value``)."""
_STARTS: Any = None
"""Per task slot, how many times it started, in a pool worker (a shared ``multiprocessing.Array``)."""
SLOTS = 1 << 17
"""Task slots of a local pool (a fan-out of more tasks reuses them: reruns are then not told)."""


def _init_worker(stop: Any, starts: Any = None) -> None:
    """Start-up of a pool worker: its own process group (the terminal's signals go to the
    parent, which relays them), signals ignored while idle (a run installs its own handler),
    and a thread that turns each relayed stop into a SIGINT to this process."""
    global _STOP, _STARTS
    _STOP, _STARTS = stop, starts
    with contextlib.suppress(OSError):
        os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the pool's own terminate() must still end an idle worker
    parent = os.getppid()

    def relay() -> None:
        seen = 0
        while True:
            time.sleep(POLL / 2)
            if os.getppid() != parent:  # the parent is gone: nobody will read what this does
                os._exit(130)
            wanted = stop.value
            while seen < wanted:
                seen += 1
                os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=relay, name="chaos-stop-relay", daemon=True).start()


def stop_requested() -> bool:
    """True once the parent asked its workers to stop (a pool worker; elsewhere never)."""
    return _STOP is not None and _STOP.value > 0


def run_task(fn: Callable[[T], R], key: str, slot: int, task: T) -> R:
    """What a worker runs for every task: note that the task starts, where the parent can see
    it, then run it. A task whose worker died under it starts twice."""
    if _STARTS is not None:  # a local pool worker: one writer per slot at a time, no lock needed
        _STARTS[slot % SLOTS] += 1
    elif "distributed" in sys.modules:  # never import Dask into any other process
        from distributed import get_worker

        try:
            worker = get_worker()
        except ValueError:  # not in a Dask worker after all
            pass
        else:
            worker.log_event(TOPIC, {"task": key, "worker": worker.address, "pid": os.getpid()})
    return fn(task)


# ---------------------------------------------------------------------------- backends


class Backend:
    """One executor and what the fan-out needs around it."""

    description = ""
    """Where the work runs, in words (``2 processes``, ``Dask at tcp://...``)."""
    jobs = 1
    """How many tasks run at once."""
    ships_files = False
    """True when workers do not share this host's disk: run directories come back as data."""
    interrupts_running = True
    """True when a stop reaches running tasks (else they are cancelled)."""
    worker_lost: tuple[type[BaseException], ...] = ()
    """Exceptions meaning the worker died under the task (not the task's own failure)."""
    generation = 0
    """Bumped each time the executor is replaced after a loss."""

    @property
    def executor(self) -> cf.Executor:
        raise NotImplementedError

    def submit(self, fn: Callable[[T], R], task: T, key: str) -> cf.Future[R]:
        """Run ``fn(task)`` on a worker; ``key`` names this task in :meth:`starts`."""
        return self.executor.submit(run_task, fn, key, self._slot(key), task)

    def _slot(self, key: str) -> int:
        return 0

    def stop_workers(self) -> None:
        """Ask running tasks to stop (each call is one more signal)."""

    def recover(self, generation: int) -> None:
        """After a lost worker: make the executor usable again (once per generation)."""

    def starts(self) -> Counter[str]:
        """Task key -> times it started."""
        return Counter()

    def close(self, *, wait: bool = True) -> None:
        raise NotImplementedError

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(wait=exc[0] is None)


class ProcessBackend(Backend):
    """A pool of fresh (spawned) Python processes on this host: the default.

    Spawned rather than forked, so that a worker starts as a cluster's would (the task and its
    data pickled, the package imported anew) and no lock or thread of the parent is copied."""

    ships_files = False
    interrupts_running = True
    worker_lost = (BrokenProcessPool,)

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.description = f"{jobs} process{'es' if jobs != 1 else ''}"
        self._context = multiprocessing.get_context("spawn")
        self._stop = self._context.Value("i", 0)
        self._starts: Any = None
        self._slots: dict[str, int] = {}
        self._executor: cf.ProcessPoolExecutor | None = None

    @property
    def executor(self) -> cf.ProcessPoolExecutor:
        if self._executor is None:  # started on first use: a small exploration never needs it
            if self._starts is None:
                self._starts = self._context.Array("i", SLOTS, lock=False)
            self._executor = cf.ProcessPoolExecutor(
                self.jobs, mp_context=self._context, initializer=_init_worker, initargs=(self._stop, self._starts)
            )
        return self._executor

    def _slot(self, key: str) -> int:
        return self._slots.setdefault(key, len(self._slots))

    def starts(self) -> Counter[str]:
        if self._starts is None:
            return Counter()
        return Counter({key: self._starts[slot % SLOTS] for key, slot in self._slots.items()})

    def stop_workers(self) -> None:
        with self._stop.get_lock():
            self._stop.value += 1

    def recover(self, generation: int) -> None:
        if generation != self.generation or self._executor is None:
            return
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = None
        self.generation += 1

    def close(self, *, wait: bool = True) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=not wait)
            self._executor = None


class DaskBackend(Backend):
    """Dask's distributed scheduler: ``distributed.Client(address).get_executor()``.

    The workers need the package (and the experiment's own code) importable, and the
    experiment's ``${VAR}`` values in their environment: secrets are read where the run happens
    and never sent over the wire."""

    ships_files = True
    interrupts_running = False

    def __init__(self, address: str, *, timeout: float = 5.0) -> None:
        try:
            from distributed import Client
            from distributed.scheduler import KilledWorker
        except ImportError:
            raise BadInput(
                f"--cluster {address}: Dask's distributed scheduler is not installed: pip install 'asyncchaos[dask]'"
            ) from None
        self.worker_lost = (KilledWorker,)
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise Unreachable(f"--cluster {address}: no Dask scheduler answered: {exc}") from None
        except ValueError as exc:  # a malformed address
            raise BadInput(f"--cluster {address}: {exc}") from None
        threads = sum(self.client.nthreads().values())  # type: ignore[no-untyped-call]
        self.jobs = max(1, threads)
        self.description = f"Dask at {address} ({threads} worker thread{'s' if threads != 1 else ''})"
        self._executor: cf.Executor = self.client.get_executor(pure=False)  # type: ignore[no-untyped-call]

    @property
    def executor(self) -> cf.Executor:
        return self._executor

    def starts(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        with contextlib.suppress(Exception):  # the events are a courtesy: never fail a run on them
            for _, message in self.client.get_events(TOPIC):
                if isinstance(message, dict) and "task" in message:
                    counts[message["task"]] += 1
        return counts

    def close(self, *, wait: bool = True) -> None:
        with contextlib.suppress(Exception):
            self._executor.shutdown(wait=False)
        with contextlib.suppress(Exception):
            self.client.close(timeout=5)  # type: ignore[no-untyped-call]


def open_backend(workers: Workers) -> Backend:
    """The backend ``workers`` asks for (a Dask client connects here: exit 4 if nobody answers)."""
    if workers.cluster is not None:
        return DaskBackend(workers.cluster)
    return ProcessBackend(workers.count)


# ---------------------------------------------------------------------------- fan-out


@dataclass
class Done(Generic[T, R]):
    """One task's end: its result, the error it raised, or cancelled (never run)."""

    task: T
    label: str
    result: R | None = None
    error: BaseException | None = None
    cancelled: bool = False


class Fanout(Generic[T, R]):
    """Runs ``fn`` over tasks on a backend and yields each end as it comes (:meth:`results`).

    A task whose worker was lost is submitted again (up to :data:`ATTEMPTS` times). Once
    ``should_stop`` says so, queued tasks are cancelled and running ones asked to stop (on a
    backend that cannot, cancelled too); it may also count signals, each relayed to the
    workers. :attr:`reruns` says which tasks ran more than once."""

    def __init__(
        self,
        backend: Backend,
        fn: Callable[[T], R],
        tasks: Iterable[T],
        *,
        label: Callable[[T], str],
        should_stop: Callable[[], int | bool] = lambda: False,
    ) -> None:
        self.backend = backend
        self.fn = fn
        self.label = label
        self.should_stop = should_stop
        self.stopped = False
        self._stops = 0
        self._id = f"{uuid.uuid4().hex[:12]}"
        self._keys: dict[str, str] = {}
        """Task key (unique to this fan-out) -> label."""
        self._pending: dict[cf.Future[R], tuple[T, str, int, int]] = {}
        """future -> (task, key, attempt, executor generation)."""
        for number, task in enumerate(tasks):
            key = f"{self._id}/{number}"
            self._keys[key] = label(task)
            self._submit(task, key, 1)

    def _submit(self, task: T, key: str, attempt: int) -> None:
        generation = self.backend.generation
        self._pending[self.backend.submit(self.fn, task, key)] = (task, key, attempt, generation)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def cancel(self, unwanted: Callable[[T], bool]) -> None:
        """Cancel the queued tasks ``unwanted`` picks (running ones finish)."""
        for future, (task, _, _, _) in list(self._pending.items()):
            if unwanted(task):
                future.cancel()

    def stop(self) -> None:
        """Cancel what is queued and ask what runs to stop."""
        self._stops += 1
        if self.stopped:
            self.backend.stop_workers()  # a second stop: one more signal to the workers
            return
        self.stopped = True
        for future in list(self._pending):
            if not self.backend.interrupts_running or not future.running():
                future.cancel()
        self.backend.stop_workers()

    def results(self) -> Iterator[Done[T, R]]:
        while self._pending:
            done, _ = cf.wait(list(self._pending), timeout=POLL, return_when=cf.FIRST_COMPLETED)
            while self._stops < int(self.should_stop()):
                self.stop()
            lost: list[tuple[T, str, int, int]] = []
            for future in done:
                task, key, attempt, generation = self._pending.pop(future)
                label = self._keys[key]
                if future.cancelled():
                    yield Done(task, label, cancelled=True)
                    continue
                error = future.exception()
                if error is None:
                    yield Done(task, label, result=future.result())
                elif isinstance(error, self.backend.worker_lost) and attempt < ATTEMPTS and not self.stopped:
                    lost.append((task, key, attempt, generation))
                elif isinstance(error, cf.CancelledError):
                    yield Done(task, label, cancelled=True)
                else:
                    yield Done(task, label, error=error)
            for task, key, attempt, generation in lost:
                self.backend.recover(generation)
                self._submit(task, key, attempt + 1)

    @property
    def reruns(self) -> dict[str, int]:
        """Label -> extra starts of each task that started more than once (its worker was
        lost under it; a task that only waited in a broken pool's queue is not counted)."""
        return {
            self._keys[key]: starts - 1
            for key, starts in self.backend.starts().items()
            if starts > 1 and key in self._keys
        }


__all__ = [
    "Backend",
    "DaskBackend",
    "Done",
    "Fanout",
    "ProcessBackend",
    "Workers",
    "open_backend",
    "run_task",
    "stop_requested",
]
