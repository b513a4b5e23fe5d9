"""Benchmark of the linearizability checker: ``python bench/checker.py [--quick] [--seed N] [--shape NAME]``.

Histories come from the simulated stores of bench/checker_histories.py. Each shape runs in
its own subprocess so that its peak RSS (``ru_maxrss``) is its own; ``history MB`` is the RSS
once the history is built, before the first check, so ``peak - history`` is what checking
took. Figures are wall time of ``check`` only (generation excluded): median / max / sum per
shape. Small histories are each checked ``--repeat`` times (default 3) and their fastest run
kept, so that a busy shared machine's scheduler does not show up as a slow history;
``--repeat 1`` gives single runs. Large ones are checked once.

``--as-limit-gb N`` caps each shape's address space (RLIMIT_AS), to measure a checker that
would otherwise take the machine down.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from checker_histories import corrupt, corrupt_small, intractable_block, jepsen_etcd, simulate, starved

from chaos.checker import check
from chaos.history import Operation


def timed(ops: list[Operation], model: str, repeat: int, **limits: Any) -> tuple[float, float, Any]:
    """The fastest of ``repeat`` runs of ``check`` (filters scheduler noise on shared machines):
    wall time, and the process's CPU time (what a loaded machine distorts least)."""
    best = cpu = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        start_cpu = time.process_time()
        result = check(ops, model, **limits)
        cpu = min(cpu, time.process_time() - start_cpu)
        best = min(best, time.perf_counter() - start)
    return best, cpu, result


def rss_mb() -> float:
    """Resident set size now, from /proc (Linux), else the peak so far."""
    try:
        with open("/proc/self/statm", "rb") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


REGISTER_SHAPES = {"etcd-80": ((200, 50), 80, 0.20, 4), "register-2000": ((10, 3), 2000, 0.02, 2)}
"""cas-register shapes: histories (full, --quick), operations each, info rate, and every how
many-th history is corrupted."""


def _histories(name: str, quick: bool, rng: random.Random) -> tuple[list[list[Operation]], str, dict[str, Any]]:
    """The histories of a shape, its model and the check's limits."""
    if name == "jepsen-etcd":
        out = []
        for i in range(30 if quick else 100):
            ops = jepsen_etcd(rng)
            if i % 4 == 3:
                corrupt_small(rng, ops)
            out.append(ops)
        return out, "cas-register", {}
    if name in REGISTER_SHAPES:
        (full, short), n_ops, info_rate, corrupt_every = REGISTER_SHAPES[name]
        out = []
        for i in range(short if quick else full):
            ops = simulate(rng, n_ops, 20, info_rate, None)
            if i % corrupt_every == corrupt_every - 1:
                corrupt(rng, ops)
            out.append(ops)
        return out, "cas-register", {}
    if name == "kv-100k":
        n_ops, n_keys = (20_000, 200) if quick else (100_000, 1000)
        return [simulate(rng, n_ops, 100, 0.05, n_keys)], "kv", {}
    if name in ("kv-2000-invalid", "register-2000-invalid"):
        keys = 10 if name == "kv-2000-invalid" else None
        out = []
        for _ in range(3 if quick else 10):
            ops = simulate(rng, 2000, 50, 0.05, keys)
            corrupt(rng, ops)
            out.append(ops)
        return out, "kv" if keys else "cas-register", {}
    if name == "kv-2000-starved":
        return [starved(rng, invalid=True) for _ in range(2 if quick else 5)], "kv", {"time_limit": 30.0}
    if name == "kv-2000-all-hard":
        return [starved(rng, invalid=False)], "kv", {"time_limit": 5.0 if quick else 10.0}
    if name == "memory-limit":
        return [intractable_block("a", 26, 0.0, 0, 0)], "kv", {"time_limit": 300.0, "memory_limit": 64 << 20}
    if name == "register-150k":
        n = 30_000 if quick else 150_000
        return [simulate(rng, n, 20, 0.02, None)], "cas-register", {}
    if name == "kv-1m":
        n, keys = (200_000, 200) if quick else (1_000_000, 1000)
        return [simulate(rng, n, 100, 0.05, keys)], "kv", {}
    raise SystemExit(f"unknown shape {name}")


def edn_reading(quick: bool, seed: int, repeat: int) -> dict[str, Any]:
    """Time to read (and pair) a Jepsen EDN history of 100,000 events with load_history."""
    import tempfile

    from chaos.checker import load_history

    rng = random.Random(f"{seed}-edn-100k")
    n = 20_000 if quick else 100_000
    lines = []
    for i in range(n // 2):
        p = i % 5
        f = rng.choice(["read", "write", "cas"])
        value = (
            "nil"
            if f == "read"
            else str(rng.randrange(5))
            if f == "write"
            else f"[{rng.randrange(5)} {rng.randrange(5)}]"
        )
        done = str(rng.randrange(5)) if f == "read" else value
        lines.append(f"{{:process {p}, :type :invoke, :f :{f}, :value {value}, :time {2 * i}}}")
        lines.append(f"{{:process {p}, :type :ok, :f :{f}, :value {done}, :time {2 * i + 1}}}")
    with tempfile.NamedTemporaryFile("w", suffix=".edn", delete=False) as out:
        out.write("\n".join(lines) + "\n")
    times = []
    cpus = []
    for _ in range(repeat):
        start = time.perf_counter()
        start_cpu = time.process_time()
        events, _ops = load_history(out.name, "edn")
        cpus.append(time.process_time() - start_cpu)
        times.append(time.perf_counter() - start)
    Path(out.name).unlink()
    return {
        "shape": "edn-100k",
        "histories": 1,
        "ops": len(events),
        "median_ms": min(times) * 1000,
        "max_ms": max(times) * 1000,
        "sum_ms": sum(times) * 1000,
        "cpu_median_ms": min(cpus) * 1000,
        "cpu_max_ms": max(cpus) * 1000,
        "cpu_sum_ms": sum(cpus) * 1000,
        "verdicts": {},
        "history_mb": 0.0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_shape(name: str, quick: bool, seed: int, repeat: int) -> dict[str, Any]:
    if name == "edn-100k":
        return edn_reading(quick, seed, repeat)
    rng = random.Random(f"{seed}-{name}")
    histories, model, limits = _histories(name, quick, rng)
    history_mb = rss_mb()
    big = sum(len(h) for h in histories) > 50_000 or "time_limit" in limits
    times: list[float] = []
    cpus: list[float] = []
    verdicts: Counter[str] = Counter()
    extra: dict[str, Any] = {}
    sizes = []
    for ops in histories:
        try:
            elapsed, cpu, result = timed(ops, model, 1 if big else repeat, **limits)
        except MemoryError:
            verdicts["MemoryError"] += 1
            continue
        times.append(elapsed)
        cpus.append(cpu)
        verdicts[result.verdict] += 1
        if result.verdict != "valid":
            extra["reason"] = result.reason
        if result.counterexample is not None:
            sizes.append(len(json.dumps(result.counterexample.to_dict())))
            extra["example"] = result.describe()
        extra["partitions"] = result.partitions
    if sizes:
        extra["counterexample_json_bytes_max"] = max(sizes)
    if "time_limit" in limits:
        extra["time_limit"] = limits["time_limit"]
    if "memory_limit" in limits:
        extra["memory_limit_mb"] = limits["memory_limit"] / 2**20
    return {
        "shape": name,
        "histories": len(histories),
        "ops": sum(len(h) for h in histories),
        "median_ms": statistics.median(times) * 1000 if times else None,
        "max_ms": max(times) * 1000 if times else None,
        "sum_ms": sum(times) * 1000,
        "cpu_median_ms": statistics.median(cpus) * 1000 if cpus else None,
        "cpu_max_ms": max(cpus) * 1000 if cpus else None,
        "cpu_sum_ms": sum(cpus) * 1000,
        "verdicts": dict(verdicts),
        "history_mb": history_mb,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **extra,
    }


SHAPES = [
    (
        "jepsen-etcd",
        "Jepsen's etcd shape: cas-register, 73-90 ops, 5 clients, values 0-4, 10-25% timeouts left "
        "indeterminate, failed cas as fail; 100 histories, 1 in 4 with a read changed",
        "max <= 5 ms, sum <= 40 ms, median <= 0.25 ms",
    ),
    ("etcd-80", "cas-register, 80 ops, 20 processes, 20% info; 1 in 4 corrupted", "median <= 0.5 ms, max <= 5 ms"),
    ("register-2000", "cas-register, 2,000 ops, 20 processes, 2% info; 1 in 2 corrupted", "<= 500 ms each"),
    ("kv-100k", "kv, 100,000 ops over 1,000 keys, 100 processes, 5% info", "<= 10 s, <= 1 GB"),
    (
        "kv-2000-invalid",
        "kv, 2,000 ops over 10 keys, 50 processes, 5% info, one stale read",
        "<= 1 s and <= 500 MB, counterexample",
    ),
    (
        "register-2000-invalid",
        "cas-register, 2,000 ops on ONE key, 50 processes, 5% info, one stale read",
        "<= 1 s and <= 500 MB, counterexample",
    ),
    (
        "kv-2000-starved",
        "kv, 2,000 ops over 10 keys, 50 clients; the first two keys' partitions intractable, "
        "the last key plainly invalid; time_limit 30 s",
        "invalid in < 100 ms",
    ),
    (
        "kv-2000-all-hard",
        "as kv-2000-starved without the invalid key; time_limit 10 s",
        "unknown naming k0 and k1, within 10% (or 0.5 s) of the limit",
    ),
    (
        "memory-limit",
        "one intractable partition (a burst of 26 writes), memory_limit 64 MiB, time_limit 300 s",
        "unknown naming the memory limit, peak - history <= 64 MiB",
    ),
    ("register-150k", "cas-register, 150,000 ops on ONE key, 20 processes, 2% info", "<= 10 s and <= 1 GB"),
    ("kv-1m", "kv, 1,000,000 ops over 1,000 keys, 100 processes, 5% info", "<= 60 s and <= 2 GB"),
    (
        "edn-100k",
        "reading a Jepsen EDN history of 100,000 events (load_history: parse, check, pair); "
        "the fastest of --repeat reads as 'median'",
        "<= 2 s",
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer and smaller histories")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--repeat", type=int, default=3, help="time each small history this many times and keep the fastest (default 3)"
    )
    parser.add_argument("--shape", action="append", help="run only these shapes (repeatable)")
    parser.add_argument("--as-limit-gb", type=float, help="cap each shape's address space (RLIMIT_AS)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        if args.as_limit_gb:
            cap = int(args.as_limit_gb * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        print(json.dumps(run_shape(args.one, args.quick, args.seed, args.repeat)))
        return
    print(
        f"checker bench (seed {args.seed}{', quick' if args.quick else ''}; small histories timed "
        f"{args.repeat}x, fastest kept; large ones and those with a time limit once)"
    )
    example = None
    for name, what, target in SHAPES:
        if args.shape and name not in args.shape:
            continue
        cmd = [sys.executable, __file__, "--one", name, "--seed", str(args.seed), "--repeat", str(args.repeat)]
        if args.quick:
            cmd.append("--quick")
        if args.as_limit_gb:
            cmd += ["--as-limit-gb", str(args.as_limit_gb)]
        print(f"\n{name}: {what}  (target {target})", flush=True)
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"  FAILED (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        if r["median_ms"] is not None:
            print(
                f"  {r['histories']} histories, {r['ops']} ops: median {r['median_ms']:.2f} ms, "
                f"max {r['max_ms']:.2f} ms, sum {r['sum_ms']:.1f} ms"
            )
        if r.get("cpu_median_ms") is not None:
            print(
                f"  CPU time: median {r['cpu_median_ms']:.2f} ms, max {r['cpu_max_ms']:.2f} ms, "
                f"sum {r['cpu_sum_ms']:.1f} ms"
            )
        print(
            f"  verdicts {r['verdicts']}; RSS with the history built {r['history_mb']:.0f} MB, "
            f"peak {r['peak_rss_mb']:.0f} MB"
        )
        if r.get("time_limit") is not None:
            print(f"  time_limit {r['time_limit']:.0f} s: the answer came after {r['max_ms'] / 1000:.2f} s")
        if r.get("verdicts", {}).get("valid") != r["histories"] and r.get("reason"):
            print(f"  reason: {r['reason']}")
        if r.get("counterexample_json_bytes_max") is not None:
            print(f"  counterexample as JSON: at most {r['counterexample_json_bytes_max']} bytes")
            example = r.get("example")
    if example:
        print("\nlast counterexample, as `describe()` prints it:\n" + example)


if __name__ == "__main__":
    main()
