"""User data on a terminal is text, never instructions to the terminal.

Keys, values and error texts come from the system under test, the stores and the user's
files; an escape sequence among them (OSC 52 writes the clipboard, OSC 0 the window title,
CSI 2J clears the screen, a right-to-left override reverses what follows) would act on the
terminal of whoever reads the summary. Every line the command line prints with such data goes
through :func:`printable`, which shows control characters as ``\\xNN`` / ``\\uNNNN`` escapes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from .secrets import Secrets

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 controls but tab and newline; bidirectional overrides and isolates; line and
paragraph separators."""


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character shown as an escape."""
    return _CONTROL.sub(_escape, text)


def safe_console(stderr: bool = False) -> SafeConsole:
    """A console for the command line's output (see :class:`SafeConsole`)."""
    return SafeConsole(stderr=stderr, highlight=False, soft_wrap=True)


class _Clean:
    """The cleaning step of :class:`SafeConsole`: secrets first, then control characters."""

    def __init__(self) -> None:
        self.secrets: Secrets | None = None

    def __call__(self, text: str) -> str:
        if self.secrets is not None:
            text = self.secrets.clean(text)
        return printable(text)


class SafeConsole(Console):
    """A rich console through which every string printed is shown as text: control
    characters escaped, and the run's secrets masked once :attr:`secrets` is set. The one
    place the command line's output passes, so that no call site can forget.

    soft_wrap: a line is one line however narrow the terminal (or a CI log) is, so that it
    stays greppable and never splits a host:port or a path."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clean = _Clean()

    @property
    def secrets(self) -> Secrets | None:
        return self._clean.secrets

    @secrets.setter
    def secrets(self, value: Secrets | None) -> None:
        self._clean.secrets = value

    def clean(self, text: str) -> str:
        return self._clean(text)

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(*(self._clean(o) if isinstance(o, str) else o for o in objects), **kwargs)


__all__ = ["SafeConsole", "printable", "safe_console"]
