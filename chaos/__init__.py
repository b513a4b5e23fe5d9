"""asyncchaos: asyncio chaos testing with a linearizability checker.

Run an experiment, and re-check what it stored::

    import chaos

    result = chaos.run("experiments/register-memory.yaml", seed=7)
    print(result.verdict, result.run_dir)
    print(chaos.check(result.run_dir / "history.jsonl", "cas-register").verdict)

The public names are below; everything else is internal. Names are imported when first used,
so that ``import chaos`` (and the ``chaos`` command's start-up) stays light.
"""

from __future__ import annotations

import signal
import sys

EARLY_SIGNALS: list[int] = []
"""SIGINT/SIGTERM received while the ``chaos`` command was still importing itself."""
COMMAND = sys.argv[:1] == ["-m"] or sys.argv[0].endswith(("/chaos", "\\chaos", "\\chaos.exe"))
"""True when the package runs as the ``chaos`` command (not imported by a test or a program)."""

if COMMAND:
    # From this first line on, SIGINT and SIGTERM are kept until chaos.signals takes over and
    # ends the command with exit 130, never a traceback or a bare 143. Nothing is imported
    # before: a signal can come at any instruction.
    signal.signal(signal.SIGINT, lambda signum, frame: EARLY_SIGNALS.append(signum))
    signal.signal(signal.SIGTERM, lambda signum, frame: EARLY_SIGNALS.append(signum))

from typing import TYPE_CHECKING  # noqa: E402

from .lazy import exports  # noqa: E402

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "run": "chaos.api",
    "run_async": "chaos.api",
    "explore": "chaos.api",
    "check": "chaos.api",
    "load": "chaos.api",
    "load_history": "chaos.api",
    "Result": "chaos.result",
    "Execution": "chaos.execution",
    "CheckResult": "chaos.checker",
    "Counterexample": "chaos.checker",
    "Experiment": "chaos.experiment",
    "Model": "chaos.models",
    "Operation": "chaos.history",
    "Env": "chaos.system",
    "OperationFailed": "chaos.system",
    "OperationUnknown": "chaos.system",
    "DefiniteError": "adapters",
    "IndefiniteError": "adapters",
    "ChaosError": "chaos.errors",
    "BadInput": "chaos.errors",
    "UserCodeError": "chaos.errors",
    "Unreachable": "chaos.errors",
    "Interrupted": "chaos.errors",
    "GaveUp": "chaos.errors",
    "ExitCode": "chaos.errors",
}

__all__ = [
    "BadInput",
    "ChaosError",
    "CheckResult",
    "Counterexample",
    "DefiniteError",
    "Env",
    "Execution",
    "ExitCode",
    "Experiment",
    "GaveUp",
    "IndefiniteError",
    "Interrupted",
    "Model",
    "Operation",
    "OperationFailed",
    "OperationUnknown",
    "Result",
    "Unreachable",
    "UserCodeError",
    "__version__",
    "check",
    "explore",
    "load",
    "load_history",
    "run",
    "run_async",
]

if TYPE_CHECKING:
    from adapters import DefiniteError, IndefiniteError

    from .api import check, explore, load, load_history, run, run_async
    from .checker import CheckResult, Counterexample
    from .errors import BadInput, ChaosError, ExitCode, GaveUp, Interrupted, Unreachable, UserCodeError
    from .execution import Execution
    from .experiment import Experiment
    from .history import Operation
    from .models import Model
    from .result import Result
    from .system import Env, OperationFailed, OperationUnknown


__getattr__, __dir__ = exports(__name__, _EXPORTS)
