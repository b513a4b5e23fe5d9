"""What the redis adapter's primitives cost, against redis-py's own client and a bare loop.

    python bench/redis_pool.py [--repeat 7] [--ops 20000] [--workers 8 64]

For each worker count it runs, in the same process, rotated from round to round:

* ``bare``: each asyncio task owns a redis-py ``Connection`` and sends the commands itself
  (``GET``, ``SET``, ``EVALSHA`` of the adapter's cas script): the fastest a hand-written loop
  over redis-py's protocol code goes;
* ``adapter``: the same operations through a ``redis`` store's primitives (its pool of
  connections, error mapping, key prefix);
* ``client``: the same commands through ``redis.asyncio.Redis`` on a ``BlockingConnectionPool``
  of as many connections, its retries off, which is what the adapter would be built on had it
  not its own pool.

Like the adapter's connections (no ``command_timeout``), neither has a read timeout.

The mix is 2 reads, 1 write, 1 cas over 16 keys. It prints the median operations per second of
each and the median of the rounds' ratios to ``bare``, with the middle half of those ratios in
brackets. The adapter's goal is to stay close to ``bare``: it must not be what limits a run.
Redis comes from ``CHAOS_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``); every key is
under a prefix of the benchmark's own, removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from statistics import median, quantiles
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import Connection, parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters import create
from adapters.redis import CAS_SCRIPT, CAS_SHA

KEYS = 16
Op = Callable[[str, bytes], Awaitable[Any]]


def plan(ops: int, seed: int) -> list[tuple[str, str, bytes]]:
    """``(operation, key, value)`` for every operation, the same for every contender."""
    rng = random.Random(seed)
    return [(rng.choice("rrwc"), f"k{rng.randrange(KEYS)}", str(i).encode()) for i in range(ops)]


async def drive(workers: int, work: list[tuple[str, str, bytes]], ops: dict[str, Op]) -> float:
    """Operations per second of ``workers`` tasks sharing ``work``."""
    queue = iter(work)

    async def worker() -> None:
        for name, key, value in queue:
            await ops[name](key, value)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return len(work) / (time.perf_counter() - began)


async def bare(url: str, prefix: str, workers: int, work: list[tuple[str, str, bytes]]) -> float:
    options = {**parse_url(url), "protocol": 2, "retry": Retry(NoBackoff(), 0), "socket_timeout": None}
    free = [Connection(**options) for _ in range(workers)]
    for con in free:
        await con.connect()

    async def command(*args: Any) -> Any:
        con = free.pop()
        try:
            await con.send_command(*args, check_health=False)
            return await con.read_response()
        finally:
            free.append(con)

    ops: dict[str, Op] = {
        "r": lambda k, v: command("GET", prefix + k),
        "w": lambda k, v: command("SET", prefix + k, v),
        "c": lambda k, v: command("EVALSHA", CAS_SHA, 1, prefix + k, v, v),
    }
    try:
        return await drive(workers, work, ops)
    finally:
        for con in free:
            await con.disconnect()


async def adapter(url: str, prefix: str, workers: int, work: list[tuple[str, str, bytes]]) -> float:
    store = create("redis", {"url": url, "prefix": prefix, "reuse": True, "keep": True}, "bench", concurrency=workers)
    await store.open()
    ops: dict[str, Op] = {
        "r": lambda k, v: store.get(k),
        "w": lambda k, v: store.put(k, v),
        "c": lambda k, v: store.cas(k, v, v),
    }
    try:
        return await drive(workers, work, ops)
    finally:
        await store.close()


async def client(url: str, prefix: str, workers: int, work: list[tuple[str, str, bytes]]) -> float:
    pool = BlockingConnectionPool.from_url(
        url, max_connections=workers, protocol=2, retry=Retry(NoBackoff(), 0), socket_timeout=None
    )
    redis = Redis(connection_pool=pool)
    ops: dict[str, Op] = {
        "r": lambda k, v: redis.get(prefix + k),
        "w": lambda k, v: redis.set(prefix + k, v),
        "c": lambda k, v: redis.evalsha(CAS_SHA, 1, prefix + k, v, v),
    }
    try:
        return await drive(workers, work, ops)
    finally:
        await redis.aclose()
        await pool.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--ops", type=int, default=20000)
    parser.add_argument("--workers", type=int, nargs="+", default=[8, 64])
    args = parser.parse_args()
    url = os.environ.get("CHAOS_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    contenders = {"bare": bare, "adapter": adapter, "client": client}
    setup = Redis.from_url(url)
    await setup.script_load(CAS_SCRIPT)
    try:
        for workers in args.workers:
            rates: dict[str, list[float]] = {name: [] for name in contenders}
            for round_ in range(args.repeat):
                work = plan(args.ops, round_)
                names = list(contenders)
                names = names[round_ % len(names) :] + names[: round_ % len(names)]
                for name in names:
                    rates[name].append(await contenders[name](url, prefix + ":", workers, work))
            print(f"{workers} workers, {args.ops} operations, {args.repeat} rounds")
            for name, got in rates.items():
                ratios = [r / b for r, b in zip(got, rates["bare"], strict=True)]
                q = quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
                spread = f"[{q[0]:.2f}-{q[2]:.2f}]"
                print(f"  {name:8} {median(got):9,.0f} ops/s   ratio to bare {median(ratios):.2f} {spread}")
    finally:
        keys = [key async for key in setup.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await setup.unlink(*keys)
        await setup.aclose()


if __name__ == "__main__":
    asyncio.run(main())
