"""A deliberately broken system under test, so that reports have a real violation to show."""

from __future__ import annotations

from typing import Any

from chaos.system import Env, OperationFailed
from chaos.systems.register import Register


class StaleReadRegister(Register):
    """A register whose server 0 serves one stale read: at its ``stale``-th read (option,
    default 20) it remembers the value, and ``gap`` reads of that key later (option, default
    40) it answers with the remembered value instead of asking the store. Writes in between
    have returned by then, so no linearization explains the answer."""

    def __init__(self, env: Env) -> None:
        super().__init__(env)
        self.stale = int(env.options.get("stale", 20)) if env.server == 0 else -1
        self.gap = int(env.options.get("gap", 40))
        self.reads = 0
        self.remembered: tuple[str, Any] | None = None
        self.since = 0

    async def read(self, key: str, value: Any) -> Any:
        self.reads += 1
        if self.remembered is not None and self.remembered[0] == key:
            self.since += 1
            if self.since == self.gap:
                return self.remembered[1]
        found = await super().read(key, value)
        if self.reads == self.stale:
            self.remembered = (key, found)
        return found


class HostileRegister(Register):
    """Every value a person might paste into a report, as markup: reads answer with a script
    tag (a value never written, so the history is invalid and the answer lands in the
    counterexample), and odd writes fail with an error text that is an HTML image tag."""

    async def read(self, key: str, value: Any) -> Any:
        return "<script>alert('read')</script>"

    async def write(self, key: str, value: Any) -> Any:
        if isinstance(value, int) and value % 2:
            raise OperationFailed("<img src=x onerror=alert('error')> </script><!--")
        return await super().write(key, value)
