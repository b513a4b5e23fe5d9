"""The search: is one partition of a history linearizable under a model?

Wing & Gong's depth-first search with Lowe's memo, as in Porcupine, reshaped for Python:

- Operations are sorted by call time and named by their position ``i``; a set of operations
  is a Python int with bit ``i`` set (``lin``). Set operations are then single C-level big-int
  operations, and ``(lin, state)`` is a cheap hashable memo key.
- Real time: ``a`` must precede ``b`` iff ``a.ret < b.call`` (closed intervals; on equal
  timestamps calls come before returns, so touching operations are concurrent). The ok
  operations are also numbered by return time (``rlin`` is the same set over those numbers),
  so the unlinearized ok op that returns first, the *must* op, is the lowest zero bit of
  ``rlin``. The operations that may go next are exactly the unlinearized ones called no
  later than the must op returns: a prefix of the call order, ``himask[r] & ~lin``.
- ``info`` operations have no return: they may take effect at any point after their call,
  or never. They are never required, so the search ends when every ok op is linearized, and
  they are tried only after the ok candidates; among pending info ops with equal
  ``Model.effect`` only the first is tried.
- Ops with ``Model.pins`` (a register read of 7 is legal only in state 7; a write of 7 leads
  to 7) are run as bitset operations: ``needs_mask[state]`` is every pinned op legal in
  ``state``, so filtering candidates and linearizing pending reads costs no model call.
- An op for which ``Model.read_only`` holds (it changes nothing in every state where it is
  legal) is linearized as soon as it is pending and legal, with no branching: any
  linearization from here that places it later can place it here instead, since the states
  between are unchanged and moving it earlier breaks no real-time constraint.
- Dead branches (``Model.pins``): when an op leaves a state that some pending ok op needs
  (a read of 3 while the register holds 3) and no remaining op can make that state again,
  the pending op can never be placed, so the branch is cut before it is explored.
- Ordering: when the must op needs a state the model is not in (a read of 5 while the
  register holds 3), the ops that make that state are tried first.
- Memo: a configuration ``(lin, state)`` already explored failed (else the search would have
  stopped), so it is never explored twice. This bounds the work by the number of distinct
  configurations, not orderings.

Budgets are checked every few thousand steps: past the deadline or past the memory estimate
the answer is "unknown", never a guess. The memo's size is estimated from its entry count
(a big int of ``n`` bits, a tuple, a set slot and the state) rather than measured, because
tracing allocations would slow the search several times over.

For an invalid partition the search remembers the deepest configuration (most ok operations
linearized) it reached: its path is the longest linearizable prefix found, and there every
ok candidate, the must op among them, is illegal in the state reached.
"""

from __future__ import annotations

import sys
import time
from bisect import bisect_right
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from chaos.history import Operation
from chaos.models.base import ANY, SAME, Model

_CALL = attrgetter("call")
CHECK_EVERY = 2048
REFUTED_STEPS = 20_000
UNNEEDED = object()
"""Memo stand-in for every state that no op needs (see ``canonical``)."""


@dataclass(slots=True)
class Outcome:
    """What the search found for one partition."""

    verdict: str
    order: list[int] = field(default_factory=list)
    """valid: op ids in linearization order (ok ops and the info ops that took effect)."""
    reason: str = ""
    prefix: list[Operation] = field(default_factory=list)
    """invalid: the longest linearizable prefix found, in order."""
    failed: list[Operation] = field(default_factory=list)
    """invalid: the op(s) that could not be placed after the prefix."""
    states: list[Any] = field(default_factory=list)
    """invalid: the model state(s) that rejected them."""
    ops: list[Operation] = field(default_factory=list)
    """the operations searched (after the model's prepare), sorted by call."""
    explored: int = 0
    limit: str | None = None


def search(
    ops: list[Operation],
    model: Model,
    *,
    deadline: float | None = None,
    memory_limit: int | None = None,
    max_steps: int | None = None,
    cut: bool = True,
) -> Outcome:
    """Search one partition (fail operations already removed, ``model.prepare`` applied).

    ``max_steps`` bounds the number of frames visited: reaching it reports "unknown".
    ``cut=False`` turns off dead-branch cutting: slower, but the deepest prefix it reaches runs
    up to the op that fails, which makes a better counterexample (see ``check``). A
    partition refuted before the search (an ok op needing a state nothing makes) is searched
    with at most :data:`REFUTED_STEPS` steps, only to find a counterexample prefix.
    """
    ops = sorted(ops, key=_CALL)
    n = len(ops)
    if n == 0:
        return Outcome("valid", ops=ops)
    step = model.step
    successors = model.successors
    pins = model.pins
    read_only = model.read_only
    effect = model.effect
    init = model.init()

    # One pass over the ops builds every mask (on small histories this setup dominates).
    calls = [op.call for op in ops]
    okpos: list[int] = []
    ok_mask = ro_mask = any_mask = unpinned = wild = ignored = 0
    needs_mask: dict[Any, int] = {}  # pinned ops legal only in that state
    ok_needers: dict[Any, int] = {}  # the ok ones among them
    makers: dict[Any, int] = {}  # pinned ops leading to that state
    nxt: list[Any] = [None] * n  # pinned ops: the state they lead to
    effects: dict[int, Any] = {}
    nondet: set[int] = set()
    need_of: list[Any] | None = [ANY] * n if pins is not None else None
    for i in range(n):
        op = ops[i]
        b = 1 << i
        ok = op.status == "ok"
        if ok:
            ok_mask |= b
            okpos.append(i)
        p = pins(op) if pins is not None else None
        if p is None:
            unpinned |= b
            if read_only is not None and read_only(op):
                if ok:
                    ro_mask |= b
                else:
                    ignored |= b
            else:
                wild |= b
        else:
            nd, mk = p
            if mk is SAME:
                if not ok:  # an info op that changes nothing never matters
                    ignored |= b
                    continue
                ro_mask |= b
            else:
                makers[mk] = makers.get(mk, 0) | b
                nxt[i] = mk
            if nd is ANY:
                any_mask |= b
            else:
                need_of[i] = nd  # type: ignore[index]
                needs_mask[nd] = needs_mask.get(nd, 0) | b
                if ok:
                    ok_needers[nd] = ok_needers.get(nd, 0) | b
        if not ok:
            if effect is not None:
                effects[i] = effect(op)
            if successors is not None:
                nondet.add(i)

    okpos.sort(key=lambda i: ops[i].ret)
    full = (1 << len(okpos)) - 1
    rbit = [0] * n
    himask = []
    for r, i in enumerate(okpos):
        rbit[i] = 1 << r
        himask.append((1 << bisect_right(calls, ops[i].ret)) - 1)
    info_mask = ((1 << n) - 1) & ~ok_mask & ~ignored
    branch_mask = ~ro_mask & ~ignored
    ro_unpinned = ro_mask & unpinned
    maybe_legal = any_mask | unpinned

    refuted: int | None = None
    if not wild:
        for nd, mask in ok_needers.items():
            if nd not in makers and nd != init:
                refuted = (mask & -mask).bit_length() - 1
                break
        if refuted is not None and (max_steps is None or max_steps > REFUTED_STEPS):
            max_steps = REFUTED_STEPS

    if not cut:
        ok_needers = {}
    # When every op is pinned, states that no op needs behave alike (only ops legal anywhere
    # are legal in them, with the same results), so the memo treats them as one.
    canonical = pins is not None and not unpinned
    # Blind writes: ok ops legal anywhere that lead to a state nobody needs. Placed right
    # before another op legal anywhere that makes a state (an absorber), a blind write changes
    # nothing; and removing a blind write from a valid order leaves a valid order (the ops after
    # it ran in a state nobody needs, so they are legal anywhere). So when an absorber is
    # linearized, every pending blind write goes just before it, with no branching.
    blind = absorbers = 0
    if canonical:
        for i in range(n):
            mk = nxt[i]
            if mk is not None and (any_mask >> i) & 1:
                absorbers |= 1 << i
                if mk not in needs_mask and (ok_mask >> i) & 1:
                    blind |= 1 << i

    seen: set[tuple[int, Any]] = set()
    path: list[int] = []
    stack: list[list[Any]] = []
    lin = 0
    rlin = 0
    state = init
    best_depth = -1
    best_path: list[int] = []
    best_state: Any = state
    best_failed = 0
    steps = 0
    entry_bytes = 150 + n // 7
    perf = time.perf_counter

    while True:
        # Linearize every pending read-only op that is legal now (no branching, see above).
        while True:
            if rlin == full:
                return Outcome("valid", order=[ops[i].id for i in path], ops=ops, explored=len(seen))
            r = (~rlin & (rlin + 1)).bit_length() - 1
            cand = himask[r] & ~lin
            ro = cand & ro_mask
            if not ro:
                break
            legal = ro & (needs_mask.get(state, 0) | any_mask)
            m = ro & ro_unpinned
            while m:
                b = m & -m
                m ^= b
                if step(state, ops[b.bit_length() - 1])[0]:
                    legal |= b
            if not legal:
                break
            lin |= legal
            while legal:
                b = legal & -legal
                legal ^= b
                i = b.bit_length() - 1
                rlin |= rbit[i]
                path.append(i)
        depth = rlin.bit_count()
        if depth > best_depth:
            best_depth = depth
            best_path = path.copy()
            best_state = state
            best_failed = okpos[r]

        # Children: the must op first, then the other ok ops, then info ops (one per effect).
        # Pinned ops illegal in this state are filtered out by mask, without a call.
        c = cand & branch_mask & (maybe_legal | needs_mask.get(state, 0))
        must = okpos[r]
        cands: list[Any] = []
        must_bit = 1 << must
        first = 0
        if need_of is not None:
            # The must op needs another state: try the ops that make it before anything else.
            target = need_of[must]
            if target is not ANY and target != state:
                first = c & makers.get(target, 0)
                m = first
                while m:
                    b = m & -m
                    m ^= b
                    cands.append(b.bit_length() - 1)
        if c & must_bit & ~first:
            cands.append(must)
        m = c & ok_mask & ~must_bit & ~first
        while m:
            b = m & -m
            m ^= b
            cands.append(b.bit_length() - 1)
        m = c & info_mask & ~first
        if m:
            tried: set[Any] = set()
            while m:
                b = m & -m
                m ^= b
                i = b.bit_length() - 1
                # With every op pinned, an info op is worth trying only if some remaining op
                # needs the state it makes; else dropping it from a completion leaves one.
                if canonical and not needs_mask.get(nxt[i], 0) & ~lin & ~b:
                    continue
                e = effects.get(i)
                if e is not None:
                    if e in tried:
                        continue
                    tried.add(e)
                cands.append(i)
        stack.append([lin, rlin, state, cands, 0, len(path), cand & blind])

        # Take the next untried child of the deepest frame; pop exhausted frames.
        while stack:
            frame = stack[-1]
            cands = frame[3]
            k = frame[4]
            flin = frame[0]
            fstate = frame[2]
            found = False
            while k < len(cands):
                c = cands[k]
                k += 1
                if type(c) is tuple:
                    i, s2 = c
                else:
                    i = c
                    s2 = nxt[i]
                    if s2 is None:
                        if i in nondet:
                            succ = list(successors(fstate, ops[i]))  # type: ignore[misc]
                            if not succ:
                                continue
                            s2 = succ[0]
                            if len(succ) > 1:
                                cands[k:k] = [(i, s) for s in succ[1:]]
                        else:
                            legal_now, s2 = step(fstate, ops[i])
                            if not legal_now:
                                continue
                nl = flin | (1 << i)
                absorbed = 0
                if frame[6] and (absorbers >> i) & 1:
                    absorbed = frame[6] & ~nl
                    nl |= absorbed
                if ok_needers and s2 != fstate:
                    # Leaving fstate: dead if a pending ok op needs it and nothing can remake it.
                    nd = ok_needers.get(fstate)
                    if nd is not None and nd & ~nl and not ((makers.get(fstate, 0) | wild) & ~nl):
                        d = (frame[1] | rbit[i]).bit_count()
                        if d > best_depth:  # evidence: the stranded op, in the state left behind
                            best_depth = d
                            best_path = [*path[:frame[5]], i]
                            best_state = s2
                            stranded = nd & ~nl
                            best_failed = (stranded & -stranded).bit_length() - 1
                        continue
                key = (nl, s2 if s2 in needs_mask or not canonical else UNNEEDED)
                if key in seen:
                    continue
                seen.add(key)
                found = True
                break
            steps += 1
            if steps % CHECK_EVERY == 0 or (max_steps is not None and steps >= max_steps):
                if max_steps is not None and steps >= max_steps:
                    return _gave_up(model, ops, "steps", f"stopped after {steps} steps",
                                    seen, best_path, best_state, best_failed, refuted)
                if deadline is not None and perf() > deadline:
                    return _gave_up(model, ops, "time", f"time limit reached after {len(seen)} configurations",
                                    seen, best_path, best_state, best_failed, refuted)
                if memory_limit is not None:
                    est = len(seen) * (entry_bytes + sys.getsizeof(fstate)) + 8 * len(path)
                    if est > memory_limit:
                        return _gave_up(
                            model, ops, "memory",
                            f"memory limit of {_mb(memory_limit)} reached: memo of {len(seen)} "
                            f"configurations, about {_mb(est)}",
                            seen, best_path, best_state, best_failed, refuted)
            if found:
                frame[4] = k
                del path[frame[5]:]
                rlin = frame[1] | rbit[i]
                while absorbed:
                    b = absorbed & -absorbed
                    absorbed ^= b
                    j = b.bit_length() - 1
                    path.append(j)
                    rlin |= rbit[j]
                path.append(i)
                lin = nl
                state = s2
                break
            stack.pop()
        else:
            if refuted is not None:
                best_failed = refuted
            return Outcome(
                "invalid",
                reason=_refutation(model, ops[refuted]) if refuted is not None else "no linearization",
                prefix=[ops[i] for i in best_path],
                failed=[ops[best_failed]],
                states=[best_state],
                ops=ops,
                explored=len(seen),
            )


def _refutation(model: Model, op: Operation) -> str:
    return f"{model.describe_op(op)} is legal in no reachable state: no operation makes the state it needs"


def _mb(n: float) -> str:
    return f"{n / 1e6:.0f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _gave_up(
    model: Model,
    ops: list[Operation],
    limit: str,
    reason: str,
    seen: set[Any],
    best_path: list[int],
    best_state: Any,
    best_failed: int,
    refuted: int | None,
) -> Outcome:
    if refuted is not None:  # the verdict is known; the search only looked for a prefix
        return Outcome(
            "invalid",
            reason=_refutation(model, ops[refuted]),
            prefix=[ops[i] for i in best_path],
            failed=[ops[refuted]],
            states=[best_state] if best_failed == refuted else [],
            ops=ops,
            explored=len(seen),
        )
    return Outcome(
        "unknown",
        reason=reason,
        prefix=[ops[i] for i in best_path],
        failed=[ops[best_failed]] if ops else [],
        states=[best_state],
        ops=ops,
        explored=len(seen),
        limit=limit,
    )
