"""Deterministic exploration and shrinking (``mode: explore``).

On in-memory stores the framework can do better than a random walk in real time: it drives
the system's own code step by step (:mod:`.driver`), explores interleavings and faults on
purpose (:mod:`.explorer`, :mod:`.strategies`), and shrinks a failure to the shortest story
that shows it (:mod:`.shrink`), saved as a replay file that ``chaos replay`` re-executes
exactly (:mod:`.replay`). :mod:`.stage` is the pipeline's explore stage: it hands on an
:class:`~chaos.execution.Execution` like the runner does.
"""

from .driver import Driver, Interleaving, Plan, PlannedOp
from .explorer import Exploration, Explorer, Found
from .replay import load_replay, replay, trace_lines
from .shrink import shrink
from .stage import explore, replay_execution
from .strategies import Decision, ReplayDiverged

__all__ = [
    "Decision",
    "Driver",
    "Exploration",
    "Explorer",
    "Found",
    "Interleaving",
    "Plan",
    "PlannedOp",
    "ReplayDiverged",
    "explore",
    "load_replay",
    "replay",
    "replay_execution",
    "shrink",
    "trace_lines",
]
