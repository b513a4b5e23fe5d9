"""How fast chaos runs catch each broken design of the seed, on the in-memory stores.

    python bench/detection.py [--seeds 20] [--correct] [--designs naive-1,improved-2]

For every broken design's experiment in ``experiments/seed/`` (``*-memory.yaml`` with
``expect: invalid``) it runs ``--seeds`` seeds and prints how many found the violation, and
the median wall time and median number of operations until the first violation. "Until the
first violation" is measured on the history: the shortest prefix of it that the checker
already finds invalid (found by bisection; a prefix of a history is a history, and a
violation in a prefix stays one). With ``--correct`` it also runs the correct designs
(``expect: valid``) for the same seeds and counts violations, which must be zero.

The seed's model checker needed 3 operations; ``mode: explore`` (bench/explore.py) finds the
same bugs in as few, and shrinks them.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import chaos
from chaos.checker import check
from chaos.experiment import load
from chaos.history import pair, read_events

SEED_DIR = Path(__file__).resolve().parent.parent / "experiments" / "seed"


def first_violation(history: Path, model: str) -> tuple[int, float] | None:
    """(operations completed, seconds since the run started) at the shortest invalid prefix."""
    events = read_events(history)

    def invalid(n: int) -> bool:
        return check(pair(events[:n]), model).verdict == "invalid"

    if not invalid(len(events)):
        return None
    low, high = 0, len(events)  # invalid(high) holds, invalid(low) does not
    while high - low > 1:
        middle = (low + high) // 2
        if invalid(middle):
            high = middle
        else:
            low = middle
    prefix = events[:high]
    operations = sum(1 for e in prefix if e["type"] != "invoke" and e["process"] != "nemesis")
    return operations, prefix[-1]["time"] / 1e9


def run(path: Path, seed: int, out: Path) -> tuple[str, float, Path]:
    started = time.perf_counter()
    result = chaos.run(load(path), out=out, seed=seed, report=False)
    return result.verdict or "error", time.perf_counter() - started, result.run_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--correct", action="store_true", help="also run the correct designs")
    parser.add_argument("--designs", help="comma-separated experiment names (file stems without -memory)")
    args = parser.parse_args()
    paths = sorted(SEED_DIR.glob("*-memory.yaml"))
    if args.designs:
        wanted = {f"{d}-memory" for d in args.designs.split(",")}
        paths = [p for p in paths if p.stem in wanted]
    print(f"{'design':<22} {'found':>7} {'median s':>9} {'max s':>7} {'median ops':>11} {'min ops':>8} {'run s':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            experiment = load(path).experiment
            if experiment.expect == "valid" and not args.correct:
                continue
            model = experiment.checks[0].model
            found, seconds, operations, runs = 0, [], [], []
            for seed in range(1, args.seeds + 1):
                verdict, wall, run_dir = run(path, seed, Path(tmp) / f"{path.stem}-{seed}")
                runs.append(wall)
                if verdict == "invalid":
                    found += 1
                    if experiment.expect == "invalid":
                        ops, at = first_violation(run_dir / "history.jsonl", model) or (0, 0.0)
                        operations.append(ops)
                        seconds.append(at)
            name = path.stem.removesuffix("-memory")
            if experiment.expect == "invalid":
                print(
                    f"{name:<22} {found:>3}/{args.seeds:<3} {statistics.median(seconds) if seconds else 0:>9.3f}"
                    f" {max(seconds, default=0):>7.3f} {statistics.median(operations) if operations else 0:>11.0f}"
                    f" {min(operations, default=0):>8} {statistics.median(runs):>6.2f}"
                )
            else:
                print(
                    f"{name:<22} {found:>3}/{args.seeds:<3} violations in correct design (must be 0);"
                    f" median run {statistics.median(runs):.2f}s"
                )


if __name__ == "__main__":
    main()
