"""``chaos validate`` and ``chaos run`` on bad experiment files (see experiment_files.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .corpus import Case, Outcome, check, run_all
from .experiment_files import CASES


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Outcome]]:
    root = tmp_path_factory.mktemp("experiment-files")
    return root, run_all(CASES, root, {})


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_experiment_file(case: Case, outcomes: tuple[Path, dict[str, Outcome]]) -> None:
    root, found = outcomes
    check(case, found[case.id], root / case.id)
