"""Workloads: the seeded stream of requests each worker issues.

Each worker draws from its own generator, seeded from the run's seed and the worker's index,
so the same seed gives every worker the same sequence of requests whatever the timing.
Written values are unique across the run (worker ``w`` of ``c`` writes ``w + 1``,
``w + 1 + c``, ...), which keeps checking cheap and counterexamples readable.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from .experiment import WorkloadSpec
from .system import default_request

RequestFn = Callable[[str, Any, int, Any], Any]


class Stream:
    """The requests of one worker: ``next()`` gives ``(f, key, value)``.

    Operation names and keys are drawn ``CHUNK`` at a time (``random.choices`` does the
    drawing in C), because ``next()`` is on the hot path of every operation."""

    CHUNK = 512

    __slots__ = ("_choices", "_cum", "_expected", "_fs", "_i", "_keys", "_ks", "_n", "_plain", "_request", "_rng",
                 "_step")

    def __init__(self, spec: WorkloadSpec, seed: int, worker: int, workers: int, request: RequestFn) -> None:
        self._rng = random.Random(f"{seed}/{worker}")
        self._keys = spec.key_names()
        self._choices = list(spec.mix)
        self._cum = list(accumulate(spec.mix[f] for f in self._choices))
        self._n = worker + 1
        self._step = workers
        self._request = request
        self._plain = request is default_request
        self._expected: dict[str, Any] = {}
        """Key -> the last value this worker wrote there: what its next cas expects."""
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
        if f == "write":
            value: Any = n if self._plain else self._request(f, key, n, None)
            self._expected[key] = n
        else:
            value = self._request(f, key, n, self._expected.get(key))
            if f == "cas":
                self._expected[key] = n
        return f, key, value


def streams(spec: WorkloadSpec, seed: int, workers: int, system: type) -> list[Stream]:
    """One stream per worker; the system's ``request`` hook shapes values when it has one."""
    request: RequestFn = getattr(system, "request", None) or default_request
    return [Stream(spec, seed, w, workers, request) for w in range(workers)]
