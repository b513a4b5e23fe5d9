"""The profile store as an HTTP service: its API and error mapping on memory stores, inside a
run on PostgreSQL and S3 with network faults on its own connections, and standalone
(``chaos serve profile``) driven by an experiment through the http adapter."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp
import pytest

from adapters import DefiniteError, IndefiniteError, create
from adapters.memory import MemoryStore
from chaos.clock import ScaledClock
from chaos.faults import FaultLayer
from chaos.pytest_plugin import run_file
from chaos.system import Env
from chaos.systems.profile import DESIGN_NAMES
from chaos.systems.profile.service import DESIGNS, TEMPLATES, ProfileApp, start
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "experiments" / "seed"


def test_every_design_can_be_served() -> None:
    assert tuple(DESIGNS) == DESIGN_NAMES


async def serve_on_memory(design: str, faults_yaml: str | None = None):
    db, blobs = MemoryStore(), MemoryStore()
    stores = {"db": db, "blobs": blobs}
    if faults_yaml is not None:
        from chaos.experiment import loads

        experiment = loads(
            "name: t\noperations: 1\nstores: {db: {adapter: memory}, blobs: {adapter: memory}}\n"
            "system: profile-working\nchecks: [{model: profile}]\nfaults:\n" + faults_yaml
        ).experiment
        layer = FaultLayer(experiment.faults, seed=1, clock=ScaledClock(), record=lambda e, injected: None)
        stores = {name: layer.wrap(name, store) for name, store in stores.items()}
    app = ProfileApp(DESIGNS[design], lambda i: Env(stores=stores, clock=ScaledClock(), server=i), 1)
    runner, port = await start(app)
    return runner, f"http://127.0.0.1:{port}", db, blobs


async def test_api_reads_and_writes_profiles() -> None:
    runner, url, db, blobs = await serve_on_memory("working")
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{url}/profiles/u1") as answer:
                assert answer.status == 200 and await answer.json() is None
            async with session.put(f"{url}/profiles/u1", json=["m1", "i1"]) as answer:
                assert answer.status == 200
            async with session.get(f"{url}/profiles/u1") as answer:
                assert await answer.json() == ["m1", "i1"]
            async with session.put(f"{url}/profiles/u1", data=b"not json") as answer:
                assert answer.status == 400
            async with session.get(f"{url}/health") as answer:
                assert await answer.text() == "ok"
        assert await db.list("") == ["u1"] and len(await blobs.list("img/")) == 1
    finally:
        await runner.cleanup()


async def test_definite_store_failure_is_409_and_crash_drops_the_connection() -> None:
    runner, url, _, blobs = await serve_on_memory(
        "working",
        "  - {kind: error-before, store: blobs, op: put, nth: 1}\n"
        "  - {kind: crash, store: db, op: put, when: before, nth: 1}\n",
    )
    api = create("http", {"base_url": url, "operations": TEMPLATES})
    await api.open()
    try:
        with pytest.raises(DefiniteError):  # 409: the first step was refused, nothing happened
            await api.request("write", "u1", ["m1", "i1"])
        with pytest.raises(IndefiniteError):  # the server died after its blob step: no answer
            await api.request("write", "u1", ["m2", "i2"])
        assert await api.request("read", "u1") is None
        assert len(await blobs.list("img/")) == 1  # the crashed write's orphan
    finally:
        await api.close()
        await runner.cleanup()


@pytest.mark.postgres
@pytest.mark.s3
@pytest.mark.parametrize("design", ["improved", "working"])
async def test_service_in_a_run_with_network_faults(seed_env: None, design: str, tmp_path: Path) -> None:
    result = await asyncio.to_thread(
        run_file, SEED / f"service-{design}-pg-s3.yaml", out=tmp_path / "run", report=False
    )
    assert result.exit_code == 0, f"verdict {result.verdict}, expected {result.experiment.expect}"
    assert result.stats.faults > 0


@pytest.mark.postgres
@pytest.mark.s3
def test_standalone_service_driven_through_the_http_adapter(seed_env: None, tmp_path: Path) -> None:
    design, servers = "working", 2
    port = free_port()
    service = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chaos",
            "serve",
            "profile",
            "--design",
            design,
            "--port",
            str(port),
            "--servers",
            str(servers),
            "--namespace",
            f"service-test-{port}",
            "--no-keep",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
                    if answer.read() == b"ok":
                        break
            except OSError:
                if service.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"service did not start: {service.communicate()[1]}") from None
                time.sleep(0.2)
        os.environ["PROFILE_URL"] = f"http://127.0.0.1:{port}"
        try:
            result = run_file(SEED / "service-remote.yaml", out=tmp_path / "run", report=False)
        finally:
            del os.environ["PROFILE_URL"]
        assert result.exit_code == 0, f"verdict {result.verdict}"
        assert result.stats.completed > 20
    finally:
        service.terminate()  # SIGTERM: the service closes its stores and removes its data
        assert service.wait(timeout=30) == 0


class _BrokenCleaner:
    async def run(self) -> None:
        raise KeyError("imageId")


class BrokenCleanerProfile(DESIGNS["working"]):  # type: ignore[misc, valid-type]
    """The working design with a cleaner whose own code fails at once."""

    actors = {"cleaner": lambda env: _BrokenCleaner()}  # noqa: RUF012


async def test_standalone_service_stops_when_its_cleaner_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """A service whose cleaner died must not go on serving without it, unseen."""
    from chaos.system import SystemCodeError
    from chaos.systems.profile.service import serve

    monkeypatch.setitem(DESIGNS, "broken-cleaner", BrokenCleanerProfile)
    started: list[int] = []
    with pytest.raises(SystemCodeError, match=r"the system's actor 'cleaner' raised KeyError: 'imageId' \("):
        await asyncio.wait_for(
            serve("broken-cleaner", {"adapter": "memory"}, {"adapter": "memory"}, port=0, ready=started.append), 30
        )
    assert started  # it did start, then stopped on its own


async def test_a_run_stops_when_its_services_cleaner_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from chaos.experiment import loads
    from chaos.history import load_operations
    from chaos.pipeline import Pipeline
    from chaos.system import SystemCodeError

    monkeypatch.setitem(DESIGNS, "broken-cleaner", BrokenCleanerProfile)
    experiment = loads(
        "name: t\noperations: 100000\nduration: 60s\nconcurrency: 4\n"
        "stores: {db: {adapter: memory}, blobs: {adapter: memory}}\n"
        "system: {name: profile-service, options: {design: broken-cleaner}}\nchecks: [{model: profile}]\n"
    )
    runner = Pipeline(experiment, tmp_path, report=False)
    with pytest.raises(SystemCodeError, match="actor 'cleaner' raised KeyError"):
        await runner.run()
    operations = load_operations(runner.rundir.history)  # what was written is whole and checkable
    assert len(operations) < 100_000 and all(op.status in ("ok", "fail", "info") for op in operations)
