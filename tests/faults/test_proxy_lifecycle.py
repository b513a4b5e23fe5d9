"""The proxy's relay process and sockets never outlive it: not at the end of a run, not on Ctrl-C, not
when closing is itself interrupted."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

import adapters
from chaos.clock import ScaledClock
from chaos.errors import Unreachable
from chaos.experiment import loads
from chaos.faults import FaultLayer
from chaos.faults.proxy import Proxy
from chaos.history import read_events
from chaos.pipeline import Pipeline
from chaos.stats import Stats

from ..test_runner import assert_history_invariants
from .conftest import specs


def relay_processes() -> list[int]:
    """The live relay processes this process started (from /proc: Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == os.getpid() and stat[0] != "Z" and b"chaos.faults.relay" in cmdline:
            found.append(int(entry.name))
    return found


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


def register_through_proxy(name: str, dsn: str, duration: str, faults: list[dict[str, Any]]) -> str:
    """A register experiment on the proxied test store, 200 operations a second."""
    return yaml.safe_dump(
        {
            "name": name,
            "seed": 1,
            "duration": duration,
            "concurrency": 2,
            "stores": {"db": {"adapter": "pgtest", "settings": {"dsn": dsn}}},
            "system": "register",
            "workload": {"keys": 1, "mix": {"read": 1, "write": 1}, "rate": 200},
            "faults": faults,
            "checks": [{"model": "cas-register"}],
        },
        sort_keys=False,
    )


async def test_ctrl_c_leaves_no_listener_or_relay_process(tmp_path: Path, pg_dsn: str, pgtest: None) -> None:
    sent: list[bool] = []
    seen: list[list[int]] = []

    def progress(stats: Stats) -> None:
        if stats.faults and stats.completed > 5 and not sent:  # toxics on, operations flowing: interrupt
            sent.append(True)
            seen.append(relay_processes())
            os.kill(os.getpid(), signal.SIGINT)

    faults = [{"kind": "network", "store": "db", "toxic": "latency", "latency": "1ms", "direction": "both"}]
    text = register_through_proxy("proxy-interrupt", pg_dsn, "30s", faults)
    runner = Pipeline(loads(text), tmp_path / "r", on_progress=progress)
    result = await runner.run()
    assert sent and result.interrupted and result.exit_code == 130
    [proxy] = runner.faults.proxies  # type: ignore[union-attr]
    assert seen == [[proxy.process.pid]], "the proxy relayed in a process of its own"
    assert relay_processes() == [], "that process has ended"
    assert proxy.connections >= 1 and await refused(proxy.port), "its port is closed"
    history = result.run_dir / "history.jsonl"
    nemesis = [e["value"] for e in read_events(history) if e["process"] == "nemesis"]
    assert [v.get("phase") for v in nemesis if "phase" in v] == ["start", "end"]
    assert nemesis[-1]["reason"] == "healed"
    assert_history_invariants(history)


async def test_an_interrupted_close_still_ends_the_relay_and_closes_the_sockets(pg_dsn: str) -> None:
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
    assert relay_processes() == []
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
    assert relay_processes() == [] and [e["value"]["phase"] for e in events] == ["start", "end"]


async def test_a_relay_that_dies_leaves_the_proxy_usable_to_the_end() -> None:
    """A relay process killed from outside: its clients' connections end, and switching,
    healing and closing the proxy still return (they have nothing left to switch)."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    layer = FaultLayer(specs("- {kind: network, store: db, toxic: latency, latency: 1ms}"), 1, ScaledClock())
    try:
        await layer.start({"db": {"dsn": f"postgresql://u@127.0.0.1:{port}/db"}})
        [proxy] = layer.proxies
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        assert proxy.process is not None
        os.kill(proxy.process.pid, signal.SIGKILL)
        assert await asyncio.wait_for(reader.read(), 5) == b"", "the connection ended with the relay"
        writer.close()
        proxy.set_active(0, False)
        await layer.aclose()
        assert relay_processes() == [] and await refused(proxy.port)
        seen = [e["value"].get("phase") or e["value"]["action"] for e in layer.events]
        assert seen == ["start", "proxy lost", "end"]
        assert proxy.lost == "the network proxy of store 'db' stopped during the run (exit code -9)"
        assert layer.problems() == [proxy.lost]
    finally:
        server.close()


def test_a_relay_ends_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    """SIGKILL leaves no clean-up to the run: the relay sees its socket pair close and exits,
    resetting its connections, so that no proxy outlives a killed run."""
    script = tmp_path / "start.py"
    script.write_text(
        "import asyncio, sys\n"
        "from chaos.clock import ScaledClock\n"
        "from chaos.faults.proxy import Proxy\n"
        "async def main():\n"
        "    proxy = Proxy('db', ('127.0.0.1', 9), [], ScaledClock(), lambda *a: None)\n"
        "    await proxy.start()\n"
        "    print(proxy.process.pid, flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None
        relay = int(parent.stdout.readline())
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{relay}").exists() and time.monotonic() < deadline:
            state = Path(f"/proc/{relay}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state == "Z":
                break  # exited; its parent is gone, so init reaps it
            time.sleep(0.02)
        else:
            assert not Path(f"/proc/{relay}").exists(), "the relay outlived its run"
    finally:
        parent.kill()


async def test_a_relay_killed_during_a_run_is_in_the_history_and_a_health_warning(
    tmp_path: Path, pg_dsn: str, pgtest: None
) -> None:
    """From the moment its relay dies, a store's network faults inject nothing: the run says
    so rather than reporting the rest of it as tested under those faults."""
    killed: list[int] = []
    runner: Pipeline | None = None

    def progress(stats: Stats) -> None:
        if stats.completed > 20 and not killed and runner is not None and runner.faults is not None:
            [proxy] = runner.faults.proxies
            killed.append(proxy.process.pid)
            os.kill(proxy.process.pid, signal.SIGKILL)

    faults = [{"kind": "network", "store": "db", "toxic": "latency", "latency": "1ms"}]
    text = register_through_proxy("relay-killed", pg_dsn, "1500ms", faults)
    runner = Pipeline(loads(text), tmp_path / "r", on_progress=progress, strict=True)
    result = await runner.run()
    assert killed
    message = "the network proxy of store 'db' stopped during the run (exit code -9)"
    assert message in result.warnings
    assert result.exit_code == 2, "under --strict the run could not have tested what it declared"
    nemesis = [e["value"] for e in read_events(result.run_dir / "history.jsonl") if e["process"] == "nemesis"]
    assert {"store": "db", "action": "proxy lost", "exit_code": -9} in nemesis


async def test_a_store_that_cannot_connect_through_an_active_toxic_names_it(tmp_path: Path, pg_dsn: str) -> None:
    """A toxic on from time 0 acts while the stores connect too: when that stops a store from
    opening, the error names the fault and how to let the stores connect first."""
    text = yaml.safe_dump(
        {
            "name": "toxic-at-connect",
            "seed": 1,
            "operations": 10,
            "stores": {"db": {"adapter": "postgres", "settings": {"dsn": pg_dsn, "connect_timeout": 5}}},
            "system": "register",
            "faults": [{"kind": "network", "store": "db", "toxic": "down"}],
            "checks": [{"model": "cas-register"}],
        },
        sort_keys=False,
    )
    with pytest.raises(Unreachable) as caught:
        await Pipeline(loads(text), tmp_path / "r").run()
    message = str(caught.value)
    assert "(through the network fault's proxy, with fault 0 (down) already on" in message
    assert "active: {start: 1s}" in message
    assert pg_dsn.split("@")[1].split("/")[0] in message, "the server's own address, not the proxy's"


async def test_a_relay_that_crashes_is_one_line_without_its_traceback(capfd: pytest.CaptureFixture[str]) -> None:
    """A bug in the relay (here: a request it cannot read) ends it with a traceback: that goes
    to a file, and the proxy reports its last line, not the traceback, to the run."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    events: list[tuple[str, dict[str, Any], bool]] = []
    proxy = Proxy("db", ("127.0.0.1", port), [], ScaledClock(), lambda f, v, i: events.append((f, v, i)))
    try:
        await proxy.start()
        assert proxy._channel is not None
        proxy._channel._sock.send(b"\x00\x00\x00\x03abc")  # a frame that is not a pickle
        for _ in range(100):
            if proxy.lost:
                break
            await asyncio.sleep(0.05)
        assert proxy.lost is not None and proxy.lost.startswith(
            "the network proxy of store 'db' stopped during the run (exit code 1: "
        )
        assert "Unpickling" in proxy.lost and "\n" not in proxy.lost
        assert [v["action"] for _, v, _ in events] == ["proxy lost"]
    finally:
        await proxy.close()
        server.close()
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out
