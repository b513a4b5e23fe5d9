"""Known answers on hand-made histories: each anomaly of Adya's and Elle's catalogue, the
levels that forbid it, and the graph's edges on the examples of Elle's paper and tests."""

from __future__ import annotations

import pytest

from chaos.elle import check
from chaos.elle.graph import RW, WR, WW, build
from chaos.elle.list_append import _check
from chaos.elle.txns import transactions
from chaos.elle.versions import readers, version_orders, writers
from chaos.history import Operation

from .notation import history


def edges(ops: list[Operation]) -> dict[tuple[int, int], int]:
    """``(op id, op id) -> kinds`` of the dependency graph of ``ops``."""
    txns = transactions(ops)
    orders, _ = version_orders(txns.possible)
    index, _ = writers(txns.possible)
    graph = build(txns, orders, index, readers(txns.possible))
    ids = [t.op.id for t in txns.possible]
    return {(ids[a], ids[b]): bits for a, succ in enumerate(graph.out) for b, bits in succ.items()}


def kinds(ops: list[Operation], consistency: str = "serializable") -> dict[str, int]:
    return check(ops, consistency).counts


# ---------------------------------------------------------------------------- the graph


def test_a_read_orders_the_appends_it_saw_and_precedes_those_it_did_not() -> None:
    # rx, ax1, rx1: the empty read anti-depends on the append, which the last read observes.
    assert edges(history("rx", "ax1", "rx1")) == {(0, 1): RW, (1, 2): WR}
    # ax2, ax1, rx12: the read's order, not the invocation order, is the version order.
    assert edges(history("ax2", "ax1", "rx12")) == {(1, 0): WW, (0, 2): WR}


def test_adya_figure_3_is_serializable() -> None:
    # Adya, Liskov and O'Neil's serializable history: z1 x1 y1; r x1, a y2; r y12, a z3; r z13.
    ops = history("az1ax1ay1", "rx1ay2", "ry12az3", "rz13")
    assert edges(ops) == {(0, 1): WR | WW, (0, 2): WW, (1, 2): WR, (2, 3): WR}
    assert check(ops).verdict == "valid"


def test_appends_never_read_come_after_every_element_that_was() -> None:
    # rx, ax1, ax2: neither append was read, both follow the empty version rx saw.
    assert edges(history("rx", "ax1", "ax2")) == {(0, 1): RW, (0, 2): RW}


def test_an_indeterminate_transactions_reads_say_nothing() -> None:
    # The info txn appended 2 after the ok txn's 1 (the read says so), but its nil read of y
    # was never returned: it must not count as having read the empty y.
    ops = history(("info", "ax2ry"), "ax1ay1", "rx12ry1")
    assert edges(ops) == {(0, 2): WR, (1, 0): WW, (1, 2): WR}
    assert check(ops).verdict == "valid"


# ---------------------------------------------------------------------------- cycles


def test_g0_write_cycle() -> None:
    # x was appended 1 then 2, y 2 then 1: each transaction overwrote the other.
    ops = history("ax1ay1", "ax2ay2", "rx12ry21")
    result = check(ops, "read-uncommitted")
    assert result.counts == {"G0": 1}
    assert result.verdict == "invalid"
    (g0,) = result.anomalies
    assert sorted(g0.ops) == [0, 1]
    assert [s.kind for s in g0.steps] == ["ww", "ww"]
    assert result.ruled_out == [
        "read-uncommitted",
        "read-committed",
        "snapshot-isolation",
        "repeatable-read",
        "serializable",
    ]


def test_g1c_circular_information_flow() -> None:
    # T2 appended x after T1, yet T1 read T2's y.
    ops = history("ax1ry1", "ax2ay1", "rx12ry1")
    assert kinds(ops) == {"G1c": 1}
    assert check(ops, "read-uncommitted").verdict == "valid"
    assert check(ops, "read-committed").verdict == "invalid"
    steps = check(ops).anomalies[0].steps
    assert sorted(s.kind for s in steps) == ["wr", "ww"]


def test_g_single_read_skew() -> None:
    # T2 read y empty, so T2 precedes T1 on y; T2 appended x after T1.
    ops = history("ax1ay1", "ax2ry", "rx12")
    assert kinds(ops) == {"G-single": 1}
    assert check(ops, "read-committed").verdict == "valid"
    for level in ("snapshot-isolation", "repeatable-read", "serializable"):
        assert check(ops, level).verdict == "invalid", level


def test_g2_item_write_skew() -> None:
    # Each transaction read empty the key the other appended to.
    ops = history("ax1ry", "ay1rx")
    result = check(ops)
    assert result.counts == {"G2-item": 1}
    assert [s.kind for s in result.anomalies[0].steps] == ["rw", "rw"]
    assert check(ops, "snapshot-isolation").verdict == "valid"
    assert check(ops, "read-committed").verdict == "valid"
    assert check(ops, "repeatable-read").verdict == "invalid"
    text = "\n".join(result.anomalies[0].explanation)
    assert "observed the initial (empty) state of key 'y', which T2 created by appending 1" in text
    assert text.endswith("a contradiction!")


def test_g_nonadjacent_breaks_snapshot_isolation() -> None:
    # Two anti-dependencies, each followed by a read dependency: no two rw edges are adjacent,
    # which snapshot isolation forbids although it allows write skew.
    ops = history("ax1", "rx1ry", "ay1", "ry1rx")
    result = check(ops, "snapshot-isolation")
    assert result.counts == {"G-nonadjacent": 1}
    assert result.verdict == "invalid"
    assert [s.kind for s in result.anomalies[0].steps].count("rw") == 2


def test_every_class_is_found_once_per_component() -> None:
    # Two independent write skews on different keys: two components, two cases.
    ops = history("ax1ry", "ay1rx", "az1rt", "at1rz")
    assert kinds(ops) == {"G2-item": 2}
    assert check(ops).stats["components"] == 2


# ---------------------------------------------------------------------------- without the graph


def test_g1a_aborted_read() -> None:
    ops = history(("fail", "ax1"), "rx1ax2", "rx12ry3", "ay3")
    result = check(ops, "read-committed")
    assert result.counts["G1a"] == 2  # both committed reads of x contain the aborted 1
    assert {a.details["writer"] for a in result.anomalies if a.kind == "G1a"} == {0}
    assert check(ops, "read-uncommitted").verdict == "valid"


def test_g1b_intermediate_read_is_also_a_g_single() -> None:
    ops = history("ax1ax2", "rx1")
    result = check(ops, "read-committed")
    assert result.counts == {"G1b": 1, "G-single": 1}
    assert result.verdict == "invalid"
    # A transaction reading its own intermediate state is fine.
    assert check(history("ax1rx1ax2"), "serializable").verdict == "valid"


@pytest.mark.parametrize(
    ("txn", "expected"),
    [
        ("rx12ax3rx12", "[1 2 3]"),  # stale: missed its own append
        ("rx12ax3rx023", "[1 2 3]"),  # another prefix than it read
        ("rx12ax3rx1234", "[1 2 3]"),  # grew between two reads
        ("rx12ax3rx1", "[1 2 3]"),
        ("ax3rx1234", "[... 3]"),  # its own append is not last
        ("ax3rx", "[... 3]"),  # nor there at all
    ],
)
def test_internal_inconsistency(txn: str, expected: str) -> None:
    result = check(history(txn), "snapshot-isolation")
    (case,) = [a for a in result.anomalies if a.kind == "internal"]
    assert case.details["expected"] == expected
    assert result.verdict == "invalid"
    # Read committed allows it (a non-repeatable read), as Elle's table says.
    assert "internal" not in {a.kind for a in check(history(txn), "read-committed").anomalies if a.forbidden}


def test_consistent_transactions_are_not_internal() -> None:
    assert check(history("ry56ax3rx123ax4rx1234", "ay5ay6ax1ax2"), "snapshot-isolation").counts == {}


def test_future_read() -> None:
    result = check(history("rx012ax1"), "read-committed")
    assert result.counts["future-read"] == 1
    assert result.verdict == "invalid"


def test_lost_update() -> None:
    # Both read x as [1] and appended to it, neither seeing the other: a lost update, and a
    # G2-item cycle once a read orders the two appends.
    ops = history("ax1", "rx1ax2", "rx1ax3", "rx123")
    result = check(ops, "snapshot-isolation")
    assert result.counts["lost-update"] == 1
    assert result.counts["G-single"] == 1
    assert result.verdict == "invalid"
    assert "both read key 'x' as [1]" in next(a for a in result.anomalies if a.kind == "lost-update").explanation[0]


def test_incompatible_orders_and_duplicates() -> None:
    ops = history("ax1ry1", "ax2", "ax3ay1", "rx13", "rx123")
    result = check(ops, "read-committed")
    assert result.counts["incompatible-order"] == 1
    assert result.anomalies[0].kind == "G1c" or "G1c" in result.counts
    dup = check(history("ax1", "ax2", "rx121"), "read-uncommitted")
    assert dup.counts == {"duplicate-elements": 1}
    assert dup.verdict == "invalid"


def test_an_element_nobody_appended() -> None:
    result = check(history("ax1", "rx19"), "read-uncommitted")
    assert result.counts == {"garbage-read": 1}


# ---------------------------------------------------------------------------- what cannot be judged


def test_histories_that_say_nothing_are_unknown() -> None:
    assert check([]).verdict == "unknown"
    assert check(history(("fail", "ax1"), ("info", "ax2"))).verdict == "unknown"
    duplicated = check(history("ax1", "ax1", "rx1"))
    assert duplicated.verdict == "unknown"
    assert "appended to key 'x' by both op 0 and op 1" in duplicated.reason


def test_operations_that_are_not_transactions_are_left_out() -> None:
    ops = history("ax1", "rx1") + history("ax9", f="nemesis-like")
    result = check(ops)
    assert result.verdict == "valid"
    assert result.stats["skipped"] == 1


def test_a_cycle_search_out_of_time_still_rules_the_level_out() -> None:
    ops = history("ax1ry", "ay1rx")
    txns = transactions(ops)
    result = _check(txns, "serializable", deadline=0.0, candidates=8)  # the deadline is long past
    assert result.verdict == "invalid"
    assert result.counts == {"PL-3-cycle-exists": 1}
    assert "stopped at the time limit" in result.notes[0]
