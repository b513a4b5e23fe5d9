"""The command's signal handler, phase by phase, called as the interpreter would call it."""

from __future__ import annotations

import asyncio
import signal
import sys
import weakref

import pytest

from chaos.signals import Signals


def test_outside_the_loop_a_signal_interrupts_at_once() -> None:
    signals = Signals()
    with pytest.raises(KeyboardInterrupt):
        signals.handle(signal.SIGTERM, None)
    assert signals.count == 1


def test_while_a_file_is_written_the_signal_waits_for_it() -> None:
    signals = Signals()
    written = []
    with pytest.raises(KeyboardInterrupt), signals.held():
        signals.handle(signal.SIGINT, None)
        written.append("whole file")
    assert written == ["whole file"]


def test_once_the_command_is_ending_a_signal_is_counted_not_raised() -> None:
    """Flushing the last output: a KeyboardInterrupt there would be a traceback, so the command
    reads the count instead and exits 130."""
    signals = Signals()
    seen = signals.ending()
    signals.handle(signal.SIGTERM, None)
    assert signals.count == seen + 1


class _Object:
    pass


def test_a_signal_swallowed_by_a_weakref_callback_still_stops_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    """Python ignores an exception raised in a weakref callback (the import system's
    module-lock clean-up is one), printing its traceback: a signal handled at that moment
    would be lost, and the command would run to the end. The interrupt is kept instead: no
    traceback, and the run's loop callback is called when the run starts."""
    signals = Signals()
    stopped: list[bool] = []
    with signals.installed():
        thing = _Object()
        ref = weakref.ref(thing, lambda _: signals.handle(signal.SIGINT, None))
        del thing  # the callback runs here; its KeyboardInterrupt goes to sys.unraisablehook
        assert ref() is None and signals.owed
        loop = asyncio.new_event_loop()
        try:
            with signals.on_loop(loop, lambda: stopped.append(True)):
                assert stopped == [True] and not signals.owed
        finally:
            loop.close()
    assert "Traceback" not in capsys.readouterr().err


def test_other_unraisable_exceptions_still_reach_the_previous_hook() -> None:
    signals = Signals()
    seen: list[type[BaseException] | None] = []
    before = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: seen.append(unraisable.exc_type)
    try:
        with signals.installed():
            thing = _Object()
            ref = weakref.ref(thing, lambda _: 1 / 0)
            del thing
            assert ref() is None
    finally:
        sys.unraisablehook = before
    assert seen == [ZeroDivisionError] and not signals.owed
