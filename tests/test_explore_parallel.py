"""Exhaustive exploration on worker processes, level by level: the same answer as one process
(the shrunk trace, the replay file, the history, every coverage count), the failure database
tried first, and Ctrl-C while shards run."""

from __future__ import annotations

import itertools
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from chaos.executors import Workers
from chaos.experiment import load
from chaos.exploration import parallel
from chaos.exploration.parallel import shards
from chaos.failure_db import FailureDB
from chaos.pipeline import Pipeline
from chaos.result import Result

ROOT = Path(__file__).resolve().parent.parent
EXPLORE = ROOT / "experiments" / "explore"
TIMING = ("elapsed_seconds", "executions_per_second", "states_per_second", "workers")
"""Coverage fields that say how fast, and where: everything else must be equal."""


def explore(name: str, out: Path, workers: Workers | None = None, database: FailureDB | None = None) -> Result:
    return Pipeline(load(EXPLORE / f"{name}.yaml"), out, workers=workers, failure_db=database, report=False).run_sync()


def answer(result: Result) -> dict[str, Any]:
    """What an exploration found and covered, without the timings."""
    data = json.loads((result.run_dir / "results.json").read_text())
    coverage = {k: v for k, v in data["coverage"].items() if k not in TIMING}
    files = {
        name: (result.run_dir / name).read_bytes()
        for name in ("history.jsonl", "trace.txt", "replay.json")
        if (result.run_dir / name).exists()
    }
    operations = data["operations"]
    return {
        "verdict": data["verdict"],
        "ended": data["ended"],
        "coverage": coverage,
        "outcomes": operations["by_operation"],
        "latency": operations["latency_ms"],
        "checks": [c["verdict"] for c in data["checks"]],
        "files": files,
    }


@pytest.mark.parametrize(
    "name",
    [
        "profile-working-2",  # valid: every plan of 3 operations searched, the counts summed
        "profile-improved-2",  # several plans of the deciding level fail: the lowest-numbered one counts
        "profile-cleaner-naive",  # a background actor, a violation at level 2
    ],
)
def test_two_jobs_give_the_answer_of_one(tmp_path: Path, name: str) -> None:
    one = explore(name, tmp_path / "one", Workers(jobs=1))
    two = explore(name, tmp_path / "two", Workers(jobs=2, worth=0.0))  # worth 0: every level fans out
    assert one.exploration is not None and two.exploration is not None
    assert one.exploration.workers == "" and two.exploration.workers == "2 processes"
    assert answer(two) == answer(one)
    assert two.exploration.trace == one.exploration.trace


def test_the_working_cleaner_fans_out_and_stays_valid_over_a_level(tmp_path: Path) -> None:
    text = (EXPLORE / "profile-cleaner-working.yaml").read_text().replace("max_operations: 3", "max_operations: 2")
    path = tmp_path / "cleaner-working-2.yaml"
    path.write_text(text)
    results = [
        Pipeline(load(path), tmp_path / str(jobs), workers=Workers(jobs=jobs, worth=0.0), report=False).run_sync()
        for jobs in (1, 2)
    ]
    assert [r.verdict for r in results] == ["valid", "valid"]
    assert answer(results[0]) == answer(results[1])
    assert results[1].exploration is not None and results[1].exploration.exhausted


def sampled(tmp_path: Path, name: str, strategy: str, executions: int, time_limit: str = "10m") -> Path:
    """An explore experiment run as a random or PCT exploration with an execution budget."""
    text = (EXPLORE / f"{name}.yaml").read_text()
    limit = f"time_limit: {time_limit}"
    if "time_limit: " in text:
        text, limit = re.sub(r"time_limit: \S+", limit, text), ""
    text = text.replace("strategy: exhaustive", f"strategy: {strategy}\n  executions: {executions}\n  {limit}")
    path = tmp_path / f"{name}-{strategy}.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "strategy"),
    [
        ("profile-working-2", "random"),  # valid: the whole budget, every count the same
        ("profile-naive-2", "random"),  # a violation in a fanned-out round: the lowest-numbered one
        ("profile-cleaner-naive", "pct"),  # a background actor, PCT's priorities
    ],
)
def test_sampled_explorations_on_two_jobs_give_the_answer_of_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, strategy: str
) -> None:
    """Execution number i is the same execution in any process: ranges of them go to the
    workers, and the answer (verdict, counts, states, the shrunk trace) is one process's."""
    monkeypatch.setattr(parallel, "SAMPLES_PER_SHARD", 4)  # violations come after the first range
    path = sampled(tmp_path, name, strategy, 600)
    one, two = (
        Pipeline(load(path), tmp_path / str(jobs), workers=Workers(jobs=jobs, worth=0.0), report=False).run_sync()
        for jobs in (1, 2)
    )
    assert one.exploration is not None and two.exploration is not None
    assert one.exploration.workers == "" and two.exploration.workers == "2 processes"
    assert answer(two) == answer(one)
    assert one.exploration.executions == 600 or one.exploration.found is not None
    assert (one.exploration.found is not None) == (name != "profile-working-2")


def test_a_sampled_exploration_that_is_quick_stays_in_this_process(tmp_path: Path) -> None:
    """A budget that takes less than ``worth`` seconds: no worker process is started for it."""
    path = sampled(tmp_path, "profile-working-2", "random", 300)
    result = Pipeline(load(path), tmp_path / "r", workers=Workers(jobs=2, worth=60.0), report=False).run_sync()
    assert result.exploration is not None and result.exploration.executions == 300
    assert result.exploration.workers == ""


def test_a_sampled_exploration_on_two_jobs_stops_at_its_time_limit(tmp_path: Path) -> None:
    """Sampling has no space to cover: its limit is how long it samples, as in one process."""
    path = sampled(tmp_path, "profile-cleaner-working", "random", 10_000_000, time_limit="2s")
    result = Pipeline(load(path), tmp_path / "r", workers=Workers(jobs=2, worth=0.0), report=False).run_sync()
    exploration = result.exploration
    assert exploration is not None and exploration.workers == "2 processes"
    assert exploration.stopped == "time limit of 2s reached" and result.exit_code == 0
    assert 0 < exploration.executions < 10_000_000


def test_shards_cover_a_level_in_order() -> None:
    assert shards(4, 36, 2) == [(4 + n, 5 + n) for n in range(32)]
    cut = shards(36, 260, 2)
    assert cut[0][0] == 36 and cut[-1][1] == 260
    assert all(a[1] == b[0] for a, b in itertools.pairwise(cut))
    assert len(cut) == 32


def test_a_failing_plan_is_recorded_and_tried_first(tmp_path: Path) -> None:
    database = FailureDB(tmp_path / "failures.json", "explore-profile-improved-1")
    first = explore("profile-improved-1", tmp_path / "first", database=database)
    assert first.verdict == "invalid" and first.exploration is not None
    (recorded,) = database.plans()
    assert recorded.operations == 3
    second = explore("profile-improved-1", tmp_path / "second", database=FailureDB(database.path, database.experiment))
    exploration = second.exploration
    assert exploration is not None
    assert (exploration.recorded, exploration.recorded_found) == (1, True)
    # only the plans below it were searched, and what is reported has no more operations
    assert exploration.complete_up_to == 2 and not exploration.exhausted
    assert exploration.executions < first.exploration.executions
    assert exploration.trace == first.exploration.trace
    assert (second.run_dir / "replay.json").read_text() == (first.run_dir / "replay.json").read_text()


def test_a_recorded_plan_that_passes_now_is_forgotten(tmp_path: Path) -> None:
    broken = FailureDB(tmp_path / "broken.json", "explore-profile-improved-2")
    explore("profile-improved-2", tmp_path / "broken", database=broken)
    (plan,) = broken.plans()
    database = FailureDB(tmp_path / "failures.json", "explore-profile-working-2")
    database.record_plan(plan.plan, plan.decisions, "elsewhere")  # the working design passes it
    result = explore("profile-working-2", tmp_path / "working", database=database)
    assert result.verdict == "valid" and result.exploration is not None
    assert (result.exploration.recorded, result.exploration.recorded_found) == (1, False)
    assert result.exploration.exhausted
    assert FailureDB(database.path, database.experiment).plans() == []


def test_chaos_run_says_what_the_failure_database_did(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "chaos",
        "run",
        str(EXPLORE / "profile-improved-1.yaml"),
        "--out",
        str(tmp_path / "run"),
        "--no-report",
        "--no-progress",
    ]
    first = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "tried first" not in first.stdout
    again = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert again.returncode == 0, again.stderr
    assert (
        "tried first: 1 failing plan(s) from the failure database; one still fails: only smaller plans were "
        "searched after it"
    ) in again.stdout
    assert "violation with 3 operations" in again.stdout
    off = subprocess.run([*command, "--no-failure-db"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert off.returncode == 0 and "tried first" not in off.stdout


def test_ctrl_c_while_shards_run_exits_130_with_the_artifacts(tmp_path: Path) -> None:
    out = tmp_path / "run"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chaos",
            "run",
            str(EXPLORE / "profile-cleaner-working.yaml"),
            "--jobs",
            "2",
            "--out",
            str(out),
            "--no-report",
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    workers: list[int] = []
    deadline = time.monotonic() + 60
    while not workers and time.monotonic() < deadline:  # until the first level fans out
        time.sleep(0.1)
        workers = _children(process.pid)
    assert workers, "no worker process started"
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    data = json.loads((out / "results.json").read_text())
    assert data["interrupted"] is True and data["coverage"]["stopped"] == "interrupted"
    assert "interrupted" in stdout
    for pid in workers:  # the workers ended with the command
        assert not Path(f"/proc/{pid}").exists() or "zombie" in _state(pid)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and "spawn_main" in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
    return found


def _state(pid: int) -> str:
    try:
        return "zombie" if (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z") else "alive"
    except OSError:
        return "gone"


def test_a_range_cut_by_the_time_limit_before_a_whole_one_is_merged_not_missing(tmp_path: Path) -> None:
    """Two workers, the deadline falls while the earlier range runs and after the later one
    ended: both count, and the exploration says it reached its time limit."""
    from chaos.exploration import Exploration, Explorer
    from chaos.exploration.parallel import SampleOutcome, SampleSearch

    experiment = load(sampled(tmp_path, "profile-working-2", "random", 100)).experiment
    search = SampleSearch(Explorer(experiment, 1), Workers(jobs=2))
    report = Exploration("random")
    cut = SampleOutcome(0, executions=2, states={b"a"}, plans_by_size={1: 2}, stopped="time limit of 1s reached")
    whole = SampleOutcome(4, executions=4, states={b"a", b"b"}, plans_by_size={2: 4})
    assert search._merge(report, [whole, cut], set(), [(0, 4), (4, 8)])
    assert report.stopped == "time limit of 1s reached" and not report.interrupted
    assert (report.executions, report.plans, report.plans_by_size) == (6, 6, {1: 2, 2: 4})


def test_a_range_that_never_answered_is_an_incomplete_exploration(tmp_path: Path) -> None:
    """A range lost with its worker (not an interruption) would leave the counts short: the
    exploration ends as unreachable infrastructure rather than saying it covered them."""
    from chaos.errors import Unreachable
    from chaos.exploration import Exploration, Explorer
    from chaos.exploration.parallel import SampleOutcome, SampleSearch

    experiment = load(sampled(tmp_path, "profile-working-2", "random", 100)).experiment
    search = SampleSearch(Explorer(experiment, 1), Workers(jobs=2))
    with pytest.raises(Unreachable, match="the range of executions from 4 was never searched"):
        search._merge(Exploration("random"), [SampleOutcome(0, executions=4)], set(), [(0, 4), (4, 8)])
