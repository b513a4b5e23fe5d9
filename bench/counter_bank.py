"""Benchmark of the counter and bank models: ``python bench/counter_bank.py [--quick] [--seed N]``.

Part 1, simulated histories: 8 clients, 2,000 operations, half of them updates; 4% of the
updates are info (a timeout), and half of those take effect shortly after their call. Each
history is checked by:

- ``built-in``: the model as shipped (every hook);
- ``no quick search``: without ``prepare`` (so without chaos/models/additive.py's search, which
  drops the info updates a linearization did without);
- ``no effect``: the user's counter of docs/checker.md (init, step, partition, read_only): what
  the issue's users wrote themselves.

Part 2, runs: the experiments in experiments/ on the in-memory store, a few seeds each; the
figures are the check's time (``CheckResult.elapsed``) and, for the racy systems, the whole
run's wall time until the violation was reported.

Every check has a time limit (``--time-limit``, default 20 s); past it the verdict is unknown
and the time is shown as ``>limit``. Each simulated history is checked ``--repeat`` times
(default 3) and the fastest kept, so a busy machine's scheduler does not show up as a slow
history.
"""

from __future__ import annotations

import argparse
import dataclasses
import heapq
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chaos.checker import check
from chaos.history import Operation
from chaos.models import Model, bank, counter
from chaos.models.bank import initial_balances

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"


def simulate(
    model: str, rng: random.Random, n_ops: int = 2000, info_rate: float = 0.04, max_add: int = 1, lost: bool = False
) -> list[Operation]:
    """A linearizable counter (adds of 1..max_add) or default-bank history; with ``lost``, one
    ok update in the middle is missing from every read called after it returned."""
    heap = [(rng.random(), slot) for slot in range(8)]
    heapq.heapify(heap)
    proc_of = list(range(8))
    plans = []
    for i in range(n_ops):
        call, slot = heapq.heappop(heap)
        ret = call + rng.expovariate(1.0)
        update = rng.random() < 0.5
        info = update and rng.random() < info_rate
        if not update:
            value = None
        elif model == "counter":
            value = rng.randint(1, max_add)
        else:
            a, b = rng.sample(range(5), 2)
            value = {"from": f"a{a}", "to": f"a{b}", "amount": rng.randint(1, 5)}
        happens = not info or rng.random() < 0.5
        plans.append((rng.uniform(call, ret), i, proc_of[slot], value, call, ret, info, happens))
        if info:
            proc_of[slot] += 8
        heapq.heappush(heap, (ret + rng.expovariate(4.0), slot))
    state: Any = 0 if model == "counter" else dict(initial_balances())
    ops = []
    for _point, i, proc, value, call, ret, info, happens in sorted(plans):
        status, output = ("info" if info else "ok"), None
        if value is None:
            f, output = "read", (state if model == "counter" else dict(state))
        elif model == "counter":
            f = "add"
            if happens:
                state += value
        else:
            f = "transfer"
            if state[value["from"]] < value["amount"]:
                status = "info" if info else "fail"
            elif happens:
                state[value["from"]] -= value["amount"]
                state[value["to"]] += value["amount"]
        ops.append(
            Operation(
                id=i,
                process=proc,
                f=f,
                key=None,
                value=value,
                output=output if status == "ok" else None,
                status=status,
                call=int(call * 1e6),
                ret=None if status == "info" else int(ret * 1e6),
            )
        )
    if lost:
        middle = sorted(o.call for o in ops)[len(ops) // 2]
        victim = next(o for o in ops if o.status == "ok" and o.f != "read" and o.call > middle)
        for o in ops:
            if o.f == "read" and o.status == "ok" and o.call > victim.ret:
                if model == "counter":
                    o.output -= victim.value
                else:
                    v = victim.value
                    o.output = {
                        **o.output,
                        v["from"]: o.output[v["from"]] + v["amount"],
                        v["to"]: o.output[v["to"]] - v["amount"],
                    }
    return ops


def _user_step(state: int, op: Operation) -> tuple[bool, int]:
    if op.f == "add":
        return True, state + op.value
    return op.status != "ok" or op.output == state, state


USER_COUNTER = Model(
    name="user-counter",
    init=lambda: 0,
    step=_user_step,
    partition=lambda op: op.key,
    read_only=lambda op: op.f == "read",
)
"""docs/checker.md's example counter: no effect, no prepare, no impossible, no pins."""


def timed(ops: list[Operation], model: Model, repeat: int, limit: float) -> tuple[float, str]:
    best, verdict = float("inf"), "?"
    for _ in range(repeat):
        start = time.perf_counter()
        result = check(ops, model, time_limit=limit)
        best = min(best, time.perf_counter() - start)
        verdict = result.verdict
        if verdict == "unknown":
            break
    return best, verdict


def summary(times: list[float], verdicts: list[str], limit: float) -> str:
    """Median and max of the checks that decided, their verdicts, and how many ran out of time."""
    unknown = verdicts.count("unknown")
    if unknown == len(times):
        return f"all {unknown} unknown (>{limit:g} s)"
    known = [t for t, v in zip(times, verdicts, strict=True) if v != "unknown"]
    decided = "/".join(sorted({v for v in verdicts if v != "unknown"}))
    text = f"median {statistics.median(known) * 1000:.0f} ms, max {max(known) * 1000:.0f} ms ({decided})"
    return text + (f"; {unknown} of {len(times)} unknown (>{limit:g} s)" if unknown else "")


SHAPES = [
    ("counter, adds of 1", "counter", {"max_add": 1}),
    ("counter, adds of 1..5", "counter", {"max_add": 5}),
    ("bank, 5 accounts, transfers of 1..5", "bank", {}),
    ("counter, adds of 1, one lost update, no info", "counter", {"lost": True, "info_rate": 0.0}),
    ("bank, one lost transfer", "bank", {"lost": True}),
]


def part1(histories: int, seed: int, repeat: int, limit: float) -> None:
    print(f"Part 1: simulated 2,000-operation histories, {histories} per shape (fastest of {repeat})")
    print("| shape | built-in | no quick search | no effect (a user's counter) |")
    print("|---|---|---|---|")
    for label, kind, options in SHAPES:
        model = counter if kind == "counter" else bank
        variants: list[Model | None] = [
            model,
            dataclasses.replace(model, prepare=None),
            USER_COUNTER if kind == "counter" and not options.get("lost") else None,
        ]
        cells = []
        for variant in variants:
            if variant is None:
                cells.append("")
                continue
            rng = random.Random(f"{seed}-{label}")
            times, verdicts = [], []
            for _ in range(histories):
                ops = simulate(kind, rng, **options)
                elapsed, verdict = timed(ops, variant, repeat, limit)
                times.append(elapsed)
                verdicts.append(verdict)
            cells.append(summary(times, verdicts, limit))
        print(f"| {label} | {' | '.join(cells)} |", flush=True)


def part2(seeds: int, limit: float) -> None:
    from chaos.pytest_plugin import run_file

    print(f"\nPart 2: the experiments on the in-memory store, seeds 1..{seeds}")
    print("| experiment | verdicts | check time | run wall time |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("counter-memory", "counter-racy-memory", "bank-memory", "bank-racy-memory"):
            checks, walls, verdicts = [], [], []
            for seed in range(1, seeds + 1):
                result = run_file(
                    EXPERIMENTS / f"{name}.yaml",
                    out=Path(tmp) / f"{name}-{seed}",
                    seed=seed,
                    report=False,
                    overrides={"checks": [{"model": name.split("-")[0], "time_limit": f"{limit:g}s"}]},
                )
                verdicts.append(result.verdict)
                checks.append(result.checks[0].elapsed)
                walls.append(result.wall_seconds)
            print(
                f"| {name} | {', '.join(sorted(set(verdicts)))} | "
                f"median {statistics.median(checks) * 1000:.0f} ms, max {max(checks) * 1000:.0f} ms | "
                f"median {statistics.median(walls):.2f} s, max {max(walls):.2f} s |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 histories per shape, 2 seeds per experiment")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=20.0)
    args = parser.parse_args()
    part1(2 if args.quick else 5, args.seed, args.repeat, args.time_limit)
    part2(2 if args.quick else 5, args.time_limit)


if __name__ == "__main__":
    main()
