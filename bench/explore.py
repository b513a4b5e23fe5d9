"""Controlled exploration of the seed's designs: speed and time to the first violation.

    python bench/explore.py [--strategies exhaustive,random,pct] [--designs naive-1,...] [--time-limit 120]

For each design's experiment in ``experiments/explore/`` and each strategy, it prints the
executions run and distinct states seen (and per second), the wall time until the first
violation (or until the bounded space was covered, for the correct designs), and the number
of operations in the shrunk counterexample. The seed's model checker needed 3 operations.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from chaos.experiment import load
from chaos.explore import Explorer, shrink

EXPLORE = Path(__file__).resolve().parent.parent / "experiments" / "explore"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategies", default="exhaustive,random,pct")
    parser.add_argument("--designs", help="comma-separated file stems of experiments/explore (default: all)")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per design and strategy")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    paths = sorted(EXPLORE.glob("*.yaml"))
    if args.designs:
        wanted = set(args.designs.split(","))
        paths = [p for p in paths if p.stem in wanted]
    print(
        f"{'design':<26} {'strategy':<11} {'result':<10} {'executions':>10} {'exec/s':>8} {'states':>9}"
        f" {'states/s':>9} {'seconds':>8} {'ops':>4} {'shrunk':>6}"
    )
    for path in paths:
        experiment = load(path).experiment
        for strategy in args.strategies.split(","):
            spec = experiment.explore.model_copy(update={"strategy": strategy, "time_limit": args.time_limit})
            if strategy != "exhaustive":
                spec = spec.model_copy(update={"max_operations": max(spec.max_operations, 4)})
            explorer = Explorer(experiment.model_copy(update={"explore": spec}), args.seed)
            started = time.perf_counter()
            report = explorer.explore()
            elapsed = time.perf_counter() - started
            found, shrunk = report.found, None
            if found is not None:
                shrunk, _ = shrink(explorer, found)
            result = "violation" if found else ("covered" if report.exhausted else "none found")
            rate, state_rate = report.rate()
            ops = found.execution.plan.operations if found else "-"
            shrunk_ops = shrunk.execution.plan.operations if shrunk else "-"
            print(
                f"{path.stem:<26} {strategy:<11} {result:<10} {report.executions:>10,} {rate:>8,.0f}"
                f" {report.states:>9,} {state_rate:>9,.0f} {elapsed:>8.2f} {ops:>4} {shrunk_ops:>6}"
            )


if __name__ == "__main__":
    main()
