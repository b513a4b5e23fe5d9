"""Workloads: the seeded stream of requests each worker issues.

Each worker draws from its own generator, seeded from the run's seed and the worker's index,
so the same seed gives every worker the same sequence of operations and keys whatever the
timing. Written values are unique across the run (worker ``w`` of ``c`` writes ``w + 1``,
``w + 1 + c``, ...), which keeps checking cheap and counterexamples readable.

Except where a plain register workload has ``cas`` in its mix: a cas must expect the value the
register holds, or it tests nothing, and with unique values under contention it almost never
does (expecting the last value the worker wrote itself swapped 27 of 529 times on memory and
once in 1,152 on S3). There, as in Jepsen's register tests, values come from a small space
(:data:`CAS_VALUES`), and a cas expects either the value its key will hold if every operation
issued so far lands in the order issued, or a random one, half the time each: both swaps and
refusals are tested. That value comes from a shadow register that applies each write, and
each cas whose expectation it meets, as they are issued. (Expecting the value last issued to
the key, a refused cas's new value included, swapped no more often than chance on PostgreSQL,
where most cas are refused.)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from .experiment import WorkloadSpec
from .system import default_request, request_hook

RequestFn = Callable[[str, Any, int, Any], Any]

CAS_VALUES = 5
"""Values 0-4, Jepsen's: few enough that expectations match, enough that a stale read shows."""

PREDICTED = 2 / 3
"""How often a cas expects the shadow register's value rather than a random one."""


class Stream:
    """The requests of one worker: ``next()`` gives ``(f, key, value)``.

    Operation names and keys are drawn ``CHUNK`` at a time (``random.choices`` does the
    drawing in C), because ``next()`` is on the hot path of every operation."""

    CHUNK = 512

    __slots__ = (
        "_choices",
        "_cum",
        "_expected",
        "_fs",
        "_i",
        "_keys",
        "_ks",
        "_n",
        "_plain",
        "_request",
        "_rng",
        "_shadow",
        "_small",
        "_step",
    )

    def __init__(
        self,
        spec: WorkloadSpec,
        seed: int,
        worker: int,
        workers: int,
        request: RequestFn,
        shadow: dict[str, Any] | None = None,
    ) -> None:
        self._rng = random.Random(f"{seed}/{worker}")
        self._keys = spec.key_names()
        self._choices = list(spec.mix)
        self._cum = list(accumulate(spec.mix[f] for f in self._choices))
        self._n = worker + 1
        self._step = workers
        self._request = request
        self._plain = request is default_request
        self._expected: dict[str, Any] = {}
        """Key -> the last value this worker wrote there (what a system's own ``request`` hook
        is told a cas expects)."""
        self._small = self._plain and "cas" in spec.mix and spec.mix["cas"] > 0
        """Plain register values from :data:`CAS_VALUES`, so that cas can swap."""
        self._shadow: dict[str, Any] = {} if shadow is None else shadow
        """Key -> what it holds once everything issued so far has landed in the order issued
        (shared by every stream)."""
        self._fs: list[str] = []
        self._ks: list[str] = []
        self._i = 0

    def _refill(self) -> None:
        rng = self._rng
        self._fs = rng.choices(self._choices, cum_weights=self._cum, k=self.CHUNK)
        self._ks = rng.choices(self._keys, k=self.CHUNK)
        self._i = 0

    def next(self) -> tuple[str, Any, Any]:
        i = self._i
        if i == len(self._fs):
            self._refill()
            i = 0
        self._i = i + 1
        f = self._fs[i]
        key = self._ks[i]
        if f == "read":
            return f, key, None
        n = self._n
        self._n = n + self._step
        if self._small and (f == "write" or f == "cas"):
            return f, key, self._small_value(f, key)
        if f == "write":
            value: Any = n if self._plain else self._request(f, key, n, None)
            self._expected[key] = n
        else:
            value = self._request(f, key, n, self._expected.get(key))
            if f == "cas":
                self._expected[key] = n
        return f, key, value

    def _small_value(self, f: str, key: str) -> Any:
        rng = self._rng
        new = rng.randrange(CAS_VALUES)
        shadow = self._shadow
        if f == "write":
            shadow[key] = new
            return new
        held = shadow.get(key)
        expected = held if held is not None and rng.random() < PREDICTED else rng.randrange(CAS_VALUES)
        if expected == held:
            shadow[key] = new
        return [expected, new]


def streams(spec: WorkloadSpec, seed: int, workers: int, system: type) -> list[Stream]:
    """One stream per worker; the system's ``request`` hook shapes values when it has one."""
    request: RequestFn = request_hook(system)
    shadow: dict[str, Any] = {}
    return [Stream(spec, seed, w, workers, request, shadow) for w in range(workers)]
