"""Transactional systems: Elle's list-append and Jepsen's bank, on a transactional store.

Both use the store directly, one transaction per operation, so what the checks judge is the
store's isolation (``isolation:`` in the store's settings), nothing of our own.

``list-append`` (Elle's workload): each operation is a transaction (``f`` ``txn``) of one to
four micro-ops, each an append of a unique element to a key's list or a read of a whole list::

    [["append", 12, 4005], ["r", 13, null], ["append", 12, 4006]]   # invoked
    [["append", 12, 4005], ["r", 13, [4001, 3994]], ["append", 12, 4006]]   # ok

A few keys are active at a time, so that transactions contend; as the run goes on, the oldest
active key is retired and a fresh one started, so lists stay short (about
``max_writes_per_key`` elements) and reads cheap. The store keeps a list as the concatenation
of its elements, each JSON followed by a newline: an append is one server-side concatenation.

``bank-txn`` (Jepsen's bank): ``accounts`` accounts start with ``total`` between them;
``transfer`` moves a random amount between two of them, reading both balances and writing
both back in one transaction (refusing to overdraw: ``fail``); ``read`` reads every balance in
one transaction. Under a level that lets two transfers read the same balance and both write
it (read committed), money appears or vanishes.

Parameters are class attributes, since the request hook that draws operations is called on
the class: subclass to change them (``system: mymodule:BigBank``).
"""

from __future__ import annotations

import random
import zlib
from typing import Any, ClassVar

from ..encoding import ENCODER, loads
from ..system import Env, OperationFailed, SystemLoadError


def _transactional(env: Env, role: str, system: str) -> Any:
    store = env.stores[role]
    if not callable(getattr(store, "transaction", None)) or not callable(getattr(store, "txn", None)):
        raise SystemLoadError(
            f"system {system}: store role {role!r} ({getattr(store, 'kind', '?')}) offers no transactions: "
            "they need a postgres or memory store, in mode: run"
        )
    return store


def _rng(key: Any, n: int) -> random.Random:
    """The random draws of the request numbered ``n``: the same for the same seed's run."""
    return random.Random(n * 0x9E3779B1 + zlib.crc32(str(key).encode()))


class ListAppend:
    """Elle's list-append workload as a system: ``txn`` runs one transaction of micro-ops."""

    roles = ("db",)

    key_count: ClassVar[int] = 5
    """Keys active at a time (fewer: more contention, more anomalies under weak isolation)."""
    min_txn_length: ClassVar[int] = 1
    max_txn_length: ClassVar[int] = 4
    max_writes_per_key: ClassVar[int] = 32
    """About how many elements a key receives before it is retired."""
    read_fraction: ClassVar[float] = 0.5
    """Share of micro-ops that are reads."""

    def __init__(self, env: Env) -> None:
        self.db = _transactional(env, "db", "list-append")

    @classmethod
    def request(cls, f: str, key: Any, n: int, expected: Any) -> Any:
        """The transaction numbered ``n``. The active keys slide along with ``n`` (which grows
        by one per operation over all workers), each key staying active for as many
        transactions as give it about ``max_writes_per_key`` appends."""
        if f != "txn":
            return n
        rng = _rng(key, n)
        appends_per_txn = (cls.min_txn_length + cls.max_txn_length) / 2 * (1 - cls.read_fraction)
        stride = max(1, round(cls.max_writes_per_key / max(appends_per_txn, 1e-9)))
        base = n // stride
        mops: list[list[Any]] = []
        for i in range(rng.randint(cls.min_txn_length, cls.max_txn_length)):
            k = base + rng.randrange(cls.key_count)
            if rng.random() < cls.read_fraction:
                mops.append(["r", k, None])
            else:
                mops.append(["append", k, n * cls.max_txn_length + i])
        return mops

    async def txn(self, key: Any, value: list[list[Any]]) -> list[list[Any]]:
        ops = [[f, str(k), ENCODER.encode(v) + b"\n" if f == "append" else None] for f, k, v in value]
        done = await self.db.txn(ops)
        return [
            [f, k, v if f == "append" else decode_list(raw)] for (f, k, v), (_, _, raw) in zip(value, done, strict=True)
        ]


def decode_list(raw: bytes | None) -> list[Any] | None:
    """A stored list: its elements, each JSON followed by a newline (``None``: no list yet)."""
    if raw is None:
        return None
    return [loads(line) for line in bytes(raw).split(b"\n")[:-1]]


class BankTxn:
    """Jepsen's bank workload as a system: ``transfer`` and ``read`` in transactions."""

    roles = ("db",)

    accounts: ClassVar[int] = 5
    total: ClassVar[int] = 100
    max_transfer: ClassVar[int] = 5

    def __init__(self, env: Env) -> None:
        self.db = _transactional(env, "db", "bank-txn")
        self.names = [str(i) for i in range(self.accounts)]

    @classmethod
    def request(cls, f: str, key: Any, n: int, expected: Any) -> Any:
        """A transfer's ``{"from", "to", "amount"}`` between two distinct accounts."""
        if f != "transfer":
            return None
        rng = _rng(key, n)
        source, target = rng.sample(range(cls.accounts), 2)
        return {"from": source, "to": target, "amount": rng.randint(1, cls.max_transfer)}

    async def setup(self) -> None:
        """Open the accounts: ``total`` split evenly, the remainder in account 0."""
        share, rest = divmod(self.total, self.accounts)
        async with self.db.transaction() as tx:
            for i, name in enumerate(self.names):
                await tx.write(name, ENCODER.encode(share + (rest if i == 0 else 0)))

    async def read(self, key: Any, value: Any) -> dict[str, int | None]:
        async with self.db.transaction() as tx:
            balances = {}
            for name in self.names:
                raw = await tx.read(name)
                balances[name] = None if raw is None else loads(raw)
        return balances

    async def transfer(self, key: Any, value: dict[str, int]) -> dict[str, int]:
        source, target, amount = str(value["from"]), str(value["to"]), value["amount"]
        async with self.db.transaction() as tx:
            balances = {}
            for name in sorted((source, target)):  # one lock order: fewer deadlocks
                raw = await tx.read(name)
                balances[name] = 0 if raw is None else loads(raw)
            if balances[source] < amount:
                raise OperationFailed(f"transfer {value}: account {source} holds {balances[source]}")
            balances[source] -= amount
            balances[target] += amount
            for name in sorted((source, target)):
                await tx.write(name, ENCODER.encode(balances[name]))
        return value
