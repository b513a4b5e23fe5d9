"""Deterministic exploration and shrinking: the seed's counterexamples, found as the model
checker found them and shrunk to as few operations; correct designs pass their bounded search;
replays reproduce histories byte for byte."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from chaos.experiment import load, loads
from chaos.exploration import Explorer, trace_lines
from chaos.pipeline import Pipeline

ROOT = Path(__file__).resolve().parent.parent
EXPLORE = ROOT / "experiments" / "explore"


def explore(name: str, tmp_path: Path):
    result = Pipeline(load(EXPLORE / f"{name}.yaml"), tmp_path / name).run_sync()
    return result, result.exploration


def client_ops(execution) -> list[tuple[str, str]]:
    return [(e["f"], e["type"]) for e in execution.events if e["process"] != "nemesis" and e["type"] != "invoke"]


def faults(execution) -> list[str]:
    return [e["f"] for e in execution.events if e["process"] == "nemesis"]


def test_naive_one_server_write_crashes_after_db_step_then_read(tmp_path: Path) -> None:
    result, exploration = explore("profile-naive-1", tmp_path)
    assert result.verdict == "invalid" and result.exit_code == 0
    best = exploration.shrunk
    assert best is not None and best.execution.plan.operations == 2
    assert client_ops(best.execution) == [("write", "info"), ("read", "ok")]
    assert faults(best.execution) == ["crash"]
    read = next(e for e in best.execution.events if e["f"] == "read" and e["type"] == "ok")
    assert read["value"] == ["m1", None]  # new metadata, no image


def test_improved_one_server_is_the_seed_trace(tmp_path: Path) -> None:
    """A good write, a write that crashes after overwriting the blob, a read of the mixed pair."""
    _, exploration = explore("profile-improved-1", tmp_path)
    best = exploration.shrunk
    assert best is not None and best.execution.plan.operations == 3
    assert client_ops(best.execution) == [("write", "ok"), ("write", "info"), ("read", "ok")]
    assert faults(best.execution) == ["crash"]
    steps = [s.what for s in best.execution.steps]
    crash = next(s for s in best.execution.steps if s.fault)
    assert crash.what.startswith("db.put")  # after the blob overwrite, before the metadata
    assert any(w.startswith("blobs.put(u1, i2)") for w in steps)
    read = next(e for e in best.execution.events if e["f"] == "read" and e["type"] == "ok")
    assert read["value"] == ["m1", "i2"]


@pytest.mark.parametrize(("design", "operations"), [("naive", 2), ("improved", 3)])
def test_two_servers_race_without_crashes(tmp_path: Path, design: str, operations: int) -> None:
    _, exploration = explore(f"profile-{design}-2", tmp_path)
    best = exploration.shrunk
    assert best is not None and best.execution.plan.operations == operations
    assert faults(best.execution) == []
    assert {s.actor for s in best.execution.steps} == {"server-0", "server-1"}


def test_working_design_passes_the_whole_bounded_space(tmp_path: Path) -> None:
    result, exploration = explore("profile-working-2", tmp_path)
    assert result.verdict == "valid" and result.exit_code == 0
    assert exploration.exhausted and exploration.found is None
    assert exploration.executions > 1000 and exploration.states > 1000
    assert not (result.run_dir / "replay.json").exists()


@pytest.mark.parametrize("design", ["naive", "improved"])
def test_broken_cleaners_are_found_and_shrunk(tmp_path: Path, design: str) -> None:
    _, exploration = explore(f"profile-cleaner-{design}", tmp_path)
    best = exploration.shrunk
    assert best is not None and best.execution.plan.operations == 2
    deleted = [s for s in best.execution.steps if s.actor == "cleaner" and s.what.startswith("blobs.delete")]
    assert deleted, "the cleaner deleted the blob the read needed"
    read = next(e for e in best.execution.events if e["f"] == "read" and e["type"] == "ok")
    assert read["value"][1] is None
    if design == "improved":
        assert faults(best.execution) == ["pause"]  # a two-hour stall between blob and database
    else:
        assert faults(best.execution) == []


@pytest.mark.slow
def test_kill_cleaner_needs_a_writer_a_reader_and_the_cleaner(tmp_path: Path) -> None:
    _, exploration = explore("profile-cleaner-kill", tmp_path)
    best = exploration.shrunk
    assert best is not None and best.execution.plan.operations == 3
    assert client_ops(best.execution) == [("write", "ok"), ("write", "ok"), ("read", "ok")] or sorted(
        client_ops(best.execution)
    ) == [("read", "ok"), ("write", "ok"), ("write", "ok")]
    actors = {s.actor for s in best.execution.steps}
    assert actors == {"server-0", "server-1", "cleaner"}


@pytest.mark.slow
def test_working_cleaner_passes_its_bounded_search(tmp_path: Path) -> None:
    result, exploration = explore("profile-cleaner-working", tmp_path)
    assert result.verdict == "valid" and exploration.exhausted
    assert exploration.executions > 10_000


@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_sampling_strategies_find_the_race(tmp_path: Path, strategy: str) -> None:
    loaded = load(EXPLORE / "profile-improved-2.yaml")
    experiment = loaded.experiment.model_copy(
        update={"explore": loaded.experiment.explore.model_copy(update={"strategy": strategy, "max_operations": 4})}
    )
    exploration = Explorer(experiment, seed=5).explore()
    assert exploration.found is not None
    assert exploration.executions < 5000


def test_same_seed_same_execution() -> None:
    experiment = load(EXPLORE / "profile-improved-2.yaml").experiment
    experiment = experiment.model_copy(
        update={"explore": experiment.explore.model_copy(update={"strategy": "random", "max_operations": 4})}
    )
    first = Explorer(experiment, seed=11).explore()
    second = Explorer(experiment, seed=11).explore()
    assert first.found is not None and second.found is not None
    assert first.executions == second.executions
    assert first.found.execution.events == second.found.execution.events


def test_replay_in_a_fresh_process_is_byte_identical(tmp_path: Path) -> None:
    result, exploration = explore("profile-improved-2", tmp_path)
    replay = result.run_dir / "replay.json"
    assert replay.exists() and (result.run_dir / "trace.txt").exists()
    out = tmp_path / "replayed"
    done = subprocess.run(
        [sys.executable, "-m", "chaos", "replay", str(replay), "--out", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # the replay shows the violation
    assert (out / "history.jsonl").read_bytes() == (result.run_dir / "history.jsonl").read_bytes()
    assert "\n".join(trace_lines(exploration.shrunk.execution)) in done.stdout


def test_chaos_run_explore_end_to_end(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "chaos", "run", str(EXPLORE / "profile-improved-1.yaml"), "--out", str(tmp_path / "r")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "executions/s" in done.stdout and "violation with 3 operations" in done.stdout
    assert "chaos replay" in done.stdout
    for name in ("history.jsonl", "results.json", "replay.json", "trace.txt", "junit.xml", "report.html"):
        assert (tmp_path / "r" / name).exists(), name


def test_explore_refuses_real_stores() -> None:
    from chaos.experiment import ExperimentError, loads

    text = (EXPLORE / "profile-naive-1.yaml").read_text().replace("db: {adapter: memory}", "db: {adapter: postgres}")
    with pytest.raises(ExperimentError, match="in-memory stores only"):
        loads(text)


def test_pytest_plugin_runs_explore_experiments(tmp_path: Path) -> None:
    from chaos.pytest_plugin import run_file

    result = run_file(EXPLORE / "profile-naive-1.yaml", out=tmp_path / "run")
    assert result.exit_code == 0 and result.verdict == "invalid"
    assert result.checks and result.checks[0].verdict == "invalid"


def test_an_actor_that_only_calls_stores_steps_between_the_servers(tmp_path: Path) -> None:
    """No pause, no clock: the evictor loops on store calls, and still interleaves with the
    servers (parked after explore.actor_steps awake steps, so every execution ends)."""
    text = """
        name: evicting-cache
        mode: explore
        stores: {db: {adapter: memory}, cache: {adapter: memory}}
        system: {name: "tests.systems:CacheFirstRegister", servers: 2}
        workload: {keys: 1, mix: {read: 1, write: 1}}
        checks: [{model: register}]
        explore: {max_operations: 3, crashes: 0}
        expect: invalid
    """
    result = Pipeline(loads(textwrap.dedent(text)), tmp_path / "r").run_sync()
    assert result.verdict == "invalid" and result.exit_code == 0
    best = result.exploration.shrunk
    assert best is not None and best.execution.plan.operations == 3
    actors = [s.actor for s in best.execution.steps]
    assert "evictor" in actors
    reads = [i for i, s in enumerate(best.execution.steps) if s.actor != "evictor" and "cache.get" in s.what]
    evicted = [i for i, s in enumerate(best.execution.steps) if s.actor == "evictor" and "cache.delete" in s.what]
    assert evicted and reads[0] < evicted[0] < reads[-1], "the eviction falls between the two reads"
