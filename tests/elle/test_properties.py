"""The checker against the definitions, on many small generated histories.

Model databases (tests/elle/simulated.py) run random transactions in random interleavings:

* a serial execution is valid at every level;
* snapshot isolation never shows what snapshot isolation forbids, read committed never what
  read committed forbids (no false alarm at either level);
* for every history, the serializable verdict is exactly the brute-force answer: valid iff
  some serial order of the committed transactions reproduces every read (no false alarm, no
  anomaly missed).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaos.elle import check

from .simulated import MicroOp, run, serializable

KEYS = ("x", "y", "z")


@st.composite
def workloads(
    draw: st.DrawFn, max_txns: int = 6, keys: tuple[str, ...] = KEYS
) -> tuple[list[list[MicroOp]], list[int]]:
    """Transactions of one to three micro-ops with unique appended elements, and a schedule."""
    count = draw(st.integers(1, max_txns))
    element = iter(range(1, 1000))
    txns: list[list[MicroOp]] = []
    for _ in range(count):
        mops: list[MicroOp] = []
        for _ in range(draw(st.integers(1, 3))):
            key = draw(st.sampled_from(keys))
            mops.append(("r", key, None) if draw(st.booleans()) else ("append", key, next(element)))
        txns.append(mops)
    schedule = draw(st.lists(st.integers(0, max_txns), min_size=count, max_size=5 * count))
    return txns, schedule


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(workloads())
def test_serial_executions_are_valid_at_every_level(workload: tuple[list[list[MicroOp]], list[int]]) -> None:
    ops = run("serial", *workload)
    for level in ("serializable", "snapshot-isolation", "read-committed"):
        result = check(ops, level)
        assert result.verdict == "valid", result.describe()


@FAST
@given(workloads())
def test_snapshot_isolation_shows_nothing_it_forbids(workload: tuple[list[list[MicroOp]], list[int]]) -> None:
    ops = run("si", *workload)
    result = check(ops, "snapshot-isolation")
    assert result.verdict != "invalid", result.describe()
    assert not {"G0", "G1a", "G1b", "G1c", "G-single", "G-nonadjacent"} & set(result.counts)


@FAST
@given(workloads())
def test_read_committed_shows_nothing_it_forbids(workload: tuple[list[list[MicroOp]], list[int]]) -> None:
    ops = run("rc", *workload)
    result = check(ops, "read-committed")
    assert result.verdict != "invalid", result.describe()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["si", "rc"]), workloads(max_txns=6, keys=("x", "y")))
def test_the_serializable_verdict_is_the_brute_force_answer(
    level: str, workload: tuple[list[list[MicroOp]], list[int]]
) -> None:
    ops = run(level, *workload)
    result = check(ops, "serializable")
    if result.verdict == "unknown":  # nothing committed
        assert not any(op.status == "ok" for op in ops)
        return
    assert (result.verdict == "valid") == serializable(ops), result.describe()
