"""Run progress: a live rich bar on a terminal, plain lines elsewhere, both fed by a real run."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from chaos.progress import RunProgress, describe, fraction
from chaos.stats import Stats

from .conftest import ROOT, run_text

# 200 operations at 400/s: half a second, several progress ticks (the runner ticks every 0.1 s)
PACED = (
    (ROOT / "experiments" / "register-memory.yaml")
    .read_text()
    .replace("operations: 2000", "operations: 200")
    .replace("mix: {read: 2, write: 1, cas: 1}", "mix: {read: 2, write: 1, cas: 1}\n  rate: 400")
)


def test_plain_lines_when_not_a_terminal(tmp_path: Path) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=200)
    with RunProgress(console, "register-memory", interval=0.0) as progress:
        assert not progress.live
        result = run_text(PACED, tmp_path / "run", on_progress=progress.update)
    lines = buffer.getvalue().splitlines()
    assert progress.lines == len(lines) >= 2
    pattern = re.compile(
        r"^register-memory: +\d+%  +[\d.]+/20s  [\d,]+/200 ops  [\d,]+ ops/s  faults 0  fail [\d,]+  info [\d,]+$"
    )
    assert all(pattern.match(line) for line in lines), lines
    # the closing line has the final figures
    assert f"{result.stats.completed:,}/200 ops" in lines[-1]
    assert "\x1b[" not in buffer.getvalue()  # no terminal control codes in a log


def test_live_bar_on_a_terminal(tmp_path: Path) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=160, color_system="standard")
    with RunProgress(console, "register-memory") as progress:
        assert progress.live
        run_text(PACED, tmp_path / "run", on_progress=progress.update)
    drawn = buffer.getvalue()
    assert "register-memory" in drawn and "ops/s" in drawn and "━" in drawn
    assert "/200 ops of 20s" in drawn
    assert progress.lines == 0


def test_fraction_follows_the_limit_that_ends_the_run_first() -> None:
    stats = Stats(planned_ops=200, planned_seconds=None)
    for _ in range(50):
        stats.record("read", "ok", 1000)
    stats.record("write", "fail", 1000)
    stats.record("write", "info", 1000)
    assert fraction(stats) == 52 / 200
    text = describe(stats)
    assert "52/200 ops" in text and "fail 1" in text and "info 1" in text
    assert fraction(Stats()) == 0.0
