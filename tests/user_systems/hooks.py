"""Trap 2: every hook the README documents, each made visible in the history.

Each system reads back something only its hook can supply, as the result of a ``read``: the
value is one no write ever wrote, so the checker finds a violation and the history (of the run,
or of the exploration's counterexample) carries the value for the test to compare. An
experiment over them says ``expect: invalid``; a hook the framework skipped shows up as a
different value, or as a bug (exit 3), never as the expected verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from chaos import Env
from tests.user_systems.register import Register

OPTION_MARK = 7001
SHARED_MARK = 7002
ACTOR_MARK = 7003
SERVER_MARK = 7100
"""Reads on server ``s`` return ``SERVER_MARK + s``."""


class ReadsOption(Register):
    """``read`` returns ``env.options["mark"]``: the experiment's ``system.options``."""

    async def read(self, key: str, value: Any) -> Any:
        await self.db.get(key)
        return self.env.options["mark"]


class ReadsServer(Register):
    """On server 1 only, ``read`` returns ``SERVER_MARK + env.server``: server 0 is correct,
    so a violation (even a shrunk one) must come from the second instance."""

    async def read(self, key: str, value: Any) -> Any:
        stored = await super().read(key, value)
        return SERVER_MARK + self.env.server if self.env.server == 1 else stored


class ReadsShared(Register):
    """The first server's ``setup()`` puts a mark into ``env.shared``; every read returns it."""

    async def setup(self) -> None:
        self.env.shared["mark"] = SHARED_MARK

    async def read(self, key: str, value: Any) -> Any:
        await self.db.get(key)
        return self.env.shared["mark"]


class MarkWriter:
    """A background actor that writes ``ACTOR_MARK`` to every key the reads look at, then
    sleeps on the run's clock (as the README asks: never ``asyncio.sleep``)."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.db = env.stores["db"]

    async def run(self) -> None:
        keys = self.env.options["keys"]
        while True:
            for key in keys:
                await self.db.put(key, str(ACTOR_MARK).encode())
            await self.env.clock.sleep(60)


class WithActor(Register):
    """The plain register, with the actor above writing behind the workload's back: reads
    see a value no operation of the history wrote."""

    actors: ClassVar[dict[str, type[MarkWriter]]] = {"marker": MarkWriter}


class RequestShaped(Register):
    """``request()`` turns the workload's number ``n`` into the value written (``n * 1000 +
    7``); ``read`` reports one more than it stored, so the counterexample shows both."""

    @staticmethod
    def request(f: str, key: str, n: int, expected: Any) -> Any:
        if f == "write":
            return n * 1000 + 7
        return None

    async def read(self, key: str, value: Any) -> Any:
        stored = await super().read(key, value)
        return None if stored is None else stored + 1


class LogsClose(Register):
    """``close()`` appends ``closed <server>`` to the file named by ``env.options["log"]``: the
    one trace of a hook that runs after the history is complete."""

    async def close(self) -> None:
        with Path(self.env.options["log"]).open("a", encoding="utf-8") as log:
            log.write(f"closed {self.env.server}\n")


class CloseRaises(Register):
    """A ``close()`` with a bug: ignored in a run, exit 3 in an exploration (the README)."""

    async def close(self) -> None:
        raise KeyError("connection-pool")
