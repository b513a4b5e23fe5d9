"""Jepsen's bank checker on hand-made histories: what makes a read of the balances wrong."""

from __future__ import annotations

from typing import Any

from chaos.elle import check_bank
from chaos.history import Operation


def read(i: int, balances: Any, status: str = "ok") -> Operation:
    return Operation(
        id=i, process=i, f="read", key="bank", value=None, output=balances, status=status, call=10 * i, ret=10 * i + 5
    )


def transfer(i: int) -> Operation:
    return Operation(
        id=i,
        process=i,
        f="transfer",
        key="bank",
        value={"from": 0, "to": 1, "amount": 3},
        output={"from": 0, "to": 1, "amount": 3},
        status="ok",
        call=10 * i,
        ret=10 * i + 5,
    )


def test_reads_that_sum_to_the_total_are_valid() -> None:
    ops = [read(0, {"0": 50, "1": 50}), transfer(1), read(2, {"0": 47, "1": 53})]
    result = check_bank(ops, 100, accounts=[0, 1])
    assert result.verdict == "valid"
    assert result.summary == "anomalies: none"
    assert result.model == "bank"


def test_each_kind_of_bad_read() -> None:
    ops = [
        read(0, {"0": 50, "1": 53}),  # money appeared
        read(1, {"0": -3, "1": 103}),  # overdrawn
        read(2, {"0": 50}),  # an account missing
        read(3, {"0": 50, "1": 50, "7": 0}),  # an account that does not exist
        read(4, {"0": 1, "1": 1}, status="info"),  # never returned: not judged
    ]
    result = check_bank(ops, 100, accounts=["0", "1"])
    assert result.verdict == "invalid"
    assert result.counts == {"wrong-total": 1, "negative-value": 1, "nil-balance": 1, "unexpected-key": 1}
    assert result.reason == "4 of 4 reads are wrong"
    wrong = next(a for a in result.anomalies if a.kind == "wrong-total")
    assert wrong.explanation == ["op 0 read balances summing to 103, not 100 (+3): 0: 50, 1: 53"]
    assert result.counterexample is not None and result.counterexample.failed == [0]
    assert check_bank(ops[1:2], 100, negative_balances=True).verdict == "valid"


def test_the_total_is_taken_from_the_earliest_read_when_not_given() -> None:
    result = check_bank([read(1, {"0": 40, "1": 40}), read(0, {"0": 50, "1": 50})])
    assert result.counts == {"wrong-total": 1}
    assert result.notes == ["total not given: 100 taken from the earliest read (op 0)"]


def test_no_read_means_unknown() -> None:
    assert check_bank([transfer(0)], 100).verdict == "unknown"
