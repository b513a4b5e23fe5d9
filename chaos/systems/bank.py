"""Banks: ``bank`` (correct on any store) and ``bank-racy`` (loses transfers).

Each key is a bank: one JSON document mapping every account to its balance, opened with the
``bank`` model's balances (:func:`chaos.models.bank.initial_balances`) when the key is absent.
``read`` returns the whole map; ``transfer`` moves ``amount`` from one account to another and
is refused (``OperationFailed``, recorded ``fail``) when it would overdraw, as Jepsen's bank
is. The workload draws each transfer, two distinct accounts and an amount from 1 to
:attr:`Bank.max_transfer`, from the request number through the ``request`` hook.

``bank`` transfers with a compare-and-set loop over the whole document, so it is linearizable
on any store whose ``cas`` is atomic. ``bank-racy`` reads the document and writes it back
without the check: a transfer that lands in between is lost. Every document either writes is
one correct transfer away from the one it read, so every read still adds up to the total, and
a Jepsen-style "the total is constant" check passes; the linearizability check does not.

The accounts and total are class attributes because the ``request`` hook, which draws the
accounts, is called on the class: a bank of 8 accounts holding 80 is a subclass setting
``accounts = 8`` and ``total = 80``, checked with ``model: bank(accounts=8, total=80)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..models.bank import DEFAULT_ACCOUNTS, DEFAULT_TOTAL, account_names, initial_balances
from ..system import Env, OperationFailed, SystemLoadError, default_request
from .scramble import scramble
from .update import cas_update, racy_update, read_value


class Bank:
    """transfer / read of every balance, each key a bank kept as one JSON document."""

    roles = ("store",)
    accounts: ClassVar[int] = DEFAULT_ACCOUNTS
    """How many accounts, named a0, a1, ..."""
    total: ClassVar[int] = DEFAULT_TOTAL
    """The money in the bank, split evenly over the accounts when it opens."""
    max_transfer: ClassVar[int] = 5
    """Transfers draw their amount from 1..max_transfer."""
    attempts: ClassVar[int] = 64
    """Compare-and-set rounds before a transfer gives up (recorded ``fail``: it did nothing)."""

    def __init__(self, env: Env) -> None:
        if self.accounts < 2:
            raise SystemLoadError(f"{type(self).__name__}: a bank needs at least 2 accounts, has {self.accounts}")
        if env.options:
            raise SystemLoadError(
                f"{type(self).__name__} takes no system options (got {', '.join(sorted(env.options))}): "
                "set accounts and total as class attributes of a subclass"
            )
        self.store = env.stores["store"]
        self.opening = initial_balances(self.accounts, self.total)

    @classmethod
    def request(cls, f: str, key: Any, n: int, expected: Any) -> Any:
        """A transfer between two distinct accounts of 1..max_transfer, drawn from ``n``."""
        if f != "transfer":
            return default_request(f, key, n, expected)
        accounts = cls.accounts
        draw = scramble(n)
        source = draw % accounts
        draw //= accounts
        target = (source + 1 + draw % (accounts - 1)) % accounts
        draw //= accounts - 1
        names = account_names(accounts)
        return {"from": names[source], "to": names[target], "amount": 1 + draw % cls.max_transfer}

    async def read(self, key: str, value: Any) -> dict[str, int]:
        _, balances = await read_value(self.store, key)
        return dict(self.opening) if balances is None else balances

    async def transfer(self, key: str, value: Any) -> Any:
        try:
            source, target, amount = value["from"], value["to"], value["amount"]
        except (TypeError, KeyError):
            raise OperationFailed(f"transfer {key}: expected {{from, to, amount}}, got {value!r}") from None
        if source not in self.opening or target not in self.opening:
            raise OperationFailed(f"transfer {key}: no account {source if source not in self.opening else target!r}")
        if type(amount) is not int or amount < 0:
            raise OperationFailed(f"transfer {key}: the amount must be a non-negative integer, got {amount!r}")

        def move(balances: dict[str, int] | None) -> dict[str, int]:
            balances = dict(self.opening if balances is None else balances)
            if balances[source] < amount:
                raise OperationFailed(f"transfer {key}: {source} holds {balances[source]}, less than {amount}")
            balances[source] -= amount
            balances[target] += amount
            return balances

        await self._update(key, move)
        return value

    async def _update(self, key: str, change: Any) -> Any:
        return await cas_update(self.store, key, change, self.attempts)


class RacyBank(Bank):
    """A deliberately broken bank: a transfer reads the document and writes it back, unguarded."""

    async def _update(self, key: str, change: Any) -> Any:
        return await racy_update(self.store, key, change)
