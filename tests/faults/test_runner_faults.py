"""Faults through the runner: what the history records for each kind, determinism from the
seed, no wrapping without faults, and the register experiments (valid under error-after
faults on a correct store, invalid on a store that loses acknowledged writes)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import yaml

from adapters import memory
from adapters.memory import MemoryStore
from chaos.experiment import load, loads
from chaos.faults import FaultyStore
from chaos.history import pair, read_events
from chaos.pipeline import Pipeline

from ..test_runner import assert_history_invariants
from .broken import Recorder

ROOT = Path(__file__).resolve().parents[2]


def experiment(
    faults: str,
    *,
    system: Any = "register",
    ops: int = 300,
    concurrency: int = 4,
    mix: dict[str, int] | None = None,
    stores: dict[str, Any] | None = None,
    seed: int = 5,
) -> str:
    """An experiment's YAML; ``faults`` is the YAML of the ``faults:`` list."""
    return yaml.safe_dump(
        {
            "name": "faults-test",
            "seed": seed,
            "operations": ops,
            "duration": "60s",
            "concurrency": concurrency,
            "stores": stores or {"db": {"adapter": "memory"}},
            "system": system,
            "workload": {"keys": 1, "mix": mix or {"read": 2, "write": 1, "cas": 1}},
            "faults": yaml.safe_load(textwrap.dedent(faults)) or [],
            "checks": [{"model": "cas-register"}],
        },
        sort_keys=False,
    )


async def run(text: str, out: Path, **kwargs: Any) -> Any:
    runner = Pipeline(loads(text), out, **kwargs)
    return runner, await runner.run()


def kept_store() -> tuple[str, dict[str, Any]]:
    """A memory store that keeps its data after the run, to look at what the run left."""
    name = f"faults-{uuid.uuid4().hex[:8]}"
    return name, {"db": {"adapter": "memory", "settings": {"name": name, "keep": True}}}


def stored(name: str, key: str) -> bytes | None:
    found = [v for k, v in memory._SERVERS[name].items() if k.endswith(f"/{key}")]
    return found[0] if found else None


async def test_error_before_is_fail_and_error_after_is_info_with_the_write_done(tmp_path: Path) -> None:
    """One worker writes three times; the third write is hit. The store then holds the third
    value after error-after (it was written) and the second after error-before (it was not)."""
    for kind, status, kept in (("error-before", "fail", 1), ("error-after", "info", 2)):
        name, store = kept_store()
        text = experiment(
            f"- {{kind: {kind}, store: db, op: put, nth: 3}}", ops=3, concurrency=1, mix={"write": 1}, stores=store
        )
        try:
            _, result = await run(text, tmp_path / kind)
            ops = pair(read_events(result.run_dir / "history.jsonl"))
            assert [op.status for op in ops] == ["ok", "ok", status]
            assert "injected fault 0: db.put" in (ops[2].error or "")
            assert stored(name, "k0") == str(ops[kept].value).encode()
            assert result.stats.faults == 1
        finally:
            memory._SERVERS.pop(name, None)


async def test_crash_is_info_and_stops_the_operation_midway(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        name: crash-test
        seed: 1
        operations: 1
        concurrency: 1
        stores:
          blobs: {adapter: memory, settings: {name: crash-blobs, keep: true}}
          db: {adapter: memory, settings: {name: crash-db, keep: true}}
        system: {name: "tests.faults.broken:Swallower", stores: {blobs: blobs, db: db}}
        workload: {keys: 1, mix: {write: 1}}
        faults:
          - {kind: crash, store: blobs, op: put, when: after}
        checks: [{model: register}]
        """
    )
    try:
        _, result = await run(text, tmp_path / "r")
        [op] = pair(read_events(result.run_dir / "history.jsonl"))
        assert (op.status, op.error) == ("info", "crashed after blobs.put took effect")
        assert [v for k, v in memory._SERVERS["crash-blobs"].items() if k.endswith("b/k0")] == [b"1"]
        assert not memory._SERVERS["crash-db"], "the metadata step never ran"
    finally:
        memory._SERVERS.pop("crash-blobs", None)
        memory._SERVERS.pop("crash-db", None)


async def test_every_injected_fault_is_a_nemesis_event_and_counted(tmp_path: Path) -> None:
    text = experiment(
        """\
        - {kind: error-after, store: db, op: [put, cas], probability: 0.1}
        - {kind: error-before, store: db, op: get, every: 7}
        - {kind: latency, store: db, op: cas, delay: 0s, every: 5}
        """,
        ops=400,
    )
    _, result = await run(text, tmp_path / "r")
    events = read_events(result.run_dir / "history.jsonl")
    assert_history_invariants(result.run_dir / "history.jsonl")
    fault_events = [e for e in events if e["process"] == "nemesis"]
    assert {e["f"] for e in fault_events} == {"error-after", "error-before", "latency"}
    assert all(
        e["type"] == "info" and {"fault", "store", "op", "key", "actor", "when"} <= e["value"].keys()
        for e in fault_events
    )
    assert result.stats.faults == len(fault_events)
    ops = pair(events)
    info = [op for op in ops if op.status == "info"]
    assert len(info) == sum(1 for e in fault_events if e["f"] == "error-after")
    assert result.verdict == "valid", "info operations are handled by the checker"


def fault_trace(path: Path) -> list[tuple[Any, ...]]:
    return [
        (e["f"], e["value"]["fault"], e["value"]["op"], e["value"]["actor"], e["index"])
        for e in read_events(path)
        if e["process"] == "nemesis"
    ]


async def test_same_seed_same_faults_at_the_same_calls(tmp_path: Path) -> None:
    faults = """\
    - {kind: error-after, store: db, op: [put, cas], probability: 0.2}
    - {kind: error-before, store: db, probability: 0.1}
    - {kind: crash, store: db, op: get, when: before, probability: 0.05}
    """
    _, first = await run(experiment(faults, ops=500), tmp_path / "a")
    _, second = await run(experiment(faults, ops=500), tmp_path / "b")
    _, other = await run(experiment(faults, ops=500, seed=6), tmp_path / "c")
    trace = fault_trace(first.run_dir / "history.jsonl")
    assert trace and trace == fault_trace(second.run_dir / "history.jsonl")
    assert trace != fault_trace(other.run_dir / "history.jsonl")


async def test_virtual_time_makes_latency_faults_reproducible(tmp_path: Path) -> None:
    """Latency reorders calls; on virtual time the reordering itself follows the seed, so two
    runs give the same history, operation for operation."""
    faults = """\
    - {kind: latency, store: db, delay: {min: 1ms, max: 50ms}, probability: 0.5, when: both}
    - {kind: error-after, store: db, op: [put, cas], probability: 0.1}
    """

    def trace(result: Any) -> list[tuple[Any, ...]]:
        return [
            (e["process"], e["type"], e["f"], json.dumps(e.get("value")))
            for e in read_events(result.run_dir / "history.jsonl")
        ]

    text = experiment(faults, ops=300).replace("faults:", "clock: virtual\nfaults:")
    _, first = await run(text, tmp_path / "a")
    _, second = await run(text, tmp_path / "b")
    assert trace(first) == trace(second)
    assert any(e[2] == "latency" for e in trace(first)) and first.verdict == "valid"


async def test_no_faults_no_wrapping_and_untargeted_stores_stay_bare(tmp_path: Path) -> None:
    Recorder.seen.clear()
    await run(experiment("[]", system="tests.faults.broken:Recorder", ops=10), tmp_path / "none")
    assert Recorder.seen and all(type(s) is MemoryStore for s in Recorder.seen)
    Recorder.seen.clear()
    text = experiment(
        "- {kind: error-before, store: other}",
        ops=10,
        system={"name": "tests.faults.broken:Recorder", "stores": {"store": "db"}},
        stores={"db": {"adapter": "memory"}, "other": {"adapter": "memory"}},
    )
    runner, _ = await run(text, tmp_path / "other")
    assert runner.faults is not None
    assert Recorder.seen and all(type(s) is MemoryStore for s in Recorder.seen)
    Recorder.seen.clear()
    await run(
        experiment(
            "- {kind: error-before, store: db, op: put, probability: 0}\n",
            system="tests.faults.broken:Recorder",
            ops=10,
        ),
        tmp_path / "zero",
    )
    assert Recorder.seen and all(isinstance(s, FaultyStore) for s in Recorder.seen)
    assert all(s.get == s.store.get for s in Recorder.seen), "get is not targeted: the adapter's own method"


async def test_register_experiment_with_error_after_faults_is_valid(tmp_path: Path) -> None:
    loaded = load(ROOT / "experiments" / "register-faults-memory.yaml")
    result = await Pipeline(loaded, tmp_path / "r").run()
    ops = pair(read_events(result.run_dir / "history.jsonl"))
    assert sum(op.status == "info" for op in ops) > 0, "the faults made some operations indeterminate"
    assert result.stats.faults > 0
    assert (result.verdict, result.exit_code) == ("valid", 0)


def test_lossy_store_experiment_is_found_invalid_through_the_cli(tmp_path: Path) -> None:
    """The same experiment on a store that loses acknowledged writes: ``chaos run`` finds the
    violation, which is what that experiment expects (exit code 0)."""
    path = ROOT / "experiments" / "register-faults-lossy.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "chaos", "run", str(path), "--out", str(tmp_path / "r")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "r" / "results.json").read_bytes())
    assert results["verdict"] == "invalid"
    assert results["operations"]["faults_injected"] > 0
