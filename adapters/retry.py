"""Retries of store primitives, inside the adapter, as part of one call.

A store's ``retry:`` setting (:class:`~adapters.settings.RetryPolicy`) makes the adapter try a
failed primitive again before it answers. The retries happen below the engine's interceptor,
so the system under test, the fault layer and the history all see **one** call, however many
attempts it took; an error that survives every attempt carries ``attempts`` (and says
"after N attempts"), and the store counts every retry in ``retries`` for a report to show.

Which errors are safe to retry is the whole point:

* a definite error that says the request never reached the store
  (:class:`~adapters.errors.Unavailable`), or that the store refused it for a reason that may
  pass (marked ``transient``: a serialization failure, S3 ``SlowDown``, HTTP 429), is retried
  for every primitive: nothing was applied, so trying again cannot apply anything twice;
* an indefinite error (timeout, connection lost) is retried only for reads (``get``, ``list``,
  http operations marked ``idempotent``). A write is not, although writing the same value
  twice looks harmless: between the two attempts another client may write, and the second
  attempt would then bring back a value the store had already replaced, a history that no
  single write can explain (the checker would rightly call it a violation of the store);
* anything else (bad requests, :class:`~adapters.errors.Unsupported`) fails at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import AdapterError, DefiniteError, IndefiniteError, Unavailable, Unsupported
from .settings import RetryPolicy

if TYPE_CHECKING:
    from tenacity import RetryCallState

T = TypeVar("T")

READS = frozenset({"get", "list"})
"""Store primitives that change nothing, and so may be retried after an unknown outcome."""


def is_retryable(exc: BaseException, idempotent: bool, indefinite_reads: bool = True) -> bool:
    """Whether another attempt after ``exc`` can never apply a write twice."""
    if not isinstance(exc, AdapterError) or isinstance(exc, Unsupported):
        return False
    if isinstance(exc, Unavailable):
        return True
    if isinstance(exc, DefiniteError):
        return bool(getattr(exc, "transient", False))
    if isinstance(exc, IndefiniteError):
        return idempotent and indefinite_reads
    return False


def transient(exc: AdapterError) -> AdapterError:
    """Mark a definite error as one that may pass if the call is tried again."""
    exc.transient = True  # type: ignore[attr-defined]
    return exc


class Retrier:
    """Runs primitives under one store's retry policy and counts the retries."""

    def __init__(self, policy: RetryPolicy) -> None:
        # tenacity (and the tornado it imports when installed) is loaded by the first store
        # with a retry policy, not by every command that merely imports the adapters.
        from tenacity import (
            AsyncRetrying,
            retry_if_exception,
            stop_after_attempt,
            wait_exponential,
            wait_none,
            wait_random,
        )
        from tenacity.wait import wait_base

        self.policy = policy
        self.retries = 0
        """Extra attempts made over the store's life (0 when every call succeeded at once)."""
        wait = wait_exponential(multiplier=policy.backoff, exp_base=policy.multiplier, max=policy.max_backoff)
        self._wait: wait_base = wait + wait_random(0, policy.backoff) if policy.jitter else wait
        if policy.backoff == 0:
            self._wait = wait_none()
        self._retrying = AsyncRetrying
        self._stop = stop_after_attempt(policy.attempts)
        self._retry_if = retry_if_exception

    def _count(self, state: RetryCallState) -> None:
        self.retries += 1

    async def call(self, idempotent: bool, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(*args)``, tried again on retryable errors; the last error is raised with
        ``attempts`` set and the count appended to its message."""
        reads = self.policy.indefinite_reads
        retrying = self._retrying(
            stop=self._stop,
            wait=self._wait,
            retry=self._retry_if(lambda exc: is_retryable(exc, idempotent, reads)),
            before_sleep=self._count,
            reraise=True,
        )
        tries = 0
        try:
            async for attempt in retrying:
                tries = attempt.retry_state.attempt_number
                with attempt:
                    return await fn(*args)
        except AdapterError as exc:
            exc.attempts = tries  # type: ignore[attr-defined]
            if tries > 1 and exc.args:
                exc.args = (f"{exc.args[0]} (after {tries} attempts)", *exc.args[1:])
            raise
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover


def install(store: object, retrier: Retrier | None, operations: dict[str, bool]) -> None:
    """Wrap ``store``'s primitives (name -> idempotent) in ``retrier``.

    The wrappers shadow the class's methods on the instance, so a store without a policy keeps
    its plain methods and pays nothing on the hot path."""
    if retrier is None:
        return
    for name, idempotent in operations.items():
        setattr(store, name, partial(retrier.call, idempotent, getattr(store, name)))


STORE_PRIMITIVES = ("get", "put", "delete", "cas", "list")


class Retrying:
    """What a store with a ``retry:`` setting shares: its :class:`Retrier` and the count of
    retries it made."""

    retrier: Retrier | None = None

    def use_retry_policy(self, policy: RetryPolicy | None, primitives: tuple[str, ...] = STORE_PRIMITIVES) -> None:
        """Make the retrier for ``policy`` (none without one) and wrap ``primitives`` in it,
        reads counted as idempotent."""
        self.retrier = None if policy is None else Retrier(policy)
        install(self, self.retrier, {op: op in READS for op in primitives})

    @property
    def retries(self) -> int:
        """Retries made so far under the store's retry policy."""
        return 0 if self.retrier is None else self.retrier.retries
