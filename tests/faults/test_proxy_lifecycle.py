"""The proxy's thread and sockets never outlive it: not at the end of a run, not on Ctrl-C, not
when closing is itself interrupted."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

import adapters
from chaos.clock import ScaledClock
from chaos.experiment import loads
from chaos.faults import FaultLayer
from chaos.history import read_events
from chaos.pipeline import Pipeline
from chaos.stats import Stats

from ..test_runner import assert_history_invariants
from .conftest import specs


def proxy_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("chaos-proxy-")]


async def refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


@pytest.fixture
def pgtest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(adapters.BACKENDS, "pgtest", "tests.faults.pgstore:PgStore")


async def test_ctrl_c_leaves_no_listener_or_thread(tmp_path: Path, pg_dsn: str, pgtest: None) -> None:
    sent: list[bool] = []
    seen: list[list[str]] = []

    def progress(stats: Stats) -> None:
        if stats.faults and stats.completed > 5 and not sent:  # toxics on, operations flowing: interrupt
            sent.append(True)
            seen.append([t.name for t in proxy_threads()])
            os.kill(os.getpid(), signal.SIGINT)

    faults = [{"kind": "network", "store": "db", "toxic": "latency", "latency": "1ms", "direction": "both"}]
    text = yaml.safe_dump(
        {
            "name": "proxy-interrupt",
            "seed": 1,
            "duration": "30s",
            "concurrency": 2,
            "stores": {"db": {"adapter": "pgtest", "settings": {"dsn": pg_dsn}}},
            "system": "register",
            "workload": {"keys": 1, "mix": {"read": 1, "write": 1}, "rate": 200},
            "faults": faults,
            "checks": [{"model": "cas-register"}],
        },
        sort_keys=False,
    )
    runner = Pipeline(loads(text), tmp_path / "r", on_progress=progress)
    result = await runner.run()
    assert sent and result.interrupted and result.exit_code == 130
    assert seen == [["chaos-proxy-db"]], "the proxy ran on its own thread"
    assert proxy_threads() == [], "its thread was joined"
    [proxy] = runner.faults.proxies  # type: ignore[union-attr]
    assert proxy.connections >= 1 and await refused(proxy.port), "its port is closed"
    history = result.run_dir / "history.jsonl"
    nemesis = [e["value"] for e in read_events(history) if e["process"] == "nemesis"]
    assert [v.get("phase") for v in nemesis if "phase" in v] == ["start", "end"]
    assert nemesis[-1]["reason"] == "healed"
    assert_history_invariants(history)


async def test_an_interrupted_close_still_stops_the_thread_and_closes_the_sockets(pg_dsn: str) -> None:
    layer = FaultLayer(
        specs("- {kind: network, store: db, toxic: latency, latency: 1h}"), 1, ScaledClock(), stores=["db"]
    )
    settings = await layer.start({"db": {"dsn": pg_dsn}})
    [proxy] = layer.proxies
    assert f":{proxy.port}/" in settings["db"]["dsn"]
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    closing = asyncio.create_task(layer.aclose())
    await asyncio.sleep(0)  # close has begun: heal done, the orderly shutdown under way
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    assert proxy_threads() == []
    assert await refused(proxy.port)
    try:
        rest = await reader.read()
    except ConnectionResetError:
        rest = b""
    assert rest == b"", "the open connection was closed (or reset) too"
    writer.close()
    phases = [e["value"].get("phase") for e in layer.events]
    assert phases == ["start", "end"], "and every event was delivered"


async def test_a_proxy_that_cannot_reach_its_server_resets_the_client() -> None:
    """The proxy keeps listening when the real server goes down (it is a network, not a server):
    the client's connection is reset, as a refused connection through a real proxy is. (At
    start the layer connects once to the server, so a server down from the start is reported
    at its own address instead.)"""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    layer = FaultLayer(specs("- {kind: network, store: db, toxic: latency, latency: 1ms}"), 1, ScaledClock())
    events: list[Any] = layer.events
    await layer.start({"db": {"dsn": f"postgresql://u@127.0.0.1:{port}/db"}})
    server.close()
    await server.wait_closed()
    [proxy] = layer.proxies
    with pytest.raises(ConnectionResetError):  # during the handshake or after it
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"hello")
        try:
            await reader.read()
        finally:
            writer.close()
    await layer.aclose()
    assert proxy_threads() == [] and [e["value"]["phase"] for e in events] == ["start", "end"]
