"""Hand-made histories with known verdicts, certificates replayed, budgets, results as data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chaos.checker import CheckResult, check
from chaos.errors import BadInput
from chaos.history import Operation
from chaos.models import Model, get_model

try:  # tests/ is a package in this repo; also run as loose modules
    from tests.test_checker_reference import SPECS, replay_result
except ImportError:  # pragma: no cover
    from test_checker_reference import SPECS, replay_result  # type: ignore[no-redef]

_ids = iter(range(10**9))


def op(
    f: str,
    value: Any = None,
    output: Any = None,
    *,
    call: int,
    ret: int | None,
    status: str = "ok",
    key: Any = None,
    process: Any = None,
    id: int | None = None,
) -> Operation:
    i = next(_ids) if id is None else id
    if status == "info":
        ret, output = None, None
    made = Operation(
        id=i,
        process=i if process is None else process,
        f=f,
        key=key,
        value=value,
        output=output,
        status=status,
        call=call,
        ret=ret,
    )
    if process is None:
        made.extra["auto_process"] = True
    return made


def H(*ops: Operation) -> list[Operation]:
    """Renumber ids 0..n-1 in the order given."""
    for i, o in enumerate(ops):
        o.id = i
        if o.extra.get("auto_process"):
            o.process = i
    return list(ops)


def verdict(ops: list[Operation], model: str | Model) -> str:
    result = check(ops, model)
    if result.verdict == "valid" and isinstance(model, str) and model in SPECS:
        replay_result(ops, result.linearization, SPECS[model])
    return result.verdict


# ---------------------------------------------------------------- registers


def test_stale_read_after_acknowledged_write_is_invalid() -> None:
    ops = H(op("write", 1, 1, call=0, ret=1), op("write", 2, 2, call=2, ret=3), op("read", None, 1, call=4, ret=5))
    result = check(ops, "cas-register")
    assert result.verdict == "invalid"
    cx = result.counterexample
    assert cx is not None
    assert cx.prefix == [0, 1] and cx.failed == [2] and cx.states == ["value 2"]
    assert "#2 p2 read -> 1 ok" in result.describe()


def test_read_concurrent_with_write_may_see_either_value() -> None:
    w = op("write", 2, 2, call=2, ret=6)
    assert verdict(H(op("write", 1, 1, call=0, ret=1), w, op("read", None, 1, call=3, ret=4)), "register") == "valid"
    assert (
        verdict(
            H(op("write", 1, 1, call=0, ret=1), op("write", 2, 2, call=2, ret=6), op("read", None, 2, call=3, ret=4)),
            "register",
        )
        == "valid"
    )


def test_failed_write_that_is_read_is_invalid() -> None:
    ops = H(op("write", 1, None, call=0, ret=1, status="fail"), op("read", None, 1, call=2, ret=3))
    result = check(ops, "register")
    assert result.verdict == "invalid"
    assert result.counterexample is not None and result.counterexample.failed == [1]
    assert "legal in no reachable state" in result.reason


def test_info_write_may_take_effect_after_a_later_read() -> None:
    ops = H(
        op("write", 1, call=0, ret=None, status="info"),
        op("read", None, None, call=2, ret=3),
        op("read", None, 1, call=4, ret=5),
    )
    result = check(ops, "register")
    assert result.verdict == "valid"
    assert result.linearization == {None: [1, 0, 2]}


def test_info_write_never_taking_effect_is_fine() -> None:
    ops = H(op("write", 1, call=0, ret=None, status="info"), op("read", None, None, call=2, ret=3))
    assert verdict(ops, "register") == "valid"


def test_info_write_cannot_take_effect_before_its_call() -> None:
    ops = H(op("read", None, 1, call=0, ret=1), op("write", 1, call=2, ret=None, status="info"))
    assert verdict(ops, "register") == "invalid"


def test_equal_timestamps_are_concurrent() -> None:
    # The read is called at the instant the write returns: calls come before returns, so the
    # two overlap and the read may precede the write.
    ops = H(op("write", 1, 1, call=0, ret=5), op("read", None, None, call=5, ret=6))
    assert verdict(ops, "register") == "valid"
    ops = H(op("write", 1, 1, call=0, ret=5), op("read", None, None, call=6, ret=7))
    assert verdict(ops, "register") == "invalid"


def test_two_readers_seeing_concurrent_writes_in_opposite_orders_is_invalid() -> None:
    # w1 and w2 overlap each other and every read. Reader A sees 1 then 2, reader B 2 then 1:
    # each alone is fine, together the register would have to hold 1, 2, 1 (or 2, 1, 2).
    def history(b_first: int, b_second: int) -> list[Operation]:
        return H(
            op("write", 1, 1, call=0, ret=10, process="w1"),
            op("write", 2, 2, call=0, ret=10, process="w2"),
            op("read", None, 1, call=2, ret=3, process="a"),
            op("read", None, 2, call=4, ret=5, process="a"),
            op("read", None, b_first, call=2, ret=3, process="b"),
            op("read", None, b_second, call=4, ret=5, process="b"),
        )

    assert verdict(history(2, 1), "register") == "invalid"
    assert verdict(history(1, 2), "register") == "valid"


def test_reads_after_both_writes_must_agree() -> None:
    def history(a: int, b: int) -> list[Operation]:
        return H(
            op("write", 1, 1, call=0, ret=10),
            op("write", 2, 2, call=0, ret=10),
            op("read", None, a, call=11, ret=12),
            op("read", None, b, call=11, ret=12),
        )

    assert verdict(history(1, 2), "register") == "invalid"
    assert verdict(history(2, 2), "register") == "valid"
    assert verdict(history(1, 1), "register") == "valid"


def test_cas_semantics() -> None:
    ok = H(
        op("write", 1, 1, call=0, ret=1),
        op("cas", [1, 2], [1, 2], call=2, ret=3),
        op("cas", [1, 3], None, call=4, ret=5, status="fail"),
        op("read", None, 2, call=6, ret=7),
    )
    assert verdict(ok, "cas-register") == "valid"
    bad = H(op("write", 1, 1, call=0, ret=1), op("cas", [5, 2], [5, 2], call=2, ret=3))
    assert verdict(bad, "cas-register") == "invalid"
    info = H(
        op("write", 1, 1, call=0, ret=1),
        op("cas", [1, 2], call=2, ret=None, status="info"),
        op("read", None, 2, call=6, ret=7),
    )
    assert verdict(info, "cas-register") == "valid"
    stale = H(
        op("write", 1, 1, call=0, ret=1), op("cas", [1, 2], [1, 2], call=2, ret=3), op("read", None, 1, call=6, ret=7)
    )
    assert verdict(stale, "cas-register") == "invalid"


def test_register_rejects_cas() -> None:
    with pytest.raises(ValueError, match="register"):
        check(H(op("cas", [1, 2], [1, 2], call=0, ret=1)), "register")


def test_kv_partitions_by_key_and_names_the_bad_key() -> None:
    ops = H(
        op("write", 1, 1, call=0, ret=1, key="a"),
        op("write", 1, 1, call=0, ret=1, key="b"),
        op("read", None, 1, call=2, ret=3, key="a"),
        op("read", None, None, call=2, ret=3, key="b"),
    )
    result = check(ops, "kv")
    assert result.verdict == "invalid" and result.partitions == 2
    assert result.counterexample is not None and result.counterexample.key == "b"
    assert result.linearization == {"a": [0, 2]}
    ops[3].output = 1
    result = check(ops, "kv")
    assert result.verdict == "valid" and result.linearization == {"a": [0, 2], "b": [1, 3]}


# ---------------------------------------------------------------- other models


def test_set() -> None:
    ok = H(
        op("add", 1, call=0, ret=1),
        op("add", 2, call=0, ret=5),
        op("read", None, [1], call=2, ret=3),
        op("read", None, [1, 2], call=6, ret=7),
    )
    assert verdict(ok, "set") == "valid"
    lost = H(op("add", 1, call=0, ret=1), op("read", None, [], call=2, ret=3))
    assert verdict(lost, "set") == "invalid"


def test_queue_info_dequeue_may_have_removed_an_element() -> None:
    ops = H(
        op("enqueue", 1, call=0, ret=1),
        op("dequeue", call=2, ret=None, status="info"),
        op("dequeue", None, None, call=4, ret=5),
    )
    assert verdict(ops, "queue") == "valid"
    twice = H(
        op("enqueue", 1, call=0, ret=1), op("dequeue", None, 1, call=2, ret=3), op("dequeue", None, 1, call=4, ret=5)
    )
    assert verdict(twice, "queue") == "invalid"


def test_mutex() -> None:
    assert verdict(H(op("acquire", call=0, ret=1), op("acquire", call=2, ret=3)), "mutex") == "invalid"
    assert (
        verdict(H(op("acquire", call=0, ret=1), op("release", call=2, ret=3), op("acquire", call=4, ret=5)), "mutex")
        == "valid"
    )
    # an info release may have freed the lock
    assert (
        verdict(
            H(
                op("acquire", call=0, ret=1),
                op("release", call=2, ret=None, status="info"),
                op("acquire", call=4, ret=5),
            ),
            "mutex",
        )
        == "valid"
    )


def test_multi_register() -> None:
    ok = H(
        op("txn", [["w", "x", 1], ["w", "y", 2]], [["w", "x", 1], ["w", "y", 2]], call=0, ret=1),
        op("txn", [["r", "x", None], ["r", "y", None]], [["r", "x", 1], ["r", "y", 2]], call=2, ret=3),
    )
    assert verdict(ok, "multi-register") == "valid"
    ok[1].output = [["r", "x", 1], ["r", "y", 3]]
    assert verdict(ok, "multi-register") == "invalid"
    ok[1].output = [["r", "x", 1], ["r", "y", None]]  # Knossos: a read of nil constrains nothing
    assert verdict(ok, "multi-register") == "valid"


# ---------------------------------------------------------------- profile (the seed)


def test_profile_improved_design_one_server_violation() -> None:
    # A good write, a second write that crashes after overwriting the blob (info), then a read
    # that returns the new image with the old metadata: a pair nobody wrote.
    ops = H(
        op("write", ["m1", "i1"], ["m1", "i1"], call=0, ret=1, key="u"),
        op("write", ["m2", "i2"], call=2, ret=None, status="info", key="u"),
        op("read", None, ["m1", "i2"], call=4, ret=5, key="u"),
    )
    result = check(ops, "profile")
    assert result.verdict == "invalid"
    assert result.counterexample is not None and result.counterexample.failed == [2]


def test_profile_empty_read_only_before_any_write() -> None:
    ops = H(
        op("write", ["m1", "i1"], ["m1", "i1"], call=0, ret=1, key="u"), op("read", None, None, call=2, ret=3, key="u")
    )
    assert verdict(ops, "profile") == "invalid"
    ops = H(
        op("write", ["m1", "i1"], ["m1", "i1"], call=0, ret=4, key="u"),
        op("read", None, None, call=2, ret=3, key="u"),
        op("read", None, ["m1", "i1"], call=5, ret=6, key="u"),
    )
    assert verdict(ops, "profile") == "valid"


def test_profile_stale_read() -> None:
    ops = H(
        op("write", ["m1", "i1"], ["m1", "i1"], call=0, ret=1, key="u"),
        op("write", ["m2", "i2"], ["m2", "i2"], call=2, ret=3, key="u"),
        op("read", None, ["m1", "i1"], call=4, ret=5, key="u"),
    )
    result = check(ops, "profile")
    assert result.verdict == "invalid"
    assert result.counterexample is not None
    assert result.counterexample.states == ["metadata m2, image i2"]


# ---------------------------------------------------------------- user models


def test_user_model_counter() -> None:
    def step(state: int, o: Operation) -> tuple[bool, int]:
        if o.f == "add":
            return True, state + o.value
        return o.output == state, state

    counter = Model(name="counter", init=lambda: 0, step=step)
    ops = H(op("add", 2, call=0, ret=3), op("add", 3, call=1, ret=2), op("read", None, 3, call=2, ret=4))
    assert check(ops, counter).verdict == "valid"
    ops[2].output = 4
    result = check(ops, counter)
    assert result.verdict == "invalid"
    assert result.linearization == []


def test_unknown_model_lists_known_names() -> None:
    with pytest.raises(KeyError, match="cas-register"):
        get_model("nope")
    with pytest.raises(BadInput, match="known models"):
        check([], "nope")
    assert get_model("cas_register").name == "cas-register"


# ---------------------------------------------------------------- budgets


def hard_history(n: int = 40) -> list[Operation]:
    """n concurrent writes, each value read by a concurrent read, then two later reads that
    disagree: invalid, and the search must try every subset of the writes to say so."""
    ops = []
    for i in range(1, n + 1):
        ops.append(op("write", i, i, call=0, ret=1000))
        ops.append(op("read", None, i, call=0, ret=1000))
    ops.append(op("read", None, 1, call=1001, ret=1002))
    ops.append(op("read", None, 2, call=1003, ret=1004))
    return H(*ops)


def test_hard_history_is_invalid_when_small() -> None:
    assert check(hard_history(6), "register").verdict == "invalid"


def test_time_limit_gives_unknown() -> None:
    result = check(hard_history(), "register", time_limit=0.05)
    assert result.verdict == "unknown"
    assert "time limit" in result.reason
    assert result.counterexample is None


def test_memory_limit_gives_unknown() -> None:
    result = check(hard_history(), "register", memory_limit=200_000)
    assert result.verdict == "unknown"
    assert "memory limit" in result.reason


def test_zero_time_limit_gives_unknown_not_a_guess() -> None:
    ops = H(op("write", 1, 1, call=0, ret=1))
    assert check(ops, "register", time_limit=0).verdict == "unknown"


# ---------------------------------------------------------------- results as data


def test_result_to_dict_is_json() -> None:
    ops = H(
        op("write", ["m", "i"], ["m", "i"], call=0, ret=1, key=("u", 1)),
        op("read", None, ["m", "x"], call=2, ret=3, key=("u", 1)),
    )
    for result in (check(ops, "profile"), check(ops[:1], "profile")):
        assert isinstance(result, CheckResult)
        data = json.loads(json.dumps(result.to_dict()))
        assert data["verdict"] == result.verdict
        assert data["model"] == "profile"
    text = check(ops, "profile").describe()
    assert text.startswith("INVALID") and "#1 p1 read [u 1] -> [m x] ok" in text


def test_describe_names_ops_with_process_key_and_value() -> None:
    ops = H(
        op("write", 7, 7, call=0, ret=1, key="k1", process=3),
        op("write", 8, 8, call=2, ret=3, key="k1", process=5),
        op("read", None, 7, call=4, ret=5, key="k1", process=4),
    )
    text = check(ops, "kv").describe()
    assert "#0 p3 write k1 7 ok" in text
    assert "cannot place: #2 p4 read k1 -> 7 ok" in text
    assert "in model state: value 8" in text


def test_checker_and_models_import_nothing_heavy() -> None:
    """chaos check starts fast: the checker and the models import no rich, aiohttp, asyncpg,
    aiobotocore, jinja2 or pydantic."""
    import subprocess
    import sys

    code = (
        "import sys, chaos.checker, chaos.models, chaos.checker.formats\n"
        "heavy = [m for m in ('rich', 'aiohttp', 'asyncpg', 'aiobotocore', 'jinja2', 'pydantic') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
