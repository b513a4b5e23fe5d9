"""Improved (the seed page): the blob first, overwritten in place under the user id, then the
metadata; a read returns the empty record when there is no metadata.

Broken with one server (a good write, then a write that crashes after overwriting the blob; a
read returns the new image with the old metadata) and with two (a blob overwrite races a read).
"""

from __future__ import annotations

from typing import Any

from .common import ProfileServer, text


class ImprovedProfile(ProfileServer):
    async def write(self, user: str, value: list[str]) -> Any:
        metadata, image = value
        await self.blobs.put(user, image.encode())
        await self.after_first_step(self.db.put(user, metadata.encode()))
        return value

    async def read(self, user: str, value: Any) -> Any:
        metadata = text(await self.db.get(user))
        if metadata is None:
            return None
        return [metadata, text(await self.blobs.get(user))]
