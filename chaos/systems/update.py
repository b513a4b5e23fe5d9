"""Read-modify-write of one JSON value under one key: the safe way and the racy way.

The built-in ``counter`` and ``bank`` systems keep their whole state as one JSON document and
change it by reading it, computing the new document and writing it back. Done with a
compare-and-set that only writes if the document is still the one read (retried when it is
not), that is correct on any store with an atomic ``cas``; done with a plain ``put``, two
clients that read the same document both write, and one update is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters import AdapterError, Store

from ..encoding import ENCODER, loads
from ..system import OperationFailed

Change = Callable[[Any], Any]
"""The current value (None when the key is absent) -> the new value. May raise
:class:`OperationFailed` to refuse the update (a transfer that would overdraw)."""


async def read_value(store: Store, key: str) -> tuple[bytes | None, Any]:
    """The raw bytes under ``key`` and their decoded value (None when absent)."""
    raw = await store.get(key)
    return raw, None if raw is None else loads(raw)


async def cas_update(store: Store, key: str, change: Change, attempts: int) -> Any:
    """Apply ``change`` atomically: read, compute, ``cas`` against the bytes read, and start
    again when another client changed the value in between. Returns the new value.

    Outcomes, as the history must see them: every ``cas`` that came back False did nothing,
    so a read that fails, a refusal by ``change`` or running out of ``attempts`` means the
    update did not happen (:class:`OperationFailed`, recorded ``fail``). A ``cas`` that fails
    is raised as it is: an adapter's definite error is recorded ``fail``, anything else (a
    timeout after the request left) ``info``.
    """
    for _ in range(attempts):
        try:
            raw, current = await read_value(store, key)
        except AdapterError as exc:
            raise OperationFailed(f"{key}: could not read the current value ({exc})") from exc
        new = change(current)
        if await store.cas(key, raw, ENCODER.encode(new)):
            return new
    raise OperationFailed(f"{key}: changed by other clients {attempts} times in a row; gave up")


async def racy_update(store: Store, key: str, change: Change) -> Any:
    """Apply ``change`` with a plain read then write, and no check in between: a concurrent
    update that lands between the two is overwritten (the bug the racy systems demonstrate)."""
    try:
        _, current = await read_value(store, key)
    except AdapterError as exc:
        raise OperationFailed(f"{key}: could not read the current value ({exc})") from exc
    new = change(current)
    await store.put(key, ENCODER.encode(new))
    return new
