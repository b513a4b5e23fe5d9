"""The runner end to end on the in-memory store: history invariants, verdicts, determinism."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from chaos.experiment import ExperimentError, loads
from chaos.history import pair, read_events
from chaos.pipeline import Pipeline, run_experiment
from tests.systems import HoardingRegister


def experiment(system: str = "register", *, expect: str = "valid", ops: int = 600, extra: str = "") -> str:
    return (
        textwrap.dedent(
            f"""\
        name: runner-test
        seed: 7
        operations: {ops}
        duration: 30s
        concurrency: 6
        stores:
          db: {{adapter: memory}}
        system: {system}
        workload:
          keys: 2
          mix: {{read: 2, write: 1, cas: 1}}
        checks:
          - model: cas-register
        expect: {expect}
        """
        )
        + extra
    )


def assert_history_invariants(path: Path) -> None:
    """Each invoke has exactly one completion; no process has two operations outstanding;
    indices strictly increase; times never go backwards for a process."""
    events = read_events(path)
    indices = [e["index"] for e in events]
    assert indices == sorted(set(indices)), "indices must strictly increase"
    open_by_process: dict[object, dict] = {}
    for event in events:
        process = event["process"]
        if process == "nemesis":
            continue
        if event["type"] == "invoke":
            assert process not in open_by_process, f"process {process} has two operations outstanding"
            open_by_process[process] = event
        else:
            invoke = open_by_process.pop(process)
            assert invoke["f"] == event["f"] and invoke["key"] == event["key"]
            assert event["time"] >= invoke["time"]
    assert not open_by_process, "every invoke needs a completion"


async def test_correct_register_is_valid(tmp_path: Path) -> None:
    result = await run_experiment(loads(experiment()), tmp_path / "run")
    assert result.verdict == "valid"
    assert result.exit_code == 0
    assert result.stats.completed == 600
    assert_history_invariants(result.run_dir / "history.jsonl")
    results = json.loads((result.run_dir / "results.json").read_text())
    # The memory store runs in this process, so the operations cost this process CPU time.
    assert result.stats.client_cpu > 0
    assert results["operations"]["client_cpu_seconds"] == round(result.stats.client_cpu, 3)
    assert (result.run_dir / "seed").read_text().strip() == "7"


async def test_stale_reads_are_found_invalid(tmp_path: Path) -> None:
    result = await run_experiment(loads(experiment("tests.systems:StaleRegister", expect="invalid")), tmp_path / "r")
    assert result.verdict == "invalid"
    assert result.exit_code == 0  # a violation was expected and found
    counterexample = result.checks[0].counterexample
    assert counterexample is not None and counterexample.failed


async def test_lost_writes_are_found_invalid(tmp_path: Path) -> None:
    result = await run_experiment(loads(experiment("tests.systems:LostWriteRegister")), tmp_path / "r")
    assert result.verdict == "invalid"
    assert result.exit_code == 1  # expected valid, found a violation


async def test_same_seed_same_requests(tmp_path: Path) -> None:
    """Every worker issues the same sequence of requests for the same seed."""

    def requests(run_dir: Path) -> dict[int, list[tuple]]:
        by_worker: dict[int, list[tuple]] = {}
        for op in pair(read_events(run_dir / "history.jsonl")):
            worker = int(op.process) % 6
            by_worker.setdefault(worker, []).append((op.f, op.key, repr(op.value)))
        return by_worker

    first = await run_experiment(loads(experiment(ops=300)), tmp_path / "a")
    second = await run_experiment(loads(experiment(ops=300)), tmp_path / "b")
    a, b = requests(first.run_dir), requests(second.run_dir)
    for worker in range(6):
        shorter = min(len(a[worker]), len(b[worker]))
        assert shorter > 10
        assert a[worker][:shorter] == b[worker][:shorter]
    other = await run_experiment(loads(experiment(ops=300)), tmp_path / "c", seed=8)
    assert requests(other.run_dir)[0][:10] != a[0][:10]


async def test_shared_servers_take_one_request_at_a_time(tmp_path: Path) -> None:
    text = experiment().replace("system: register", "system: {name: register, servers: 2}")
    result = await run_experiment(loads(text), tmp_path / "r")
    assert result.verdict == "valid"
    assert_history_invariants(result.run_dir / "history.jsonl")


async def test_interrupt_records_in_flight_operations_as_info(tmp_path: Path) -> None:
    """Interrupting mid-run leaves a complete, checkable history and exit code 130."""
    import asyncio

    text = experiment(ops=10_000_000).replace("duration: 30s", "duration: 60s")
    runner = Pipeline(loads(text), tmp_path / "r")

    async def interrupt_soon() -> None:
        while runner.stats.completed < 500:
            await asyncio.sleep(0.01)
        runner.interrupt()

    stopper = asyncio.create_task(interrupt_soon())
    result = await runner.run()
    await stopper
    assert result.interrupted and result.exit_code == 130
    assert result.verdict == "valid"
    events = read_events(result.run_dir / "history.jsonl")
    interrupted = [e for e in events if e.get("error") == "interrupted"]
    assert 1 <= len(interrupted) <= 6
    assert_history_invariants(result.run_dir / "history.jsonl")


async def test_operation_timeout_records_info(tmp_path: Path) -> None:
    text = experiment("tests.systems:SlowRegister", ops=12).replace(
        "  keys: 2\n", "  keys: 2\n  operation_timeout: 50ms\n"
    )
    result = await run_experiment(loads(text), tmp_path / "r")
    events = read_events(result.run_dir / "history.jsonl")
    timeouts = [e for e in events if e["type"] == "info"]
    assert timeouts and all(e["error"] == "timeout after 0.05s" for e in timeouts)
    assert result.verdict == "valid"
    assert_history_invariants(result.run_dir / "history.jsonl")


@pytest.mark.parametrize("servers", [1, 3])
async def test_unknown_operation_is_bad_input_before_anything_runs(tmp_path: Path, servers: int) -> None:
    text = experiment(ops=20).replace("mix: {read: 2, write: 1, cas: 1}", "mix: {read: 1, frobnicate: 1}")
    text = text.replace("system: register", f"system: {{name: register, servers: {servers}}}")
    with pytest.raises(ExperimentError, match=r"workload\.mix\.frobnicate: system 'register' has no operation"):
        await run_experiment(loads(text), tmp_path / "r")
    assert not (tmp_path / "r").exists(), "refused before a run directory or a store"


async def test_a_value_json_cannot_hold_is_recorded_as_text(tmp_path: Path) -> None:
    """A system returned a list that contains itself: every read is still recorded, as text,
    and the history stays whole and checkable (the model then finds the reads wrong)."""
    result = await run_experiment(loads(experiment("tests.systems:SelfContainingRead", expect="invalid")), tmp_path)
    assert result.verdict == "invalid"
    assert_history_invariants(result.run_dir / "history.jsonl")
    reads = [e for e in read_events(result.run_dir / "history.jsonl") if e["f"] == "read" and e["type"] == "ok"]
    assert reads and all(e["value"] == f"['{e['key']}', [...]]" for e in reads)


def test_roles_bind_to_stores_of_their_name_then_to_the_lone_store() -> None:
    from chaos.system import SystemLoadError, bind_roles

    class TwoRoles:
        roles = ("db", "blobs")

    class OneRole:
        roles = ("store",)

    assert bind_roles(TwoRoles, {}, ["blobs", "db"]) == {"db": "db", "blobs": "blobs"}
    assert bind_roles(TwoRoles, {"db": "main"}, ["main", "blobs"]) == {"db": "main", "blobs": "blobs"}
    assert bind_roles(OneRole, {}, ["main"]) == {"store": "main"}
    with pytest.raises(SystemLoadError, match=r"needs store role\(s\) blobs: map them under system.stores"):
        bind_roles(TwoRoles, {}, ["db", "other"])


async def test_the_memory_limit_stops_the_run_as_unknown(tmp_path: Path) -> None:
    """Out of memory is an answer: past ``memory_limit`` the run stops, the history so far is
    checked, and the outcome is unknown naming the limit."""
    from chaos.checker.budget import rss_bytes

    limit = rss_bytes() + (32 << 20)  # 32 MiB of growth: a few thousand of its writes
    text = experiment("tests.systems:HoardingRegister", ops=50_000_000).replace("duration: 30s", "duration: 60s")
    text = text.replace("mix: {read: 2, write: 1, cas: 1}", "mix: {read: 1, write: 1}")
    text = text.replace("cas-register", "register")
    text += f"memory_limit: {limit}\n"
    result = await run_experiment(loads(text), tmp_path / "r", report=False)
    assert result.execution.ended == "memory" and result.verdict == "unknown" and result.exit_code == 2
    assert "memory limit" in result.reason and result.stats.completed < 50_000_000
    HoardingRegister.hoard.clear()
    assert_history_invariants(result.run_dir / "history.jsonl")
