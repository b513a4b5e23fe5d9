"""What the fault injector costs when nothing fires, and what the network proxy adds.

    python bench/faults.py [--ops 200000] [--repeat 5] [--queries 3000] [--rate-queries 24000]
                           [--proxy-loop auto|uvloop|asyncio] [--skip-proxy | --proxy-only]

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
   in parallel (queries per second), direct against proxied, in interleaved repeats. It
   prints the p50 latency the proxy adds per round trip (target: at most 50 us) and the
   8-connection throughput through it as a share of direct (target: at least 85 %), each as
   the median and range of the per-repeat figures, and the CPU each query costs the client's
   thread and the proxy's relay process (from /proc: steadier than rates when the machine is
   shared). ``--proxy-loop`` picks the relay's event loop (``auto``: uvloop when installed).
   When ``socat`` is installed, a native forwarder (``socat ... fork``) is measured beside it
   as a reference: what any user-space proxy costs on this machine (the extra loopback hop's
   system calls and wake-ups), whatever its language.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from chaos.clock import ScaledClock
from chaos.experiment import loads
from chaos.faults.network import find_address, rewrite
from chaos.faults.proxy import Proxy
from chaos.rundir import RunDir
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
    loaded = loads(experiment(ops, workers, faults))
    runner = Runner(loaded, RunDir.create(out, loaded.experiment.name), seed=1)  # no checker: bench/checker.py's
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
    execution = asyncio.run(runner.run())
    return execution.stats.completed / execution.stats.elapsed, execution.stats.completed / cpu[0]


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


def cpu_seconds(stat: str | None) -> float:
    """CPU seconds (user + system) used so far by the thread or process whose /proc ``stat``
    file this is (Linux): how the client's thread and the relay process are measured apart.
    0 when unknown."""
    if stat is None:
        return 0.0
    try:
        with open(stat) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def parallel_rate(
    dsn: str,
    queries: int,
    connections: int = 8,
    cpu: dict[str, list[float]] | None = None,
    relay: str | None = None,
) -> float:
    """Queries per second over ``connections`` connections; with ``cpu``, also appends the CPU
    microseconds per query of this (the client's) thread and of the process whose /proc
    ``stat`` is ``relay``."""
    import asyncpg

    conns = [await asyncpg.connect(dsn) for _ in range(connections)]
    try:
        per = queries // connections

        async def loop(conn: Any) -> None:
            for _ in range(per):
                await conn.fetchval("SELECT 1")

        me = f"/proc/self/task/{threading.get_native_id()}/stat"
        client, proxy = cpu_seconds(me), cpu_seconds(relay)
        began = time.perf_counter()
        await asyncio.gather(*(loop(c) for c in conns))
        rate = per * connections / (time.perf_counter() - began)
        if cpu is not None:
            cpu["client"].append((cpu_seconds(me) - client) / (per * connections) * 1e6)
            cpu["proxy"].append((cpu_seconds(relay) - proxy) / (per * connections) * 1e6)
        return rate
    finally:
        for conn in conns:
            await conn.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1e6


def spread(values: list[float], fmt: str) -> str:
    median, low, high = (format(v, fmt) for v in (statistics.median(values), min(values), max(values)))
    return f"median {median} (min {low}, max {high})"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_socat(host: str, port: int) -> tuple[subprocess.Popen[bytes], int] | None:
    """A native forwarder in front of the server (``socat``, one process per connection), or
    None when socat is not installed."""
    if shutil.which("socat") is None:
        return None
    listen = free_port()
    process = subprocess.Popen(
        ["socat", f"TCP-LISTEN:{listen},bind=127.0.0.1,fork,reuseaddr,nodelay", f"TCP:{host}:{port},nodelay"],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", listen)
        except OSError:
            await asyncio.sleep(0.02)
            continue
        writer.close()
        return process, listen
    process.kill()
    return None


async def bench_proxy(queries: int, rate_queries: int, repeat: int, loop_name: str = "auto") -> None:
    """Direct against proxied (and the native reference), interleaved: each repeat runs the
    single-connection loop and the 8-connection rate on every path back to back, and the
    figures compared are per-repeat ratios and differences (a burst of load from elsewhere
    hits every path of one repeat)."""
    dsn = os.environ.get("CHAOS_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
    _, host, port = find_address("pg", {"dsn": dsn})
    proxy = Proxy("pg", (host, port), [], ScaledClock(), lambda f, v, injected: None, loop=loop_name)
    await proxy.start()
    paths = {"direct": dsn, "proxied": rewrite(dsn, proxy.host, proxy.port)}
    socat = await start_socat(host, port)
    if socat is not None:
        paths["socat"] = rewrite(dsn, "127.0.0.1", socat[1])
    print(
        f"\nproxy (relay process, {loop_name} loop) in front of PostgreSQL at {host}:{port}, SELECT 1, "
        f"{repeat} interleaved repeats of {queries} single-connection and {rate_queries} 8-connection queries"
        + ("; socat: a native forwarder, for reference" if socat is not None else "")
    )
    relay = f"/proc/{proxy.process.pid}/stat" if proxy.process is not None else None
    try:
        single: dict[str, list[list[float]]] = {name: [] for name in paths}
        rates: dict[str, list[float]] = {name: [] for name in paths}
        cpu: dict[str, dict[str, list[float]]] = {name: {"client": [], "proxy": []} for name in paths}
        order = list(paths.items())
        for i in range(repeat):
            for name, target in order if i % 2 == 0 else order[::-1]:
                single[name].append(await select_loop(target, queries))
                rates[name].append(await parallel_rate(target, rate_queries, cpu=cpu[name], relay=relay))
        print(f"  {'path':<8} {'p50 us':>8} {'p90 us':>8} {'p99 us':>8} {'1 conn q/s':>11} {'8 conns q/s':>12}")
        for name in paths:
            runs = single[name]
            p50 = statistics.median(pct(r, 50) for r in runs)
            p90 = statistics.median(pct(r, 90) for r in runs)
            p99 = statistics.median(pct(r, 99) for r in runs)
            one = statistics.median(len(r) / sum(r) for r in runs)
            many = statistics.median(rates[name])
            print(f"  {name:<8} {p50:>8.0f} {p90:>8.0f} {p99:>8.0f} {one:>11,.0f} {many:>12,.0f}")
        for name in [n for n in paths if n != "direct"]:
            added = [pct(p, 50) - pct(d, 50) for p, d in zip(single[name], single["direct"], strict=True)]
            ratio = [p / d * 100 for p, d in zip(rates[name], rates["direct"], strict=True)]
            targets = ("   target: at most 50", "   target: at least 85") if name == "proxied" else ("", "")
            print(f"  {name}: added p50 latency per round trip (us): {spread(added, '.0f')}{targets[0]}")
            print(f"  {name}: 8-connection throughput, % of direct:  {spread(ratio, '.0f')}{targets[1]}")
        print(
            f"  CPU us per 8-connection query: client thread {statistics.median(cpu['direct']['client']):.1f} direct, "
            f"{statistics.median(cpu['proxied']['client']):.1f} proxied; relay process "
            f"{statistics.median(cpu['proxied']['proxy']):.1f} (less sensitive to load from elsewhere than rates)"
        )
    finally:
        await proxy.close()
        if socat is not None:
            socat[0].terminate()
            socat[0].wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--queries", type=int, default=3000, help="single-connection round trips per repeat")
    parser.add_argument("--rate-queries", type=int, default=24000, help="8-connection queries per repeat")
    parser.add_argument("--proxy-loop", choices=("auto", "uvloop", "asyncio"), default="auto")
    parser.add_argument("--skip-proxy", action="store_true")
    parser.add_argument("--proxy-only", action="store_true")
    args = parser.parse_args()
    if not args.proxy_only:
        bench_runner(args.ops, args.repeat)
    if not args.skip_proxy:
        asyncio.run(bench_proxy(args.queries, args.rate_queries, args.repeat, args.proxy_loop))


if __name__ == "__main__":
    main()
