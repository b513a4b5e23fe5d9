"""A brute-force reference for the checker: sequential specs written independently of
chaos.models, and an exhaustive search over all orders (memoised only on the set placed and
the state, with no heuristics: no partitioning, no read fast path, no info pruning).

Each spec maps ``(state, op) -> list of next states`` (empty: illegal). States are dicts
frozen into sorted tuples so that one reference state covers every key at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chaos.history import Operation

Spec = Callable[[Any, Operation], list[Any]]


def h(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return tuple(h(x) for x in v)
    return v


def _get(state: tuple, key: Any, default: Any = None) -> Any:
    for k, v in state:
        if k == key:
            return v
    return default


def _put(state: tuple, key: Any, value: Any) -> tuple:
    d = dict(state)
    d[key] = value
    return tuple(sorted(d.items(), key=repr))


def register_spec(state: tuple, op: Operation) -> list[tuple]:
    cur = _get(state, op.key)
    if op.f == "read":
        if op.status != "ok":
            return [state]
        return [state] if h(op.output) == cur else []
    if op.f == "write":
        return [_put(state, op.key, h(op.value))]
    if op.f == "cas":
        expected, new = op.value
        return [_put(state, op.key, h(new))] if cur == h(expected) else []
    raise AssertionError(op.f)


def _kv_value(v: Any) -> Any:
    """Porcupine's kv: the empty string is a missing key."""
    v = h(v)
    return None if v == "" else v


def kv_spec(state: tuple, op: Operation) -> list[tuple]:
    cur = _get(state, op.key)
    if op.f in ("read", "get"):
        if op.status != "ok":
            return [state]
        return [state] if _kv_value(op.output) == cur else []
    if op.f in ("write", "put"):
        return [_put(state, op.key, _kv_value(op.value))]
    if op.f == "cas":
        expected, new = op.value
        return [_put(state, op.key, _kv_value(new))] if cur == _kv_value(expected) else []
    if op.f == "append":
        if cur is not None and not isinstance(cur, str):
            return []
        return [_put(state, op.key, _kv_value((cur or "") + op.value))]
    raise AssertionError(op.f)


def set_spec(state: tuple, op: Operation) -> list[tuple]:
    cur = _get(state, op.key, frozenset())
    if op.f == "add":
        return [_put(state, op.key, cur | {op.value})]
    if op.status != "ok":
        return [state]
    return [state] if frozenset(op.output or []) == cur else []


def queue_spec(state: tuple, op: Operation) -> list[tuple]:
    cur: tuple = _get(state, op.key, ())  # sorted tuple of elements
    if op.f == "enqueue":
        return [_put(state, op.key, tuple(sorted((*cur, op.value))))]
    if op.status != "ok":
        outs = [state]
        for i in range(len(cur)):
            outs.append(_put(state, op.key, cur[:i] + cur[i + 1 :]))
        return outs
    if op.output is None:
        return [state] if not cur else []
    if op.output in cur:
        i = cur.index(op.output)
        return [_put(state, op.key, cur[:i] + cur[i + 1 :])]
    return []


def mutex_spec(state: tuple, op: Operation) -> list[tuple]:
    held = _get(state, op.key, False)
    if op.f == "acquire":
        return [_put(state, op.key, True)] if not held else []
    return [_put(state, op.key, False)] if held else []


def multi_spec(state: tuple, op: Operation) -> list[tuple]:
    txn = op.output if op.status == "ok" else op.value
    for f, key, value in txn:
        if f == "r":
            if op.status == "ok" and value is not None and _get(state, key) != value:  # Knossos: nil = unknown
                return []
        else:
            state = _put(state, key, value)
    return [state]


SPECS: dict[str, Spec] = {
    "register": register_spec,
    "cas-register": register_spec,
    "kv": kv_spec,
    "profile": register_spec,
    "set": set_spec,
    "queue": queue_spec,
    "mutex": mutex_spec,
    "multi-register": multi_spec,
}


def linearizable(ops: list[Operation], spec: Spec, init: tuple = ()) -> bool:
    """Is there an order of all ok ops and some info ops, respecting real time, legal in spec?
    ``init``: the initial state (key, value) pairs."""
    ops = [op for op in ops if op.status != "fail"]
    ok = frozenset(op.id for op in ops if op.status == "ok")
    failed: set[tuple[frozenset, Any]] = set()

    def go(done: frozenset, state: Any) -> bool:
        if ok <= done:
            return True
        if (done, state) in failed:
            return False
        for op in ops:
            if op.id in done:
                continue
            if any(p.status == "ok" and p.id not in done and p.ret < op.call for p in ops):
                continue
            for nxt in spec(state, op):
                if go(done | {op.id}, nxt):
                    return True
        failed.add((done, state))
        return False

    return go(frozenset(), init)


def replay(ops: list[Operation], order: list[int], spec: Spec, complete: bool = True, init: tuple = ()) -> None:
    """Assert that ``order`` is a linearization: each ok op exactly once (when ``complete``),
    info ops at most once, no fail op, real-time order respected, every step legal."""
    by_id = {op.id: op for op in ops}
    assert len(order) == len(set(order)), f"an op placed twice: {order}"
    placed = set()
    states = {init}
    for oid in order:
        op = by_id[oid]
        assert op.status != "fail", f"fail op #{oid} linearized"
        for p in ops:
            if p.status == "ok" and p.id not in placed and p.ret < op.call:
                raise AssertionError(f"#{oid} placed before #{p.id}, which returned before it was called")
        states = {s2 for s in states for s2 in spec(s, op)}
        assert states, f"#{oid} is illegal after {[*placed]}"
        placed.add(oid)
    if complete:
        missing = {op.id for op in ops if op.status == "ok"} - placed
        assert not missing, f"ok ops never linearized: {missing}"


def replay_result(ops: list[Operation], linearization: Any, spec: Spec, init: tuple = ()) -> None:
    """Replay a certificate partition by partition (ops of a key never touch another key's
    state, and real-time order is only promised within a partition)."""
    if isinstance(linearization, dict):
        for key, order in linearization.items():
            replay([op for op in ops if op.key == key], order, spec, init=init)
        covered = set(linearization)
        for op in ops:
            assert op.status != "ok" or op.key in covered, f"partition of #{op.id} missing"
    else:
        replay(ops, list(linearization), spec, init=init)


def _op(i: int, f: str, value: Any, output: Any, call: int, ret: int | None, status: str = "ok") -> Operation:
    return Operation(id=i, process=i, f=f, key=None, value=value, output=output, status=status, call=call, ret=ret)


def test_reference_finds_stale_read() -> None:
    ops = [_op(0, "write", 1, 1, 0, 1), _op(1, "write", 2, 2, 2, 3), _op(2, "read", None, 1, 4, 5)]
    assert not linearizable(ops, register_spec)


def test_reference_accepts_concurrent_read() -> None:
    ops = [_op(0, "write", 1, 1, 0, 1), _op(1, "write", 2, 2, 2, 6), _op(2, "read", None, 1, 4, 5)]
    assert linearizable(ops, register_spec)


def test_reference_info_write_may_happen_late() -> None:
    ops = [_op(0, "write", 1, None, 0, None, "info"), _op(1, "read", None, None, 4, 5), _op(2, "read", None, 1, 6, 7)]
    assert linearizable(ops, register_spec)
    replay(ops, [1, 0, 2], register_spec)
