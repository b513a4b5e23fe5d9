"""Drive a transactional system with concurrent asyncio workers and record its history.

What the runner does for a chaos run, reduced to what the transactional tests need and kept
apart from the run pipeline: ``concurrency`` tasks, each drawing requests from its seeded
workload stream (the system's ``request`` hook shapes them) and recording every call as an
invoke and one completion event, classified as the runner classifies them (a system's
``OperationFailed`` or an adapter's definite error is ``fail``, anything else ``info``, after
which the worker continues under a new process). The events are paired by
:func:`chaos.history.pair`, exactly as a stored history is.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from adapters import DefiniteError
from chaos.clock import make_clock
from chaos.encoding import dumps
from chaos.experiment import WorkloadSpec
from chaos.history import Operation, pair
from chaos.system import Env, OperationFailed
from chaos.workload import streams


async def drive(
    system: type,
    store: Any,
    *,
    operations: int,
    concurrency: int,
    mix: dict[str, float],
    seed: int = 1,
    role: str = "db",
    history: Path | None = None,
) -> list[Operation]:
    """Run ``operations`` requests of ``system`` on ``store`` (opened) with ``concurrency``
    workers; the paired history (also written to ``history`` as JSON Lines, when given)."""
    start = time.monotonic_ns()
    clock = make_clock("scaled", 1.0, start)
    shared: dict[str, Any] = {}
    instances = [
        system(Env(stores={role: store}, clock=clock, server=i, servers=concurrency, shared=shared))
        for i in range(concurrency)
    ]
    setup = getattr(instances[0], "setup", None)
    if setup is not None:
        await setup()
    events: list[dict[str, Any]] = []
    tickets = [operations]
    worker_streams = streams(WorkloadSpec(keys=["k"], mix=mix), seed, concurrency, system)

    def record(process: int, kind: str, f: str, key: Any, value: Any, error: str | None = None) -> None:
        event = {
            "index": len(events),
            "time": time.monotonic_ns() - start,
            "process": process,
            "type": kind,
            "f": f,
            "key": key,
            "value": value,
        }
        if error is not None:
            event["error"] = error
        events.append(event)

    async def worker(index: int) -> None:
        process = index
        instance = instances[index]
        while tickets[0] > 0:
            tickets[0] -= 1
            f, key, value = worker_streams[index].next()
            record(process, "invoke", f, key, value)
            try:
                output = await getattr(instance, f)(key, value)
            except (OperationFailed, DefiniteError) as exc:
                record(process, "fail", f, key, value, str(exc))
            except Exception as exc:
                record(process, "info", f, key, value, f"{type(exc).__name__}: {exc}")
                process += concurrency
            else:
                record(process, "ok", f, key, output)

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    if history is not None:
        history.write_bytes(b"".join(dumps(event) + b"\n" for event in events))
    return pair(events)
