"""Runner throughput on the in-memory store, against a bare asyncio loop doing the same work.

    python bench/runner.py [--ops 200000] [--repeat 3]

For 1, 8 and 64 workers it prints the operations per second of a full ``Runner`` run (register
system, read/write mix, history recorded to disk, stats) and of two bare loops measured in the
same process: ``bare`` awaits a dict access and writes two JSON lines per operation;
``bare+yield`` also gives the event loop one turn per operation, as the in-memory store does
so that concurrent workers really interleave. The framework must never be what limits a chaos
run: the target is at least 100,000 ops/s with 64 workers, a third of the bare loop.
Each figure is the best of ``--repeat`` interleaved runs (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import textwrap
import time
import types
from pathlib import Path
from typing import Any

import msgspec

from chaos.experiment import loads
from chaos.rundir import RunDir
from chaos.runner import Runner

EXPERIMENT = """\
name: bench-runner
seed: 1
operations: {ops}
concurrency: {workers}
stores:
  db: {{adapter: memory}}
system: register
workload:
  keys: 8
  mix: {{read: 1, write: 1}}
checks: [{{model: cas-register}}]
"""


@types.coroutine
def _turn() -> Any:
    yield


async def bare(workers: int, ops: int, path: Path, give_turn: bool) -> float:
    """The reference: an awaited dict access and two JSON lines per operation."""
    data: dict[str, int] = {"k": 1}
    left = [ops]
    out = open(path, "ab", buffering=1 << 16)  # noqa: SIM115

    async def get(key: str) -> int | None:
        if give_turn:
            await _turn()
        return data.get(key)

    async def worker(process: int) -> None:
        clock, encode = time.monotonic_ns, msgspec.json.encode
        while left[0] > 0:
            left[0] -= 1
            out.write(encode({"process": process, "type": "invoke", "f": "read", "time": clock()}) + b"\n")
            value = await get("k")
            out.write(encode({"process": process, "type": "ok", "f": "read", "value": value, "time": clock()}) + b"\n")

    start = time.perf_counter()
    await asyncio.gather(*(worker(p) for p in range(workers)))
    elapsed = time.perf_counter() - start
    out.close()
    return ops / elapsed


def framework(workers: int, ops: int, out: Path) -> float:
    """The run stage alone (the checker is measured by bench/checker.py)."""
    loaded = loads(textwrap.dedent(EXPERIMENT.format(ops=ops, workers=workers)))
    execution = asyncio.run(Runner(loaded, RunDir.create(out, loaded.experiment.name), seed=1).run())
    return execution.stats.completed / execution.stats.elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'workers':>7}  {'framework':>12}  {'bare':>12}  {'bare+yield':>12}  {'vs bare':>8}  {'vs +yield':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for workers in (1, 8, 64):
            best = {"framework": 0.0, "bare": 0.0, "yield": 0.0}
            for i in range(args.repeat):
                best["bare"] = max(best["bare"], asyncio.run(bare(workers, args.ops, root / f"b{workers}{i}", False)))
                best["yield"] = max(best["yield"], asyncio.run(bare(workers, args.ops, root / f"y{workers}{i}", True)))
                best["framework"] = max(best["framework"], framework(workers, args.ops, root / f"f{workers}-{i}"))
            print(
                f"{workers:>7}  {best['framework']:>10,.0f}/s  {best['bare']:>10,.0f}/s  {best['yield']:>10,.0f}/s"
                f"  {best['framework'] / best['bare']:>8.2f}  {best['framework'] / best['yield']:>9.2f}"
            )


if __name__ == "__main__":
    main()
