"""Workloads: the seeded stream of requests each worker issues.

Each worker draws from its own generator, seeded from the run's seed and the worker's index,
so the same seed gives every worker the same sequence of requests whatever the timing.
Written values are unique across the run (worker ``w`` of ``c`` writes ``w + 1``,
``w + 1 + c``, ...), which keeps checking cheap and counterexamples readable.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from .experiment import WorkloadSpec
from .system import default_request

RequestFn = Callable[[str, Any, int, Any], Any]


class Stream:
    """The requests of one worker: ``next()`` gives ``(f, key, value)``."""

    __slots__ = ("_choices", "_cum", "_expected", "_keys", "_n", "_request", "_rng", "_step", "_total", "_total_many")

    def __init__(self, spec: WorkloadSpec, seed: int, worker: int, workers: int, request: RequestFn) -> None:
        self._rng = random.Random(f"{seed}/{worker}")
        self._keys = spec.key_names()
        self._choices = list(spec.mix)
        self._cum = list(accumulate(spec.mix[f] for f in self._choices))
        self._total = self._cum[-1]
        self._total_many = len(self._choices) > 1
        self._n = worker + 1
        self._step = workers
        self._request = request
        self._expected: dict[str, Any] = {}
        """Key -> the last value this worker wrote there: what its next cas expects."""

    def next(self) -> tuple[str, Any, Any]:
        random_ = self._rng.random
        f = self._choices[bisect(self._cum, random_() * self._total)] if self._total_many else self._choices[0]
        keys = self._keys
        key = keys[int(random_() * len(keys))] if len(keys) > 1 else keys[0]
        if f == "read":
            return f, key, None
        n = self._n
        self._n = n + self._step
        if f == "write":
            value: Any = n if self._request is default_request else self._request(f, key, n, None)
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
