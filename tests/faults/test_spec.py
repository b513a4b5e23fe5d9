"""Fault declarations: every mistake is a schema problem listed with its path and line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chaos.experiment import ExperimentError, load, loads
from chaos.faults.spec import Active

ROOT = Path(__file__).resolve().parents[2]

HEAD = """\
name: spec-test
operations: 10
stores:
  db: {adapter: memory}
  pg: {adapter: postgres, settings: {dsn: "postgresql://u@127.0.0.1:5432/test"}}
system: {name: register, stores: {store: db}}
checks: [{model: cas-register}]
faults:
"""


def problems(faults: str) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ExperimentError) as caught:
        loads(HEAD + faults)
    return [(p.path, p.line, p.message) for p in caught.value.problems]


def test_every_bad_declaration_is_listed_with_its_path_and_line() -> None:
    found = problems(
        """\
  - kind: explode
  - kind: error-before
    probability: 1.5
  - kind: latency
    store: db
  - kind: crash
  - kind: network
    store: pg
    toxic: latency
  - kind: network
    store: pg
  - kind: pause
  - kind: stall
    op: [get, frob]
  - kind: latency
    delay: {min: 5ms}
"""
    )
    by_path = {path: (line, message) for path, line, message in found}
    assert by_path["faults.0.kind"][0] == 9 and "unknown kind 'explode'" in by_path["faults.0.kind"][1]
    assert by_path["faults.1.probability"][0] == 11
    assert by_path["faults.2.delay"] == (12, "required field is missing")
    assert by_path["faults.3.when"] == (14, "required field is missing")
    assert by_path["faults.4.latency"] == (15, "required field is missing")
    assert by_path["faults.5.toxic"][0] == 18 and "latency, bandwidth" in by_path["faults.5.toxic"][1]
    assert "duration" in by_path["faults.6"][1]
    assert "unknown operation frob" in by_path["faults.7.op"][1]
    assert "give a delay as" in by_path["faults.8.delay"][1]
    assert len(found) == 9


def test_a_target_naming_no_store() -> None:
    assert problems("  - {kind: error-after, store: nope}\n") == [
        ("faults.0.store", 9, "no store named 'nope' in stores")
    ]


def test_a_network_fault_needs_a_store_with_a_server_address() -> None:
    [(path, line, message)] = problems("  - {kind: network, store: db, toxic: down}\n")
    assert (path, line) == ("faults.0.store", 9)
    assert "no server address" in message


def test_virtual_time_needs_in_memory_stores() -> None:
    with pytest.raises(ExperimentError) as caught:
        loads(HEAD.replace("faults:\n", "clock: virtual\n"))
    assert "virtual time needs in-memory stores" in str(caught.value)


def test_kind_specific_rules() -> None:
    assert "choose one of" in problems("  - {kind: error-before, every: 2, nth: 3}\n")[0][2]
    assert "needs actor" in problems("  - {kind: pause, active: {start: 1h, end: 2h}}\n")[0][2]
    assert (
        "only for a pause with a duration"
        in problems("  - {kind: pause, actor: server-1, store: db, active: {start: 1h}}\n")[0][2]
    )
    assert (
        "size_variation"
        in problems("  - {kind: network, store: pg, toxic: slicer, average_size: 10, size_variation: 10}\n")[0][2]
    )
    assert "both on and off" in problems("  - {kind: latency, delay: 1ms, active: {on: 5s}}\n")[0][2]
    backwards = "  - {kind: latency, delay: 1ms, active: {start: 5s, end: 1s}}\n"
    assert "end must be after start" in problems(backwards)[0][2]


def test_a_good_declaration_of_every_kind() -> None:
    faults = yaml.safe_load(
        """
        - {kind: error-before, store: db, op: get, every: 10}
        - {kind: error-after, store: db, op: [put, cas], probability: 0.1, error: timeout}
        - {kind: crash, store: db, op: put, when: after, nth: 3}
        - {kind: latency, delay: {mean: 5ms, max: 50ms}, when: both, active: {on: 5s, off: 5s}}
        - {kind: stall, store: db, key: 'u*', duration: 1h, probability: 0.01}
        - {kind: pause, actor: server-0, store: db, op: put, duration: 2h, nth: 1}
        - {kind: pause, actor: server-1, active: {start: 10s, end: 20s}}
        - {kind: network, store: pg, toxic: latency, latency: 50ms, jitter: 10ms}
        - {kind: network, store: pg, toxic: bandwidth, rate: 64KB, direction: upstream}
        - {kind: network, store: pg, toxic: down, mode: drop, active: {start: 5s, end: 8s}}
        - {kind: network, store: pg, toxic: timeout, timeout: 2s, probability: 0.5}
        - {kind: network, store: pg, toxic: reset_peer, timeout: 100ms}
        - {kind: network, store: pg, toxic: limit_data, bytes: 1KB, direction: upstream}
        - {kind: network, store: pg, toxic: slicer, average_size: 64, size_variation: 32, delay: 1ms}
        """
    )
    listed = "".join(f"  - {yaml.safe_dump(f, default_flow_style=True)}" for f in faults)
    experiment = loads(HEAD + listed).experiment
    kinds = [(f.kind, getattr(f, "toxic", None)) for f in experiment.faults]
    assert len(kinds) == 14
    cycle = experiment.faults[3].active
    assert cycle is not None and (cycle.on, cycle.off) == (5.0, 5.0), "YAML's on/off booleans are read as keys"


def test_cycles_and_windows() -> None:
    cycle = Active(on=5, off=5, start=10, end=40)
    assert [t for t in range(0, 45) if cycle.is_active(t)] == [*range(10, 15), *range(20, 25), *range(30, 35)]
    assert cycle.next_phase(-1) == (10, 15)
    assert cycle.next_phase(15) == (20, 25)
    assert cycle.next_phase(36) is None
    window = Active(start=5)
    assert window.next_phase(100) == (5, None) and window.is_active(1e9)


def test_the_fault_experiments_are_valid() -> None:
    for name in ("register-faults-memory.yaml", "register-faults-lossy.yaml"):
        assert load(ROOT / "experiments" / name).experiment.faults
