"""The ``counter`` and ``bank`` models: their steps, hooks and messages one case at a time, the
cases at the edges of their hooks (equal timestamps, equal effects) that random histories
rarely reach, configured models by name, and histories as large as a run makes."""

from __future__ import annotations

import dataclasses
import heapq
import random
from typing import Any

import pytest

from chaos.checker import check
from chaos.errors import BadInput
from chaos.history import Operation
from chaos.models import (
    FACTORIES,
    MODELS,
    SAME,
    bank,
    bank_model,
    counter,
    counter_model,
    get_model,
)
from chaos.models.bank import initial_balances
from chaos.models.subset_sums import MAX_SPAN, SubsetSums


def op(
    i: int,
    f: str,
    value: Any = None,
    output: Any = None,
    call: int = 0,
    ret: int | None = 1,
    status: str = "ok",
    key: Any = None,
) -> Operation:
    if status == "info":
        ret, output = None, None
    return Operation(
        id=i,
        process=i,
        f=f,
        key=key,
        value=value,
        output=output,
        status=status,  # type: ignore[arg-type]
        call=call,
        ret=ret,
    )


def transfer(a: str, b: str, n: int) -> dict[str, Any]:
    return {"from": a, "to": b, "amount": n}


# ---------------------------------------------------------------------------- subset sums


def test_subset_sums_of_positive_negative_and_repeated_amounts() -> None:
    sums = SubsetSums()
    for amount in (3, -2, 5):
        sums.add(amount)
    assert {t for t in range(-5, 10) if sums.contains(t)} == {-2, 0, 1, 3, 5, 6, 8}
    repeated = SubsetSums()
    repeated.add(4, count=5)
    assert [t for t in range(0, 25) if repeated.contains(t)] == [0, 4, 8, 12, 16, 20]


def test_subset_sums_of_huge_amounts_keep_their_bounds() -> None:
    sums = SubsetSums()
    sums.add(MAX_SPAN * 3)
    sums.add(1)
    assert sums.mask is None  # too wide for a bitmask: only the bounds are known
    assert sums.contains(MAX_SPAN) and not sums.contains(-1) and not sums.contains(MAX_SPAN * 3 + 2)


# ---------------------------------------------------------------------------- counter


def test_counter_steps_pins_and_effects() -> None:
    assert counter.step(3, op(0, "add", 4)) == (True, 7)
    assert counter.step(3, op(0, "add", -5)) == (True, -2)
    assert counter.step(3, op(0, "read", output=3)) == (True, 3)
    assert counter.step(3, op(0, "read", output=4))[0] is False
    assert counter.step(1, op(0, "read", output=True))[0] is False  # JSON true is not 1
    assert counter.pins(op(0, "read", output=3)) == (3, SAME)
    assert counter.pins(op(0, "add", 3)) is None
    assert counter.effect(op(0, "add", 2, status="info")) == counter.effect(op(1, "add", 2, status="info"))
    assert counter.describe_state(5) == "count 5"
    assert counter.init() == 0 and counter_model(initial=7).init() == 7


def test_counter_refuses_what_is_not_a_counter() -> None:
    with pytest.raises(ValueError, match="supports: add, read"):
        counter.prepare([op(0, "write", 1)])
    with pytest.raises(ValueError, match="needs an integer value"):
        counter.prepare([op(0, "add", "1")])
    with pytest.raises(BadInput, match="initial must be an integer"):
        counter_model(initial=1.5)  # type: ignore[arg-type]


def test_counter_prepare_drops_info_adds_nobody_can_observe() -> None:
    ops = [
        op(0, "add", 0, call=0, status="info"),  # adds nothing
        op(1, "add", 2, call=1, status="info"),  # the read sees it
        op(2, "read", output=2, call=2, ret=3),
        op(3, "add", 5, call=4, status="info"),  # called after every read returned
        op(4, "read", call=4, status="info"),
    ]
    assert [o.id for o in counter.prepare(ops)] == [1, 2]


def test_counter_lost_update_is_refuted_without_a_search() -> None:
    """Two adds of 1 return, then a read sees only one of them: the racy counter's bug."""
    ops = [op(0, "add", 1, call=0, ret=3), op(1, "add", 1, call=1, ret=4), op(2, "read", output=1, call=5, ret=6)]
    refuted = counter.impossible(ops)
    assert refuted is not None and refuted[0].id == 2
    assert "leave the counter at 2" in refuted[1]
    result = check(ops, "counter")
    assert result.verdict == "invalid"
    assert "legal in no reachable state" in result.reason


def test_counter_read_may_count_an_add_that_returns_as_it_is_called() -> None:
    """Equal timestamps are concurrent: the read may come before the add, or after it."""
    for seen in (0, 1):
        ops = [op(0, "add", 1, call=0, ret=5), op(1, "read", output=seen, call=5, ret=6)]
        assert counter.impossible(ops) is None
        assert check(ops, "counter").verdict == "valid"
    info = [op(0, "add", 1, call=6, status="info"), op(1, "read", output=1, call=2, ret=6)]
    assert counter.impossible(info) is None and check(info, "counter").verdict == "valid"
    late = [op(0, "add", 1, call=7, status="info"), op(1, "read", output=1, call=2, ret=6)]
    assert counter.impossible(late) is not None and check(late, "counter").verdict == "invalid"


def test_counter_reads_not_an_integer_is_refuted() -> None:
    ops = [op(0, "read", output=None)]
    assert counter.impossible(ops) == (ops[0], "reads nil, not an integer")
    assert check(ops, "counter").verdict == "invalid"


def test_counter_with_keys_checks_each_counter_alone() -> None:
    ops = [
        op(0, "add", 2, key="a", call=0, ret=1),
        op(1, "read", output=0, key="b", call=2, ret=3),
        op(2, "read", output=2, key="a", call=2, ret=3),
    ]
    result = check(ops, "counter")
    assert result.verdict == "valid" and result.partitions == 2


# ---------------------------------------------------------------------------- bank


def test_bank_opens_with_the_total_split_evenly() -> None:
    assert initial_balances() == {"a0": 20, "a1": 20, "a2": 20, "a3": 20, "a4": 20}
    assert initial_balances(3, 10) == {"a0": 4, "a1": 3, "a2": 3}
    assert initial_balances(["x", "y"], 5) == {"x": 3, "y": 2}
    assert initial_balances(balances=[7, 0]) == {"a0": 7, "a1": 0}
    assert initial_balances(balances={0: 100, 1: 0}) == {"0": 100, "1": 0}
    assert bank.init() == (20, 20, 20, 20, 20) and bank.name == "bank"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"accounts": 0}, "at least 1"),
        ({"accounts": ["a", "a"]}, "distinct"),
        ({"accounts": "abc"}, "a number or a list"),
        ({"total": -1}, "non-negative integer"),
        ({"balances": {"a": -1}}, "non-negative integers"),
        ({"balances": [1, 2], "total": 4}, "add up to 3, not the total 4"),
    ],
)
def test_bank_refuses_a_configuration_that_makes_no_bank(options: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInput, match=message):
        bank_model(**options)


def test_bank_steps_pins_effects_and_text() -> None:
    start = bank.init()
    ok, after = bank.step(start, op(0, "transfer", transfer("a0", "a3", 5)))
    assert ok and after == (15, 20, 20, 25, 20)
    assert bank.step(start, op(0, "transfer", transfer("a0", "a3", 21)))[0] is False  # would overdraw
    assert bank.step(start, op(0, "transfer", transfer("a2", "a2", 20))) == (True, start)
    read = op(1, "read", output={"a0": 15, "a1": 20, "a2": 20, "a3": 25, "a4": 20})
    assert bank.step(after, read) == (True, after)
    assert bank.pins(read) == (after, SAME)
    unreadable = bank.pins(op(1, "read", output={"a0": 100}))
    assert unreadable is not None and unreadable[0] not in (start, after)
    assert bank.effect(op(0, "transfer", transfer("a0", "a1", 2))) != bank.effect(
        op(0, "transfer", transfer("a1", "a0", 2))
    )
    assert bank.describe_state(after) == "balances a0=15 a1=20 a2=20 a3=25 a4=20"
    assert bank.describe_op(op(3, "transfer", transfer("a0", "a3", 5), key="k0")) == "#3 p3 transfer k0 a0->a3 5 ok"
    assert bank.describe_op(read).startswith("#1 p1 read -> a0=15 a1=20")


def test_bank_accepts_integer_account_names_as_an_edn_history_has_them() -> None:
    jepsen = bank_model(balances={0: 10, 1: 0})
    ops = [
        op(0, "transfer", {"from": 0, "to": 1, "amount": 4}, call=0, ret=1),
        op(1, "read", output={0: 6, 1: 4}, call=2, ret=3),
        op(2, "read", output={"0": 6, "1": 4}, call=4, ret=5),
    ]
    assert check(ops, jepsen).verdict == "valid"


def test_bank_refuses_a_transfer_it_cannot_judge() -> None:
    with pytest.raises(ValueError, match=r"has to a9, not one of the bank's accounts .*bank\(accounts=8"):
        bank.prepare([op(0, "transfer", transfer("a0", "a9", 1))])
    with pytest.raises(ValueError, match="non-negative integer amount"):
        bank.prepare([op(0, "transfer", transfer("a0", "a1", -1))])
    with pytest.raises(ValueError, match="needs a value"):
        bank.prepare([op(0, "transfer", [1, 2])])
    with pytest.raises(ValueError, match="supports: read, transfer"):
        bank.prepare([op(0, "deposit", 5)])


@pytest.mark.parametrize(
    ("output", "why"),
    [
        ([20, 20], "not a map of account balances"),
        ({"a0": 100}, "reads accounts a0, not the bank's (a0 a1 a2 a3 a4)"),
        ({"a0": -1, "a1": 21, "a2": 20, "a3": 20, "a4": 40}, "negative balance, a0=-1"),
        ({"a0": 20, "a1": 20, "a2": 20, "a3": 20, "a4": 19}, "adding up to 99; the bank holds 100"),
    ],
)
def test_bank_read_that_no_bank_state_explains(output: Any, why: str) -> None:
    ops = [op(0, "read", output=output)]
    refuted = bank.impossible(ops)
    assert refuted is not None and why in refuted[1]
    assert check(ops, "bank").verdict == "invalid"


def test_bank_lost_transfer_keeps_the_total_but_is_refuted() -> None:
    """Two transfers read the same document and both write it back: one is lost. The read that
    follows still adds up to 100 (Jepsen's bank checker would pass it); the model does not."""
    ops = [
        op(0, "transfer", transfer("a0", "a1", 5), call=0, ret=3),
        op(1, "transfer", transfer("a2", "a3", 4), call=1, ret=4),
        op(2, "read", output={"a0": 20, "a1": 20, "a2": 16, "a3": 24, "a4": 20}, call=5, ret=6),
    ]
    refuted = bank.impossible(ops)
    assert refuted is not None and refuted[0].id == 2 and "a0=20" in refuted[1]
    result = check(ops, "bank")
    assert result.verdict == "invalid" and result.counterexample is not None


def test_bank_tries_each_info_transfer_that_could_explain_a_read() -> None:
    """Two pending info transfers of the same amount from different accounts are different
    effects: the first cannot happen (a1 is empty), the read needs the second."""
    poor = bank_model(balances={"a0": 3, "a1": 0, "a2": 2})
    ops = [
        op(0, "transfer", transfer("a1", "a0", 2), call=0, status="info"),
        op(1, "transfer", transfer("a2", "a0", 2), call=1, status="info"),
        op(2, "read", output={"a0": 5, "a1": 0, "a2": 0}, call=2, ret=3),
    ]
    assert check(ops, poor).verdict == "valid"


def test_bank_info_transfer_called_as_a_read_returns_may_be_in_it() -> None:
    ops = [
        op(0, "transfer", transfer("a0", "a1", 2), call=3, status="info"),
        op(1, "read", output={"a0": 18, "a1": 22, "a2": 20, "a3": 20, "a4": 20}, call=0, ret=3),
    ]
    assert bank.impossible(ops) is None
    assert bank.prepare(ops) == ops
    assert check(ops, "bank").verdict == "valid"


# ---------------------------------------------------------------------------- configured by name


def test_configured_models_by_name() -> None:
    eight = get_model("bank(accounts=8, total=80)")
    assert eight.name == "bank(accounts=8, total=80)" and eight.init() == (10,) * 8
    assert get_model("Bank(balances={'x': 1, 'y': 2})").init() == (1, 2)
    assert get_model("counter(initial=5)").init() == 5
    assert get_model("bank()").name == "bank" and get_model("counter") is MODELS["counter"]
    assert set(FACTORIES) == {"counter", "bank"}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bank(acounts=3)", "unknown option acounts; bank takes accounts, total, balances"),
        ("bank(accounts=1+len(x))", "must be a literal"),
        ("bank(3)", "write it as name(option=value, ...)"),
        ("bank(", "does not parse"),
        ("register(x=1)", "'register' takes no options"),
        ("bank(accounts=0)", "accounts must be at least 1"),
    ],
)
def test_configured_model_names_that_make_no_model(name: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        get_model(name)
    assert message in str(caught.value) and isinstance(caught.value, KeyError)


# ---------------------------------------------------------------------------- run-sized histories


def simulate(model: str, seed: int, n_ops: int = 2000, info_rate: float = 0.04) -> tuple[list[Operation], set[int]]:
    """A linearizable history of 8 clients on one counter (adds of 1..5) or the default bank:
    every call takes effect at a random instant inside its interval; an info update takes
    effect, or not, shortly after its call. Returns the history and the info updates that took
    effect."""
    rng = random.Random(seed)
    heap = [(rng.random(), slot) for slot in range(8)]
    heapq.heapify(heap)
    proc_of = list(range(8))
    plans = []
    for i in range(n_ops):
        call, slot = heapq.heappop(heap)
        ret = call + rng.expovariate(1.0)
        update = rng.random() < 0.5
        info = update and rng.random() < info_rate
        if model == "counter":
            value = rng.randint(1, 5) if update else None
        else:
            a, b = rng.sample(range(5), 2)
            value = transfer(f"a{a}", f"a{b}", rng.randint(1, 5)) if update else None
        plans.append((rng.uniform(call, ret), i, proc_of[slot], value, call, ret, info, not info or rng.random() < 0.5))
        if info:
            proc_of[slot] += 8
        heapq.heappush(heap, (ret + rng.expovariate(4.0), slot))
    state: Any = 0 if model == "counter" else dict(initial_balances())
    ops: list[Operation] = []
    happened = set()
    for _point, i, proc, value, call, ret, info, happens in sorted(plans):
        status, output = ("info" if info else "ok"), None
        if value is None:
            output = state if model == "counter" else dict(state)
            f = "read"
        elif model == "counter":
            f = "add"
            if happens:
                state += value
                happened.add(i)
        else:
            f = "transfer"
            if state[value["from"]] < value["amount"]:
                status = "info" if info else "fail"
            elif happens:
                state[value["from"]] -= value["amount"]
                state[value["to"]] += value["amount"]
                happened.add(i)
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
        )  # type: ignore[arg-type]
    return ops, happened


@pytest.mark.parametrize("model", ["counter", "bank"])
def test_run_sized_history_with_info_updates_is_valid_and_keeps_only_those_it_needs(model: str) -> None:
    ops, happened = simulate(model, seed=3)
    infos = {o.id for o in ops if o.status == "info" and o.f != "read"}
    assert len(infos) >= 20 and happened & infos and infos - happened
    prepared = MODELS[model].prepare([o for o in ops if o.status != "fail"])  # type: ignore[misc]
    kept = {o.id for o in prepared if o.status == "info"}
    assert kept < infos  # some dropped: a linearization that did without them was found
    assert {o.id for o in ops if o.status == "ok"} <= {o.id for o in prepared}
    result = check(ops, model, time_limit=60)
    assert result.verdict == "valid"


@pytest.mark.parametrize(
    ("model", "n_ops", "info_rate"), [("counter", 2000, 0.0), ("bank", 2000, 0.04), ("counter", 300, 0.04)]
)
def test_history_with_one_lost_update_is_invalid(model: str, n_ops: int, info_rate: float) -> None:
    """An ok update that returned is missing from every read called after it returned. On a
    counter with many info adds the search must rule out every choice of them (the reads
    alone cannot: any info add of the same amount could stand in), so that case is smaller."""
    ops, _ = simulate(model, seed=4, n_ops=n_ops, info_rate=info_rate)
    middle = ops[len(ops) // 2].call
    victim = next(o for o in ops if o.status == "ok" and o.f != "read" and o.call > middle)
    for o in ops:
        if o.f == "read" and o.status == "ok" and o.call > victim.ret:  # type: ignore[operator]
            if model == "counter":
                o.output -= victim.value
            else:
                source, target, amount = victim.value["from"], victim.value["to"], victim.value["amount"]
                o.output = {**o.output, source: o.output[source] + amount, target: o.output[target] - amount}
    result = check(ops, model, time_limit=60)
    assert result.verdict == "invalid"
    assert result.counterexample is not None and result.counterexample.failed


def test_quick_search_does_not_change_the_verdict() -> None:
    """Without it (no prepare at all) the search reaches the same verdict, more slowly."""
    ops, _ = simulate("bank", seed=5, n_ops=300)
    plain = dataclasses.replace(bank, prepare=None)
    assert check(ops, plain, time_limit=60).verdict == check(ops, bank, time_limit=60).verdict == "valid"
