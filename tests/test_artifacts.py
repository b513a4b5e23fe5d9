"""The artifacts stage under a signal: what is written says what happened."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import chaos
from chaos.artifacts import write
from chaos.errors import ExitCode
from chaos.secrets import Secrets

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def signal_held_until_the_end() -> Iterator[None]:
    """What ``Signals.holding`` does with a Ctrl-C that came while the small files were
    written: it is delivered as the block ends."""
    yield
    raise KeyboardInterrupt


def test_a_signal_held_while_the_small_files_are_written_is_recorded_in_them(tmp_path: Path) -> None:
    result = chaos.run(ROOT / "experiments/register-memory.yaml", out=tmp_path / "run", report=False)
    assert result.exit_code == 0
    holds = iter([signal_held_until_the_end, contextlib.nullcontext])

    write(result, Secrets(), raw_text="", report=True, hold=lambda: next(holds)())

    assert result.exit_code == ExitCode.INTERRUPTED
    data = json.loads((result.run_dir / "results.json").read_text())
    assert data["interrupted"] is True
    assert data["report_error"] == "interrupted before the report was drawn"
    assert data["verdict"] == "valid"  # the run and its check were whole: only the page is missing
    assert not (result.run_dir / "report.html").exists()
    assert (result.run_dir / "junit.xml").is_file()
