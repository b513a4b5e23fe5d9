"""The adapter layer's own exceptions.

Every backend maps its driver's errors onto these, split by what they prove:

* :class:`DefiniteError`: the call did **not** take effect (connection refused before the
  request was sent, a constraint violation, a 4xx the service marks definite, S3
  PreconditionFailed). The history may record the operation as ``fail``.
* :class:`IndefiniteError`: the call **may** have taken effect (a timeout, a connection lost
  after the request left). The history must record ``info``.

Messages never contain credentials: adapters build them from host, port, bucket and table
names only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

Problem = tuple[tuple[str | int, ...], str]
"""A problem with a store's settings: the path of the setting inside them, and what is wrong."""


class AdapterError(Exception):
    """Base class of every error an adapter raises."""

    definite: bool = False

    def __init__(self, message: str, *, store: str | None = None) -> None:
        super().__init__(message)
        self.store = store


class DefiniteError(AdapterError):
    """The call did not take effect."""

    definite = True


class IndefiniteError(AdapterError):
    """The call may or may not have taken effect."""

    definite = False


class Unavailable(DefiniteError):
    """The store refused the call before it was sent (connection refused, pool closed)."""


class Rejected(DefiniteError):
    """The store received the call and refused it without applying it."""


class Aborted(DefiniteError):
    """A transaction ended without committing: rolled back after an error, or its connection
    lost (or timed out) before COMMIT was sent. None of its writes took effect."""


class Unsupported(DefiniteError):
    """The backend cannot perform this primitive (e.g. compare-and-set on an S3 server
    without conditional writes)."""


class Timeout(IndefiniteError):
    """No answer in time; the request may have been applied."""


class ConnectionLost(IndefiniteError):
    """The connection broke after the request left."""


class ConfigError(AdapterError):
    """The store's settings are wrong (bad DSN, unknown option). Raised before any call."""

    definite = True

    def __init__(self, message: str, *, store: str | None = None, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message, store=store)
        self.problems = list(problems)
        """Each problem at its place in the settings (``("retry", "attempts")``), where the
        settings' schema knows it: an experiment file can then point at the setting's own line."""


class ConnectError(AdapterError):
    """The store could not be reached when the run started. The message is one line that
    names the store and its address (never its credentials)."""

    definite = True


class NamespaceNotEmpty(AdapterError):
    """The run's namespace (table, key prefix) already holds data and reuse was not asked for."""

    definite = True


async def open_within(
    steps: Awaitable[None],
    *,
    timeout: float,
    where: str,
    kind: str,
    abandon: Callable[[], Awaitable[None]],
    silence: str = "no answer",
) -> None:
    """Run a store's opening ``steps`` within ``timeout``; on any failure release what was
    acquired (``abandon``) and raise a one-line error naming the store (``where``): a
    :class:`ConnectError` unless the problem is the namespace or the settings."""
    try:
        import asyncio  # here: the error types are imported by every command, asyncio by few

        async with asyncio.timeout(timeout):
            await steps
    except TimeoutError:
        await abandon()
        raise ConnectError(f"{where}: {silence} within {timeout:g}s", store=kind) from None
    except (NamespaceNotEmpty, ConfigError, ConnectError):
        await abandon()
        raise
    except AdapterError as exc:
        await abandon()
        raise ConnectError(str(exc), store=kind) from None
    except Exception as exc:
        await abandon()
        raise ConnectError(f"{where}: {type(exc).__name__}", store=kind) from None
