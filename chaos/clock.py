"""The clock a system under test reads and sleeps on.

Systems never call ``time`` or ``asyncio.sleep`` directly: they await ``env.clock.now()`` and
``env.clock.sleep()``. That makes every clock read an await point the controlled scheduler can
hold, and lets ``time_scale`` run the seed's hour-long scenarios in seconds: with
``time_scale: 3600`` one system hour passes in one wall second.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """System time in seconds since the run started."""

    async def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class ScaledClock:
    """Wall time multiplied by ``scale``: ``scale`` system seconds pass per wall second."""

    def __init__(self, scale: float = 1.0, start_ns: int | None = None) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self._start = time.monotonic_ns() if start_ns is None else start_ns

    async def now(self) -> float:
        return (time.monotonic_ns() - self._start) / 1e9 * self.scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.scale)
