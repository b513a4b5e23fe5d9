"""Opening stores of one adapter in a test, each in a fresh namespace, all closed at the end."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from adapters import create

Opener = Callable[..., Awaitable[Any]]
"""``await make(**overrides)``: an opened store with the base settings plus ``overrides``."""


@contextlib.asynccontextmanager
async def opening(adapter: str, base: dict[str, Any]) -> AsyncIterator[Opener]:
    stores: list[Any] = []

    async def make(**overrides: Any) -> Any:
        store = create(adapter, {**base, **overrides}, f"{adapter}-{uuid.uuid4().hex[:8]}")
        await store.open()
        stores.append(store)
        return store

    try:
        yield make
    finally:
        for store in stores:
            await store.close()
