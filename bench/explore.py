"""Controlled exploration of the seed's designs: speed and time to the first violation.

    python bench/explore.py [--strategies exhaustive,random,pct] [--designs naive-1,...] [--time-limit 120]
    python bench/explore.py --designs profile-cleaner-working --strategies exhaustive --jobs 1,2 --repeat 3
    python bench/explore.py --designs profile-cleaner-working --strategies random,pct --jobs 1,2 --executions 50000

For each design's experiment in ``experiments/explore/`` and each strategy, it prints the
executions run and distinct states seen (and per second), the wall time until the first
violation (or until the bounded space was covered, for the correct designs), and the number
of operations in the shrunk counterexample. The seed's model checker needed 3 operations.

``--jobs 1,2`` runs each exploration with 1 and with 2 worker processes (an exhaustive one's
levels, or a random or PCT one's executions, fanned out as ``chaos run --jobs`` does, worker
start-up included in the time), ``--repeat`` times each, alternating, and prints the speed-up
of every job count over 1 job (median and range over the repeats). A random or PCT exploration
runs a budget of ``--executions`` (default 20,000). Results must not differ: the bench says so
if they do. ``cpu s`` is the CPU time the run took over all its processes and ``cores`` that
divided by the wall time: on a machine shared with other work, the cores a run actually got,
which bounds its speed-up. The first and last lines say how much a second process gets done on
the machine at that moment (a fixed pure-Python loop in one process, then in two at once).
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import resource
import statistics
import time
from pathlib import Path
from typing import Any

from chaos.executors import Workers
from chaos.experiment import Experiment, load
from chaos.exploration import Exploration, Explorer, shrink
from chaos.exploration.parallel import LevelSearch, SampleSearch

EXPLORE = Path(__file__).resolve().parent.parent / "experiments" / "explore"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategies", default="exhaustive,random,pct")
    parser.add_argument("--designs", help="comma-separated file stems of experiments/explore (default: all)")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per design and strategy")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--executions", type=int, default=20_000, help="budget of a random or PCT run (with --jobs)")
    parser.add_argument("--jobs", help="comma-separated worker counts to compare on exhaustive strategies, e.g. 1,2")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each job count (with --jobs)")
    args = parser.parse_args()
    paths = sorted(EXPLORE.glob("*.yaml"))
    if args.designs:
        wanted = set(args.designs.split(","))
        paths = [p for p in paths if p.stem in wanted]
    if args.jobs:
        compare_jobs(paths, args)
        return
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


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the pool's workers,
    once the pool is shut down)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _explore(experiment: Experiment, seed: int, jobs: int) -> tuple[Exploration, float, float]:
    """The exploration, its wall time and the CPU seconds it took (over every process)."""
    explorer = Explorer(experiment, seed)
    cpu = _cpu()
    started = time.perf_counter()
    if jobs == 1:
        report = explorer.explore()
    elif experiment.explore.strategy == "exhaustive":
        with LevelSearch(explorer, Workers(jobs=jobs)) as search_level:
            report = explorer.explore(search_level=search_level)
    else:
        with SampleSearch(explorer, Workers(jobs=jobs)) as sample:
            report = explorer.explore(sample=sample)
    return report, time.perf_counter() - started, _cpu() - cpu


def _spin(_: int = 0) -> float:
    """A fixed amount of pure-Python work; its wall time."""
    started = time.perf_counter()
    total = 0
    for i in range(20_000_000):
        total += i
    return time.perf_counter() - started


def machine_parallelism(jobs: int) -> float:
    """How many times more of a fixed CPU-bound work ``jobs`` processes get done per second than
    one, right now: on an idle machine with that many cores, about ``jobs``; on a shared one,
    less. The speed-up a parallel exploration can show is bounded by it."""
    one = _spin()
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        pool.map(_spin, range(jobs))  # started and warm
        started = time.perf_counter()
        pool.map(_spin, range(jobs))
        together = time.perf_counter() - started
    return jobs * one / together


def compare_jobs(paths: list[Path], args: argparse.Namespace) -> None:
    """Wall time of each exploration with each job count, alternating runs."""
    counts = [int(n) for n in args.jobs.split(",")]
    top = max(counts)
    print(
        f"machine: {os.cpu_count()} cores; {top} busy processes get {machine_parallelism(top):.2f}x the work of one "
        f"done per second right now (load average {os.getloadavg()[0]:.2f})",
        flush=True,
    )
    print(
        f"{'design and strategy':<38} {'jobs':>4} {'run':>3} {'result':<10} {'executions':>10} {'states':>9}"
        f" {'seconds':>8} {'cpu s':>7} {'cores':>5}"
    )
    for path, strategy in itertools.product(paths, args.strategies.split(",")):
        experiment = load(path).experiment
        update: dict[str, Any] = {"strategy": strategy, "time_limit": args.time_limit}
        if strategy != "exhaustive":
            update["executions"] = args.executions
        spec = experiment.explore.model_copy(update=update)
        experiment = experiment.model_copy(update={"explore": spec})
        label = f"{path.stem} {strategy}"
        times: dict[int, list[float]] = {n: [] for n in counts}
        shapes = set()
        for run in range(1, args.repeat + 1):
            for jobs in counts:
                report, elapsed, cpu = _explore(experiment, args.seed, jobs)
                times[jobs].append(elapsed)
                found = report.found
                result = "violation" if found else ("covered" if report.exhausted else "none found")
                choices = tuple(found.execution.choices) if found else ()
                shapes.add((result, report.executions, report.states, report.plans, choices))
                print(
                    f"{label:<38} {jobs:>4} {run:>3} {result:<10} {report.executions:>10,} "
                    f"{report.states:>9,} {elapsed:>8.2f} {cpu:>7.1f} {cpu / elapsed:>5.2f}",
                    flush=True,
                )
        base = times[counts[0]]
        for jobs in counts[1:]:
            ratios = sorted(b / t for b, t in zip(base, times[jobs], strict=True))
            print(
                f"{label}: {jobs} jobs vs {counts[0]}: speed-up median {statistics.median(ratios):.2f}x "
                f"(range {ratios[0]:.2f}-{ratios[-1]:.2f} over {len(ratios)} runs); seconds "
                f"{counts[0]} job(s) {statistics.median(base):.1f}, {jobs} jobs {statistics.median(times[jobs]):.1f}"
            )
        print(f"{label}: results {'identical' if len(shapes) == 1 else 'DIFFER: ' + repr(shapes)} across runs")
    print(
        f"machine after: {top} busy processes get {machine_parallelism(top):.2f}x the work of one done per second "
        f"(load average {os.getloadavg()[0]:.2f})"
    )


if __name__ == "__main__":
    main()
