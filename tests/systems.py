"""Systems under test that are deliberately broken, for tests that must find their bugs."""

from __future__ import annotations

from typing import Any, ClassVar

from chaos.system import Env, OperationUnknown
from chaos.systems.register import Register, decode


class StaleRegister(Register):
    """A register behind a read cache that is never invalidated: reads may return a value
    that a later acknowledged write has replaced (a stale read)."""

    def __init__(self, env: Env) -> None:
        super().__init__(env)
        self._cache: dict[str, Any] = {}

    async def read(self, key: str, value: Any) -> Any:
        if key in self._cache:
            return self._cache[key]
        found = decode(await self.store.get(key))
        self._cache[key] = found
        return found


class LostWriteRegister(Register):
    """Acknowledges every third write without storing it."""

    def __init__(self, env: Env) -> None:
        super().__init__(env)
        self._writes = 0

    async def write(self, key: str, value: Any) -> Any:
        self._writes += 1
        if self._writes % 3:
            await self.store.put(key, b"%d" % value)
        return value


class SlowRegister(Register):
    """Writes hang for a long time (the runner's operation timeout must cut them)."""

    async def write(self, key: str, value: Any) -> Any:
        import asyncio

        await asyncio.sleep(3600)
        return value


class LeakyRegister(Register):
    """Fails every write with an error message that quotes its secret token."""

    def __init__(self, env: Env) -> None:
        super().__init__(env)
        self.token = env.options["token"]

    async def write(self, key: str, value: Any) -> Any:
        raise OperationUnknown(f"auth failed with token {self.token}")


class BrokenRequestHook(Register):
    """Its ``request()`` hook fails once the workload reaches its 50th value: a bug in the
    experiment's own code, which must end the run at once as bad input, not as a verdict."""

    @staticmethod
    def request(f: str, key: Any, n: int, expected: Any) -> Any:
        if n > 50:
            raise ValueError(f"no value for n={n}")
        return [expected, n] if f == "cas" else n


class BrokenConstructor(Register):
    def __init__(self, env: Env) -> None:
        raise RuntimeError("cannot start")


class BrokenSetup(Register):
    async def setup(self) -> None:
        raise RuntimeError("setup failed")


class SeedingRegister(Register):
    """Writes a first value in ``setup()``: a store that refuses it fails the run's start."""

    async def setup(self) -> None:
        await self.store.put("k0", b"0")


class _BuggyJanitor:
    async def run(self) -> None:
        raise KeyError("imageId")


class BuggyActorRegister(Register):
    """A register with a background actor whose code is broken: the run must stop and say so,
    not restart the actor in a loop until the end."""

    actors: ClassVar[dict[str, Any]] = {"janitor": lambda env: _BuggyJanitor()}


class TokenQuotingConstructor(Register):
    """Fails to start with a message quoting its token option: the token must not be shown."""

    def __init__(self, env: Env) -> None:
        raise RuntimeError(f"token {env.options['token']} refused")


class SelfContainingRead(Register):
    """Reads return a list that contains itself: a value no JSON encoder can write."""

    async def read(self, key: str, value: Any) -> Any:
        await super().read(key, value)
        found: list[Any] = [key]
        found.append(found)
        return found


class Evictor:
    """A background actor that only makes store calls: it empties the cache, over and over,
    never sleeping on the clock."""

    def __init__(self, env: Env) -> None:
        self.cache = env.stores["cache"]

    async def run(self) -> None:
        while True:
            for key in await self.cache.list(""):
                await self.cache.delete(key)


class CacheFirstRegister:
    """Writes the cache before the database; reads the cache, else the database. A read that
    saw a write in the cache, an eviction, then a read of the database before the write reached
    it: a stale read, found only if the evictor steps between the two reads."""

    roles = ("db", "cache")
    actors: ClassVar[dict[str, type]] = {"evictor": Evictor}

    def __init__(self, env: Env) -> None:
        self.db = env.stores["db"]
        self.cache = env.stores["cache"]

    async def write(self, key: str, value: Any) -> Any:
        await self.cache.put(key, str(value).encode())
        await self.db.put(key, str(value).encode())
        return value

    async def read(self, key: str, value: Any) -> Any:
        raw = await self.cache.get(key)
        if raw is None:
            raw = await self.db.get(key)
        return None if raw is None else int(raw)


class EchoingRegister(Register):
    """A service that echoes its bearer token back as the value of every read, as a careless
    API does: the token reaches the history as a value, not as an error text."""

    def __init__(self, env: Env) -> None:
        super().__init__(env)
        self.token = env.options["token"]

    async def read(self, key: str, value: Any) -> Any:
        await super().read(key, value)
        return {"authorization": f"Bearer {self.token}", "echo": [self.token]}


class HoardingRegister(Register):
    """Keeps 16 KiB of garbage per write, as a leaking system does: the process's memory
    grows by megabytes a second."""

    hoard: ClassVar[list[bytes]] = []

    async def write(self, key: str, value: Any) -> Any:
        self.hoard.append(bytes(16 << 10))
        return await super().write(key, value)
