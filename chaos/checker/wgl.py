"""The Wing & Gong / Lowe search: is one partition of a history linearizable under a model?

Wing & Gong's depth-first search with Lowe's memo, as in Porcupine, reshaped for Python and
written as a generator so that a scheduler can run many partitions in turns
(chaos/checker/schedule.py): it yields the size of its memo every :data:`CHECK_EVERY` steps
and is stopped by sending it a reason.

Representation, chosen so that memory stays linear in the history:

- The ok operations are numbered by return time (their *rank*). Every ok op of rank below
  ``r`` is linearized and rank ``r`` is not: it is the *must* op, the unlinearized op that
  returns first. The ok ops linearized beyond it are ``w``, a bitset relative to ``r`` (bit
  ``k`` is rank ``r + k``). The candidates are the ok ops called no later than the must op
  returns: ``conc[r] & ~w``, where ``conc[r]`` (precomputed, relative to ``r``) spans only the
  ops concurrent with the must op. So every set the search stores is as wide as the history's
  concurrency, not its length: a 150,000-operation single-key history needs no bitset of
  150,000 bits per step.
- ``info`` operations (no return) are numbered by call and their linearized set is ``x``, a
  bitset over them; the info ops callable now are a prefix of that order (``ihi[r]``).
- Real time: ``a`` precedes ``b`` iff ``a.ret < b.call`` (closed intervals: on equal timestamps
  calls come before returns, so touching operations are concurrent).
- The memo holds ``(r, w, x, state)``: a configuration already explored failed (else the
  search would have stopped), so it is never explored twice.

Orderings and prunings (each guarded by the differential fuzzer, tests/test_checker_fuzz.py):

1. *Never, not no-op.* An info op may take effect or not; "not" is no step at all, and the
   search succeeds once every ok op is linearized.
2. *Info last.* The ok candidates are tried before the info ones.
3. *Symmetry.* Pending info ops with equal effects (``Model.effect``, or equal pins) act alike:
   only the first is tried.
4. *Chain rules.* Some solution uses the fewest info ops, so a run of consecutive info steps
   (no ok op between) never revisits a state, never places a state-independent op (a write)
   after its first step (the run's first state could have taken it directly), and is never
   followed by a state-independent ok op (which would make the run pointless). Removing the
   offending part of such a run leaves a valid order with fewer info ops.
5. *Greedy pure ops.* A pending op that changes nothing in every state where it is legal
   (``Model.read_only``: a read) is linearized as soon as it is legal, without branching.
6. *Pins.* Ops whose whole behaviour is "legal in one state (or any), leads to one state"
   (``Model.pins``) run as mask operations: no model call per step.
7. *Pre-filter and dead branches.* An ok op that needs a state nothing makes refutes the
   partition at once; a branch dies as soon as it leaves a state that a pending ok op needs
   and no remaining op can make again.
8. *Makers first.* When the must op needs another state, the ops that make it are tried first.
9. *States nobody needs are one state* to the memo (when every op is pinned), and blind
   writes (ok ops legal anywhere that make a state nobody needs) are placed just before the
   next op legal anywhere that makes a state, without branching.

For an invalid partition the search remembers the deepest configuration (most ok operations
linearized) it reached: its path is the longest linearizable prefix found, and there every
ok candidate, the must op among them, is illegal in the state reached.
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from chaos.history import Operation
from chaos.models.base import ANY, SAME, Model

_CALL = attrgetter("call")
_RET = attrgetter("ret")
ENTRY_BYTES = 130
"""What a memo entry holds beside its slot in the set: a 4-tuple and a small int or two."""
CHECK_EVERY = 1024
"""Steps between two yields to the scheduler (a few milliseconds)."""
REFUTED_STEPS = 20_000
UNNEEDED = object()
"""Memo stand-in for every state that no op needs (see rule 9)."""
NO_INIT = object()
"""``init`` not given: the model's own initial state."""
WINDOW = 4096
"""Width of the slices of the rank-wide masks the hot loop works on (see ``_Masks``)."""

SearchSteps = Generator[int, "str | None", "Outcome"]
"""A running search: yields its memory estimate, accepts ``None`` (go on) or a reason (stop)."""


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
    """invalid: the op(s) that could not be placed after it."""
    states: list[Any] = field(default_factory=list)
    """invalid: the model state(s) that rejected them."""
    ops: list[Operation] = field(default_factory=list)
    """the operations searched (after the model's prepare), sorted by call."""
    explored: int = 0
    limit: str | None = None


class _Masks:
    """Slices of the rank-wide masks, ``WINDOW``-aligned: shifting a mask as wide as the
    history at every step would cost time linear in the history; a slice of twice the widest
    concurrency is enough, since every candidate lies within ``conc[r]``'s span of ``r``."""

    __slots__ = ("cache", "full", "span_all", "width")

    def __init__(self, full: tuple[int, ...], span: int, ranks: int) -> None:
        self.full = full
        width = WINDOW
        while width < span:
            width *= 2
        self.width = width
        self.span_all = ranks
        self.cache: dict[int, tuple[int, ...]] = {}

    def at(self, base: int) -> tuple[int, ...]:
        if self.width >= self.span_all:  # a short history: the masks as they are
            return self.full
        got = self.cache.get(base)
        if got is None:
            if len(self.cache) > 64:
                self.cache.clear()
            keep = (1 << (2 * self.width)) - 1
            got = self.cache[base] = tuple((m >> base) & keep for m in self.full)
        return got


def _relmask(ranks: list[int]) -> tuple[int, int]:
    """``(base, mask)``: the set ``ranks`` as a bitset relative to its lowest member, so that
    a sparse set far along the history costs its own width, not the history's."""
    base = ranks[0]
    mask = 0
    for k in ranks:
        mask |= 1 << (k - base)
    return base, mask


def _fullmask(ranks: list[int]) -> int:
    mask = 0
    for k in ranks:
        mask |= 1 << k
    return mask


def _rel(entry: tuple[int, int] | None, r: int) -> int:
    """A ``_relmask`` set, relative to rank ``r`` (members below ``r`` dropped)."""
    if entry is None:
        return 0
    base, mask = entry
    d = base - r
    return mask << d if d >= 0 else mask >> -d


@dataclass(slots=True)
class _Tables:
    """What the search knows of a partition before its first step, computed once by
    :func:`_prepare`: the operations ordered and classified, the per-state needs and makes, the
    concurrency windows. The loop (:func:`_search`) copies each into a local, where the hot
    path reads it fastest."""

    ops: list[Operation]
    okl: list[Operation]
    """The ok operations by rank (return order)."""
    infl: list[Operation]
    """The info operations by call."""
    m: int
    init_state: Any
    need_ok: list[Any]
    make_ok: list[Any]
    wild_last: int
    need_i: list[Any]
    make_i: list[Any]
    eff_i: list[Any]
    nondet_i: list[bool]
    ibranch: int
    iwild: int
    imakers: dict[Any, list[int]]
    ineeders: dict[Any, list[int]]
    imasks: bool
    ipin: int
    iany_m: int
    ineed_m: dict[Any, int]
    imake_m: dict[Any, int]
    conc: list[int]
    """Per rank ``r``: the ok ops called before the op of rank ``r`` returns, relative to ``r``."""
    ihi: list[int]
    """Per rank ``r``: how many info ops are called before the op of rank ``r`` returns."""
    canonical: bool
    needed: set[Any]
    absorb_ok: bytearray
    absorb_i: bytearray
    mkey_ok: list[Any]
    mkey_i: list[Any]
    masks: _Masks
    small: bool
    need_all: dict[Any, Any]
    need_br: dict[Any, Any]
    make_all: dict[Any, Any]
    refuted: int | None
    """The rank of an ok op that needs a state nothing makes (rule 7), if any."""


class _Frame:
    """One configuration on the depth-first stack, and how far its children have been tried."""

    __slots__ = ("blind", "cands", "need", "next", "path_len", "r", "run", "state", "w", "x")

    def __init__(
        self,
        r: int,
        w: int,
        x: int,
        state: Any,
        cands: list[Any],
        path_len: int,
        blind: int,
        run: tuple[Any, ...],
        need: int,
    ) -> None:
        self.r = r
        """The must op's rank when the frame was entered."""
        self.w = w
        """The ok ops linearized beyond rank ``r`` (relative to it)."""
        self.x = x
        """The info ops linearized."""
        self.state = state
        self.cands = cands
        """Its children: ok ops (rank relative to ``r``), ``~j`` for info op ``j``, or
        ``(~j, state)`` for another successor of a nondeterministic info op."""
        self.next = 0
        """The index in ``cands`` of the next child to try."""
        self.path_len = path_len
        """The length of the path when the frame was entered: what a child's steps are cut back to."""
        self.blind = blind
        """Pending blind writes (rule 9) a child may absorb."""
        self.run = run
        """The states of the run of info steps that led here (rule 4)."""
        self.need = need
        """The pending ok ops that need ``state`` (relative to ``r``), for dead-branch cutting."""


def search(
    ops: list[Operation],
    model: Model,
    *,
    init: Any = NO_INIT,
    max_steps: int | None = None,
    cut: bool = True,
) -> SearchSteps:
    """Search one partition (fail operations already removed, ``model.prepare`` applied).

    A generator: it yields its memory estimate (bytes: the memo and the stack) every
    :data:`CHECK_EVERY` steps; sending a reason
    (``"time"``, ``"memory"``...) stops it with an ``unknown`` outcome; its return value is
    the :class:`Outcome`. ``max_steps`` bounds the frames visited (reaching it is "unknown").
    ``cut=False`` turns off dead-branch cutting: slower, but the deepest prefix it reaches runs
    up to the op that fails, which makes a better counterexample (see ``check``). A partition
    refuted before the search (an ok op needing a state nothing makes) is searched with at
    most :data:`REFUTED_STEPS` steps, only to find a counterexample prefix.
    """
    return _search(_prepare(ops, model, init), model, max_steps, cut)


def _prepare(ops: list[Operation], model: Model, init: Any) -> _Tables:
    """The set-up of a search: everything that does not change as it steps."""
    ops = sorted(ops, key=_CALL)
    okc = [op for op in ops if op.status == "ok"]  # ok ops by call
    infl = [op for op in ops if op.status != "ok"]
    rets: list[int] = [op.ret for op in okc]  # type: ignore[misc]  # ok operations: every one returned
    by_ret = sorted(range(len(okc)), key=rets.__getitem__)  # stable: ties by call
    okl = [okc[k] for k in by_ret]  # ok ops by rank
    m = len(okl)
    q = len(infl)
    successors = model.successors
    pins = model.pins
    read_only = model.read_only
    effect = model.effect
    init_state = model.init() if init is NO_INIT else init
    # ---- ok ops, by rank: classes as rank-wide masks, needs and makes per state
    ro_m = any_m = unp_m = blind_m = 0
    need_ok: list[Any] = [None] * m  # pinned: the state needed (ANY); None: unpinned
    make_ok: list[Any] = [None] * m  # pinned: the state made (SAME)
    need_ranks: dict[Any, list[int]] = {}  # every pinned ok op legal only in that state
    needbr_ranks: dict[Any, list[int]] = {}  # the non-read-only ones among them
    make_ranks: dict[Any, list[int]] = {}
    wild_last = -1  # the last unpinned ok op that may change the state
    for r in range(m):
        op = okl[r]
        b = 1 << r
        p = pins(op) if pins is not None else None
        if p is None:
            if read_only is not None and read_only(op):
                ro_m |= b
            else:
                unp_m |= b
                wild_last = r
            continue
        nd, mk = p
        need_ok[r] = nd
        make_ok[r] = mk
        if mk is SAME:
            ro_m |= b
        else:
            make_ranks.setdefault(mk, []).append(r)
        if nd is ANY:
            any_m |= b
        else:
            need_ranks.setdefault(nd, []).append(r)
            if mk is not SAME:
                needbr_ranks.setdefault(nd, []).append(r)

    # ---- info ops, by call
    need_i: list[Any] = [None] * q
    make_i: list[Any] = [None] * q
    eff_i: list[Any] = [None] * q
    nondet_i = [False] * q
    ibranch = iwild = 0
    imakers: dict[Any, list[int]] = {}
    ineeders: dict[Any, list[int]] = {}
    for j in range(q):
        op = infl[j]
        p = pins(op) if pins is not None else None
        if p is None:
            if read_only is not None and read_only(op):
                continue  # an info op that changes nothing never matters
            ibranch |= 1 << j
            iwild |= 1 << j
            nondet_i[j] = successors is not None
            eff_i[j] = effect(op) if effect is not None else None
            continue
        nd, mk = p
        if mk is SAME:
            continue
        ibranch |= 1 << j
        need_i[j] = nd
        make_i[j] = mk
        eff_i[j] = (nd, mk)
        imakers.setdefault(mk, []).append(j)
        if nd is not ANY:
            ineeders.setdefault(nd, []).append(j)

    # Per-state info masks, for histories with few info ops (a mask per state is q bits).
    imasks = q <= 2 * WINDOW
    ipin = iany_m = 0
    ineed_m: dict[Any, int] = {}
    imake_m: dict[Any, int] = {}
    if imasks:
        for j in range(q):
            if make_i[j] is not None:
                b = 1 << j
                ipin |= b
                imake_m[make_i[j]] = imake_m.get(make_i[j], 0) | b
                nd = need_i[j]
                if nd is ANY:
                    iany_m |= b
                else:
                    ineed_m[nd] = ineed_m.get(nd, 0) | b

    # ---- concurrency: conc[r] (relative to r) and ihi[r], by one sweep in call order
    rank_of = [0] * m
    for r, k in enumerate(by_ret):
        rank_of[k] = r
    ccalls = [op.call for op in okc]
    icalls = [op.call for op in infl]
    conc: list[int] = [0] * m
    ihi: list[int] = [0] * m
    active = 0
    p_ok = 0
    p_info = 0
    span = 1
    for r in range(m):
        ret = rets[by_ret[r]]
        while p_ok < m and ccalls[p_ok] <= ret:
            active |= 1 << (rank_of[p_ok] - r)
            p_ok += 1
        while p_info < q and icalls[p_info] <= ret:
            p_info += 1
        conc[r] = active
        ihi[r] = p_info
        width = active.bit_length()
        if width > span:
            span = width
        active >>= 1

    canonical = pins is not None and not unp_m and not iwild
    needed = set(need_ranks) | set(ineeders)
    # Blind writes (rule 9): ok ops legal anywhere making a state nobody needs; absorbers:
    # ops legal anywhere that make a state.
    absorb_ok = bytearray(m)
    absorb_i = bytearray(q)
    if canonical:
        for r in range(m):
            mk = make_ok[r]
            if need_ok[r] is ANY and mk is not SAME:
                absorb_ok[r] = 1
                if mk not in needed:
                    blind_m |= 1 << r
        for j in range(q):
            if need_i[j] is ANY and make_i[j] is not None:
                absorb_i[j] = 1
    # The memo's state key of each pinned op's next state (rule 9: unneeded states are one).
    mkey_ok = [mk if not canonical or mk in needed else UNNEEDED for mk in make_ok]
    mkey_i = [mk if not canonical or mk in needed else UNNEEDED for mk in make_i]
    masks = _Masks((ro_m, any_m | unp_m, blind_m, any_m), span, m)
    # Per-state rank sets: plain masks for a short history (a shift is cheap), relative
    # masks for a long one (a sparse set far along must not cost the history's width).
    small = m <= 2 * WINDOW
    pack: Any = _fullmask if small else _relmask
    need_all: dict[Any, Any] = {v: pack(rs) for v, rs in need_ranks.items()}
    need_br: dict[Any, Any] = {v: pack(rs) for v, rs in needbr_ranks.items()}
    make_all: dict[Any, Any] = {v: pack(rs) for v, rs in make_ranks.items()}

    # ---- pre-filter: an ok op needing a state nothing makes
    refuted: int | None = None
    if not unp_m and not iwild:
        for nd, rs in need_ranks.items():
            if nd not in make_ranks and nd not in imakers and nd != init_state:
                refuted = rs[0]
                break

    return _Tables(
        ops=ops,
        okl=okl,
        infl=infl,
        m=m,
        init_state=init_state,
        need_ok=need_ok,
        make_ok=make_ok,
        wild_last=wild_last,
        need_i=need_i,
        make_i=make_i,
        eff_i=eff_i,
        nondet_i=nondet_i,
        ibranch=ibranch,
        iwild=iwild,
        imakers=imakers,
        ineeders=ineeders,
        imasks=imasks,
        ipin=ipin,
        iany_m=iany_m,
        ineed_m=ineed_m,
        imake_m=imake_m,
        conc=conc,
        ihi=ihi,
        canonical=canonical,
        needed=needed,
        absorb_ok=absorb_ok,
        absorb_i=absorb_i,
        mkey_ok=mkey_ok,
        mkey_i=mkey_i,
        masks=masks,
        small=small,
        need_all=need_all,
        need_br=need_br,
        make_all=make_all,
        refuted=refuted,
    )


def _search(tables: _Tables, model: Model, max_steps: int | None, cut: bool) -> SearchSteps:
    """The search loop over prepared tables (see :func:`search`)."""
    ops = tables.ops
    okl = tables.okl
    infl = tables.infl
    m = tables.m
    init_state = tables.init_state
    need_ok = tables.need_ok
    make_ok = tables.make_ok
    wild_last = tables.wild_last
    need_i = tables.need_i
    make_i = tables.make_i
    eff_i = tables.eff_i
    nondet_i = tables.nondet_i
    ibranch = tables.ibranch
    iwild = tables.iwild
    imakers = tables.imakers
    ineeders = tables.ineeders
    imasks = tables.imasks
    ipin = tables.ipin
    iany_m = tables.iany_m
    ineed_m = tables.ineed_m
    imake_m = tables.imake_m
    conc = tables.conc
    ihi = tables.ihi
    canonical = tables.canonical
    needed = tables.needed
    absorb_ok = tables.absorb_ok
    absorb_i = tables.absorb_i
    mkey_ok = tables.mkey_ok
    mkey_i = tables.mkey_i
    masks = tables.masks
    small = tables.small
    need_all = tables.need_all
    need_br = tables.need_br
    make_all = tables.make_all
    refuted = tables.refuted
    if m == 0:
        return Outcome("valid", ops=ops)
    if refuted is not None and (max_steps is None or max_steps > REFUTED_STEPS):
        max_steps = REFUTED_STEPS
    step = model.step
    successors = model.successors
    cutting = cut

    def decode(path: list[int]) -> list[Operation]:
        return [okl[c] if c >= 0 else infl[~c] for c in path]

    def needed_later(state: Any, r: int, w: int, x: int, skip: int) -> bool:
        """Does some op still to be placed need ``state``?"""
        if ((need_all.get(state, 0) >> r) if small else _rel(need_all.get(state), r)) & ~w:
            return True
        return any(j != skip and not (x >> j) & 1 for j in ineeders.get(state, ()))

    seen: set[tuple[Any, ...]] = set()
    path: list[int] = []
    stack: list[_Frame] = []
    r = 0
    w = 0
    x = 0
    state = init_state
    run: tuple[Any, ...] = ()  # the states before the current one since the last ok step
    best_depth = -1
    # The best prefix is path[:best_from] followed by the chunks (newest first) saved as the
    # path was cut back below it: no copy of the whole path per backtrack, which on a long
    # history would make the search quadratic.
    best_from = 0
    best_chunks: list[list[int]] = []
    best_state: Any = state
    best_failed = 0
    steps = 0
    wbase = -1
    RO = MB = BLIND = ANYM = 0
    windows = masks.at
    wmask = masks.width - 1

    while True:
        # Linearize every pending read-only op that is legal now (rule 5).
        greedy = False
        while True:
            if r == m:
                return Outcome("valid", order=[op.id for op in decode(path)], ops=ops, explored=len(seen))
            base = r & ~wmask
            if base != wbase:
                wbase = base
                RO, MB, BLIND, ANYM = windows(base)
            o = r - base
            cand = conc[r] & ~w
            ro = cand & (RO >> o)
            if not ro:
                break
            legal = ro & (((need_all.get(state, 0) >> r) if small else _rel(need_all.get(state), r)) | (ANYM >> o))
            # unpinned read-only ops: ask the model
            m2 = ro & ~legal
            while m2:
                b = m2 & -m2
                m2 ^= b
                k = b.bit_length() - 1
                if need_ok[r + k] is None and step(state, okl[r + k])[0]:
                    legal |= b
            if not legal:
                break
            greedy = True
            w |= legal
            while legal:
                b = legal & -legal
                legal ^= b
                path.append(r + b.bit_length() - 1)
            if w & 1:
                t = (~w & (w + 1)).bit_length() - 1
                r += t
                w >>= t
        if greedy:
            run = ()
        depth = r + w.bit_count()
        if depth > best_depth:
            best_depth = depth
            best_from = len(path)
            best_chunks = []
            best_state = state
            best_failed = r

        # Children: makers of the state the must op needs, the must op, the other ok ops,
        # then info ops (one per effect). Pinned ops illegal here are filtered out by mask.
        in_run = bool(run)
        if small:
            nd_all = need_all.get(state, 0) >> r
            c_ok = cand & ~(RO >> o) & ((MB >> o) | (need_br.get(state, 0) >> r))
        else:
            nd_all = _rel(need_all.get(state), r)
            c_ok = cand & ~(RO >> o) & ((MB >> o) | _rel(need_br.get(state), r))
        if in_run:
            c_ok &= ~(ANYM >> o)  # rule 4: a state-independent ok op right after info steps
        cands: list[Any] = []
        target = need_ok[r]
        first = 0
        ifirst: list[int] = []
        if target is not None and target is not ANY and target != state:
            first = c_ok & ((make_all.get(target, 0) >> r) if small else _rel(make_all.get(target), r))
            ifirst = imakers.get(target, [])
            m2 = first
            while m2:
                b = m2 & -m2
                m2 ^= b
                cands.append(b.bit_length() - 1)
        if c_ok & 1 and not first & 1:
            cands.append(0)
        m2 = c_ok & ~first & ~1
        while m2:
            b = m2 & -m2
            m2 ^= b
            cands.append(b.bit_length() - 1)
        pend = ((1 << ihi[r]) - 1) & ~x & ibranch
        if pend and imasks:
            # Pinned info ops, filtered by mask: legal here; not a state-independent op after
            # the run's first step; not leading back to a state of this run (rule 4).
            ip = pend & ipin
            if ip:
                ip &= iany_m | ineed_m.get(state, 0)
                if in_run:
                    ip &= ~iany_m
                ip &= ~imake_m.get(state, 0)
                for s in run:
                    ip &= ~imake_m.get(s, 0)
            pend = ip | (pend & ~ipin)
            if pend:
                tried: set[Any] = set()
                if ifirst:
                    lead = pend & imake_m.get(target, 0)
                    order = _bits(lead) + _bits(pend & ~lead) if lead else _bits(pend)
                else:
                    order = _bits(pend)
                for j in order:
                    if canonical and not needed_later(make_i[j], r, w, x, j):
                        continue  # makes a state nobody needs: dropping it leaves a completion
                    e = eff_i[j]
                    if e is not None:
                        if e in tried:
                            continue  # rule 3
                        tried.add(e)
                    cands.append(~j)
        elif pend:
            tried = set()
            order_i: list[int] = [j for j in ifirst if (pend >> j) & 1]
            order_i += _bits(pend)
            for j in order_i:
                nd = need_i[j]
                if nd is not None:
                    mk = make_i[j]
                    if nd is not ANY and nd != state:
                        continue  # illegal here
                    if mk == state or mk in run:
                        continue  # rule 4: revisits a state of this run (or changes nothing)
                    if in_run and nd is ANY:
                        continue  # rule 4: the run's first state could have taken it
                    if canonical and not needed_later(mk, r, w, x, j):
                        continue  # makes a state nobody needs: dropping it leaves a completion
                e = eff_i[j]
                if e is not None:
                    if e in tried:
                        continue  # rule 3
                    tried.add(e)
                cands.append(~j)
        blind_pending = cand & (BLIND >> o) if canonical else 0
        stack.append(_Frame(r, w, x, state, cands, len(path), blind_pending, run, nd_all))

        # Take the next untried child of the deepest frame; pop exhausted frames.
        while stack:
            frame = stack[-1]
            fr = frame.r
            fw = frame.w
            fx = frame.x
            fstate = frame.state
            cands = frame.cands
            k = frame.next
            plen = frame.path_len
            fblind = frame.blind
            frun = frame.run
            fneed = frame.need
            found = False
            while k < len(cands):
                c = cands[k]
                k += 1
                absorbed = 0
                if type(c) is tuple:  # another successor of a nondeterministic info op
                    c, s2 = c
                    skey = s2
                    nw = fw
                    nx = fx | (1 << ~c)
                elif c >= 0:
                    rc = fr + c
                    s2 = make_ok[rc]
                    if s2 is None:
                        legal_now, s2 = step(fstate, okl[rc])
                        if not legal_now:
                            continue
                        skey = s2
                    elif s2 is SAME:
                        s2 = fstate
                        skey = s2 if not canonical or s2 in needed else UNNEEDED
                    else:
                        skey = mkey_ok[rc]
                    nw = fw | (1 << c)
                    nx = fx
                    if fblind and absorb_ok[rc]:
                        absorbed = fblind & ~nw
                        nw |= absorbed
                else:
                    j = ~c
                    s2 = make_i[j]
                    if s2 is None:
                        if nondet_i[j]:
                            succ = list(successors(fstate, infl[j]))  # type: ignore[misc]
                            if not succ:
                                continue
                            s2 = succ[0]
                            if len(succ) > 1:
                                cands[k:k] = [(c, s) for s in succ[1:]]
                        else:
                            legal_now, s2 = step(fstate, infl[j])
                            if not legal_now:
                                continue
                        if s2 == fstate or s2 in frun:
                            continue  # rule 4 for unpinned info ops: a revisit
                        skey = s2
                    else:
                        skey = mkey_i[j]
                    nw = fw
                    nx = fx | (1 << j)
                    if fblind and absorb_i[j]:
                        absorbed = fblind & ~nw
                        nw |= absorbed
                if cutting and s2 != fstate and fneed:
                    # Leaving fstate: dead if a pending ok op needs it and nothing can remake it.
                    stranded = fneed & ~nw
                    if (
                        stranded
                        and wild_last < fr
                        and not ((make_all.get(fstate, 0) >> fr) if small else _rel(make_all.get(fstate), fr)) & ~nw
                    ):
                        remakers = iwild and iwild & ~nx
                        if not remakers:
                            for j in imakers.get(fstate, ()):
                                if not (nx >> j) & 1:
                                    remakers = True
                                    break
                        if not remakers:
                            d = fr + nw.bit_count()
                            if d > best_depth:  # evidence: the stranded op, in the state left behind
                                best_depth = d
                                best_from = plen
                                best_chunks = [[*(fr + t for t in _bits(absorbed)), fr + c if c >= 0 else c]]
                                best_state = s2
                                best_failed = fr + (stranded & -stranded).bit_length() - 1
                            continue
                nr = fr
                if nw & 1:
                    t = (~nw & (nw + 1)).bit_length() - 1
                    nr += t
                    nw >>= t
                key = (nr, nw, nx, skey)
                if key in seen:
                    continue
                seen.add(key)
                found = True
                break
            steps += 1
            if steps % CHECK_EVERY == 0 or (max_steps is not None and steps >= max_steps):
                stop = (
                    "steps"
                    if max_steps is not None and steps >= max_steps
                    # the memo's size: its entries, and its table twice over (a resize doubles it)
                    else (yield len(seen) * ENTRY_BYTES + 2 * sys.getsizeof(seen) + 100 * len(stack))
                )
                if stop is not None:
                    return _gave_up(
                        model,
                        ops,
                        str(stop),
                        steps,
                        seen,
                        decode(_best(path, best_from, best_chunks)),
                        best_state,
                        okl[best_failed],
                        okl[refuted] if refuted is not None else None,
                    )
            if found:
                frame.next = k
                if plen < best_from:  # the best prefix is about to be overwritten: save its tail
                    best_chunks.append(path[plen:best_from])
                    best_from = plen
                del path[plen:]
                while absorbed:
                    b = absorbed & -absorbed
                    absorbed ^= b
                    path.append(fr + b.bit_length() - 1)
                path.append(fr + c if c >= 0 else c)
                r = nr
                w = nw
                x = nx
                run = () if c >= 0 or absorbed else (*frun, fstate)
                state = s2
                break
            stack.pop()
        else:
            failed = okl[refuted] if refuted is not None else okl[best_failed]
            return Outcome(
                "invalid",
                reason=_refutation(model, failed) if refuted is not None else "no linearization",
                prefix=decode(_best(path, best_from, best_chunks)),
                failed=[failed],
                states=[best_state],
                ops=ops,
                explored=len(seen),
            )


def _best(path: list[int], start: int, chunks: list[list[int]]) -> list[int]:
    out = path[:start]
    for chunk in reversed(chunks):
        out.extend(chunk)
    return out


def _bits(mask: int) -> list[int]:
    out = []
    while mask:
        b = mask & -mask
        mask ^= b
        out.append(b.bit_length() - 1)
    return out


def _refutation(model: Model, op: Operation) -> str:
    return f"{model.describe_op(op)} is legal in no reachable state: no operation makes the state it needs"


def _gave_up(
    model: Model,
    ops: list[Operation],
    limit: str,
    steps: int,
    seen: set[Any],
    prefix: list[Operation],
    best_state: Any,
    best_failed: Operation,
    refuted: Operation | None,
) -> Outcome:
    if refuted is not None:  # the verdict is known; the search only looked for a prefix
        return Outcome(
            "invalid",
            reason=_refutation(model, refuted),
            prefix=prefix,
            failed=[refuted],
            states=[best_state] if best_failed is refuted else [],
            ops=ops,
            explored=len(seen),
        )
    return Outcome(
        "unknown",
        reason=f"stopped after {steps} steps" if limit == "steps" else limit,
        prefix=prefix,
        failed=[best_failed],
        states=[best_state],
        ops=ops,
        explored=len(seen),
        limit=limit,
    )


def run(steps: SearchSteps) -> Outcome:
    """Drive a search to its end, with no budget (tests, bounded searches)."""
    try:
        while True:
            next(steps)
    except StopIteration as stop:
        outcome: Outcome = stop.value
        return outcome
