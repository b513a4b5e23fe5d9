"""Benchmark of the list-append checker: ``python bench/elle.py [--transactions N] [--repeat R]``.

Histories are real runs: the built-in ``list-append`` system driven by ten concurrent workers
(the test suite's driver, tests/txn_driver.py, which records what the runner records) against
the in-memory store, in two of its modes:

* ``repeatable_read`` (snapshot isolation, like PostgreSQL's repeatable read): a quarter of the
  transactions fail on write conflicts; the committed ones show write skew (G2-item) only;
* ``snapshot_reads`` (no conflict detection): every transaction commits, and the graph is
  full of G-single, G-nonadjacent and G2-item cycles, lost updates and incompatible orders.

Each history is written to a history.jsonl file, one event per line. Then, in a fresh subprocess per
measurement (so that its peak RSS is its own), the history is read and paired
(``load_operations``) and checked as serializable: the figures are the check's wall time, the
reading's, and the subprocess's peak RSS (``ru_maxrss``: interpreter, history and checker
together). Each is measured ``--repeat`` times; the spread is printed, since the machine may be
shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters import create
from chaos.elle import check
from chaos.history import load_operations
from chaos.systems.txn import ListAppend
from tests.txn_driver import drive


def generate(isolation: str, transactions: int, out: Path) -> Path:
    """Run the list-append system on the memory store; the history file."""

    async def run() -> None:
        store = create("memory", {"isolation": isolation}, f"bench-{isolation}")
        await store.open()
        try:
            await drive(
                ListAppend, store, operations=transactions, concurrency=10, mix={"txn": 1}, seed=11, history=path
            )
        finally:
            await store.close()

    path = out / f"{isolation}.jsonl"
    asyncio.run(run())
    return path


def measure(path: Path, consistency: str) -> dict[str, object]:
    """Read and check one history; the figures of this process."""
    started = time.perf_counter()
    operations = load_operations(path)
    read = time.perf_counter() - started
    result = check(operations, consistency)
    return {
        "read": read,
        "check": result.elapsed,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "transactions": result.operations,
        "summary": result.summary,
        "stats": result.stats,
    }


def spread(values: list[float], unit: str, digits: int = 2) -> str:
    return (
        f"median {statistics.median(values):.{digits}f}{unit} "
        f"(min {min(values):.{digits}f}, max {max(values):.{digits}f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--consistency", default="serializable")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.consistency)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        for isolation in ("repeatable_read", "snapshot_reads"):
            started = time.perf_counter()
            history = generate(isolation, args.transactions, Path(tmp))
            print(
                f"{isolation}: {args.transactions:,} transactions run in {time.perf_counter() - started:.1f}s "
                f"({history.stat().st_size / 2**20:.0f} MB of history)"
            )
            runs = []
            for _ in range(args.repeat):
                out = subprocess.run(
                    [sys.executable, __file__, "--measure", str(history), "--consistency", args.consistency],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                runs.append(json.loads(out.stdout))
            first = runs[0]
            stats = first["stats"]
            print(
                f"  {first['transactions']:,} transactions ({stats['ok']:,} ok, {stats['fail']:,} fail), "
                f"{stats['keys']:,} keys, {stats['edges']:,} edges, {stats['components']:,} components "
                f"(largest {stats['largest_component']:,})"
            )
            print(f"  {first['summary']}")
            print(
                f"  check {spread([r['check'] for r in runs], 's')}; "
                f"reading the history {spread([r['read'] for r in runs], 's')}"
            )
            print(f"  peak RSS {spread([r['rss_mb'] for r in runs], ' MB', 0)} ({args.repeat} runs)")


if __name__ == "__main__":
    main()
