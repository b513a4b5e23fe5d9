"""The pytest plugin: experiment files as test items (``--chaos``) and the ``chaos_run``
fixture. The project's own in-memory experiments run here, both ways."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import JUnitXml

from chaos.pytest_plugin import ChaosRun, experiment_files, failure_text

from .conftest import ROOT, stale_experiment_text

MEMORY_EXPERIMENTS = sorted((ROOT / "experiments").glob("*-memory.yaml"))


def test_the_project_has_memory_experiments() -> None:
    assert any(p.name == "register-memory.yaml" for p in MEMORY_EXPERIMENTS)


@pytest.mark.parametrize("experiment", MEMORY_EXPERIMENTS, ids=lambda p: p.stem)
def test_memory_experiment_meets_its_expectation(chaos_run: ChaosRun, experiment: Path) -> None:
    result = chaos_run(experiment)
    assert result.exit_code == 0, failure_text(result, experiment)
    assert result.verdict == result.experiment.expect
    assert (result.run_dir / "report.html").is_file() and (result.run_dir / "junit.xml").is_file()


def test_chaos_run_overrides_top_level_keys(chaos_run: ChaosRun) -> None:
    result = chaos_run(ROOT / "experiments" / "register-memory.yaml", operations=120, seed=11)
    assert result.stats.completed == 120 and result.seed == 11
    assert result.verdict == "valid"


def _pytest(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("CHAOS_REPORT_TEST_UNSET", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_chaos_option_collects_the_memory_experiments(tmp_path: Path) -> None:
    junit = tmp_path / "pytest.xml"
    done = _pytest("--chaos", "experiments/*-memory.yaml", "--chaos-out", str(tmp_path / "runs"), f"--junitxml={junit}")
    assert done.returncode == 0, done.stdout + done.stderr
    cases = [case for suite in JUnitXml.fromfile(str(junit)) for case in suite]
    assert sorted(case.name for case in cases) == sorted(p.stem for p in MEMORY_EXPERIMENTS)
    assert all(case.is_passed for case in cases)
    # no test module was collected: only the experiments
    assert all(case.classname.startswith("experiments.") for case in cases), [c.classname for c in cases]
    for experiment in MEMORY_EXPERIMENTS:
        assert (tmp_path / "runs" / experiment.stem / "report.html").is_file()


def test_failing_items_say_why_without_a_traceback(tmp_path: Path) -> None:
    suite = tmp_path / "experiments"
    suite.mkdir()
    (suite / "stale-memory.yaml").write_text(stale_experiment_text())
    (suite / "needs-env.yaml").write_text(
        "name: needs-env\noperations: 5\nstores:\n  db:\n    adapter: postgres\n"
        "    settings: {dsn: '${CHAOS_REPORT_TEST_UNSET}'}\nsystem: register\nchecks:\n  - model: register\n"
    )
    (suite / "down.yaml").write_text(
        "name: down\noperations: 5\nstores:\n  db:\n    adapter: postgres\n"
        "    settings: {dsn: 'postgresql://postgres@127.0.0.1:1/postgres', connect_timeout: 2}\n"
        "system: register\nchecks:\n  - model: register\n"
    )
    (suite / "notes.txt").write_text("not an experiment")
    junit = tmp_path / "pytest.xml"
    done = _pytest("--chaos", str(suite), "--chaos-out", str(tmp_path / "runs"), f"--junitxml={junit}")
    assert done.returncode == 1, done.stdout + done.stderr
    results = {case.name: case.result[0].text for s in JUnitXml.fromfile(str(junit)) for case in s}
    assert set(results) == {"stale-memory", "needs-env", "down"}
    assert "verdict invalid, expected valid" in results["stale-memory"]
    assert "cannot place: #" in results["stale-memory"]
    assert "replay: chaos run" in results["stale-memory"]
    assert "environment variable CHAOS_REPORT_TEST_UNSET is not set" in results["needs-env"]
    assert "infrastructure unreachable" in results["down"] and "connection refused" in results["down"]
    assert "Traceback" not in done.stdout


def test_chaos_select_and_unmatched_patterns(tmp_path: Path) -> None:
    selected = experiment_files([str(ROOT / "experiments")], "*-memory.yaml")
    assert selected == [p.resolve() for p in MEMORY_EXPERIMENTS]
    done = _pytest("--chaos", "experiments/*-nothing-matches.yaml")
    assert done.returncode == 4  # usage error
    assert "no experiment file" in done.stderr


async def test_chaos_run_from_an_async_test(chaos_run: ChaosRun) -> None:
    # an event loop is running here: the run gets its own loop on a worker thread
    result = chaos_run(ROOT / "experiments" / "register-memory.yaml", operations=100)
    assert result.exit_code == 0 and result.stats.completed == 100
