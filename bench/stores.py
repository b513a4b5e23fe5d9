"""Throughput through the framework against a bare driver loop, on PostgreSQL and on S3 (moto).

    python bench/stores.py [--repeat 9] [--pg-ops 60000] [--s3-ops 1000] [--skip-s3]

For 8 and 64 workers it measures, in the same process and interleaved:

* ``framework``: a full ``Runner`` run of the register system (read/write/cas mix 2:1:1 over 16
  keys, JSON values, history written to disk, stats) on a ``postgres`` or ``s3`` store;
* ``bare``: the same operations issued straight through the driver by the same number of
  asyncio tasks, with nothing recorded. For PostgreSQL each task owns a connection (no pool,
  the fastest a hand-written loop can go) and sends the adapter's own statements; for S3 the
  tasks share one aiobotocore client configured as the adapter's (no botocore retries, same
  connection limit) and send the same requests, cas being a GET then a conditional PUT;
* ``adapter``: the same operations on the adapter's primitives directly (no runner, no
  history), which separates what the adapter costs from what the runner's bookkeeping costs.

Each round runs the three one after the other, in an order rotated from round to round. It
prints the median operations per second of each, the median of the rounds' ratios to ``bare``
with the middle half of those ratios in brackets, and the median CPU time this process spent
per operation while the operations ran (the framework's from its own ``client_cpu``
statistic). The target is a framework/bare ratio of at least 0.90: the framework must not be
what limits a run against a real store. On one machine PostgreSQL and the client share the
cores, so every microsecond the client spends per operation is one the server does not get:
the hardest setting for the ratio (against a store on its own machine the client's cost shows
only once its core is full).
PostgreSQL comes from ``CHAOS_PG_DSN`` (default ``postgresql://postgres@127.0.0.1:5432/test``);
S3 is a moto server this script starts on a free loopback port (``tests/moto_server.py``) and
stops. The checker is not run: ``bench/checker.py`` measures it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from statistics import median, quantiles
from typing import Any

import asyncpg
import msgspec
from aiobotocore.session import get_session

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from adapters import create  # noqa: E402
from adapters.postgres import PostgresStore, quote_ident  # noqa: E402
from adapters.s3 import S3Store  # noqa: E402
from chaos.experiment import loads  # noqa: E402
from chaos.rundir import RunDir  # noqa: E402
from chaos.runner import Runner  # noqa: E402

KEYS = 16
Measured = tuple[float, float]
"""Operations per second, and this process's CPU time per operation in µs while they ran."""
MIX = (("read", 2), ("write", 1), ("cas", 1))
CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
BUCKET = "bench-adapters"

EXPERIMENT = """\
name: bench-{backend}
seed: 1
operations: {ops}
concurrency: {workers}
stores:
  db:
    adapter: {backend}
    settings: {settings}
system: register
workload:
  keys: {keys}
  mix: {{read: 2, write: 1, cas: 1}}
checks: [{{model: cas-register}}]
"""


# ---------------------------------------------------------------------------- the framework


def framework(backend: str, settings: dict[str, Any], workers: int, ops: int, out: Path) -> Measured:
    """A whole Runner run (the checker excluded), measured by its own statistics."""
    text = EXPERIMENT.format(
        backend=backend, settings=msgspec.json.encode(settings).decode(), ops=ops, workers=workers, keys=KEYS
    )
    loaded = loads(textwrap.dedent(text))
    execution = asyncio.run(Runner(loaded, RunDir.create(out, loaded.experiment.name), seed=1).run())
    stats = execution.stats
    if stats.unknown or not stats.completed:
        raise SystemExit(f"{backend} run had {stats.unknown} unknown outcomes; see {out}")
    return stats.completed / stats.elapsed, stats.client_cpu / stats.completed * 1e6


# ---------------------------------------------------------------------------- bare loops


class Plan:
    """One task's operations, drawn like the framework's workload: the same mix, keys and
    unique values (task ``w`` of ``c`` writes ``w + 1``, ``w + 1 + c``...), and each cas
    expects the last value the task wrote to that key."""

    def __init__(self, worker: int, workers: int) -> None:
        self.rng = random.Random(f"bench/{worker}")
        self.n = worker + 1
        self.step = workers
        self.expected: dict[str, int] = {}
        self.choices = [f for f, weight in MIX for _ in range(weight)]

    def next(self) -> tuple[str, str, bytes | None, bytes | None]:
        f = self.choices[self.rng.randrange(len(self.choices))]
        key = f"k{self.rng.randrange(KEYS)}"
        if f == "read":
            return f, key, None, None
        new = self.n
        self.n += self.step
        old = self.expected.get(key)
        self.expected[key] = new
        return f, key, None if old is None else msgspec.json.encode(old), msgspec.json.encode(new)


async def drive(workers: int, ops: int, one: Callable[[int, Plan], Awaitable[None]]) -> Measured:
    left = [ops]

    async def task(worker: int) -> None:
        plan = Plan(worker, workers)
        while left[0] > 0:
            left[0] -= 1
            await one(worker, plan)

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(task(w) for w in range(workers)))
    return ops / (time.perf_counter() - start), (time.process_time() - cpu) / ops * 1e6


async def adapter_only(backend: str, settings: dict[str, Any], workers: int, ops: int) -> Measured:
    """The same operations straight on the adapter's primitives (no runner, no history): what
    the adapter itself costs over the bare loop."""
    store = create(backend, settings, f"bench-adapter-{uuid.uuid4().hex[:8]}", concurrency=workers)
    await store.open()
    try:

        async def one(worker: int, plan: Plan) -> None:
            f, key, old, new = plan.next()
            if f == "read":
                await store.get(key)
            elif f == "write":
                await store.put(key, new)
            else:
                await store.cas(key, old, new)

        return await drive(workers, ops, one)
    finally:
        await store.close()


async def bare_postgres(dsn: str, workers: int, ops: int) -> Measured:
    """The adapter's statements on one dedicated connection per task."""
    sql = PostgresStore({"dsn": dsn}, f"bench-bare-{uuid.uuid4().hex[:8]}")
    table = quote_ident(sql.table)
    connections = await asyncio.gather(*(asyncpg.connect(dsn) for _ in range(workers)))
    await connections[0].execute(sql._sql_create)
    try:

        async def one(worker: int, plan: Plan) -> None:
            con = connections[worker]
            f, key, old, new = plan.next()
            if f == "read":
                await con.fetchval(sql._sql_get, key)
            elif f == "write":
                await con.execute(sql._sql_put, key, new)
            elif old is None:
                await con.execute(sql._sql_insert, key, new)
            else:
                await con.execute(sql._sql_swap, key, old, new)

        return await drive(workers, ops, one)
    finally:
        await connections[0].execute(f"DROP TABLE IF EXISTS {table}")
        await asyncio.gather(*(c.close() for c in connections))


async def bare_s3(endpoint: str, workers: int, ops: int) -> Measured:
    """The adapter's requests through one aiobotocore client configured like the adapter's."""
    store = S3Store({"endpoint_url": endpoint, "bucket": BUCKET, **CREDENTIALS}, "", concurrency=workers)
    prefix = f"bench-bare-{uuid.uuid4().hex[:8]}/"
    async with get_session().create_client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", config=store._config(), **CREDENTIALS
    ) as client:

        async def read(key: str) -> tuple[bytes | None, str | None]:
            try:
                response = await client.get_object(Bucket=BUCKET, Key=key)
            except client.exceptions.NoSuchKey:
                return None, None
            async with response["Body"] as body:
                return await body.read(), response["ETag"]

        async def one(worker: int, plan: Plan) -> None:
            f, key, old, new = plan.next()
            key = prefix + key
            if f == "read":
                await read(key)
            elif f == "write":
                await client.put_object(Bucket=BUCKET, Key=key, Body=new)
            else:
                guard = {"IfNoneMatch": "*"}
                if old is not None:
                    value, etag = await read(key)
                    if value != old or etag is None:
                        return
                    guard = {"IfMatch": etag}
                try:
                    await client.put_object(Bucket=BUCKET, Key=key, Body=new, **guard)
                except client.exceptions.ClientError:
                    return

        try:
            return await drive(workers, ops, one)
        finally:
            listing = await client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
            for item in listing.get("Contents", []):
                await client.delete_object(Bucket=BUCKET, Key=item["Key"])


# ---------------------------------------------------------------------------- servers


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "moto_server.py"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            return process, url
        except urllib.error.HTTPError:
            return process, url
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("moto did not start within 60s")


async def create_bucket(endpoint: str) -> None:
    store = S3Store(
        {"endpoint_url": endpoint, "bucket": BUCKET, "create_bucket": True, "conditional_writes": True, **CREDENTIALS},
        "bench-setup",
    )
    await store.open()
    await store.close()


# ---------------------------------------------------------------------------- main


def measure(
    name: str,
    repeat: int,
    workers: int,
    framework_run: Callable[[Path], Measured],
    adapter_run: Callable[[], Measured],
    bare_run: Callable[[], Measured],
    root: Path,
) -> None:
    """Run the three ``repeat`` times, each round in a rotated order, and print medians.

    The ratio is the median of each round's framework/bare ratio: the two runs of a round are
    seconds apart, so a neighbour's load shifts both alike, and a burst in one round does not
    decide the figure."""
    runs: dict[str, Callable[[int], Measured]] = {
        "bare": lambda i: bare_run(),
        "adapter": lambda i: adapter_run(),
        "framework": lambda i: framework_run(root / f"{name}-{workers}-{i}"),
    }
    rates: dict[str, list[float]] = {variant: [] for variant in runs}
    cpus: dict[str, list[float]] = {variant: [] for variant in runs}
    order = list(runs)
    for i in range(repeat):
        for variant in order[i % 3 :] + order[: i % 3]:
            rate, cpu = runs[variant](i)
            rates[variant].append(rate)
            cpus[variant].append(cpu)
    fw_bare = [f / b for f, b in zip(rates["framework"], rates["bare"], strict=True)]
    ad_bare = [a / b for a, b in zip(rates["adapter"], rates["bare"], strict=True)]
    verdict = "ok" if median(fw_bare) >= 0.90 else "below 0.90"
    print(
        f"{name:<9} {workers:>7}  {median(rates['framework']):>10,.0f}/s  {median(rates['adapter']):>10,.0f}/s"
        f"  {median(rates['bare']):>10,.0f}/s  {spread(fw_bare):>16}  {spread(ad_bare):>16}"
        f"  {' / '.join(f'{median(cpus[v]):.0f}' for v in ('framework', 'adapter', 'bare')):>16}  {verdict}",
        flush=True,
    )


def spread(ratios: list[float]) -> str:
    """The median of ``ratios`` and, in brackets, their middle half: how far one round can be trusted."""
    if len(ratios) < 4:
        return f"{median(ratios):.2f}"
    low, _, high = quantiles(ratios, n=4)
    return f"{median(ratios):.2f} ({low:.2f}-{high:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--pg-ops", type=int, default=60_000)
    parser.add_argument("--s3-ops", type=int, default=1_000)
    parser.add_argument("--skip-s3", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    dsn = os.environ.get("CHAOS_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
    print(
        f"{'backend':<9} {'workers':>7}  {'framework':>12}  {'adapter':>12}  {'bare':>12}"
        f"  {'fw/bare (IQR)':>16}  {'ad/bare (IQR)':>16}  {'cpu µs/op fw/ad/bare':>16}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if not args.skip_postgres:
            for workers in (8, 64):
                measure(
                    "postgres",
                    args.repeat,
                    workers,
                    lambda out, w=workers: framework("postgres", {"dsn": dsn}, w, args.pg_ops, out),
                    lambda w=workers: asyncio.run(adapter_only("postgres", {"dsn": dsn}, w, args.pg_ops)),
                    lambda w=workers: asyncio.run(bare_postgres(dsn, w, args.pg_ops)),
                    root,
                )
        if not args.skip_s3:
            process, endpoint = start_moto()
            try:
                asyncio.run(create_bucket(endpoint))
                settings = {"endpoint_url": endpoint, "bucket": BUCKET, **CREDENTIALS}
                for workers in (8, 64):
                    measure(
                        "s3",
                        args.repeat,
                        workers,
                        lambda out, w=workers: framework("s3", settings, w, args.s3_ops, out),
                        lambda w=workers: asyncio.run(adapter_only("s3", settings, w, args.s3_ops)),
                        lambda w=workers: asyncio.run(bare_s3(endpoint, w, args.s3_ops)),
                        root,
                    )
            finally:
                process.terminate()
                process.wait(10)


if __name__ == "__main__":
    main()
