"""Healing: every fault is removed, paused servers resume and proxies close at the end of a
run, on Ctrl-C and on an exception in the runner, before the history is checked. Also the
runner end to end with network faults against PostgreSQL, and with virtual time."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml

import adapters
from chaos.experiment import loads
from chaos.history import pair, read_events
from chaos.pipeline import Pipeline
from chaos.stats import Stats
from chaos.system import SystemCodeError

from ..test_runner import assert_history_invariants


def experiment(faults: list[dict[str, Any]], **overrides: Any) -> str:
    data: dict[str, Any] = {
        "name": "heal-test",
        "seed": 1,
        "duration": "1s",
        "concurrency": 2,
        "stores": {"db": {"adapter": "memory"}},
        "system": "register",
        "workload": {"keys": 1, "mix": {"read": 1, "write": 1}, "rate": 200},
        "faults": faults,
        "checks": [{"model": "cas-register"}],
    }
    data.update(overrides)
    return yaml.safe_dump(data, sort_keys=False)


PAUSE_SERVER_0 = [{"kind": "pause", "actor": "server-0", "active": {"start": "100ms"}}]


def nemesis(path: Path) -> list[dict[str, Any]]:
    return [e for e in read_events(path) if e["process"] == "nemesis"]


async def test_end_of_run_heals_before_checking(tmp_path: Path) -> None:
    runner = Pipeline(loads(experiment(PAUSE_SERVER_0)), tmp_path / "r")
    result = await runner.run()
    history = result.run_dir / "history.jsonl"
    assert runner.faults is not None and runner.faults.healed
    [start, end] = nemesis(history)
    assert (start["value"]["phase"], end["value"]["phase"], end["value"]["reason"]) == ("start", "end", "healed")
    # server 0's worker was held by the pause; once healed its operation completed normally
    events = read_events(history)
    server0 = [e for e in events if e["process"] == 0 and e["type"] != "invoke"]
    assert server0[-1]["index"] > end["index"] and server0[-1]["type"] == "ok"
    assert_history_invariants(history)
    assert result.verdict == "valid" and result.stats.faults == 1


async def test_ctrl_c_heals(tmp_path: Path) -> None:
    sent = []

    def progress(stats: Stats) -> None:
        if stats.faults and not sent:  # the pause is on: interrupt now
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)

    runner = Pipeline(loads(experiment(PAUSE_SERVER_0, duration="30s")), tmp_path / "r", on_progress=progress)
    result = await runner.run()
    assert sent and result.interrupted and result.exit_code == 130
    assert runner.faults is not None and runner.faults.healed
    phases = [(e["value"]["phase"], e["value"].get("reason")) for e in nemesis(result.run_dir / "history.jsonl")]
    assert phases == [("start", None), ("end", "healed")]
    assert_history_invariants(result.run_dir / "history.jsonl")


async def test_an_exception_in_the_runner_heals(tmp_path: Path) -> None:
    faults = [{"kind": "pause", "actor": "server-*", "active": {"start": "1ms"}}]
    runner = Pipeline(loads(experiment(faults, system="tests.faults.broken:FailingSetup")), tmp_path / "r")
    with pytest.raises(SystemCodeError, match="setup failed"):
        await runner.run()
    assert runner.faults is not None and runner.faults.healed
    phases = [(e["value"]["phase"], e["value"].get("reason")) for e in nemesis(tmp_path / "r" / "history.jsonl")]
    assert phases == [("start", None), ("end", "healed")]


# ------------------------------------------------------------------------------ network faults through the runner


@pytest.fixture
def pgtest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(adapters.BACKENDS, "pgtest", "tests.faults.pgstore:PgStore")


async def refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


async def test_an_exception_in_the_runner_closes_proxies(tmp_path: Path, pg_dsn: str, pgtest: None) -> None:
    faults = [{"kind": "network", "store": "db", "toxic": "latency", "latency": "1ms"}]
    text = experiment(
        faults,
        system="tests.faults.broken:FailingSetup",
        stores={"db": {"adapter": "pgtest", "settings": {"dsn": pg_dsn}}},
    )
    runner = Pipeline(loads(text), tmp_path / "r")
    with pytest.raises(SystemCodeError, match="setup failed"):
        await runner.run()
    assert runner.faults is not None and runner.faults.healed
    [proxy] = runner.faults.proxies
    assert proxy.connections >= 1, "the store really went through the proxy"
    assert await refused(proxy.port), "the proxy is closed"
    phases = [e["value"]["phase"] for e in nemesis(tmp_path / "r" / "history.jsonl") if "phase" in e["value"]]
    assert phases == ["start", "end"]


async def test_network_faults_against_postgres_through_the_runner(tmp_path: Path, pg_dsn: str, pgtest: None) -> None:
    # resets start half a second in (after the store opened), on half of the connections
    faults = [
        {
            "kind": "network",
            "store": "db",
            "toxic": "reset_peer",
            "timeout": 0,
            "probability": 0.5,
            "active": {"start": "500ms"},
        },
        {"kind": "network", "store": "db", "toxic": "latency", "latency": "2ms", "direction": "both"},
    ]
    text = experiment(
        faults,
        duration="1500ms",
        concurrency=3,
        stores={"db": {"adapter": "pgtest", "settings": {"dsn": pg_dsn}}},
        workload={"keys": 1, "mix": {"read": 2, "write": 1, "cas": 1}, "rate": 100},
    )
    runner = Pipeline(loads(text), tmp_path / "r")
    result = await runner.run()
    history = result.run_dir / "history.jsonl"
    assert_history_invariants(history)
    events = nemesis(history)
    assert {e["value"]["toxic"] for e in events} == {"reset_peer", "latency"}
    assert all(e["f"] == "network" and e["type"] == "info" for e in events)
    assert any(e["value"].get("action") == "reset" for e in events)
    assert result.verdict == "valid"
    assert result.stats.faults == sum(1 for e in events if e["value"].get("phase") != "end")
    [proxy] = runner.faults.proxies  # type: ignore[union-attr]
    assert proxy.connections >= 1 and await refused(proxy.port)
    stored = (result.run_dir / "experiment.yaml").read_text()
    assert pg_dsn in stored and f":{proxy.port}" not in stored, "the stored experiment keeps the real address"


# ------------------------------------------------------------------------------ virtual time


async def test_virtual_time_runs_a_two_hour_pause_at_once(tmp_path: Path) -> None:
    faults = [{"kind": "pause", "store": "db", "op": "put", "actor": "server-0", "duration": "2h", "nth": 1}]
    text = experiment(
        faults, clock="virtual", operations=60, duration="60s", workload={"keys": 1, "mix": {"read": 1, "write": 1}}
    )
    result = await Pipeline(loads(text), tmp_path / "r").run()
    [start, end] = nemesis(result.run_dir / "history.jsonl")
    assert end["value"]["reason"] == "elapsed"
    assert end["value"]["clock"] - start["value"]["clock"] == 7200.0
    ops = pair(read_events(result.run_dir / "history.jsonl"))
    assert len(ops) == 60 and all(op.status == "ok" for op in ops)
    assert result.verdict == "valid"


async def test_network_faults_with_the_postgres_adapter(tmp_path: Path, pg_dsn: str) -> None:
    """The project's own postgres adapter, pointed at the proxy by rewriting its dsn."""
    faults = [
        {
            "kind": "network",
            "store": "db",
            "toxic": "limit_data",
            "bytes": "2KB",
            "direction": "upstream",
            "probability": 0.5,
        },
        {"kind": "network", "store": "db", "toxic": "latency", "latency": "1ms", "jitter": "1ms"},
    ]
    text = experiment(
        faults,
        operations=200,
        duration="60s",
        concurrency=4,
        stores={"db": {"adapter": "postgres", "settings": {"dsn": pg_dsn}}},
        workload={"keys": 1, "mix": {"read": 2, "write": 1, "cas": 1}},
    )
    runner = Pipeline(loads(text), tmp_path / "r")
    result = await runner.run()
    history = result.run_dir / "history.jsonl"
    assert_history_invariants(history)
    assert result.verdict == "valid"
    [proxy] = runner.faults.proxies  # type: ignore[union-attr]
    assert proxy.connections >= 1 and proxy.bytes["upstream"] > 0
    assert await refused(proxy.port)
    cuts = [e for e in nemesis(history) if e["value"].get("action") == "cut"]
    assert cuts, "requests were cut mid-stream"
    assert any(op.status == "info" for op in pair(read_events(history))), "and operations in flight became info"
