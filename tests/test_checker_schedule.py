"""Partitions searched in turns, and the limits of a check: no hard partition holds back an
easy invalid one, the time limit holds clean-up included, memory is an answer."""

from __future__ import annotations

import time
from typing import Any

from adapters.units import parse_size
from chaos.checker import check
from chaos.checker.budget import default_memory_limit, machine_memory, rss_bytes
from chaos.history import Operation


def burst(key: Any, width: int, first_id: int = 0, start: int = 0) -> list[Operation]:
    """``width`` concurrent writes each read back by a concurrent read, then two sequential
    reads of two different values: invalid, and a search must refute 2^(width-2) subsets."""
    ops: list[Operation] = []
    end = start + 1000
    for j in range(width):
        value = f"{key}{j}"
        ops.append(
            Operation(
                id=0,
                process=f"w{key}{j}",
                f="write",
                key=key,
                value=value,
                output=value,
                status="ok",
                call=start + j,
                ret=end + j,
            )
        )
        ops.append(
            Operation(
                id=0,
                process=f"r{key}{j}",
                f="read",
                key=key,
                value=None,
                output=value,
                status="ok",
                call=start + j,
                ret=end + j,
            )
        )
    ops.append(
        Operation(
            id=0,
            process=f"a{key}",
            f="read",
            key=key,
            value=None,
            output=f"{key}0",
            status="ok",
            call=end + 2000,
            ret=end + 2001,
        )
    )
    ops.append(
        Operation(
            id=0,
            process=f"a{key}",
            f="read",
            key=key,
            value=None,
            output=f"{key}1",
            status="ok",
            call=end + 2002,
            ret=end + 2003,
        )
    )
    for i, op in enumerate(ops):
        op.id = first_id + i
    return ops


def stale(key: Any, first_id: int) -> list[Operation]:
    """A plainly invalid partition: a read of 1 after a write of 2 was acknowledged."""
    ops = [
        Operation(id=0, process="x", f="write", key=key, value=1, output=1, status="ok", call=0, ret=1),
        Operation(id=0, process="x", f="write", key=key, value=2, output=2, status="ok", call=2, ret=3),
        Operation(id=0, process="y", f="read", key=key, value=None, output=1, status="ok", call=4, ret=5),
    ]
    for i, op in enumerate(ops):
        op.id = first_id + i
    return ops


def test_an_easy_invalid_partition_is_not_starved_by_hard_ones() -> None:
    """Two partitions no search decides in minutes come first; the third is invalid at a glance."""
    ops = burst("a", 30) + burst("b", 30, first_id=100) + stale("c", 200)
    result = check(ops, "kv", time_limit=120)
    assert result.verdict == "invalid"
    assert result.counterexample is not None and result.counterexample.key == "c"
    # Not a timing: the work. The hard partitions got a slice or two each before "c" was
    # decided, where a search of one partition after another would have spent the whole limit on "a".
    assert result.explored < 50_000


def test_every_undecided_partition_is_named() -> None:
    ops = burst("a", 30) + burst("b", 30, first_id=100) + stale("c", 200)[:2]
    result = check(ops, "kv", time_limit=0.5)
    assert result.verdict == "unknown"
    assert "time limit of 0.5 s reached" in result.reason
    assert "a (" in result.reason and "b (" in result.reason and "c (" not in result.reason
    assert result.linearization == {"c": [200, 201]}


def test_time_limit_holds_clean_up_included() -> None:
    """The issue's bound is 10% or 0.5 s; on a shared, loaded machine allow more."""
    ops = burst("a", 40)
    start = time.perf_counter()
    result = check(ops, "kv", time_limit=2.0)
    took = time.perf_counter() - start
    assert result.verdict == "unknown"
    assert took < 2.0 + 1.5, took


def test_memory_limit_stops_the_hungry_partition_and_the_others_go_on() -> None:
    ops = burst("a", 40) + stale("c", 200)
    result = check(ops, "kv", memory_limit=2_000_000, time_limit=120)
    assert result.verdict == "invalid" and result.counterexample is not None
    assert result.counterexample.key == "c"
    alone = check(burst("a", 40), "kv", memory_limit=2_000_000, time_limit=120)
    assert alone.verdict == "unknown"
    assert "memory limit of 2 MiB reached" in alone.reason and "(limit: memory)" in alone.reason


def test_valid_partitions_keep_their_certificates_whatever_the_order() -> None:
    ops = stale("a", 0)[:2] + stale("b", 10)[:2] + stale("c", 20)[:2]
    result = check(ops, "kv")
    assert result.verdict == "valid"
    assert result.linearization == {"a": [0, 1], "b": [10, 11], "c": [20, 21]}


def test_default_memory_limit_is_a_share_of_the_machine() -> None:
    total = machine_memory()
    limit = default_memory_limit()
    assert 0 < limit <= 8 << 30
    if total:
        assert limit <= total // 2
    assert rss_bytes() > 0


def test_sizes() -> None:
    assert parse_size("512MB") == 512 * 10**6
    assert parse_size("2GiB") == 2 << 30
    assert parse_size("1000") == 1000
    assert parse_size("1.5 GiB") == int(1.5 * 2**30)
