"""Working: the blob under a fresh id that is never reused or overwritten, then the database
record ``{metadata, imageId}``; a read follows the record's id.

A crash between the steps leaves only an orphaned blob that nothing points at, and a read sees
either the old record with its old blob or the new one with its new blob: no violation, with
any number of servers.

Blob ids carry the system time of their creation (``img/<seconds>/<server>-<n>``): the storage
cleaner needs a blob's age, and a key is the one piece of blob metadata every backend keeps.
"""

from __future__ import annotations

from typing import Any

from ...encoding import dumps, loads
from .common import ProfileServer, text


class WorkingProfile(ProfileServer):
    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self._created = 0

    async def new_image_id(self) -> str:
        """A never-reused id: the creating server and its counter, after the creation time."""
        self._created += 1
        now = await self.clock.now()
        return f"img/{now:015.3f}/{self.env.server}-{self._created}"

    async def write(self, user: str, value: list[str]) -> Any:
        metadata, image = value
        image_id = await self.new_image_id()
        await self.blobs.put(image_id, image.encode())
        record = dumps({"metadata": metadata, "imageId": image_id})
        await self.after_first_step(self.db.put(user, record))
        return value

    async def read(self, user: str, value: Any) -> Any:
        raw = await self.db.get(user)
        if raw is None:
            return None
        record = loads(raw)
        return [record["metadata"], text(await self.blobs.get(record["imageId"]))]


def image_created_at(image_id: str) -> float:
    """The system time a blob id was minted at (see :meth:`WorkingProfile.new_image_id`)."""
    return float(image_id.split("/")[1])
