"""Many seeds: seed specs, the exit code over seeds, parallel runs in worker processes, the
combined junit.xml (one test case per seed, valid against junit-10.xsd), the failure database
and Ctrl-C in the middle of it all.

The experiment most tests use is deterministic per seed (one client on the in-memory store,
whose system acknowledges every third write without storing it): seeds 1, 2 and 4 never read
the lost write back, seed 3 does, so which seeds find the violation is known in advance.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from junitparser import Failure, JUnitXml

from chaos.errors import BadInput, ExitCode
from chaos.executors import Workers
from chaos.experiment import loads
from chaos.history import load_operations
from chaos.seeds import SeedOutcome, SeedsResult, SeedsRun, combined_exit_code, parse_seeds

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = xmlschema.XMLSchema(ROOT / "tests" / "report" / "junit-10.xsd")

LOST_WRITE = """\
name: lost-write
seed: 1
operations: 7
concurrency: 1
stores: {{db: {{adapter: memory}}}}
system: tests.systems:LostWriteRegister
workload: {{keys: 1, mix: {{read: 1, write: 1}}}}
checks: [{{model: register}}]
expect: {expect}
"""
FOUND_BY = {3}
"""Of seeds 1-4, the ones whose history shows the lost write."""


def _run(tmp_path: Path, expect: str, seeds: list[int], **options: Any) -> tuple[SeedsRun, SeedsResult]:
    loaded = loads(LOST_WRITE.format(expect=expect), "lost-write.yaml")
    run = SeedsRun(loaded, seeds, tmp_path / "out", workers=Workers(jobs=2), report=False, **options)
    return run, run.run_sync()


# ---------------------------------------------------------------------------- seed specs


@pytest.mark.parametrize(
    ("spec", "base", "seeds"),
    [("3", None, [1, 2, 3]), ("4", 42, [42, 43, 44, 45]), ("100-102", 42, [100, 101, 102]), (" 7 - 7 ", None, [7])],
)
def test_seed_specs(spec: str, base: int | None, seeds: list[int]) -> None:
    assert parse_seeds(spec, base) == seeds


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("0", "at least one seed"),
        ("9-3", "ends (3) before it starts (9)"),
        ("many", "a count of seeds (8) or a range (100-199)"),
        ("1-200000", "at most 100,000"),
        ("-3", "a count of seeds"),
    ],
)
def test_bad_seed_specs_are_bad_input(spec: str, says: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_seeds(spec, 1)
    assert str(caught.value).startswith(f"--seeds {spec}: ")
    assert says in str(caught.value)


# ---------------------------------------------------------------------------- the exit code over seeds


def _outcome(seed: int, code: ExitCode, verdict: str | None = None) -> SeedOutcome:
    return SeedOutcome(seed, int(code), verdict=verdict)


M, X, U = ExitCode.MATCHED, ExitCode.MISMATCH, ExitCode.UNKNOWN


@pytest.mark.parametrize(
    ("expect", "codes", "combined"),
    [
        ("valid", [M, M, M], M),
        ("valid", [M, X, M], X),
        ("valid", [M, U, M], U),
        ("valid", [X, U], X),
        ("valid", [M, ExitCode.UNREACHABLE, X], ExitCode.UNREACHABLE),
        ("valid", [M, ExitCode.BAD_INPUT, ExitCode.UNREACHABLE], ExitCode.BAD_INPUT),
        ("valid", [M, ExitCode.INTERRUPTED, ExitCode.BAD_INPUT], ExitCode.INTERRUPTED),
        ("invalid", [X, M, X], M),
        ("invalid", [X, X], X),
        ("invalid", [X, U], U),
        ("invalid", [M, U, X], M),
        ("invalid", [M, ExitCode.UNREACHABLE], ExitCode.UNREACHABLE),
    ],
)
def test_the_exit_code_over_seeds(expect: str, codes: list[ExitCode], combined: ExitCode) -> None:
    verdicts = {M: "valid" if expect == "valid" else "invalid", X: "invalid" if expect == "valid" else "valid"}
    outcomes = [_outcome(n, code, verdicts.get(code, "unknown" if code == U else None)) for n, code in enumerate(codes)]
    assert combined_exit_code(outcomes, expect) == combined


def test_an_interrupt_makes_every_combination_130() -> None:
    assert combined_exit_code([_outcome(1, M, "valid")], "valid", interrupted=True) == ExitCode.INTERRUPTED


# ---------------------------------------------------------------------------- seeds on worker processes


def _junit(path: Path):  # type: ignore[no-untyped-def]
    SCHEMA.validate(str(path))
    (suite,) = list(JUnitXml.fromfile(str(path)))
    return suite


def test_expect_invalid_passes_when_one_seed_finds_it(tmp_path: Path) -> None:
    _, result = _run(tmp_path, "invalid", [1, 2, 3, 4])
    assert result.exit_code == ExitCode.MATCHED
    assert [o.seed for o in result.ordered] == [1, 2, 3, 4]
    assert {o.seed for o in result.found} == FOUND_BY
    assert result.workers == "2 processes"
    found = result.outcomes[3]
    assert found.first_violation is not None and found.first_violation >= 0
    assert found.replay == f"chaos run {tmp_path / 'out' / 'seed-3' / 'experiment.yaml'} --seed 3"
    for seed in (1, 2, 3, 4):  # every seed is a whole run directory of its own, re-checkable
        run_dir = tmp_path / "out" / f"seed-{seed}"
        assert (run_dir / "seed").read_text() == f"{seed}\n"
        assert load_operations(run_dir / "history.jsonl")
        assert json.loads((run_dir / "results.json").read_text())["seed"] == seed
    suite = _junit(tmp_path / "out" / "junit.xml")
    assert (suite.tests, suite.failures, suite.errors) == (4, 0, 0)
    assert [case.name for case in suite] == ["seed-1", "seed-2", "seed-3", "seed-4"]
    outputs = {case.name: case.system_out for case in suite}
    assert "violation found, as the experiment expects" in outputs["seed-3"]
    assert "another seed found it" in outputs["seed-1"]
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["exit_code"] == 0 and data["found_by"] == [3]
    assert data["counts"] == {"valid": 3, "invalid": 1, "unknown": 0, "error": 0, "not run": 0}
    # the failing seed went into the failure database, under the run root
    database = json.loads((tmp_path / "out" / "failures.json").read_text())
    assert [entry["seed"] for entry in database["seeds"]] == [3]


def test_expect_valid_fails_on_the_seed_that_found_a_violation(tmp_path: Path) -> None:
    _, result = _run(tmp_path, "valid", [1, 2, 3, 4], failure_db=False)
    assert result.exit_code == ExitCode.MISMATCH
    assert result.first_failing is not None and result.first_failing.seed == 3
    suite = _junit(tmp_path / "out" / "junit.xml")
    assert (suite.tests, suite.failures, suite.errors) == (4, 1, 0)
    props = {p.name: p.value for p in suite.properties()}
    assert props["exit_code"] == "1" and props["found_by"] == "3"
    assert props["replay"].endswith("seed-3/experiment.yaml --seed 3")
    failed = [case for case in suite if not case.is_passed]
    assert [case.name for case in failed] == ["seed-3"]
    (failure,) = failed[0].result
    assert isinstance(failure, Failure)
    assert failure.message.startswith("not linearizable: ")
    assert "INVALID: model register" in failure.text and "replay: chaos run" in failure.text
    assert not (tmp_path / "out" / "failures.json").exists()  # --no-failure-db


def test_the_failure_database_puts_failing_seeds_first(tmp_path: Path) -> None:
    _run(tmp_path, "valid", [3])
    run, result = _run(tmp_path, "valid", [1, 2])
    assert run.order() == ([3, 1, 2], [3])
    assert result.seeds == [3, 1, 2] and result.recorded == [3]
    assert result.exit_code == ExitCode.MISMATCH  # seed 3 still fails
    suite = _junit(tmp_path / "out" / "junit.xml")
    assert {p.name: p.value for p in suite.properties()}["failure_database"] == "3"
    # turned off, the database is neither read nor written
    run, result = _run(tmp_path, "valid", [1, 2], failure_db=False)
    assert result.seeds == [1, 2] and result.recorded == []
    assert result.exit_code == ExitCode.MATCHED


def test_a_recorded_seed_that_passes_now_is_forgotten(tmp_path: Path) -> None:
    from chaos.failure_db import FailureDB

    database = FailureDB.for_run(tmp_path / "out", "lost-write")
    database.record_seed(2, "invalid", "elsewhere")  # seed 2 passes with this system
    _, result = _run(tmp_path, "valid", [1])
    assert result.seeds == [2, 1] and result.exit_code == ExitCode.MATCHED
    assert FailureDB.for_run(tmp_path / "out", "lost-write").seeds() == []


# ---------------------------------------------------------------------------- the command


def _chaos(*args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chaos", *args], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


def test_chaos_run_seeds_prints_one_table_and_the_seed_to_replay(tmp_path: Path) -> None:
    experiment = tmp_path / "lost-write.yaml"
    experiment.write_text(LOST_WRITE.format(expect="valid"))
    out = tmp_path / "batch"
    done = _chaos(
        "run",
        str(experiment),
        "--seeds",
        "4",
        "--jobs",
        "2",
        "--out",
        str(out),
        "--no-progress",
        "--no-report",
        "--junit",
        str(tmp_path / "ci.xml"),
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "running lost-write: 4 seeds on 2 process(es)"
    assert sum(1 for line in lines if line.startswith("lost-write: seed ")) == 4  # one progress line per seed
    assert "4 seeds in " in done.stdout and "3 valid, 1 invalid" in done.stdout
    assert "seed(s) 3 found a violation: NOT as expected (exit 1)" in done.stdout
    assert f"replay: chaos run {out / 'seed-3' / 'experiment.yaml'} --seed 3" in done.stdout
    assert (tmp_path / "ci.xml").read_text() == (out / "junit.xml").read_text()
    # the replay command reproduces the seed's violation on its own
    again = _chaos(
        "run",
        str(out / "seed-3" / "experiment.yaml"),
        "--seed",
        "3",
        "--out",
        str(tmp_path / "again"),
        "--no-report",
        "--no-progress",
    )
    assert again.returncode == 1 and "verdict: invalid" in again.stdout


def test_bad_input_is_found_once_before_any_seed_runs(tmp_path: Path) -> None:
    experiment = tmp_path / "bad.yaml"
    experiment.write_text(
        LOST_WRITE.format(expect="valid").replace("tests.systems:LostWriteRegister", "tests.systems:NoSuchSystem")
    )
    done = _chaos("run", str(experiment), "--seeds", "8", "--out", str(tmp_path / "batch"))
    assert done.returncode == 3
    assert "line 6: system: system 'tests.systems:NoSuchSystem': module 'tests.systems' has no attribute" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "batch").exists()  # nothing fanned out


def test_a_cluster_nobody_answers_is_unreachable(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    from .conftest import free_port

    done = _chaos(
        "run",
        "experiments/register-memory.yaml",
        "--seeds",
        "2",
        "--cluster",
        f"tcp://127.0.0.1:{free_port()}",
        "--out",
        str(tmp_path / "batch"),
    )
    assert done.returncode == 4, done.stderr
    assert "no Dask scheduler answered" in done.stderr and "Traceback" not in done.stderr
    assert json.loads((tmp_path / "batch" / "results.json").read_text())["error"]["kind"] == "infrastructure"


def test_a_single_real_time_run_is_not_sent_to_a_cluster(tmp_path: Path) -> None:
    done = _chaos("run", "experiments/register-memory.yaml", "--cluster", "tcp://127.0.0.1:8786")
    assert done.returncode == 3
    assert "a checked real-time run stays on one host" in done.stderr


LONG_SEEDS = """\
name: long-seeds
seed: 1
operations: 1000000
duration: 4s
concurrency: 4
stores: {db: {adapter: memory}}
system: register
workload: {keys: 2, mix: {read: 2, write: 1, cas: 1}, rate: 400}
checks: [{model: cas-register}]
"""
"""Seeds that run for their whole duration, at a rate whose history checks in no time."""


def test_ctrl_c_stops_every_seed_and_keeps_what_ran(tmp_path: Path) -> None:
    experiment = tmp_path / "long.yaml"
    experiment.write_text(LONG_SEEDS)
    out = tmp_path / "batch"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chaos",
            "run",
            str(experiment),
            "--seeds",
            "5",
            "--jobs",
            "2",
            "--out",
            str(out),
            "--no-progress",
            "--no-report",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 60
    while not any(out.glob("seed-*/history.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the first seeds are running
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    data = json.loads((out / "results.json").read_text())
    assert data["interrupted"] is True and data["exit_code"] == 130
    outcomes = {o["seed"]: o for o in data["outcomes"]}
    assert sorted(outcomes) == [1, 2, 3, 4, 5]  # every seed is accounted for
    ran = [o for o in outcomes.values() if o["ran"]]
    assert ran and all(o["interrupted"] for o in ran)
    for outcome in ran:  # stopped the way a single run stops: history whole, checked
        run_dir = Path(outcome["run_dir"])
        assert load_operations(run_dir / "history.jsonl")
        assert json.loads((run_dir / "results.json").read_text())["interrupted"] is True
    assert all(o["error"] == "interrupted" for o in outcomes.values() if not o["ran"])
    assert "interrupted" in stdout
    suite = _junit(out / "junit.xml")
    assert suite.tests == 5 and suite.errors == len(ran)


# ---------------------------------------------------------------------------- pytest --chaos-seeds


def _pytest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_pytest_chaos_seeds_makes_an_item_per_seed_under_xdist(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    junit = tmp_path / "pytest.xml"
    experiment = ROOT / "experiments" / "register-memory.yaml"
    done = _pytest(
        "--chaos",
        str(experiment),
        "--chaos-seeds",
        "4",
        "--chaos-no-report",
        "-n",
        "2",
        f"--junitxml={junit}",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout
    cases = [case for suite in JUnitXml.fromfile(str(junit)) for case in suite]
    assert sorted(case.name for case in cases) == [f"register-memory[seed-{n}]" for n in (42, 43, 44, 45)]
    # two workers, four runs started within a second or two: four run directories, one seed each
    run_dirs = sorted((tmp_path / "runs" / "register-memory").iterdir())
    assert len(run_dirs) == 4
    assert sorted(int((d / "seed").read_text()) for d in run_dirs) == [42, 43, 44, 45]
    assert all(json.loads((d / "results.json").read_text())["verdict"] == "valid" for d in run_dirs)


def test_pytest_chaos_seeds_refuses_a_bad_spec(tmp_path: Path) -> None:
    done = _pytest("--chaos", str(ROOT / "experiments" / "register-memory.yaml"), "--chaos-seeds", "0", cwd=tmp_path)
    assert done.returncode == 4  # pytest's usage error
    assert "--chaos-seeds 0: ask for at least one seed" in done.stderr


def test_a_killed_worker_process_costs_nothing(tmp_path: Path) -> None:
    """A local worker process that dies mid-seed breaks the whole pool (the pool ends its
    other workers too): a new pool reruns what was unfinished, and the result says which seeds
    ran twice: the killed one, and any the broken pool took with it."""
    psutil = pytest.importorskip("psutil")
    experiment = tmp_path / "long.yaml"
    experiment.write_text(LONG_SEEDS.replace("duration: 4s", "duration: 1s"))
    out = tmp_path / "batch"
    process = subprocess.Popen(
        [sys.executable, "-m", "chaos", "run", str(experiment), "--seeds", "4", "--jobs", "2", "--out", str(out),
         "--no-progress", "--no-report"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and process.poll() is None:
        for child in psutil.Process(process.pid).children():
            try:
                files = [Path(f.path) for f in child.open_files()]
            except psutil.Error:
                continue
            opened = [f for f in files if f.name == "history.jsonl"]
            if opened:
                child.kill()
                killed = int(opened[0].parent.name.removeprefix("seed-"))
                break
        time.sleep(0.02)
    stdout, stderr = process.communicate(timeout=120)
    assert killed is not None
    assert process.returncode == 0, stdout + stderr
    data = json.loads((out / "results.json").read_text())
    assert sorted(o["seed"] for o in data["outcomes"]) == [1, 2, 3, 4]
    assert all(o["verdict"] == "valid" for o in data["outcomes"])
    assert data["reruns"].get(str(killed)) == 1 and set(data["reruns"].values()) == {1}
    rerun_line = next(line for line in stdout.splitlines() if line.startswith("rerun after their worker was lost"))
    for seed in data["reruns"]:
        assert f"{seed} (ran 2 times)" in rerun_line
