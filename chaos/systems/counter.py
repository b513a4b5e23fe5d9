"""Counters: ``counter`` (correct on any store) and ``counter-racy`` (loses updates).

Each key is a counter, kept as a JSON integer (absent: 0). ``read`` returns it; ``add`` adds
the operation's value, an integer, and returns it. The workload draws each add's amount from
1 to :attr:`Counter.max_add` through the ``request`` hook, from the request number alone.
The default, 1, is Jepsen's counter: every add alike, so the ``counter`` model's ``effect``
hook treats all indeterminate adds as one kind, and a read tells how many adds it saw. A
subclass with ``max_add = 5`` makes reads tell more (which adds) but makes them ambiguous
(is 7 the adds of 3 and 4, or of 2 and 5?): on the in-memory store, where a contended add's
compare-and-set loop can span a thousand operations, its 2,000-operation histories took the
checker from 0.2 s to 9 s, against under 0.15 s with adds of 1.

``counter`` adds with a compare-and-set loop (:func:`~chaos.systems.update.cas_update`), so it
is linearizable on every store whose ``cas`` is atomic: memory, PostgreSQL, S3 with
conditional writes, an HTTP store. ``counter-racy`` reads, then writes the sum: two adds that
read the same value both write, and one is lost. A run with ``model: counter`` catches it
within a second (experiments/counter-racy-memory.yaml).
"""

from __future__ import annotations

from typing import Any

from ..system import Env, OperationFailed, default_request
from .scramble import scramble
from .update import cas_update, racy_update, read_value


class Counter:
    """read / add on each key of one store, adds as a compare-and-set loop."""

    roles = ("store",)
    max_add = 1
    """Adds draw their amount from 1..max_add."""
    attempts = 64
    """Compare-and-set rounds before an add gives up (recorded ``fail``: it did nothing)."""

    def __init__(self, env: Env) -> None:
        self.store = env.stores["store"]

    @classmethod
    def request(cls, f: str, key: Any, n: int, expected: Any) -> Any:
        """An add's amount, 1..max_add, drawn from the request number ``n``."""
        if f == "add":
            return 1 + scramble(n) % cls.max_add
        return default_request(f, key, n, expected)

    async def read(self, key: str, value: Any) -> int:
        _, current = await read_value(self.store, key)
        return 0 if current is None else current

    async def add(self, key: str, value: Any) -> int:
        if type(value) is not int:
            raise OperationFailed(f"add {key}: the amount must be an integer, got {value!r}")
        await self._update(key, lambda current: (current or 0) + value)
        return value

    async def _update(self, key: str, change: Any) -> Any:
        return await cas_update(self.store, key, change, self.attempts)


class RacyCounter(Counter):
    """A deliberately broken counter: an add reads the value and writes the sum, unguarded."""

    async def _update(self, key: str, change: Any) -> Any:
        return await racy_update(self.store, key, change)
