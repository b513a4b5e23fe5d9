"""What the corpus's cases derive their files from: a real exploration (its ``replay.json``)
and a real run (its run directory), made once per session by the command itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from chaos.cli import main

from .corpus import ROOT


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``explore/`` (an exploration of the naive profile design that found its violation, with
    ``replay.json``) and ``run/`` (a valid in-memory register run)."""
    root = tmp_path_factory.mktemp("base")
    for name, experiment, code in (
        ("explore", "experiments/explore/profile-naive-1.yaml", 0),
        ("run", "experiments/register-memory.yaml", 0),
    ):
        done = CliRunner().invoke(main, ["run", str(ROOT / experiment), "--out", str(root / name), "--no-progress"])
        assert done.exit_code == code, done.output
    return root
