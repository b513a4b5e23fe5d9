"""The command's signal handler, phase by phase, called as the interpreter would call it."""

from __future__ import annotations

import signal

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
