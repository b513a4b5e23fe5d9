"""Naive: metadata to the database, then the blob, both under the user id; reads fetch both.

Broken with one server (a write crashes after its database step; a read then returns the new
metadata without its image) and with two (a read runs between a write's two steps).
"""

from __future__ import annotations

from typing import Any

from .common import ProfileServer, text


class NaiveProfile(ProfileServer):
    async def write(self, user: str, value: list[str]) -> Any:
        metadata, image = value
        await self.db.put(user, metadata.encode())
        await self.after_first_step(self.blobs.put(user, image.encode()))
        return value

    async def read(self, user: str, value: Any) -> Any:
        metadata = text(await self.db.get(user))
        image = text(await self.blobs.get(user))
        if metadata is None and image is None:
            return None
        return [metadata, image]
