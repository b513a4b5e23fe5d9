"""Every way a command can end without a verdict, and the exit code each one means.

Exit codes are a contract with CI jobs, so each means one thing in every command and phase:

====  ==========================================================================
code  meaning
====  ==========================================================================
0     the outcome matched the experiment's expectation (``chaos check``: valid)
1     it did not: a violation where none was expected, or none where one was
2     unknown: the checker gave up (time, memory), or ``--strict`` found the run
      could not have found anything
3     bad input: the experiment, an argument, a file, or a bug in the
      experiment's own code (its system under test or its model)
4     infrastructure unreachable: a store, a network proxy, a disk the history
      cannot be written to
130   interrupted (SIGINT, SIGTERM)
====  ==========================================================================

Errors carry their exit code and a one-line message; the CLI, the pytest plugin, explore,
replay, report and the service all print ``error: <message>`` and exit with ``exit_code``.
Nothing else decides an exit code, and no bare ``ValueError`` is ever read as a verdict.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    """The process exit codes of every ``chaos`` command."""

    MATCHED = 0
    MISMATCH = 1
    UNKNOWN = 2
    BAD_INPUT = 3
    UNREACHABLE = 4
    INTERRUPTED = 130


class ChaosError(Exception):
    """Base of the framework's errors: a one-line message, an exit code, and a kind that
    names it in junit.xml and results.json."""

    exit_code: ClassVar[ExitCode] = ExitCode.BAD_INPUT
    kind: ClassVar[str] = "error"
    title: ClassVar[str] = "error"
    """What happened, in words, for a line such as ``name: infrastructure unreachable: ...``."""

    def render(self) -> str:
        """The error as the CLI prints it: one line, whatever the message quotes (an
        exception's text from the user's code may hold line breaks)."""
        return "error: " + str(self).replace("\r", "\\r").replace("\n", "\\n")


class BadInput(ChaosError):
    """The experiment, a command-line argument or a file the tool reads is wrong: exit 3."""

    exit_code = ExitCode.BAD_INPUT
    kind = "bad-input"
    title = "bad input"


class UserCodeError(BadInput):
    """The experiment's own code raised where it must not: the system under test (outside
    what an operation may raise) or a user's model. A bug in the experiment, never a finding
    about the stores: exit 3, naming the hook and the user's file and line."""

    kind = "system-bug"
    title = "a bug in the experiment's own code"


class Unreachable(ChaosError):
    """Infrastructure the run needs cannot be reached or prepared: a store, a proxy, the disk
    the history goes to. Exit 4."""

    exit_code = ExitCode.UNREACHABLE
    kind = "infrastructure"
    title = "infrastructure unreachable"


class Interrupted(ChaosError):
    """SIGINT or SIGTERM: exit 130, after writing every artifact there is time for."""

    exit_code = ExitCode.INTERRUPTED
    kind = "interrupted"
    title = "interrupted"


class GaveUp(ChaosError):
    """The checker (or a run's memory budget) stopped before it could decide: exit 2."""

    exit_code = ExitCode.UNKNOWN
    kind = "unknown"
    title = "unknown"


def verdict_exit_code(verdict: str, expect: str = "valid", *, interrupted: bool = False) -> ExitCode:
    """The exit code of a finished run or check: 130 interrupted, 2 unknown, 0 when the
    verdict is the expected one, 1 otherwise."""
    if interrupted:
        return ExitCode.INTERRUPTED
    if verdict == "unknown":
        return ExitCode.UNKNOWN
    return ExitCode.MATCHED if verdict == expect else ExitCode.MISMATCH


__all__ = [
    "BadInput",
    "ChaosError",
    "ExitCode",
    "GaveUp",
    "Interrupted",
    "Unreachable",
    "UserCodeError",
    "verdict_exit_code",
]
