"""SIGINT and SIGTERM at any moment of ``chaos run``: exit 130, one line, nothing lost.

Each case starts the command, sends one signal after a delay, and checks what is left: exit
code 130 (or the command had already finished: the moment is skipped, and counted), no
traceback, and whatever the run had written is whole: a history that reads and pairs, and
results.json (``interrupted: true``) and junit.xml beside it. The delays are spread over the
whole life of the command, measured first without a signal, so that they fall in start-up,
connecting, running, checking and writing, in run and explore modes, on any machine. (A
signal in the interpreter's own start-up, before the first line of any program runs, is
Python's: the moments start after it.)
"""

from __future__ import annotations

import concurrent.futures
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from chaos.history import pair, read_events

ROOT = Path(__file__).resolve().parent.parent

RUN = """\
name: signal-run
seed: 1
operations: 40000
duration: 1500ms
concurrency: 8
stores: {db: {adapter: memory}}
system: register
workload: {keys: 4, mix: {read: 2, write: 1, cas: 1}}
faults:
  - {kind: latency, store: db, delay: 1ms, probability: 0.01}
checks: [{model: cas-register}]
"""

EXPLORE = (
    (ROOT / "experiments" / "explore" / "profile-cleaner-working.yaml")
    .read_text()
    .replace("time_limit: 10m", "time_limit: 4s")
)
"""An exploration that stops at its time limit (exit 2, unknown) after four seconds of search."""

CONNECT = """\
name: signal-connect
seed: 1
operations: 100
concurrency: 2
stores: {db: {adapter: postgres, settings: {dsn: "postgresql://postgres@127.0.0.1:%d/test", connect_timeout: 30}}}
system: register
checks: [{model: cas-register}]
"""


@dataclass
class Outcome:
    delay: float
    signum: int
    code: int | None
    """None: the command had ended before the signal."""
    stdout: str
    stderr: str
    out: Path
    seconds_after: float


def chaos_run(path: Path, out: Path, delay: float, signum: int, *, signals: int = 1) -> Outcome:
    process = subprocess.Popen(
        [sys.executable, "-m", "chaos", "run", str(path), "--out", str(out), "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    time.sleep(delay)
    sent = time.monotonic()
    alive = process.poll() is None
    for _ in range(signals if alive else 0):
        process.send_signal(signum)
        time.sleep(0.05)
    stdout, stderr = process.communicate(timeout=120)
    return Outcome(delay, signum, process.returncode if alive else None, stdout, stderr, out, time.monotonic() - sent)


def assert_nothing_lost(outcome: Outcome) -> None:
    where = f"signal {signal.Signals(outcome.signum).name} after {outcome.delay:.2f}s"
    assert outcome.code == 130, (where, outcome.code, outcome.stdout[-2000:], outcome.stderr)
    assert "Traceback" not in outcome.stdout + outcome.stderr, (where, outcome.stderr)
    errors = [line for line in outcome.stderr.splitlines() if line.strip()]
    assert len(errors) <= 1, (where, outcome.stderr)
    history = outcome.out / "history.jsonl"
    if not history.exists():
        assert errors == ["interrupted"], (where, outcome.stderr)
        return
    pair(read_events(history))  # whole and checkable
    results = outcome.out / "results.json"
    if (outcome.out / "seed").exists() and results.exists():
        data = json.loads(results.read_text())
        assert (outcome.out / "junit.xml").exists(), where
        if not data["interrupted"]:  # the signal came once every artifact was written (while printing)
            assert data.get("report_error") is None and (outcome.out / "report.html").exists(), (where, data)


PARALLEL = 3
"""Commands signalled at once (:func:`run_all`)."""


def interpreter_start() -> float:
    """An upper bound of how long Python takes to reach the command's first line here (the
    whole of ``chaos --version``, :data:`PARALLEL` started together as the cases are, the
    slowest of them): a signal before that finds no code of ours to handle it (the
    interpreter's own start-up, site imports), so moments begin after."""

    def once() -> float:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "chaos", "--version"], check=True, capture_output=True, cwd=ROOT)
        return time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
        return max(pool.map(lambda _: once(), range(PARALLEL)))


def moments(total: float, count: int) -> list[float]:
    """``count`` delays spread over a command that takes ``total`` seconds unsignalled, from
    the moment the interpreter has started."""
    first = 1.2 * interpreter_start()
    return [first + (total * 1.05 - first) * i / (count - 1) for i in range(count)]


def run_all(path: Path, tmp: Path, delays: list[float], name: str) -> list[Outcome]:
    signals = [signal.SIGINT, signal.SIGTERM]
    with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
        futures = [
            pool.submit(chaos_run, path, tmp / f"{name}-{i}", delay, signals[i % 2]) for i, delay in enumerate(delays)
        ]
        return [f.result() for f in futures]


def calibrate(path: Path, out: Path) -> float:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "chaos", "run", str(path), "--out", str(out), "--no-progress"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode in (0, 1, 2), done.stdout + done.stderr
    return time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "text"), [("run", RUN), ("explore", EXPLORE)])
def test_a_signal_at_any_moment_ends_with_130_and_loses_nothing(tmp_path: Path, mode: str, text: str) -> None:
    path = tmp_path / f"{mode}.yaml"
    path.write_text(text, encoding="utf-8")
    total = calibrate(path, tmp_path / "calibration")
    outcomes = run_all(path, tmp_path, moments(total, 22), mode)
    landed = [o for o in outcomes if o.code is not None]
    for outcome in landed:
        assert_nothing_lost(outcome)
    assert len(landed) >= 18, f"only {len(landed)} signals landed while the command ran ({total:.1f}s)"
    after_start = [o for o in landed if (o.out / "history.jsonl").exists()]
    assert len(after_start) >= 7, "a third of the signals land once the run directory exists"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers: a store that hangs while connecting."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


@pytest.mark.slow
def test_a_signal_while_a_store_connects_stops_at_once(tmp_path: Path, silent_server: int) -> None:
    """connect_timeout is 30 s; the signal must not wait for it."""
    path = tmp_path / "connect.yaml"
    path.write_text(CONNECT % silent_server, encoding="utf-8")
    first = 1.2 * interpreter_start()
    outcomes = run_all(path, tmp_path, [first + 0.8 + 0.5 * i for i in range(6)], "connect")
    for outcome in outcomes:
        assert_nothing_lost(outcome)
        assert outcome.seconds_after < 10, f"stopped {outcome.seconds_after:.1f}s after the signal"
    assert sum(1 for o in outcomes if (o.out / "history.jsonl").exists()) >= 3


@pytest.mark.slow
def test_three_signals_exit_at_once_with_the_history_whole(tmp_path: Path) -> None:
    """The first stops the run, the second skips the clean-up, the third exits on the spot."""
    path = tmp_path / "run.yaml"
    longer = RUN.replace("duration: 1500ms", "duration: 20s").replace("operations: 40000", "operations: 10000000")
    path.write_text(longer, encoding="utf-8")
    outcome = chaos_run(path, tmp_path / "three", 2.0, signal.SIGINT, signals=3)
    assert outcome.code == 130, outcome.stderr
    assert "Traceback" not in outcome.stderr
    pair(read_events(tmp_path / "three" / "history.jsonl"))
