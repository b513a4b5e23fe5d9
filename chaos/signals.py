"""SIGINT and SIGTERM, at any moment of a command: an orderly stop, never a lost history.

One handler serves both signals and every phase:

* while operations run on the event loop, it asks the pipeline to stop (thread-safely, so a
  loop blocked in ``select`` wakes up): in-flight operations are recorded as ``info``, faults
  are healed, and the history is checked and written up;
* outside the loop (start-up, checking, writing) it raises ``KeyboardInterrupt``, which the
  checker turns into ``unknown (interrupted)`` and the command into exit 130; while a small
  file is being written the signal is held until the file is whole;
* the second signal skips what is left of the clean-up; the third exits at once, with exit
  code 130: the history's lines are whole, because each flush writes whole lines.

SIGTERM is what CI runners and ``timeout`` send, so it means the same as Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

SIGNALS = (signal.SIGINT, signal.SIGTERM)
INTERRUPTED = 130
"""chaos.errors.ExitCode.INTERRUPTED (this module imports nothing of the package's: it must be
ready to serve from the command's first lines)."""


class Signals:
    """The process's handling of SIGINT and SIGTERM while a command runs."""

    def __init__(self) -> None:
        self.count = 0
        """Signals received so far."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._callback: Callable[[], None] | None = None
        self._held = 0
        self._pending = False
        self._installed = 0
        self._ending = False
        self._unraisable_before: Callable[[Any], object] = sys.unraisablehook

    def handle(self, signum: int, frame: Any) -> None:
        self.count += 1
        if self.count >= 3:
            os._exit(INTERRUPTED)
        if self._ending:
            return
        loop, callback = self._loop, self._callback
        if loop is not None and callback is not None and not loop.is_closed():
            loop.call_soon_threadsafe(callback)
            return
        if self._held:
            self._pending = True
            return
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self) -> Iterator[Signals]:
        """Handle both signals with :meth:`handle` while the block runs (re-entrant; main
        thread only: Python lets no other thread set handlers, and there this does nothing)."""
        if threading.current_thread() is not threading.main_thread() or self._installed:
            yield self
            return
        previous = self.install()
        try:
            yield self
        finally:
            self._installed = 0
            for sig, old in previous.items():
                signal.signal(sig, old if old is not None else signal.SIG_DFL)
            sys.unraisablehook = self._unraisable_before

    def install(self) -> dict[int, Any]:
        """Handle both signals from now on; returns the handlers replaced. Signals the
        package's first lines kept while the command imported itself count as received."""
        from . import EARLY_SIGNALS

        previous: dict[int, Any] = {sig: signal.getsignal(sig) for sig in SIGNALS}
        for sig in SIGNALS:
            signal.signal(sig, self.handle)
        self._unraisable_before = sys.unraisablehook
        sys.unraisablehook = self._unraisable
        self._installed = 1
        if EARLY_SIGNALS:
            self.count += len(EARLY_SIGNALS)
            EARLY_SIGNALS.clear()
            self._pending = True
        return previous

    def _unraisable(self, unraisable: Any) -> None:
        """``sys.unraisablehook``: Python swallows an exception raised where it cannot be
        propagated (a weakref callback such as the import system's module-lock clean-up, a
        ``__del__``), printing a traceback. A ``KeyboardInterrupt`` from :meth:`handle` lands
        there when the signal comes at such a moment: it is kept instead, for the loop's
        callback or the next point where a held signal is raised, so that the command still
        stops and says so in one line. Anything else goes to the hook this one replaced."""
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            self._unraisable_before(unraisable)
            return
        loop, callback = self._loop, self._callback
        if loop is not None and callback is not None and not loop.is_closed():
            loop.call_soon_threadsafe(callback)
        else:
            self._pending = True

    @property
    def owed(self) -> bool:
        """A signal came that has not ended anything yet (it was held, or swallowed)."""
        return self._pending

    def ending(self) -> int:
        """The command has decided how it ends and is only flushing its output: from now on a
        signal is counted, never raised (a ``KeyboardInterrupt`` there would be a traceback,
        and one that came as the process exits was lost). Returns the count so far, for the
        caller to see whether one came meanwhile."""
        self._ending = True
        return self.count

    @property
    def holding(self) -> bool:
        return self._held > 0

    def hold(self) -> None:
        """Hold signals until :meth:`release` (the command is still starting up)."""
        self._held += 1

    def release(self) -> None:
        """Stop holding; a signal that came meanwhile is raised as ``KeyboardInterrupt``."""
        self._held -= 1
        self.release_pending()

    @contextlib.contextmanager
    def on_loop(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> Iterator[None]:
        """While the block runs, a signal calls ``callback`` on ``loop`` instead of raising
        (at once for one that came before the block and has not ended anything yet)."""
        self._loop, self._callback = loop, callback
        if self._pending:
            self._pending = False
            callback()
        try:
            yield
        finally:
            self._loop, self._callback = None, None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold signals while the block runs (a file is being written); one that came
        meanwhile is raised as ``KeyboardInterrupt`` at the end."""
        self.hold()
        try:
            yield
        finally:
            self._held -= 1
        self.release_pending()

    def release_pending(self) -> None:
        if self._pending and not self._held:
            self._pending = False
            raise KeyboardInterrupt


COMMAND = Signals()
"""The ``chaos`` command's signal handling, installed and holding from the package's first
line when the package is run as the command (see chaos/__init__.py)."""

__all__ = ["COMMAND", "SIGNALS", "Signals"]
