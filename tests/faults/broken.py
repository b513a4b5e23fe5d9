"""Systems and stores for the fault tests: a two-step write (to see what a crash leaves
behind), a system that tries to swallow every exception, a store that loses acknowledged
writes, and a system whose setup fails inside the runner."""

from __future__ import annotations

from typing import Any, ClassVar

from chaos.system import Env
from chaos.systems.register import Register


class TwoStep:
    """A write that takes two steps: the blob first, then the metadata pointing at it (the
    seed's improved design in miniature). Reads return what the metadata says."""

    roles = ("blobs", "db")

    def __init__(self, env: Env) -> None:
        self.blobs = env.stores["blobs"]
        self.db = env.stores["db"]

    async def write(self, key: str, value: Any) -> Any:
        await self.blobs.put(f"b/{key}", str(value).encode())
        await self.db.put(key, str(value).encode())
        return value

    async def read(self, key: str, value: Any) -> Any:
        raw = await self.db.get(key)
        return None if raw is None else int(raw)


class Swallower(TwoStep):
    """Catches every ``Exception`` of its first step and carries on: an injected crash must
    still stop the operation there."""

    async def write(self, key: str, value: Any) -> Any:
        try:
            await self.blobs.put(f"b/{key}", str(value).encode())
        except Exception:
            return "swallowed"
        await self.db.put(key, str(value).encode())
        return value


class LossyStore:
    """Wraps a store and acknowledges every third write without applying it."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.kind = "lossy"
        self.writes = 0

    async def get(self, key: str) -> bytes | None:
        return await self.store.get(key)

    async def put(self, key: str, value: bytes) -> None:
        self.writes += 1
        if self.writes % 3:
            await self.store.put(key, value)

    async def cas(self, key: str, expected: bytes | None, new: bytes) -> bool:
        self.writes += 1
        if self.writes % 3:
            return await self.store.cas(key, expected, new)
        return await self.store.get(key) == expected  # claims the swap, applies nothing

    async def delete(self, key: str) -> None:
        await self.store.delete(key)

    async def list(self, prefix: str = "") -> list[str]:
        return await self.store.list(prefix)


class RegisterOnLossyStore(Register):
    """The correct register system, on a store that loses acknowledged writes."""

    def __init__(self, env: Env) -> None:
        super().__init__(env)
        self.store = LossyStore(env.stores["store"])


class Recorder(Register):
    """The register, remembering the store objects the runner handed to its servers."""

    seen: ClassVar[list[Any]] = []

    def __init__(self, env: Env) -> None:
        super().__init__(env)
        Recorder.seen.append(env.stores["store"])


class FailingSetup(Register):
    """Its setup hook waits a little on the run's clock (faults have started by then) and
    then fails: an exception inside the runner."""

    def __init__(self, env: Env) -> None:
        super().__init__(env)
        self.clock = env.clock

    async def setup(self) -> None:
        await self.clock.sleep(0.05)
        raise RuntimeError("setup failed")
