"""Trap 7: systems a run cannot learn anything from, which must not pass as plain ``valid``.

``WritesRefused`` refuses every write (``OperationFailed``): the register is never written, so
every read of ``None`` is trivially linearizable. ``MostlyUnknown`` reports three operations in
four as ``OperationUnknown``: the history then constrains almost nothing."""

from __future__ import annotations

from typing import Any

from chaos import OperationFailed, OperationUnknown
from tests.user_systems.register import Register


class WritesRefused(Register):
    """Every write is refused before it reaches the store."""

    async def write(self, key: str, value: Any) -> Any:
        raise OperationFailed("writes are disabled (read-only replica)")


class MostlyUnknown(Register):
    """Writes and cas time out after taking effect; so does every other read."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self.reads = 0

    async def read(self, key: str, value: Any) -> Any:
        result = await super().read(key, value)
        self.reads += 1
        if self.reads % 2:
            raise OperationUnknown("the answer was lost")
        return result

    async def write(self, key: str, value: Any) -> Any:
        await super().write(key, value)
        raise OperationUnknown("the acknowledgement was lost")
