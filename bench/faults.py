"""What the fault injector costs when nothing fires, and what the network proxy adds.

    python bench/faults.py [--ops 200000] [--repeat 5] [--queries 3000] [--skip-proxy]

1. Runner throughput on the in-memory store with 64 workers (register system, read/write
   mix, history written to disk; the checker is not run), in three set-ups measured in
   interleaved repeats (the machine is shared, so each figure is the median of ``--repeat``):

   * ``no faults``: ``faults: []``, no layer at all;
   * ``other store``: a fault targets another store: the layer is built, the system's store
     is not wrapped;
   * ``per-call check``: a fault with ``probability: 0`` targets every primitive of the
     system's store: every call goes through the layer's check and draws from its generator.

   The overhead of each against ``no faults`` is printed (target: at most 10 %), from wall
   throughput and from operations per CPU second of the process (the steadier figure when
   other work shares the machine).

2. The TCP proxy in front of PostgreSQL (``CHAOS_PG_DSN`` or 127.0.0.1:5432), with no toxic:
   ``SELECT 1`` round trips on one connection (latency percentiles) and with 8 connections
   in parallel (queries per second), direct against proxied.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from chaos.clock import ScaledClock
from chaos.experiment import loads
from chaos.faults.network import find_address, rewrite
from chaos.faults.proxy import Proxy
from chaos.runner import Runner

SETUPS: dict[str, list[dict[str, Any]]] = {
    "no faults": [],
    "other store": [{"kind": "error-before", "store": "other"}],
    "per-call check": [{"kind": "error-before", "store": "db", "probability": 0}],
}


def experiment(ops: int, workers: int, faults: list[dict[str, Any]]) -> str:
    return yaml.safe_dump(
        {
            "name": "bench-faults",
            "seed": 1,
            "operations": ops,
            "concurrency": workers,
            "stores": {"db": {"adapter": "memory"}, "other": {"adapter": "memory"}},
            "system": {"name": "register", "stores": {"store": "db"}},
            "workload": {"keys": 8, "mix": {"read": 1, "write": 1}},
            "faults": faults,
            "checks": [{"model": "cas-register"}],
        }
    )


def runner_throughput(ops: int, workers: int, faults: list[dict[str, Any]], out: Path) -> tuple[float, float]:
    """Operations per wall second (the run's own stats) and per CPU second of this process
    (steadier on a shared machine: other processes' load does not count)."""
    runner = Runner(loads(experiment(ops, workers, faults)), out)
    runner._check = lambda: []  # type: ignore[method-assign]  # the checker is bench/checker.py's business
    drive = runner._drive
    cpu = [0.0]

    async def timed_drive(*args: Any) -> None:  # CPU time of the operations only, not of the reports
        began = time.process_time()
        try:
            await drive(*args)
        finally:
            cpu[0] = time.process_time() - began

    runner._drive = timed_drive  # type: ignore[method-assign]
    gc.collect()
    result = asyncio.run(runner.run())
    return result.stats.completed / result.stats.elapsed, result.stats.completed / cpu[0]


def bench_runner(ops: int, repeat: int, workers: int = 64) -> None:
    print(f"runner on the in-memory store, {workers} workers, {ops} operations, median of {repeat} interleaved runs")
    names = list(SETUPS)
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            for name in names[i % len(names) :] + names[: i % len(names)]:  # rotate the order
                w, c = runner_throughput(ops, workers, SETUPS[name], Path(tmp) / f"{i}-{len(name)}")
                wall[name].append(w)
                cpu[name].append(c)
    # Overheads are medians of per-repeat ratios: each repeat ran every set-up back to back,
    # so a burst of load from elsewhere hits the ratio less than the absolute figures. The
    # best runs (least disturbed) give a second estimate.
    print(
        f"  {'set-up':<16} {'wall median':>12} {'wall best':>11} {'per CPU s':>11}   "
        f"{'overhead: wall':>14} {'CPU':>6} {'best':>6}"
    )
    for name in names:
        w, c, best = statistics.median(wall[name]), statistics.median(cpu[name]), max(wall[name])
        shown = ("", "", "")
        if name != "no faults":
            wo = statistics.median(1 - x / b for x, b in zip(wall[name], wall["no faults"], strict=True))
            co = statistics.median(1 - x / b for x, b in zip(cpu[name], cpu["no faults"], strict=True))
            bo = 1 - best / max(wall["no faults"])
            shown = (f"{wo * 100:.1f}%", f"{co * 100:.1f}%", f"{bo * 100:.1f}%")
        print(f"  {name:<16} {w:>10,.0f}/s {best:>9,.0f}/s {c:>9,.0f}/s   {shown[0]:>14} {shown[1]:>6} {shown[2]:>6}")


async def select_loop(dsn: str, queries: int) -> list[float]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        for _ in range(50):  # warm up
            await conn.fetchval("SELECT 1")
        latencies = []
        for _ in range(queries):
            began = time.perf_counter()
            await conn.fetchval("SELECT 1")
            latencies.append(time.perf_counter() - began)
        return latencies
    finally:
        await conn.close()


async def parallel_rate(dsn: str, queries: int, connections: int = 8) -> float:
    import asyncpg

    conns = [await asyncpg.connect(dsn) for _ in range(connections)]
    try:
        per = queries // connections

        async def loop(conn: Any) -> None:
            for _ in range(per):
                await conn.fetchval("SELECT 1")

        began = time.perf_counter()
        await asyncio.gather(*(loop(c) for c in conns))
        return per * connections / (time.perf_counter() - began)
    finally:
        for conn in conns:
            await conn.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1e6


async def bench_proxy(queries: int, repeat: int) -> None:
    dsn = os.environ.get("CHAOS_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
    _, host, port = find_address("pg", {"dsn": dsn})
    proxy = Proxy("pg", (host, port), [], ScaledClock(), lambda f, v, injected: None)
    await proxy.start()
    proxied = rewrite(dsn, proxy.host, proxy.port)
    print(f"\nproxy in front of PostgreSQL at {host}:{port}, SELECT 1, median of {repeat} interleaved runs")
    try:
        single: dict[str, list[list[float]]] = {"direct": [], "proxied": []}
        rates: dict[str, list[float]] = {"direct": [], "proxied": []}
        for _ in range(repeat):
            for name, target in (("direct", dsn), ("proxied", proxied)):
                single[name].append(await select_loop(target, queries))
                rates[name].append(await parallel_rate(target, queries))
        print(f"  {'path':<8} {'p50 us':>8} {'p90 us':>8} {'p99 us':>8} {'1 conn q/s':>11} {'8 conns q/s':>12}")
        medians: dict[str, float] = {}
        for name in ("direct", "proxied"):
            runs = single[name]
            p50 = statistics.median(pct(r, 50) for r in runs)
            p90 = statistics.median(pct(r, 90) for r in runs)
            p99 = statistics.median(pct(r, 99) for r in runs)
            one = statistics.median(len(r) / sum(r) for r in runs)
            medians[name] = p50
            many = statistics.median(rates[name])
            print(f"  {name:<8} {p50:>8.0f} {p90:>8.0f} {p99:>8.0f} {one:>11,.0f} {many:>12,.0f}")
        added = medians["proxied"] - medians["direct"]
        ratio = statistics.median(rates["proxied"]) / statistics.median(rates["direct"])
        print(f"  added latency (p50): {added:.0f} us per round trip; 8-connection throughput: {ratio:.0%} of direct")
    finally:
        await proxy.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--skip-proxy", action="store_true")
    args = parser.parse_args()
    bench_runner(args.ops, args.repeat)
    if not args.skip_proxy:
        asyncio.run(bench_proxy(args.queries, args.repeat))


if __name__ == "__main__":
    main()
