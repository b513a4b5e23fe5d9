"""Seeds on a real Dask cluster on loopback, and a worker process killed in the middle.

A ``dask scheduler`` and a ``dask worker`` with two worker processes (one thread each) are
started as subprocesses on free loopback ports, both bounded in time (the scheduler stops
after two idle minutes, the workers after four, or when their scheduler is gone). ``chaos run
experiments/register-memory.yaml --seeds 8 --cluster tcp://...`` runs against them; as soon as
one worker process has a seed's history open (mid-run), that process is killed. The nanny
starts a new one, Dask reschedules the seed, and the command must still report all eight
seeds, with their run directories written here, and say which seeds were rerun.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from chaos.history import load_operations

from .conftest import unavailable

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.dask


@dataclass
class Cluster:
    address: str
    worker: subprocess.Popen[bytes]
    tmp: Path
    """The workers' TMPDIR: where a seed's run directory lives while it runs."""


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    try:
        from distributed import Client
    except ImportError:
        unavailable("Dask's distributed is not installed (pip install -e '.[test]')")
    scheduler_file = tmp_path / "scheduler.json"
    logs = tmp_path / "logs"
    logs.mkdir()
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(scheduler_file), "--idle-timeout", "120s"],
        stdout=subprocess.DEVNULL, stderr=(logs / "scheduler.log").open("wb"), cwd=tmp_path,
    )  # fmt: skip
    worker_tmp = tmp_path / "worker-tmp"
    worker_tmp.mkdir()
    worker: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline and scheduler.poll() is None:
            time.sleep(0.1)
        if not scheduler_file.exists():
            pytest.fail(f"the Dask scheduler did not start: {(logs / 'scheduler.log').read_text()[-2000:]}")
        time.sleep(0.2)  # the file is written whole before the scheduler listens; give it a moment
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        worker = subprocess.Popen(
            [sys.executable, "-m", "dask", "worker", address, "--nworkers", "2", "--nthreads", "1",
             "--host", "127.0.0.1", "--no-dashboard", "--local-directory", str(tmp_path / "dask-worker"),
             "--death-timeout", "30s", "--lifetime", "240s"],
            stdout=subprocess.DEVNULL, stderr=(logs / "worker.log").open("wb"), cwd=tmp_path,
            env={**os.environ, "TMPDIR": str(worker_tmp)},
        )  # fmt: skip
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=90)
        yield Cluster(address, worker, worker_tmp)
    finally:
        if worker is not None:
            _stop(worker)
        _stop(scheduler)


def _kill_a_worker_mid_seed(cluster: Cluster, command: subprocess.Popen[str]) -> int:
    """Kill the worker process that has a seed's history open; return that seed."""
    import psutil

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and command.poll() is None:
        for child in psutil.Process(cluster.worker.pid).children(recursive=True):
            try:
                files = child.open_files()
            except psutil.Error:
                continue
            for file in files:
                path = Path(file.path)
                if path.name == "history.jsonl" and path.parent.name.startswith("chaos-seed-"):
                    child.kill()
                    return int(path.parent.name.split("-")[2])
        time.sleep(0.02)
    pytest.fail("no worker process was caught running a seed")


def test_seeds_on_a_cluster_survive_a_killed_worker(cluster: Cluster, tmp_path: Path) -> None:
    # Each seed takes two seconds (3,000 operations at 1,500 a second), so that the worker
    # caught with a history open is killed in the middle of that seed, not as it finishes.
    slow = tmp_path / "slow.yaml"
    text = (ROOT / "experiments/register-memory.yaml").read_text(encoding="utf-8")
    slow.write_text(
        text.replace("operations: 2000", "operations: 3000").replace("  keys: 1\n", "  keys: 1\n  rate: 1500\n"),
        encoding="utf-8",
    )
    assert "rate: 1500" in slow.read_text(encoding="utf-8")
    out = tmp_path / "batch"
    command = subprocess.Popen(
        [sys.executable, "-m", "chaos", "run", str(slow), "--seeds", "8",
         "--cluster", cluster.address, "--out", str(out), "--no-progress", "--no-report"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        killed = _kill_a_worker_mid_seed(cluster, command)
        stdout, stderr = command.communicate(timeout=150)
    finally:
        if command.poll() is None:
            command.kill()
    assert command.returncode == 0, stdout + stderr
    data = json.loads((out / "results.json").read_text())
    assert data["workers"].startswith(f"Dask at {cluster.address}")
    outcomes = {o["seed"]: o for o in data["outcomes"]}
    assert sorted(outcomes) == list(range(42, 50))  # nothing lost
    assert all(o["verdict"] == "valid" and o["exit_code"] == 0 for o in outcomes.values())
    # the killed seed ran again; so may a seed that had finished on that worker before its
    # result reached the client (Dask recomputes what a lost worker held)
    assert data["reruns"].get(str(killed)) == 1 and set(data["reruns"].values()) == {1}
    rerun_line = next(line for line in stdout.splitlines() if line.startswith("rerun after their worker was lost"))
    assert f"{killed} (ran 2 times)" in rerun_line and rerun_line.endswith("nothing lost")
    for seed, outcome in outcomes.items():  # every run directory came back, and names where it is now
        run_dir = out / f"seed-{seed}"
        assert outcome["run_dir"] == str(run_dir)
        assert outcome["replay"] == f"chaos run {run_dir / 'experiment.yaml'} --seed {seed}"
        assert len(load_operations(run_dir / "history.jsonl")) == 3000
        assert json.loads((run_dir / "results.json").read_text())["run_dir"] == str(run_dir)
        assert (run_dir / "seed").read_text() == f"{seed}\n"
    assert (out / "junit.xml").is_file()
    # the workers cleaned up after every seed they finished (the killed one could not)
    left = [p.name for p in cluster.tmp.iterdir() if p.name.startswith("chaos-seed-")]
    assert all(name.startswith(f"chaos-seed-{killed}-") for name in left), left


def test_a_random_exploration_on_a_cluster_gives_the_answer_of_one_process(cluster: Cluster, tmp_path: Path) -> None:
    """A random exploration's executions in ranges on the cluster's workers: the same coverage
    as one process (executions, distinct states, plans by size)."""
    text = (ROOT / "experiments/explore/profile-working-2.yaml").read_text(encoding="utf-8")
    path = tmp_path / "random.yaml"
    path.write_text(text.replace("strategy: exhaustive", "strategy: random\n  executions: 20000"), encoding="utf-8")
    coverage = {}
    for where, args in (("one", ["--jobs", "1"]), ("cluster", ["--cluster", cluster.address])):
        done = subprocess.run(
            [sys.executable, "-m", "chaos", "run", str(path), "--out", str(tmp_path / where), "--no-progress",
             "--no-report", *args],
            capture_output=True, text=True, cwd=ROOT, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        data = json.loads((tmp_path / where / "results.json").read_text())
        coverage[where] = data["coverage"]
    assert coverage["cluster"]["workers"].startswith(f"Dask at {cluster.address}")
    for key in ("executions", "states", "plans", "plans_by_operations", "stopped"):
        assert coverage["cluster"][key] == coverage["one"][key], key
    assert coverage["one"]["executions"] == 20000
