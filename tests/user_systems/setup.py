"""Trap 1: a system whose operations depend on what its ``setup()`` created.

``setup()`` writes the schema version the operations check first, as a service that runs its
migrations at start does. Without it every operation fails on a missing schema; a framework
that skipped ``setup()`` (in either mode) would show that, not a valid verdict."""

from __future__ import annotations

from typing import Any

from tests.user_systems.register import Register

SCHEMA_KEY = "schema-version"


class NeedsSetup(Register):
    """The register, behind a schema version that only ``setup()`` writes."""

    async def setup(self) -> None:
        await self.db.put(SCHEMA_KEY, b"3")

    async def _schema(self) -> int:
        raw = await self.db.get(SCHEMA_KEY)
        if raw is None:
            raise RuntimeError("no schema: setup() was not run")
        return int(raw)

    async def read(self, key: str, value: Any) -> Any:
        await self._schema()
        return await super().read(key, value)

    async def write(self, key: str, value: Any) -> Any:
        await self._schema()
        return await super().write(key, value)

    async def cas(self, key: str, value: Any) -> Any:
        await self._schema()
        return await super().cas(key, value)


class SetupRaises(Register):
    """A migration that fails: the run must stop with exit 3 naming ``setup()``."""

    async def setup(self) -> None:
        await self.db.put(SCHEMA_KEY, b"3")
        raise RuntimeError("migration 4 failed: column image_id already exists")
