"""Differential testing: the checker (with every heuristic on) against the brute-force reference
in test_checker_reference.py, on small random histories of every built-in model.

Histories come from a simulated sequential execution at random linearization points (so
about half are valid), with heavy use of info ops (applied or not), cas that fail, equal
timestamps and small value domains (values repeat: the models must not rely on uniqueness),
then sometimes corrupted (an output changed, an applied op marked failed).
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaos.checker import check
from chaos.history import Operation

try:  # tests/ is a package in this repo; also run as loose modules
    from tests.test_checker_reference import SPECS, linearizable, replay, replay_result
except ImportError:  # pragma: no cover
    from test_checker_reference import SPECS, linearizable, replay, replay_result  # type: ignore[no-redef]

KEYED = {"register", "cas-register", "kv", "set", "queue", "mutex", "profile"}
EXAMPLES = int(os.environ.get("CHAOS_FUZZ_EXAMPLES", "450"))
"""Examples per model; raise it for a long local run (e.g. CHAOS_FUZZ_EXAMPLES=20000)."""


def _draw_op(model: str, rnd: random.Random) -> tuple[str, Any]:
    v = rnd.randint(0, 3)
    if model == "register":
        return rnd.choice([("read", None), ("write", v)])
    if model == "cas-register":
        return rnd.choice([("read", None), ("write", v), ("cas", [rnd.choice([None, 0, 1, 2, 3]), v])])
    if model == "kv":
        s = rnd.choice(["a", "b", ""])
        return rnd.choice(
            [
                ("get", None),
                ("read", None),
                ("put", s),
                ("append", s),
                ("append", rnd.choice("ab")),
                ("cas", [rnd.choice([None, "", "a", "b", "ab"]), s]),
            ]
        )
    if model == "profile":
        return rnd.choice([("read", None), ("write", [rnd.randint(0, 2), rnd.randint(0, 2)])])
    if model == "set":
        return rnd.choice([("read", None), ("add", v)])
    if model == "queue":
        return rnd.choice([("dequeue", None), ("enqueue", v), ("enqueue", v)])
    if model == "mutex":
        return rnd.choice([("acquire", None), ("release", None)])
    if model == "multi-register":
        txn = [[rnd.choice(["r", "w"]), rnd.choice(["x", "y"]), v] for _ in range(rnd.randint(1, 2))]
        for m in txn:
            if m[0] == "r":
                m[2] = None
        return "txn", txn
    raise AssertionError(model)


def _execute(model: str, state: dict, op: Operation) -> tuple[bool, Any]:
    """Run op sequentially: (took effect, output)."""
    key = op.key
    if model == "kv":
        cur = state.get(key)
        if op.f in ("read", "get"):
            return True, cur if cur is not None else rnd_empty(op)
        if op.f in ("write", "put"):
            state[key] = op.value or None
            return True, op.value
        if op.f == "append":
            state[key] = ((cur or "") + op.value) or None
            return True, op.value
        if (cur or "") == (op.value[0] or ""):
            state[key] = op.value[1] or None
            return True, op.value
        return False, None
    if model in ("register", "cas-register", "profile"):
        cur = state.get(key)
        if op.f == "read":
            return True, list(cur) if isinstance(cur, tuple) else cur
        if op.f == "write":
            state[key] = tuple(op.value) if isinstance(op.value, list) else op.value
            return True, op.value
        if cur == op.value[0]:
            state[key] = op.value[1]
            return True, op.value
        return False, None
    if model == "set":
        cur = state.setdefault(key, set())
        if op.f == "add":
            cur.add(op.value)
            return True, op.value
        return True, sorted(cur)
    if model == "queue":
        cur = state.setdefault(key, [])
        if op.f == "enqueue":
            cur.append(op.value)
            return True, op.value
        if not cur:
            return True, None
        return True, cur.pop(random.Random(len(cur)).randrange(len(cur)))
    if model == "mutex":
        held = state.get(key, False)
        if (op.f == "acquire") == held:
            return False, None
        state[key] = not held
        return True, None
    if model == "multi-register":
        out = []
        for f, k, v in op.value:
            if f == "r":
                out.append([f, k, state.get(k)])
            else:
                state[k] = v
                out.append([f, k, v])
        return True, out
    raise AssertionError(model)


def rnd_empty(op: Operation) -> Any:
    """A missing key reads as None (our runner) or "" (Porcupine): both, by the op's id."""
    return None if op.id % 2 else ""


def make_history(model: str, rnd: random.Random) -> list[Operation]:
    n = rnd.randint(1, 11)
    keys = [None, "a", "b"] if model in KEYED and rnd.random() < 0.4 else [None]
    ops: list[Operation] = []
    plans = []
    for i in range(n):
        f, value = _draw_op(model, rnd)
        call = rnd.randint(0, 10)
        ret = call + rnd.randint(0, 4)
        status = rnd.choice(["ok", "ok", "ok", "info", "info", "fail"])
        op = Operation(
            id=i, process=i, f=f, key=rnd.choice(keys), value=value, output=None, status=status, call=call, ret=ret
        )
        happens = status == "ok" or (status == "info" and rnd.random() < 0.6)
        point = rnd.uniform(call, ret if status == "ok" else call + 6)
        plans.append((point, happens, op))
        ops.append(op)
    state: dict = {}
    for _, happens, op in sorted(plans, key=lambda p: p[0]):
        if not happens:
            continue
        applied, output = _execute(model, state, op)
        if op.status == "ok":
            if applied:
                op.output = output
            else:
                op.status = "fail"
    for op in ops:
        if op.status == "info":
            op.ret = None
            op.output = None
    corrupt = rnd.random()
    oks = [op for op in ops if op.status == "ok"]
    if oks and corrupt < 0.3:
        victim = rnd.choice(oks)
        if model == "set" and victim.f == "read":
            victim.output = sorted(rnd.sample(range(4), rnd.randint(0, 3)))
        elif victim.f in ("read", "dequeue", "get"):
            if model == "kv":
                victim.output = rnd.choice([None, "", "a", "b", "ab", "ba"])
            else:
                victim.output = rnd.choice([None, 0, 1, 2, 3]) if model != "profile" else [0, rnd.randint(0, 2)]
        elif victim.f == "txn":
            victim.output = [[f, k, rnd.randint(0, 3) if f == "r" else v] for f, k, v in victim.output]
        else:
            victim.status = "fail"
    elif oks and corrupt < 0.4:
        victim = rnd.choice(oks)
        victim.status = "fail"
    if model == "set":
        for op in ops:
            if op.f == "read" and op.status == "ok" and op.output is not None:
                op.output = sorted(set(op.output), key=repr)
    return ops


@pytest.mark.parametrize("model", sorted(SPECS))
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(rnd=st.randoms(use_true_random=False))
def test_checker_agrees_with_brute_force(model: str, rnd: random.Random) -> None:
    ops = make_history(model, rnd)
    spec = SPECS[model]
    expected = linearizable(ops, spec)
    result = check(ops, model)
    assert result.verdict == ("valid" if expected else "invalid"), (
        f"checker says {result.verdict}, reference says {expected}\n"
        + "\n".join(repr(op) for op in ops)
        + "\n"
        + result.describe()
    )
    if expected:
        replay_result(ops, result.linearization, spec)
    else:
        cx = result.counterexample
        assert cx is not None and cx.failed
        part = [op for op in ops if op.status != "fail" and (op.key == cx.key or model not in KEYED)]
        replay(part, cx.prefix, spec, complete=False)
        assert not set(cx.prefix) & set(cx.failed)


def test_fuzz_generates_both_verdicts() -> None:
    """The generator is worth something only if it yields valid and invalid histories."""
    for model in SPECS:
        rnd = random.Random(model)
        verdicts = {linearizable(make_history(model, rnd), SPECS[model]) for _ in range(60)}
        assert verdicts == {True, False}, model


def jepsen_history(rnd: random.Random) -> list[Operation]:
    """Jepsen's etcd shape in small: a few clients on one register of values 0-3, requests that
    time out stay indeterminate to the end (each overlapping every later operation), failed cas
    recorded as fail; executed at random linearization points, sometimes corrupted."""
    n = rnd.randint(6, 14)
    clients = rnd.randint(2, 5)
    free = [rnd.random() for _ in range(clients)]
    ops: list[Operation] = []
    plans = []
    for i in range(n):
        c = min(range(clients), key=free.__getitem__)
        call = free[c]
        f, value = _draw_op("cas-register", rnd)
        timed_out = rnd.random() < 0.3
        op = Operation(
            id=i,
            process=f"{c}-{i}" if timed_out else c,
            f=f,
            key=None,
            value=value,
            output=None,
            status="info" if timed_out else "ok",
            call=int(call * 100),
            ret=None,
        )
        if timed_out:
            point = call + rnd.uniform(0, 6) if rnd.random() < 0.6 else None
            free[c] = call + 3 + rnd.random()
        else:
            ret = call + rnd.uniform(0, 2)
            op.ret = int(ret * 100)
            point = rnd.uniform(call, ret)
            free[c] = ret + rnd.uniform(0, 0.5)
        plans.append((point, op))
        ops.append(op)
    state: dict = {}
    for _point, op in sorted((p for p in plans if p[0] is not None), key=lambda p: p[0]):
        applied, output = _execute("cas-register", state, op)
        if op.status == "ok":
            if applied:
                op.output = output
            else:
                op.status = "fail"
    for op in ops:
        if op.status == "info":
            op.output = None
    oks = [op for op in ops if op.status == "ok" and op.f == "read"]
    if oks and rnd.random() < 0.4:
        rnd.choice(oks).output = rnd.choice([None, 0, 1, 2, 3])
    return ops


@settings(max_examples=EXAMPLES * 2, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(rnd=st.randoms(use_true_random=False))
def test_checker_agrees_on_jepsen_shaped_histories(rnd: random.Random) -> None:
    """Many long-lived indeterminate writes and cas over a small value domain: where the
    chain rules, the symmetry rule and info-last ordering do their work."""
    ops = jepsen_history(rnd)
    spec = SPECS["cas-register"]
    init_value = rnd.choice([None, None, 0])
    init = () if init_value is None else ((None, init_value),)
    expected = linearizable(ops, spec, init)
    result = check(ops, "cas-register", init=init_value) if init_value is not None else check(ops, "cas-register")
    assert result.verdict == ("valid" if expected else "invalid"), (
        "\n".join(repr(op) for op in ops) + "\n" + result.describe()
    )
    if expected:
        replay_result(ops, result.linearization, spec, init)
