"""Toxics at run time: one network fault's state, and when each toxic lets a chunk through.

The proxy (:mod:`chaos.faults.proxy`) timestamps every chunk when it arrives and passes it
through the toxics of its direction in declaration order, like Toxiproxy's chain of toxic
stubs. Each timing toxic is a stage that turns ``(time, data)`` into the pieces it lets out and
when: the functions here compute those times without waiting, from the chunk's own time, so

* a latency toxic holds each chunk ``latency`` ± ``jitter`` from *its own* arrival: ten chunks
  sent 5 ms apart through ``latency: 50ms`` arrive 5 ms apart, 50 ms late (a queue that slept
  the whole delay for each chunk after the one before would deliver the tenth after 500 ms:
  Toxiproxy had that bug too, and fixed it by timestamping chunks);
* chained toxics compose as a pipeline (a slice leaves the slicer, then waits its latency);
* the proxy waits in one place, until the first queued piece is due, which a toxic ending
  interrupts (its held chunks go out at once, as Toxiproxy's do).

A stage keeps one float per connection and direction (:class:`Stage`): when it is next free,
so that chunks leave each stage in order (TCP is a stream: a chunk with less jitter never
overtakes the one before it).
"""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .spec import NetworkFault

Piece = tuple[float, bytes]
"""When a piece of a chunk leaves a stage (loop time, seconds), and its bytes."""


class Toxic:
    """One network fault at run time: whether it is on, and its two generators.

    ``rng`` decides which connections get the toxic, one draw per accepted connection, and
    nothing else: the choice depends on the accept order only (never on timing, which the
    jitter and the slice sizes, drawn from ``delays``, depend on)."""

    def __init__(self, index: int, spec: NetworkFault, seed: int, store: str) -> None:
        self.index = index
        self.spec = spec
        self.store = store
        self.name = spec.toxic
        self.rng = random.Random(f"{seed}/fault/{index}")
        self.delays = random.Random(f"{seed}/fault/{index}/delays")
        self.enabled = False
        """On in the proxy (its schedules, healing) and, by its requests, in the relay process."""
        self.directions = ("upstream", "downstream") if spec.direction == "both" else (spec.direction,)

    def __getstate__(self) -> dict[str, Any]:
        """What the relay process receives: the spec's values as plain attributes (the relay
        then needs no schema, which keeps its start-up short), without the activity window,
        which the proxy's schedules keep."""
        state = dict(self.__dict__)
        spec = self.spec
        state["spec"] = SimpleNamespace(
            **{name: getattr(spec, name) for name in type(spec).model_fields if name != "active"}
        )
        return state

    def choose(self) -> bool:
        """Does the next accepted connection get this toxic? (Toxiproxy's ``toxicity``)"""
        return self.rng.random() < self.spec.probability

    def value(self, **extra: Any) -> dict[str, Any]:
        """The ``value`` of one of this toxic's history events."""
        value: dict[str, Any] = {"fault": self.index, "store": self.store, "toxic": self.name}
        if self.name != "down":
            value["direction"] = self.spec.direction
        value.update(extra)
        return value


class Stage:
    """A timing toxic's state on one direction of one connection: when it is next free."""

    __slots__ = ("free",)

    def __init__(self) -> None:
        self.free = 0.0


def latency(toxic: Toxic, stage: Stage, pieces: list[Piece]) -> list[Piece]:
    """Each piece leaves ``latency`` ± ``jitter`` after it reached the stage, never before the
    piece ahead of it."""
    spec: Any = toxic.spec
    jitter = spec.jitter
    out: list[Piece] = []
    for at, data in pieces:
        delay = spec.latency + (toxic.delays.uniform(-jitter, jitter) if jitter else 0.0)
        leave = max(at + max(0.0, delay), stage.free)
        stage.free = leave
        out.append((leave, data))
    return out


def bandwidth(toxic: Toxic, stage: Stage, pieces: list[Piece]) -> list[Piece]:
    """At most ``rate`` bytes per second: a piece leaves once the link has carried it, and a
    piece worth more than 100 ms is sent in 100 ms parts (Toxiproxy's pacing)."""
    rate: float = toxic.spec.rate  # type: ignore[union-attr]
    part = max(1, int(rate / 10))
    out: list[Piece] = []
    for at, data in pieces:
        start = max(at, stage.free)
        for offset in range(0, len(data), part):
            chunk = data[offset : offset + part]
            start += len(chunk) / rate
            out.append((start, chunk))
        stage.free = start
    return out


def slicer(toxic: Toxic, stage: Stage, pieces: list[Piece]) -> list[Piece]:
    """Pieces cut into slices of ``average_size`` ± ``size_variation`` bytes, each followed by
    ``delay`` (as Toxiproxy's slicer waits after every slice it writes)."""
    spec: Any = toxic.spec
    average, variation, delay = spec.average_size, spec.size_variation, spec.delay
    draw = toxic.delays.randint
    out: list[Piece] = []
    for at, data in pieces:
        start = max(at, stage.free)
        offset = 0
        while offset < len(data):
            size = average + (draw(-variation, variation) if variation else 0)
            chunk = data[offset : offset + max(1, size)]
            offset += len(chunk)
            out.append((start, chunk))
            start += delay
        stage.free = start
    return out


STAGES = {"latency": latency, "bandwidth": bandwidth, "slicer": slicer}
"""The toxics that only change when (and in what pieces) data goes through."""


__all__ = ["STAGES", "Piece", "Stage", "Toxic", "bandwidth", "latency", "slicer"]
