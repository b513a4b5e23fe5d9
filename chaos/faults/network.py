"""Pointing a store's adapter at a fault proxy: find the server address in its settings,
start a :class:`~chaos.faults.proxy.Proxy` in front of it, and rewrite the address.

The address is the one setting every network adapter has: ``dsn`` (postgres, as a URL
``postgresql://user@host:port/db`` or as libpq keywords ``host=... port=...``),
``endpoint_url`` (s3), ``base_url`` (http) or ``url`` (redis: ``redis://`` or ``rediss://``).
Only host and port change; user, password, database, path and query stay as written. The
rewritten settings go to the adapter only: the stored experiment keeps the user's real
address, and no message here ever quotes a setting's value (it may hold a password), only
host and port.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import BadInput, Unreachable
from .proxy import Emit, Proxy
from .spec import NETWORK_ADDRESS_KEYS, NetworkFault
from .toxics import Toxic

DEFAULT_PORTS = {"postgres": 5432, "postgresql": 5432, "http": 80, "https": 443, "redis": 6379, "rediss": 6379}


class FaultSetupError(BadInput):
    """A network fault cannot be set up (no address in the store's settings, a unix socket
    DSN...). The message names the store and the setting, never the setting's value."""


def find_address(store: str, settings: Mapping[str, Any]) -> tuple[str, str, int]:
    """``(setting key, host, port)`` of the server a store talks to."""
    for key in NETWORK_ADDRESS_KEYS:
        value = settings.get(key)
        if isinstance(value, str) and value:
            host, port = _parse(store, key, value)
            return key, host, port
    raise FaultSetupError(f"store {store!r}: no server address ({', '.join(NETWORK_ADDRESS_KEYS)}) in its settings")


_KEYWORD = re.compile(r"(?P<name>host|hostaddr|port)\s*=\s*(?P<value>'(?:[^'\\]|\\.)*'|\S+)")


def _parse(store: str, key: str, value: str) -> tuple[str, int]:
    if "://" in value:
        parts = urlsplit(value)
        scheme = parts.scheme.split("+")[0]
        try:
            port = parts.port
        except ValueError:
            raise FaultSetupError(f"store {store!r}: {key} has an invalid port") from None
        host = parts.hostname
        if not host or "," in (parts.netloc or ""):
            raise FaultSetupError(f"store {store!r}: {key} needs one host name to put a proxy in front of")
        if port is None:
            port = DEFAULT_PORTS.get(scheme)
        if port is None:
            raise FaultSetupError(f"store {store!r}: {key} has no port and scheme {scheme!r} has no default")
        return host, port
    found = {m["name"]: m["value"].strip("'") for m in _KEYWORD.finditer(value)}
    host = found.get("hostaddr") or found.get("host")
    if not host or host.startswith("/"):
        raise FaultSetupError(f"store {store!r}: {key} needs a TCP host (not a unix socket) for a network fault")
    try:
        port = int(found.get("port", "5432"))
    except ValueError:
        raise FaultSetupError(f"store {store!r}: {key} has an invalid port") from None
    return host, port


def rewrite(value: str, host: str, port: int) -> str:
    """``value`` (a URL or libpq keywords) with its host and port replaced."""
    if "://" in value:
        parts = urlsplit(value)
        netloc = parts.netloc
        userinfo, at, _ = netloc.rpartition("@")
        shown = f"[{host}]" if ":" in host else host
        return urlunsplit(parts._replace(netloc=f"{userinfo}{at}{shown}:{port}"))
    text = re.sub(r"\bhostaddr\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", "", value)
    text = re.sub(r"\bhost\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", f"host={host}", text)
    if "host=" not in text:
        text = f"host={host} {text}"
    if re.search(r"\bport\s*=", text):
        text = re.sub(r"\bport\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", f"port={port}", text)
    else:
        text = f"{text} port={port}"
    return " ".join(text.split())


async def _reachable(store: str, kind: str, host: str, port: int, settings: Mapping[str, Any]) -> None:
    """One TCP connection to the server before a proxy is put in front of it: a server that
    refuses is reported as itself (the store's adapter would only see the proxy reset it)."""
    timeout = settings.get("connect_timeout", 10)
    try:
        async with asyncio.timeout(float(timeout) if isinstance(timeout, int | float) else 10.0):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        raise Unreachable(f"store {store!r}: {kind} at {host}:{port}: no connection within {timeout:g}s") from None
    except OSError as exc:
        reason = "connection refused" if isinstance(exc, ConnectionRefusedError) else exc.strerror or str(exc)
        raise Unreachable(f"store {store!r}: {kind} at {host}:{port}: {reason}") from None
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def start_proxies(
    faults: list[tuple[int, NetworkFault]],
    stores: Mapping[str, Any],
    seed: int,
    clock: Any,
    emit: Emit,
) -> tuple[list[Proxy], dict[str, dict[str, Any]]]:
    """One proxy per store named by a network fault. Returns the proxies and, per store, its
    settings pointed at its proxy. On failure, proxies already started are closed."""
    by_store: dict[str, list[tuple[int, NetworkFault]]] = {}
    for index, spec in faults:
        by_store.setdefault(spec.store, []).append((index, spec))
    proxies: list[Proxy] = []
    settings: dict[str, dict[str, Any]] = {}
    try:
        for store, declared in by_store.items():
            found = stores.get(store)
            if found is None:
                raise FaultSetupError(f"network fault on {store!r}: no such store")
            original = dict(getattr(found, "settings", found))
            key, host, port = find_address(store, original)
            await _reachable(store, getattr(found, "adapter", "store"), host, port, original)
            toxics = [Toxic(index, fault, seed, store) for index, fault in declared]
            proxy = Proxy(store, (host, port), toxics, clock, emit)
            await proxy.start()
            proxies.append(proxy)
            original[key] = rewrite(original[key], proxy.host, proxy.port)
            settings[store] = original
    except BaseException:
        for proxy in proxies:
            await proxy.close()
        raise
    return proxies, settings


__all__ = ["FaultSetupError", "find_address", "rewrite", "start_proxies"]
