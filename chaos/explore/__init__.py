"""Deterministic exploration and shrinking (``mode: explore``).

On in-memory stores the framework can do better than a random walk in real time: it drives
the system's own code step by step (:mod:`.driver`), explores interleavings and faults on
purpose (:mod:`.search`, :mod:`.strategies`), and shrinks a failure to the shortest story
that shows it (:mod:`.shrink`), saved as a replay file that ``chaos replay`` re-executes
exactly (:mod:`.replay`).
"""

from .driver import Driver, Execution, Plan, PlannedOp
from .replay import ExploreResult, load_replay, replay_file, run_exploration, trace_lines
from .search import Exploration, Explorer, Found
from .shrink import shrink
from .strategies import Decision

__all__ = [
    "Decision",
    "Driver",
    "Execution",
    "Exploration",
    "ExploreResult",
    "Explorer",
    "Found",
    "Plan",
    "PlannedOp",
    "load_replay",
    "replay_file",
    "run_exploration",
    "shrink",
    "trace_lines",
]
