"""Run statistics: operations by name and outcome, latency percentiles, throughput.

Recorded on the hot path (one dict lookup and two appends per operation), summarised once at
the end. The progress display reads the live counters.
"""

from __future__ import annotations

import time
from array import array
from typing import Any


def percentile(sorted_values: list[int] | array[int], q: float) -> int:
    """Nearest-rank percentile of an ascending sequence (0 for an empty one)."""
    if not sorted_values:
        return 0
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


class Stats:
    """Live counters of one run."""

    def __init__(self, planned_ops: int | None = None, planned_seconds: float | None = None) -> None:
        self.planned_ops = planned_ops
        self.planned_seconds = planned_seconds
        self.outcomes: dict[str, dict[str, int]] = {}
        """Operation name -> outcome (ok / fail / info) -> count."""
        self.latencies: dict[str, array[int]] = {}
        self.faults = 0
        self.started: float | None = None
        self.finished: float | None = None
        self._cpu_started = 0.0
        self._cpu_finished: float | None = None
        self._latency: dict[str, dict[str, float]] | None = None

    def start(self) -> None:
        self.started = time.monotonic()
        self._cpu_started = time.process_time()

    def finish(self) -> None:
        self.finished = time.monotonic()
        self._cpu_finished = time.process_time()

    @property
    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started

    @property
    def client_cpu(self) -> float:
        """CPU seconds this process spent while the operations ran. Near :attr:`elapsed`, the
        client (system under test, adapters, recording) was what limited the throughput, not
        the store: worth knowing before reading the figure as the store's."""
        if self.started is None:
            return 0.0
        return (self._cpu_finished or time.process_time()) - self._cpu_started

    def record(self, f: str, outcome: str, latency_ns: int) -> None:
        try:
            self.latencies[f].append(latency_ns)
        except KeyError:
            self.latencies[f] = array("q", [latency_ns])
            self.outcomes[f] = {"ok": 0, "fail": 0, "info": 0}
        self.outcomes[f][outcome] += 1

    def _count(self, outcome: str | None) -> int:
        # Summed when asked (a progress display asks ten times a second), not per operation.
        return sum(c[outcome] if outcome else sum(c.values()) for c in list(self.outcomes.values()))

    @property
    def completed(self) -> int:
        return self._count(None)

    @property
    def failures(self) -> int:
        return self._count("fail")

    @property
    def unknown(self) -> int:
        return self._count("info")

    def throughput(self) -> float:
        elapsed = self.elapsed
        return self.completed / elapsed if elapsed > 0 else 0.0

    def latency_summary(self) -> dict[str, dict[str, float]]:
        """Per operation: p50 / p95 / p99 / max in milliseconds. Worked out once the run has
        finished (results.json and the summary both ask; sorting millions of latencies is not free)."""
        if self._latency is not None:
            return self._latency
        out: dict[str, dict[str, float]] = {}
        for f, values in sorted(self.latencies.items()):
            ordered = sorted(values)
            out[f] = {
                name: round(percentile(ordered, q) / 1e6, 3)
                for name, q in (("p50", 50), ("p95", 95), ("p99", 99), ("max", 100))
            }
        if self.finished is not None:
            self._latency = out
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.completed,
            "by_operation": {f: dict(counts) for f, counts in sorted(self.outcomes.items())},
            "faults_injected": self.faults,
            "elapsed_seconds": round(self.elapsed, 3),
            "throughput_per_second": round(self.throughput(), 1),
            "client_cpu_seconds": round(self.client_cpu, 3),
            "latency_ms": self.latency_summary(),
        }
