"""``counter``: an integer per key that clients add to and read, Jepsen's counter workload.

Operations (what the runner records):

- ``add``: ``op.value`` is the increment, any integer (negative subtracts, 0 is allowed). What
  an ok add returned (``op.output``) is not looked at.
- ``read``: ``op.output`` is the integer read.

Every key starts at 0 (``counter_model(initial=5)`` starts at 5, and is named
``counter(initial=5)`` in an experiment). Ops with different keys never interact, so each key is
checked on its own; ops whose key is None form one counter.

Why the hooks are sound (they are also fuzzed against a brute-force reference,
tests/test_models_counter_bank_fuzz.py):

- ``effect``: two info adds of the same amount act identically in every state, so among pending
  ones the search tries only the first. This is what keeps a history with dozens of
  indeterminate adds cheap: without it every subset of them is a separate branch.
- ``read_only`` / ``pins``: a read changes nothing, and an ok read of v is legal exactly in
  state v.
- ``prepare`` drops info adds of 0 and info adds called after every ok read returned: they can
  only be placed after every read, where nothing observes them. Then it looks for a quick
  linearization in which info adds take effect soon after their call or never, and when one
  replays, drops the info adds it did not use (:mod:`chaos.models.additive`): the history is
  valid whatever they did, and the search is spared the adds that never took effect.
- ``impossible``: a read must count every ok add that returned before it was called, may count
  any add called before it returned, and no other. When no such choice adds up to the value
  read (a lost update: the read misses an add that had already returned), the read is refuted
  without a search. This is a subset sum over the few adds concurrent with the read and the
  info adds, answered with a bitmask (:mod:`chaos.models.subset_sums`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Hashable
from operator import attrgetter
from typing import cast

from chaos.errors import BadInput
from chaos.history import Operation
from chaos.models.additive import Update, keep_used
from chaos.models.base import SAME, Model, by_key, describe_value, unsupported
from chaos.models.subset_sums import SubsetSums

COUNTER_FS = frozenset({"add", "read"})
_CALL = attrgetter("call")
_RET = attrgetter("ret")


def _is_int(value: object) -> bool:
    return type(value) is int


def _step(state: int, op: Operation) -> tuple[bool, int]:
    f = op.f
    if f == "add":
        return True, state + op.value
    if f == "read":
        if op.status != "ok":
            return True, state
        out = op.output
        return _is_int(out) and out == state, state
    raise unsupported("counter", op, COUNTER_FS)


def _pins(op: Operation) -> tuple[object, object] | None:
    if op.f != "read":
        return None
    out = op.output
    # A read of something other than an integer needs a state no add makes.
    return (out if _is_int(out) else ("not an integer", repr(out))), SAME


def _effect(op: Operation) -> Hashable:
    return (op.f, op.value)


def _prepare_for(name: str, initial: int) -> Callable[[list[Operation]], list[Operation]]:
    impossible = _impossible_from(initial)

    def prepare(ops: list[Operation]) -> list[Operation]:
        last_read = None
        for op in ops:
            if op.f not in COUNTER_FS:
                raise unsupported(name, op, COUNTER_FS)
            if op.f == "add" and not _is_int(op.value):
                raise ValueError(
                    f"model {name!r}: add #{op.id} needs an integer value to add, got {describe_value(op.value)}"
                )
            ret = op.ret
            if op.f == "read" and ret is not None and (last_read is None or ret > last_read):
                last_read = ret
        kept = [
            op
            for op in ops
            if op.status == "ok" or (op.f == "add" and op.value != 0 and last_read is not None and op.call <= last_read)
        ]
        if all(op.status == "ok" for op in kept):
            return kept
        if impossible(kept) is not None:  # refuted anyway: no use looking for a linearization
            return kept
        return keep_used(kept, [_update(op) for op in kept], (initial,), initial, _step)

    return prepare


def _update(op: Operation) -> Update:
    if op.f == "add":
        return Update(op, ((0, op.value),) if op.value else ())
    out = op.output
    return Update(op, None, target=(out,) if _is_int(out) else None)


def _impossible_from(initial: int) -> Callable[[list[Operation]], tuple[Operation, str] | None]:
    def impossible(ops: list[Operation]) -> tuple[Operation, str] | None:
        reads = sorted((op for op in ops if op.f == "read" and op.status == "ok"), key=_RET)
        if not reads:
            return None
        oks = [op for op in ops if op.f == "add" and op.status == "ok"]
        by_call = sorted(oks, key=_CALL)
        by_ret = sorted(oks, key=_RET)
        rets = [cast(int, op.ret) for op in by_ret]  # ok operations: they returned
        infos = sorted((op for op in ops if op.f == "add" and op.status != "ok"), key=_CALL)
        maybe_info = SubsetSums()  # info adds called before the read returned
        concurrent: Counter[int] = Counter()  # amounts of the ok adds that may go either way
        done = initial  # the counter after every ok add that returned before the read's call
        called = removed = taken = 0
        for read in reads:
            out = read.output
            if not _is_int(out):
                return read, f"reads {describe_value(out)}, not an integer"
            returned = cast(int, read.ret)  # an ok read
            # Ok adds called before the read returned may count; those that returned before it
            # was called must (they leave ``concurrent`` and join ``done``).
            while called < len(by_call) and by_call[called].call <= returned:
                concurrent[by_call[called].value] += 1
                called += 1
            must = bisect_left(rets, read.call)
            while removed < must:
                amount = by_ret[removed].value
                done += amount
                _discount(concurrent, amount)
                removed += 1
            while removed > must:  # this read was called earlier than the last one
                removed -= 1
                amount = by_ret[removed].value
                done -= amount
                concurrent[amount] += 1
            while taken < len(infos) and infos[taken].call <= returned:
                maybe_info.add(infos[taken].value)
                taken += 1
            sums = maybe_info.copy()
            for amount, count in concurrent.items():
                sums.add(amount, count)
            if not sums.contains(out - done):
                return read, (
                    f"reads {out}, but the adds that returned before it was called leave the counter at "
                    f"{done}, and no choice of the adds that may come before it adds {out - done}"
                )
        return None

    return impossible


def _discount(bag: Counter[int], amount: int) -> None:
    left = bag[amount] - 1
    if left:
        bag[amount] = left
    else:
        del bag[amount]


def _describe(state: int) -> str:
    return f"count {state}"


def counter_model(initial: int = 0) -> Model:
    """A counter per key starting at ``initial`` (0 unless the system starts it elsewhere)."""
    if not _is_int(initial):
        raise BadInput(f"counter model: initial must be an integer, got {initial!r}")
    name = "counter" if initial == 0 else f"counter(initial={initial})"
    return Model(
        name=name,
        init=lambda: initial,
        step=_step,
        partition=by_key,
        describe_state=_describe,
        prepare=_prepare_for(name, initial),
        read_only=lambda op: op.f == "read",
        effect=_effect,
        impossible=_impossible_from(initial),
        pins=_pins,
        doc=f"counter per key: add (an integer) and read (initially {initial})",
    )


counter = counter_model()
