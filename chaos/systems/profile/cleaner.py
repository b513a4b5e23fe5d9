"""The storage-cleaner series: the working design plus a background actor that deletes
orphaned blobs (left behind by writes that crashed between their two steps).

The cleaner lists blob keys, asks the database which are in use, and deletes the others one by
one. Each variant of the seed adds one rule:

==============================  =================================================  ===========
design                          rule                                               expected
==============================  =================================================  ===========
``profile-cleaner-naive``       none                                               violation
``profile-cleaner-improved``    only delete blobs created at least 2 hours ago     violation
``profile-cleaner-kill``        ... and servers kill requests older than 1 hour    violation
``profile-cleaner-working``     ... and wait 1 hour between finding and deleting   none
==============================  =================================================  ===========

The naive cleaner deletes a blob whose write has not reached the database yet; the improved
one does so when a server stalls two hours between its blob and database steps; with the kill
rule, a read that picked an image id can still lose it to a concurrent replacing write and a
cleaner pass before it fetches the blob. Waiting an hour after finding a blob unused outlasts
any request that could still see it. Hours pass in milliseconds through the framework's
clock (``time_scale``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from adapters import AdapterError

from ...clock import timeout
from ...encoding import loads
from ...system import Env, OperationUnknown
from .working import WorkingProfile, image_created_at

HOUR = 3600.0


class Killed(OperationUnknown):
    """A request ran longer than the server allows and was killed (the outcome is unknown)."""


class Cleaner:
    """The background storage cleaner. Options (``system.options``): ``cleaner_interval``
    (system seconds between passes, default 600), and the rules set by each design."""

    def __init__(self, env: Env, *, min_age: float | None, wait: float | None) -> None:
        self.db = env.stores["db"]
        self.blobs = env.stores["blobs"]
        self.clock = env.clock
        self.min_age = min_age
        self.wait = wait
        self.interval = float(env.options.get("cleaner_interval", 600.0))
        self.deleted = 0

    async def unused_blobs(self) -> list[str]:
        """Blob keys old enough to consider, that no database record points at."""
        keys = await self.blobs.list("img/")
        now = await self.clock.now()
        if self.min_age is not None:
            keys = [k for k in keys if now - image_created_at(k) >= self.min_age]
        if not keys:
            return []
        used = set()
        for user in await self.db.list(""):
            raw = await self.db.get(user)
            if raw is not None:
                used.add(loads(raw)["imageId"])
        return [k for k in keys if k not in used]

    async def run(self) -> None:
        """Clean forever; a failed store call ends the pass, the next one starts over."""
        while True:
            try:
                unused = await self.unused_blobs()
                if unused and self.wait is not None:
                    await self.clock.sleep(self.wait)
                for key in unused:
                    await self.blobs.delete(key)
                    self.deleted += 1
            except AdapterError:
                pass
            await self.clock.sleep(self.interval)


class KillStalled(WorkingProfile):
    """Servers kill any request older than ``kill_after`` system seconds (default 1 hour)."""

    def __init__(self, env: Env) -> None:
        super().__init__(env)
        self.kill_after = float(env.options.get("kill_after", HOUR))

    async def _killable(self, work: Callable[[str, Any], Awaitable[Any]], user: str, value: Any) -> Any:
        try:
            async with timeout(self.clock, self.kill_after):
                return await work(user, value)
        except TimeoutError:
            raise Killed(f"request killed after {self.kill_after / HOUR:g} h") from None

    async def write(self, user: str, value: list[str]) -> Any:
        return await self._killable(super().write, user, value)

    async def read(self, user: str, value: Any) -> Any:
        return await self._killable(super().read, user, value)


def _cleaner(min_age: float | None, wait: float | None) -> Any:
    def make(env: Env) -> Cleaner:
        return Cleaner(
            env,
            min_age=float(env.options.get("min_age", min_age)) if min_age is not None else None,
            wait=float(env.options.get("wait", wait)) if wait is not None else None,
        )

    return make


class NaiveCleanerProfile(WorkingProfile):
    actors: ClassVar[dict[str, Any]] = {"cleaner": _cleaner(None, None)}


class ImprovedCleanerProfile(WorkingProfile):
    actors: ClassVar[dict[str, Any]] = {"cleaner": _cleaner(2 * HOUR, None)}


class KillCleanerProfile(KillStalled):
    actors: ClassVar[dict[str, Any]] = {"cleaner": _cleaner(2 * HOUR, None)}


class WorkingCleanerProfile(KillStalled):
    actors: ClassVar[dict[str, Any]] = {"cleaner": _cleaner(2 * HOUR, HOUR)}
