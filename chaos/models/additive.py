"""A quick first search for models whose updates add a fixed vector: ``counter`` and ``bank``.

Why it exists: an info update (an add or a transfer that timed out) may take effect at any
time after its call, or never. The checker's search keeps one that never took effect pending
to the end of the history and, wherever it backtracks, tries it again: with a few dozen such
updates of different amounts a valid 2,000-operation counter or bank history runs out of time,
while the same history without them checks in a few milliseconds. An update that did take
effect costs nothing, because the reads that follow soon need it.

So the model's ``prepare`` first runs a search of its own, made for updates that commute:
when the earliest-returning pending operation is a read of another state, it tries first the
updates that bring the state closest to the one read (ok before info, earliest return first),
and gives up a branch at once when no choice of the pending updates can reach that state (a
subset sum per component); a pending read that is legal now is placed at once. On the
histories of the built-in counter and bank it places each operation once, without
backtracking. When it finds a linearization that replays (every step legal, real time
respected, every ok operation once), the history is valid whatever the other info updates
did, so ``prepare`` keeps only the info updates it used, and the checker's search, spared the
idle ones, finds a linearization again, quickly. When it finds none within its step budget
(4 steps an operation), nothing is dropped and the checker decides as it would have: this
search can make a check faster, never change its verdict.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chaos.history import Operation
from chaos.models.subset_sums import SubsetSums

Vector = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Update:
    """What an operation does: ``delta`` to the state (None for a read), the state an ok read
    returned (``target``), and the legality guard ``state[guard[0]] >= guard[1]`` (None:
    always legal)."""

    op: Operation
    delta: tuple[tuple[int, int], ...] | None
    """Sparse: ``(component, amount)`` pairs, zero amounts left out."""
    target: Vector | None = None
    guard: tuple[int, int] | None = None


def _apply(state: Vector, delta: tuple[tuple[int, int], ...]) -> Vector:
    after = list(state)
    for c, amount in delta:
        after[c] += amount
    return tuple(after)


def _bits(mask: int) -> list[int]:
    out = []
    while mask:
        b = mask & -mask
        mask ^= b
        out.append(b.bit_length() - 1)
    return out


def find(items: Sequence[Update], init: Vector, budget: int, window: int | None = None) -> list[Operation] | None:
    """A linearization of every ok op and some info updates; None when there is none or
    ``budget`` steps were not enough."""
    items = sorted(items, key=lambda u: u.op.call)
    n = len(items)
    calls = [u.op.call for u in items]
    ok_mask = info_mask = read_mask = 0
    readers: dict[Vector, int] = {}
    okpos: list[int] = []
    for i, u in enumerate(items):
        b = 1 << i
        if u.op.status == "ok":
            ok_mask |= b
            okpos.append(i)
            if u.delta is None:
                if u.target is None:
                    return None
                read_mask |= b
                readers[u.target] = readers.get(u.target, 0) | b
        elif u.delta is not None:
            info_mask |= b
    okpos.sort(key=lambda i: items[i].op.ret)  # type: ignore[arg-type, return-value]
    rbit = [0] * n
    himask: list[int] = []
    fresh: list[int] = []  # per frontier: the info updates called at most ``window`` before it
    for r, i in enumerate(okpos):
        rbit[i] = 1 << r
        ret: int = items[i].op.ret  # type: ignore[assignment]
        hi = (1 << bisect_right(calls, ret)) - 1
        himask.append(hi)
        fresh.append(hi & ~((1 << bisect_left(calls, ret - window)) - 1) if window is not None else hi)
    full = (1 << len(okpos)) - 1
    effect = [(u.delta, u.guard) for u in items]
    deadline = [u.op.ret if u.op.ret is not None else 0 for u in items]

    seen: set[tuple[int, Vector]] = set()
    path: list[int] = []
    stack: list[list[Any]] = []
    lin = rlin = 0
    state = init
    steps = 0
    while True:
        # Place every pending read that is legal now: nothing is lost by placing it early.
        while True:
            if rlin == full:
                return [items[i].op for i in path]
            r = (~rlin & (rlin + 1)).bit_length() - 1
            cand = himask[r] & ~lin
            ready = cand & readers.get(state, 0)
            if not ready:
                break
            lin |= ready
            for i in _bits(ready):
                rlin |= rbit[i]
                path.append(i)
        must = okpos[r]
        updates = cand & ~read_mask & (ok_mask | fresh[r])
        children: list[int] = []
        target = items[must].target
        if target is None:  # the must op is an update: it goes first, then the others
            children.append(must)
            children.extend(sorted((i for i in _bits(updates & ok_mask) if i != must), key=deadline.__getitem__))
            children.extend(_one_per_effect(_bits(updates & info_mask), effect))
        elif _reachable(state, target, [items[i] for i in _bits(updates)]):
            # The must op is a read of another state: the updates that bring the state closest
            # to it first, ok ones before info ones, earliest deadline first (an update that
            # returns late can wait, and often must).
            pool = sorted(_bits(updates & ok_mask), key=deadline.__getitem__)
            pool.extend(_one_per_effect(_bits(updates & info_mask), effect))
            children = sorted(pool, key=lambda i: _distance(state, items[i].delta, target))  # stable
        stack.append([lin, rlin, state, children, 0, len(path)])

        while stack:
            frame = stack[-1]
            fstate: Vector = frame[2]
            children = frame[3]
            k = frame[4]
            found = False
            while k < len(children):
                i = children[k]
                k += 1
                u = items[i]
                if u.guard is not None and fstate[u.guard[0]] < u.guard[1]:
                    continue
                s2 = _apply(fstate, u.delta)
                nl = frame[0] | (1 << i)
                key = (nl, s2)
                if key in seen:
                    continue
                seen.add(key)
                found = True
                break
            steps += 1
            if steps > budget:
                return None
            if found:
                frame[4] = k
                del path[frame[5] :]
                path.append(i)
                lin = nl
                rlin = frame[1] | rbit[i]
                state = s2
                break
            stack.pop()
        else:
            return None


def _one_per_effect(indices: list[int], effect: list[Any]) -> list[int]:
    """The first info update of each effect: the others act identically."""
    tried: set[Any] = set()
    out = []
    for i in indices:
        if effect[i] not in tried:
            tried.add(effect[i])
            out.append(i)
    return out


def _distance(state: Vector, delta: tuple[tuple[int, int], ...] | None, target: Vector) -> int:
    """How far ``state`` plus ``delta`` is from ``target`` (sum of the components' gaps)."""
    after = list(state)
    for c, amount in delta or ():
        after[c] += amount
    return sum(abs(a - t) for a, t in zip(after, target, strict=True))


def _reachable(state: Vector, target: Vector, updates: list[Update]) -> bool:
    """Can some of ``updates`` take ``state`` to ``target``, component by component? (A
    necessary condition: it ignores guards and that one choice must serve every component.)"""
    for c, (have, want) in enumerate(zip(state, target, strict=True)):
        if have == want:
            continue
        sums = SubsetSums()
        for u in updates:
            for component, amount in u.delta:  # type: ignore[union-attr]
                if component == c:
                    sums.add(amount)
        if not sums.contains(want - have):
            return False
    return True


def replays(
    order: list[Operation], ops: list[Operation], init: Any, step: Callable[[Any, Operation], tuple[bool, Any]]
) -> bool:
    """Is ``order`` a linearization of ``ops``: every ok op exactly once, no fail op, real time
    respected, every step legal from ``init``? (The search's answer is trusted only then.)"""
    ids = [id(op) for op in order]
    if len(set(ids)) != len(ids):
        return False
    placed = set(ids)
    if any(op.status == "ok" and id(op) not in placed for op in ops) or any(op.status == "fail" for op in order):
        return False
    # Real time: no op may come after an ok op that returned before it was called.
    earliest_ret_after = None
    for op in reversed(order):
        if earliest_ret_after is not None and earliest_ret_after < op.call:
            return False
        if op.status == "ok" and (earliest_ret_after is None or op.ret < earliest_ret_after):  # type: ignore[operator]
            earliest_ret_after = op.ret
    state = init
    for op in order:
        legal, state = step(state, op)
        if not legal:
            return False
    return True


def keep_used(
    ops: list[Operation],
    items: list[Update],
    init: Vector,
    model_init: Any,
    step: Callable[[Any, Operation], tuple[bool, Any]],
) -> list[Operation]:
    """``ops`` without the info updates that a replayed quick linearization did not need, or
    ``ops`` unchanged when none is found (see the module docstring)."""
    if all(op.status == "ok" for op in ops):
        return ops
    updates = [u for u in items if u.delta is not None and u.op.status == "ok"]
    longest = max((u.op.ret - u.op.call for u in updates), default=0) + 1  # type: ignore[operator]
    for window in (longest, 4 * longest, None):
        order = find(items, init, 4 * len(ops) + 10_000, window)
        if order is not None and replays(order, ops, model_init, step):
            used = {id(op) for op in order}
            return [op for op in ops if op.status == "ok" or id(op) in used]
    return ops
