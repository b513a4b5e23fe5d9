"""Benchmark of the linearizability checker: ``python bench/checker.py [--quick] [--seed N]``.

Histories come from a simulated linearizable store: concurrent clients each issue one call at
a time, every call takes effect at a random instant inside its interval, info calls (timeouts)
take effect or not and move their client to a new process id, cas expectations are guessed
from recent values (so some cas fail). Invalid copies get one definite stale read: a read that
returns the value of a write w1 although another write w2 started after w1 returned and
returned before the read started.

Each shape runs in its own subprocess so that its peak RSS (ru_maxrss) is its own. Figures are
wall time of ``check`` only (generation excluded): median / max / sum per shape. Each history
is checked ``--repeat`` times (default 3) and its fastest run kept, so that a busy shared
machine's scheduler does not show up as a slow history; ``--repeat 1`` gives single runs.
"""

from __future__ import annotations

import argparse
import heapq
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

from chaos.checker import check
from chaos.history import Operation


def simulate(
    rng: random.Random, n_ops: int, n_procs: int, info_rate: float, n_keys: int | None,
    mix: tuple[float, float] = (0.5, 0.3),
) -> list[Operation]:
    """One history of a linearizable cas-register / kv store (keys k0..k{n-1}, or no key)."""
    heap = [(rng.random(), slot) for slot in range(n_procs)]
    heapq.heapify(heap)
    proc_of = list(range(n_procs))
    next_proc = n_procs
    plans = []
    for i in range(n_ops):
        t, slot = heapq.heappop(heap)
        call = t
        ret = call + rng.expovariate(1.0)
        point = rng.uniform(call, ret)
        info = rng.random() < info_rate
        happens = not info or rng.random() < 0.5
        r = rng.random()
        f = "read" if r < mix[0] else "write" if r < mix[0] + mix[1] else "cas"
        key = None if n_keys is None else f"k{rng.randrange(n_keys)}"
        plans.append([point, i, proc_of[slot], f, key, call, ret, info, happens])
        if info:
            proc_of[slot] = next_proc
            next_proc += 1
        heapq.heappush(heap, (ret + rng.expovariate(4.0), slot))
    store: dict[Any, Any] = {}
    recent: dict[Any, list[Any]] = {}
    counter = 0
    ops: list[Operation | None] = [None] * n_ops
    for point, i, proc, f, key, call, ret, info, happens in sorted(plans):
        del point
        status = "info" if info else "ok"
        value = output = None
        cur = store.get(key)
        if f == "read":
            output = cur
        elif f == "write":
            counter += 1
            value = output = counter
            if happens:
                store[key] = value
                recent.setdefault(key, []).append(value)
        else:
            counter += 1
            history = recent.get(key, [None])
            expected = cur if rng.random() < 0.6 else rng.choice(history[-4:])
            value = output = [expected, counter]
            if expected == cur:
                if happens:
                    store[key] = counter
                    recent.setdefault(key, []).append(counter)
            elif not info:
                status = "fail"
        ops[i] = Operation(
            id=i, process=proc, f=f, key=key, value=value,
            output=None if info else output, status=status,  # type: ignore[arg-type]
            call=int(call * 1_000_000), ret=None if info else int(ret * 1_000_000),
        )
    return [op for op in ops if op is not None]


def corrupt(rng: random.Random, ops: list[Operation]) -> bool:
    """Make one read definitely stale (see the module docstring); False if no read qualifies."""
    writes: dict[Any, list[Operation]] = {}
    for op in ops:
        if op.status == "ok" and op.f in ("write", "cas"):
            writes.setdefault(op.key, []).append(op)
    reads = [op for op in ops if op.status == "ok" and op.f == "read"]
    rng.shuffle(reads)
    for read in reads:
        before = [w for w in writes.get(read.key, []) if w.ret is not None and w.ret < read.call]
        before.sort(key=lambda w: w.call)
        for w2 in reversed(before):
            older = [w1 for w1 in before if w1.ret is not None and w1.ret < w2.call]
            if older:
                w1 = rng.choice(older)
                read.output = w1.value if w1.f == "write" else w1.value[1]
                return True
    return False


def timed(ops: list[Operation], model: str, repeat: int) -> tuple[float, Any]:
    """The fastest of ``repeat`` runs of ``check`` (filters scheduler noise on shared machines)."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = check(ops, model)
        best = min(best, time.perf_counter() - start)
    return best, result


REGISTER_SHAPES = {"etcd-80": ((200, 50), 80, 0.20, 4), "register-2000": ((10, 3), 2000, 0.02, 2)}
"""cas-register shapes: histories (full, --quick), operations each, info rate, and every how
many-th history is corrupted."""


def run_shape(name: str, quick: bool, seed: int, repeat: int) -> dict[str, Any]:
    rng = random.Random(f"{seed}-{name}")
    times: list[float] = []
    verdicts: Counter[str] = Counter()
    extra: dict[str, Any] = {}
    n_ops_total = 0
    if name in REGISTER_SHAPES:
        (full, short), n_ops, info_rate, corrupt_every = REGISTER_SHAPES[name]
        for i in range(short if quick else full):
            ops = simulate(rng, n_ops, 20, info_rate, None)
            if i % corrupt_every == corrupt_every - 1:
                corrupt(rng, ops)
            elapsed, result = timed(ops, "cas-register", repeat)
            times.append(elapsed)
            verdicts[result.verdict] += 1
            n_ops_total += len(ops)
    elif name == "kv-100k":
        n_ops, n_keys = (20_000, 200) if quick else (100_000, 1000)
        ops = simulate(rng, n_ops, 100, 0.05, n_keys)
        elapsed, result = timed(ops, "kv", 1)
        times.append(elapsed)
        verdicts[result.verdict] += 1
        n_ops_total = len(ops)
        extra["partitions"] = result.partitions
    elif name in ("kv-2000-invalid", "register-2000-invalid"):
        count = 3 if quick else 10
        sizes = []
        for _ in range(count):
            keys = 10 if name == "kv-2000-invalid" else None
            ops = simulate(rng, 2000, 50, 0.05, keys)
            corrupt(rng, ops)
            elapsed, result = timed(ops, "kv" if keys else "cas-register", repeat)
            times.append(elapsed)
            verdicts[result.verdict] += 1
            n_ops_total += len(ops)
            if result.counterexample is not None:
                sizes.append(len(json.dumps(result.counterexample.to_dict())))
                extra["example"] = result.describe()
        extra["counterexample_json_bytes_max"] = max(sizes) if sizes else None
    else:
        raise SystemExit(f"unknown shape {name}")
    return {
        "shape": name,
        "histories": len(times),
        "ops": n_ops_total,
        "median_ms": statistics.median(times) * 1000,
        "max_ms": max(times) * 1000,
        "sum_ms": sum(times) * 1000,
        "verdicts": dict(verdicts),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **extra,
    }


SHAPES = [
    ("etcd-80", "cas-register, 80 ops, 20 processes, 20% info; 1 in 4 corrupted", "median <= 0.5 ms, max <= 5 ms"),
    ("register-2000", "cas-register, 2,000 ops, 20 processes, 2% info; 1 in 2 corrupted", "<= 500 ms each"),
    ("kv-100k", "kv, 100,000 ops over 1,000 keys, 100 processes, 5% info", "<= 10 s, <= 1 GB"),
    ("kv-2000-invalid", "kv, 2,000 ops over 10 keys, 50 processes, 5% info, one stale read",
     "<= 1 s and <= 500 MB, counterexample"),
    ("register-2000-invalid", "cas-register, 2,000 ops on ONE key, 50 processes, 5% info, one stale read",
     "<= 1 s and <= 500 MB, counterexample"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer and smaller histories")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3,
                        help="time each history this many times and keep the fastest (default 3)")
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.shape:
        print(json.dumps(run_shape(args.shape, args.quick, args.seed, args.repeat)))
        return
    print(f"checker bench (seed {args.seed}{', quick' if args.quick else ''}; each history timed "
          f"{args.repeat}x, fastest kept; the 100k-op history once)")
    example = None
    for name, what, target in SHAPES:
        cmd = [sys.executable, __file__, "--shape", name, "--seed", str(args.seed),
               "--repeat", str(args.repeat)]
        if args.quick:
            cmd.append("--quick")
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"\n{name}: {what}  (target {target})")
        print(f"  {r['histories']} histories, {r['ops']} ops: median {r['median_ms']:.2f} ms, "
              f"max {r['max_ms']:.2f} ms, sum {r['sum_ms']:.1f} ms")
        print(f"  verdicts {r['verdicts']}, peak RSS of the process {r['peak_rss_mb']:.0f} MB")
        if r.get("partitions"):
            print(f"  partitions {r['partitions']}")
        if r.get("counterexample_json_bytes_max") is not None:
            print(f"  counterexample as JSON: at most {r['counterexample_json_bytes_max']} bytes")
            example = r.get("example")
    if example:
        print("\nlast counterexample, as `describe()` prints it:\n" + example)


if __name__ == "__main__":
    main()
