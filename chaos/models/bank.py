"""``bank``: accounts that clients move money between, Jepsen's bank workload.

Operations (what the runner records):

- ``transfer``: ``op.value`` is ``{"from": a, "to": b, "amount": n}`` with ``n`` a
  non-negative integer. A transfer that would overdraw ``from`` is refused by the bank: the
  system records it as ``fail``, and an ok transfer is legal only when ``from`` holds at least
  ``n``.
- ``read``: ``op.output`` maps every account to its balance, ``{"a0": 20, "a1": 17, ...}``.

The whole bank is one register of balance maps: a history is valid iff the transfers and reads
can be put in one order, consistent with real time, in which every read returns exactly the
balances the transfers before it leave. That is stronger than Jepsen's bank checker (every read
sums to the total, no balance negative): a lost transfer keeps the total but not the balances.

Configuration: ``bank`` has accounts ``a0``..``a4`` holding 20 each (total 100). Another bank
is ``bank_model(accounts=8, total=80)`` (the total is split evenly, the first accounts taking
what does not divide), ``bank_model(accounts=["alice", "bob"], total=10)`` or
``bank_model(balances={"a0": 100, "a1": 0})``; in an experiment or on the command line the
same call is the model's name: ``model: bank(accounts=8, total=80)``.

Account names are strings, because JSON object keys are: ``{"0": 10}`` and ``{0: 10}`` (a
Jepsen EDN history) both name account ``"0"``. Each key (``op.key``) is a bank of its own,
starting from the same balances, and is checked on its own.

Why the hooks are sound (they are also fuzzed against a brute-force reference,
tests/test_models_counter_bank_fuzz.py):

- ``effect``: info transfers with the same accounts and amount act identically in every state.
- ``read_only`` / ``pins``: a read changes nothing, and an ok read is legal exactly in the state
  it returns.
- ``prepare`` drops info transfers that move nothing (amount 0, or from an account to itself)
  and info transfers called after every ok operation returned: they can only be placed after
  every ok operation, where nothing observes them. Then it looks for a quick linearization in
  which info transfers take effect soon after their call or never, and when one replays,
  drops the info transfers it did not use (:mod:`chaos.models.additive`).
- ``impossible``: an ok read whose balances are not the bank's accounts, include a negative
  one, or do not add up to the bank's total is legal in no state. Then, account by account, a
  read must include every ok transfer that returned before it was called and may include any
  transfer called before it returned: when no such choice explains one account's balance (a
  lost transfer), the read is refuted without a search (:mod:`chaos.models.subset_sums`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from operator import attrgetter
from typing import Any, cast

from chaos.errors import BadInput
from chaos.history import Operation
from chaos.models.additive import Update, keep_used
from chaos.models.base import SAME, Model, by_key, describe_operation, describe_value, unsupported
from chaos.models.subset_sums import SubsetSums

BANK_FS = frozenset({"transfer", "read"})
DEFAULT_ACCOUNTS = 5
DEFAULT_TOTAL = 100
_CALL = attrgetter("call")
_RET = attrgetter("ret")

Balances = tuple[int, ...]
"""A model state: the balances, in the order of the bank's accounts."""


class BankConfigError(BadInput):
    """A bank configured with accounts or balances that make no bank."""


def account_names(accounts: int | Sequence[Any]) -> list[str]:
    """``a0``..``a{n-1}`` for a count, else the names given (as strings)."""
    if type(accounts) is int:
        if accounts < 1:
            raise BankConfigError(f"bank: accounts must be at least 1, got {accounts}")
        return [f"a{i}" for i in range(accounts)]
    if isinstance(accounts, str) or not isinstance(accounts, Sequence):
        raise BankConfigError(f"bank: accounts must be a number or a list of names, got {accounts!r}")
    names = [str(a) for a in accounts]
    if not names or len(set(names)) != len(names):
        raise BankConfigError(f"bank: accounts must be distinct names, at least one, got {accounts!r}")
    return names


def initial_balances(
    accounts: int | Sequence[Any] = DEFAULT_ACCOUNTS,
    total: int | None = None,
    balances: Mapping[Any, int] | Sequence[int] | None = None,
) -> dict[str, int]:
    """Account name -> opening balance: ``balances`` as given, or ``total`` (default 100) split
    evenly over ``accounts``, the first accounts taking one more each for what does not divide.
    The built-in bank systems open their accounts with this too."""
    if balances is not None:
        if isinstance(balances, Mapping):
            opening = {str(k): v for k, v in balances.items()}
            if len(opening) != len(balances):
                raise BankConfigError(f"bank: balances name an account twice: {balances!r}")
        elif isinstance(balances, Sequence) and not isinstance(balances, str):
            opening = dict(zip(account_names(len(balances)), balances, strict=True))
        else:
            raise BankConfigError(f"bank: balances must be a map of account to balance, or a list, got {balances!r}")
        if not opening:
            raise BankConfigError("bank: balances must name at least one account")
        bad = [v for v in opening.values() if type(v) is not int or v < 0]
        if bad:
            raise BankConfigError(f"bank: balances must be non-negative integers, got {bad[0]!r}")
        if total is not None and total != sum(opening.values()):
            raise BankConfigError(f"bank: balances add up to {sum(opening.values())}, not the total {total}")
        return opening
    names = account_names(accounts)
    total = DEFAULT_TOTAL if total is None else total
    if type(total) is not int or total < 0:
        raise BankConfigError(f"bank: total must be a non-negative integer, got {total!r}")
    base, extra = divmod(total, len(names))
    return {name: base + (1 if i < extra else 0) for i, name in enumerate(names)}


class _Bank:
    """The functions of one configured bank model (its accounts are looked up by name)."""

    def __init__(self, name: str, opening: dict[str, int]) -> None:
        self.name = name
        self.names = list(opening)
        self.init: Balances = tuple(opening.values())
        self.total = sum(self.init)
        self.index: dict[Any, int] = {}
        for i, account in enumerate(self.names):
            self.index[account] = i
            if account.lstrip("-").isdigit() and str(int(account)) == account:
                self.index[int(account)] = i  # an EDN history's integer account

    # ------------------------------------------------------------------ reading operations

    def account(self, op: Operation, which: str) -> int:
        value = op.value
        name = value.get(which) if type(value) is dict else None
        i = self.index.get(name) if type(name) is str or type(name) is int else None
        if i is None:
            raise ValueError(
                f"model {self.name!r}: transfer #{op.id} has {which} {describe_value(name)}, not one of the "
                f"bank's accounts ({self._accounts_text()}); configure the model like the system, "
                f"e.g. bank(accounts=8, total=80)"
            )
        return i

    def transfer(self, op: Operation) -> tuple[int, int, int]:
        """``(from index, to index, amount)`` of a transfer, or a ValueError naming what is wrong."""
        value = op.value
        if type(value) is not dict:
            raise ValueError(
                f"model {self.name!r}: transfer #{op.id} needs a value "
                f'{{"from": account, "to": account, "amount": n}}, got {describe_value(value)}'
            )
        amount = value.get("amount")
        if type(amount) is not int or amount < 0:
            raise ValueError(
                f"model {self.name!r}: transfer #{op.id} needs a non-negative integer amount, got "
                f"{describe_value(amount)}"
            )
        return self.account(op, "from"), self.account(op, "to"), amount

    def balances(self, output: Any) -> Balances | None:
        """The state a read returned, or None when it is not a map of every account to an int."""
        if type(output) is not dict or len(output) != len(self.init):
            return None
        found: list[int | None] = [None] * len(self.init)
        index = self.index
        for account, balance in output.items():
            i = index.get(account) if type(account) is str or type(account) is int else None
            if i is None or type(balance) is not int:
                return None
            found[i] = balance
        if None in found:  # one account named twice ("0" and 0)
            return None
        return tuple(found)  # type: ignore[arg-type]

    def _accounts_text(self) -> str:
        names = self.names
        return " ".join(names) if len(names) <= 6 else f"{names[0]} {names[1]} ... {names[-1]}, {len(names)} in all"

    # ------------------------------------------------------------------ the model's functions

    def step(self, state: Balances, op: Operation) -> tuple[bool, Balances]:
        f = op.f
        if f == "transfer":
            i, j, amount = self.transfer(op)
            have = state[i]
            if have < amount:
                return False, state
            if i == j or amount == 0:
                return True, state
            after = list(state)
            after[i] = have - amount
            after[j] += amount
            return True, tuple(after)
        if f == "read":
            return op.status != "ok" or self.balances(op.output) == state, state
        raise unsupported(self.name, op, BANK_FS)

    def pins(self, op: Operation) -> tuple[Any, Any] | None:
        if op.f != "read":
            return None
        state = self.balances(op.output)
        # A read that is not a map of the bank's balances needs a state no transfer makes.
        return (state if state is not None else ("not balances", repr(op.output))), SAME

    def effect(self, op: Operation) -> Hashable:
        return ("transfer", *self.transfer(op)) if op.f == "transfer" else (op.f,)

    def prepare(self, ops: list[Operation]) -> list[Operation]:
        last = None
        for op in ops:
            if op.f not in BANK_FS:
                raise unsupported(self.name, op, BANK_FS)
            if op.f == "transfer":
                self.transfer(op)
            ret = op.ret
            if op.status == "ok" and ret is not None and (last is None or ret > last):
                last = ret
        kept = []
        for op in ops:
            if op.status == "ok":
                kept.append(op)
            elif op.f == "transfer" and last is not None and op.call <= last:
                i, j, amount = self.transfer(op)
                if i != j and amount:
                    kept.append(op)
        if all(op.status == "ok" for op in kept) or self.impossible(kept) is not None:
            return kept
        return keep_used(kept, [self._update(op) for op in kept], self.init, self.init, self.step)

    def _update(self, op: Operation) -> Update:
        if op.f == "read":
            return Update(op, None, target=self.balances(op.output))
        i, j, amount = self.transfer(op)
        return Update(op, ((i, -amount), (j, amount)) if i != j and amount else (), guard=(i, amount))

    def impossible(self, ops: list[Operation]) -> tuple[Operation, str] | None:
        reads = sorted((op for op in ops if op.f == "read" and op.status == "ok"), key=_RET)
        for read in reads:
            why = self._unreadable(read.output)
            if why is not None:
                return read, why
        return self._lost(ops, reads)

    def _unreadable(self, output: Any) -> str | None:
        """Why a read's output is legal in no state at all, if it is not."""
        state = self.balances(output)
        if state is None:
            if type(output) is not dict:
                return f"reads {describe_value(output)}, not a map of account balances"
            return f"reads accounts {' '.join(sorted(map(str, output)))}, not the bank's ({self._accounts_text()})"
        negative = [f"{self.names[i]}={b}" for i, b in enumerate(state) if b < 0]
        if negative:
            return f"reads a negative balance, {negative[0]}"
        if sum(state) != self.total:
            return f"reads balances adding up to {sum(state)}; the bank holds {self.total}"
        return None

    def _lost(self, ops: list[Operation], reads: list[Operation]) -> tuple[Operation, str] | None:
        """Account by account, the subset-sum test of the module's docstring."""
        if not reads:
            return None
        n = len(self.init)
        oks = [op for op in ops if op.f == "transfer" and op.status == "ok"]
        by_call = sorted(oks, key=_CALL)
        by_ret = sorted(oks, key=_RET)
        rets = [cast(int, op.ret) for op in by_ret]  # ok operations: they returned
        infos = sorted((op for op in ops if op.f == "transfer" and op.status != "ok"), key=_CALL)
        maybe_info = [SubsetSums() for _ in range(n)]
        concurrent: Counter[tuple[int, int, int]] = Counter()
        done = list(self.init)  # balances after every ok transfer that returned before the read's call
        called = removed = taken = 0
        for read in reads:
            returned = cast(int, read.ret)  # an ok read
            while called < len(by_call) and by_call[called].call <= returned:
                concurrent[self.transfer(by_call[called])] += 1
                called += 1
            must = bisect_left(rets, read.call)
            while removed < must:
                i, j, amount = moved = self.transfer(by_ret[removed])
                done[i] -= amount
                done[j] += amount
                left = concurrent[moved] - 1
                if left:
                    concurrent[moved] = left
                else:
                    del concurrent[moved]
                removed += 1
            while removed > must:  # this read was called earlier than the last one
                removed -= 1
                i, j, amount = moved = self.transfer(by_ret[removed])
                done[i] += amount
                done[j] -= amount
                concurrent[moved] += 1
            while taken < len(infos) and infos[taken].call <= returned:
                i, j, amount = self.transfer(infos[taken])
                if i != j:
                    maybe_info[i].add(-amount)
                    maybe_info[j].add(amount)
                taken += 1
            state = self.balances(read.output)
            assert state is not None  # _unreadable passed
            for x in range(n):
                sums = maybe_info[x].copy()
                for (i, j, amount), count in concurrent.items():
                    if i != j:
                        if i == x:
                            sums.add(-amount, count)
                        elif j == x:
                            sums.add(amount, count)
                if not sums.contains(state[x] - done[x]):
                    return read, (
                        f"reads {self.names[x]}={state[x]}, but the transfers that returned before it was "
                        f"called leave {done[x]} there, and no choice of the transfers that may come "
                        f"before it moves {state[x] - done[x]:+d}"
                    )
        return None

    # ------------------------------------------------------------------ text

    def describe_state(self, state: Balances) -> str:
        return "balances " + " ".join(f"{a}={b}" for a, b in zip(self.names, state, strict=True))

    def describe_op(self, op: Operation) -> str:
        if op.f == "transfer" and type(op.value) is dict:
            v = op.value
            parts = [f"#{op.id}", f"p{op.process}", "transfer"]
            if op.key is not None:
                parts.append(describe_value(op.key))
            parts += [
                f"{describe_value(v.get('from'))}->{describe_value(v.get('to'))}",
                describe_value(v.get("amount")),
                op.status,
            ]
            return " ".join(parts)
        if op.f == "read" and op.status == "ok" and type(op.output) is dict:
            parts = [f"#{op.id}", f"p{op.process}", "read"]
            if op.key is not None:
                parts.append(describe_value(op.key))
            balances = " ".join(f"{a}={describe_value(b)}" for a, b in op.output.items())
            return " ".join([*parts, "->", balances, op.status])
        return describe_operation(op)


def _call_text(accounts: int | Sequence[Any], total: int | None, balances: Any) -> str:
    if balances is not None:
        return f"bank(balances={balances!r})"
    return f"bank(accounts={accounts!r}, total={DEFAULT_TOTAL if total is None else total})"


def bank_model(
    accounts: int | Sequence[Any] = DEFAULT_ACCOUNTS,
    total: int | None = None,
    balances: Mapping[Any, int] | Sequence[int] | None = None,
) -> Model:
    """A bank per key with these accounts and opening balances (see :func:`initial_balances`)."""
    opening = initial_balances(accounts, total, balances)
    default = initial_balances()
    name = "bank" if opening == default and list(opening) == list(default) else _call_text(accounts, total, balances)
    bank = _Bank(name, opening)
    init = bank.init
    init_fn: Callable[[], Balances] = lambda: init  # noqa: E731
    return Model(
        name=name,
        init=init_fn,
        step=bank.step,
        partition=by_key,
        describe_state=bank.describe_state,
        describe_op=bank.describe_op,
        prepare=bank.prepare,
        read_only=lambda op: op.f == "read",
        effect=bank.effect,
        impossible=bank.impossible,
        pins=bank.pins,
        doc=f"bank per key: transfer between and read all of {len(init)} accounts holding {bank.total}",
    )


bank = bank_model()
