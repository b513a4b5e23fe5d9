"""Store adapters: one module per backend, all behind :mod:`adapters.protocol`.

:func:`create` builds an adapter from its name and settings; backends whose drivers are
heavy are imported only when used. Adapters never import the engine (``chaos``).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

from .errors import (
    Aborted,
    AdapterError,
    ConfigError,
    ConnectError,
    ConnectionLost,
    DefiniteError,
    IndefiniteError,
    NamespaceNotEmpty,
    Rejected,
    Timeout,
    Unavailable,
    Unsupported,
)
from .protocol import Endpoint, Store, Transaction, Transactional

if TYPE_CHECKING:
    from .http import HttpStore
    from .memory import MemoryStore
    from .postgres import PostgresStore
    from .redis import RedisStore
    from .s3 import S3Store

BACKENDS: dict[str, str] = {
    "memory": "adapters.memory:MemoryStore",
    "postgres": "adapters.postgres:PostgresStore",
    "s3": "adapters.s3:S3Store",
    "http": "adapters.http:HttpStore",
    "redis": "adapters.redis:RedisStore",
}
"""Adapter name -> ``module:class``. Each class takes ``(settings, namespace)``, and may take a
keyword-only ``concurrency`` (the experiment's worker count) to size its connection pool."""


@overload
def create(
    adapter: Literal["memory"],
    settings: Mapping[str, Any] | None = ...,
    namespace: str = ...,
    *,
    concurrency: int | None = ...,
) -> MemoryStore: ...
@overload
def create(
    adapter: Literal["postgres"],
    settings: Mapping[str, Any] | None = ...,
    namespace: str = ...,
    *,
    concurrency: int | None = ...,
) -> PostgresStore: ...
@overload
def create(
    adapter: Literal["s3"],
    settings: Mapping[str, Any] | None = ...,
    namespace: str = ...,
    *,
    concurrency: int | None = ...,
) -> S3Store: ...
@overload
def create(
    adapter: Literal["redis"],
    settings: Mapping[str, Any] | None = ...,
    namespace: str = ...,
    *,
    concurrency: int | None = ...,
) -> RedisStore: ...
@overload
def create(
    adapter: Literal["http"],
    settings: Mapping[str, Any] | None = ...,
    namespace: str = ...,
    *,
    concurrency: int | None = ...,
) -> HttpStore: ...
@overload
def create(
    adapter: str, settings: Mapping[str, Any] | None = ..., namespace: str = ..., *, concurrency: int | None = ...
) -> Store | Endpoint: ...


def create(
    adapter: str, settings: Mapping[str, Any] | None = None, namespace: str = "", *, concurrency: int | None = None
) -> Store | Endpoint:
    """Build the adapter called ``adapter`` (not yet opened). ``concurrency`` is passed on to
    backends whose constructor accepts it (those with a connection pool). Typed per adapter
    name; the backends' drivers are imported only when their adapter is made."""
    try:
        target = BACKENDS[adapter]
    except KeyError:
        raise ConfigError(f"unknown adapter {adapter!r}; known: {', '.join(sorted(BACKENDS))}") from None
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    import inspect

    if concurrency is not None and "concurrency" in inspect.signature(cls).parameters:
        store: Store | Endpoint = cls(dict(settings or {}), namespace, concurrency=concurrency)
    else:
        store = cls(dict(settings or {}), namespace)
    return store


__all__ = [
    "BACKENDS",
    "Aborted",
    "AdapterError",
    "ConfigError",
    "ConnectError",
    "ConnectionLost",
    "DefiniteError",
    "Endpoint",
    "IndefiniteError",
    "NamespaceNotEmpty",
    "Rejected",
    "Store",
    "Timeout",
    "Transaction",
    "Transactional",
    "Unavailable",
    "Unsupported",
    "create",
]
