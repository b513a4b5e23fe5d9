"""The ``chaos`` command end to end, in subprocesses, as a user or a CI job runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from chaos.history import read_events

ROOT = Path(__file__).resolve().parent.parent


def chaos(*args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chaos", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def write_experiment(path: Path, *, system: str = "register", expect: str = "valid", ops: int = 300) -> Path:
    path.write_text(
        textwrap.dedent(
            f"""\
            name: cli-test
            seed: 3
            operations: {ops}
            duration: 60s
            concurrency: 4
            stores:
              db: {{adapter: memory}}
            system: {system}
            workload: {{keys: 1, mix: {{read: 1, write: 1, cas: 1}}}}
            checks: [{{model: cas-register}}]
            expect: {expect}
            """
        )
    )
    return path


def test_run_valid_exits_0_and_writes_the_run_directory(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = chaos("run", str(ROOT / "experiments/register-memory.yaml"), "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "seed 42" in done.stdout and "verdict: valid" in done.stdout
    for name in ("experiment.yaml", "seed", "history.jsonl", "results.json"):
        assert (out / name).exists(), name
    results = json.loads((out / "results.json").read_bytes())
    assert results["verdict"] == "valid" and results["exit_code"] == 0 and results["seed"] == 42


def test_run_violation_where_none_expected_exits_1(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path / "e.yaml", system="tests.systems:StaleRegister")
    done = chaos("run", str(experiment), "--out", str(tmp_path / "run"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "verdict: invalid" in done.stdout


def test_run_no_violation_where_one_expected_exits_1(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path / "e.yaml", expect="invalid")
    done = chaos("run", str(experiment), "--out", str(tmp_path / "run"))
    assert done.returncode == 1
    assert "NOT as expected" in done.stdout


def test_bad_experiment_exits_3_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nconcurrency: many\nstores: {db: {adapter: memory, colour: red}}\nsystem: register\n")
    for command in ("run", "validate"):
        done = chaos(command, str(bad))
        assert done.returncode == 3
        assert "Traceback" not in done.stderr
        assert "line 2: concurrency:" in done.stderr
        assert "line 3: stores.db.colour: unknown key" in done.stderr
        assert "checks: required field is missing" in done.stderr


def test_unknown_system_exits_3(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path / "e.yaml", system="no_such_module:Thing")
    done = chaos("run", str(experiment), "--out", str(tmp_path / "run"))
    assert done.returncode == 3 and "cannot import module 'no_such_module'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bug_in_the_systems_own_code_exits_3_naming_hook_and_line(tmp_path: Path) -> None:
    """Exit 1 would tell a CI job a violation was found; a crashing hook is the experiment's bug."""
    source = ROOT / "tests" / "systems.py"
    for system, hook, message in (
        ("BrokenRequestHook", "request()", "ValueError: no value for n="),
        ("BrokenConstructor", "BrokenConstructor()", "RuntimeError: cannot start"),
        ("BrokenSetup", "setup()", "RuntimeError: setup failed"),
        ("BuggyActorRegister", "actor 'janitor'", "KeyError: 'imageId'"),
    ):
        experiment = write_experiment(tmp_path / f"{system}.yaml", system=f"tests.systems:{system}", ops=100_000)
        out = tmp_path / system
        done = chaos("run", str(experiment), "--out", str(out))
        assert done.returncode == 3, done.stdout + done.stderr
        assert "Traceback" not in done.stderr and "never retrieved" not in done.stderr
        line = done.stderr.strip()
        assert line.startswith(f"error: the system's {hook} raised {message}"), line
        assert f"({source}:" in line, line
        assert '<property name="error" value="system-bug" />' in (out / "junit.xml").read_text()
    # The request hook failed mid-run: the run stopped there (not after its 100,000 operations
    # or 60 s), every operation begun is closed, and the history is checkable.
    history = tmp_path / "BrokenRequestHook" / "history.jsonl"
    events = read_events(history)
    assert 0 < len(events) < 1000
    invokes = sum(e["type"] == "invoke" for e in events)
    assert invokes * 2 == len(events)
    assert chaos("check", str(history), "--model", "cas-register").returncode == 0


def test_a_store_failing_the_systems_setup_exits_4(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path / "e.yaml", system="tests.systems:SeedingRegister")
    text = experiment.read_text() + "faults: [{kind: error-before, store: db, op: put}]\n"
    experiment.write_text(text)
    done = chaos("run", str(experiment), "--out", str(tmp_path / "run"))
    assert done.returncode == 4, done.stdout + done.stderr
    assert done.stderr.strip().startswith("error: system setup: injected fault 0: db.put refused"), done.stderr
    assert "Traceback" not in done.stderr


def test_an_out_directory_that_cannot_be_written_exits_3(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    done = chaos("run", str(ROOT / "experiments/register-memory.yaml"), "--out", str(blocker / "run"))
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stderr.strip() == f"error: cannot write the run directory {blocker / 'run'}: Not a directory"


def test_a_history_that_cannot_be_written_stops_the_run_with_exit_4(tmp_path: Path) -> None:
    """Disk full, simulated with a file size limit: one line, exit 4, and what reached the disk
    is still a checkable history (a torn last line is dropped)."""
    import resource

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    experiment = write_experiment(tmp_path / "e.yaml", ops=100_000)
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "chaos", "run", str(experiment), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_file_size,
    )
    assert done.returncode == 4, done.stdout + done.stderr
    history = out / "history.jsonl"
    assert done.stderr.strip() == f"error: cannot write the history {history}: File too large"
    assert chaos("check", str(history), "--model", "cas-register").returncode == 0


def test_a_secret_quoted_by_the_systems_failing_code_is_masked(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path / "e.yaml", system="tests.systems:TokenQuotingConstructor")
    text = experiment.read_text().replace(
        "system: tests.systems:TokenQuotingConstructor",
        "system: {name: 'tests.systems:TokenQuotingConstructor', options: {token: '${CHAOS_TEST_TOKEN}'}}",
    )
    experiment.write_text(text)
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "chaos", "run", str(experiment), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CHAOS_TEST_TOKEN": "tok-5e3fa9"},
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "token *** refused" in done.stderr
    for where in (done.stdout, done.stderr, (out / "junit.xml").read_text()):
        assert "tok-5e3fa9" not in where


def test_validate_ok() -> None:
    done = chaos("validate", str(ROOT / "experiments/register-memory.yaml"))
    assert done.returncode == 0 and "ok" in done.stdout


def test_check_stored_history(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert chaos("run", str(ROOT / "experiments/register-memory.yaml"), "--out", str(out)).returncode == 0
    done = chaos("check", str(out / "history.jsonl"), "--model", "cas-register")
    assert done.returncode == 0 and "valid" in done.stdout

    stale = tmp_path / "stale.jsonl"
    stale.write_text(
        "\n".join(
            json.dumps(e)
            for e in [
                {"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "write", "key": "x", "value": 1},
                {"index": 1, "time": 1, "process": 0, "type": "ok", "f": "write", "key": "x", "value": 1},
                {"index": 2, "time": 2, "process": 1, "type": "invoke", "f": "read", "key": "x", "value": None},
                {"index": 3, "time": 3, "process": 1, "type": "ok", "f": "read", "key": "x", "value": None},
            ]
        )
        + "\n"
    )
    done = chaos("check", str(stale), "--model", "cas-register")
    assert done.returncode == 1 and "invalid" in done.stdout.lower()


def test_check_bad_input_exits_3(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text('{"process": 0, "type": "invoke"}\nnot json at all\n{"process": 0, "type": "ok"}\n')
    done = chaos("check", str(garbage), "--model", "cas-register")
    assert done.returncode == 3 and ":2:" in done.stderr and "Traceback" not in done.stderr
    done = chaos("check", str(garbage), "--model", "no-such-model")
    assert done.returncode == 3 and "Traceback" not in done.stderr
    done = chaos("check", str(tmp_path / "missing.jsonl"), "--model", "cas-register")
    assert done.returncode == 3 and "Traceback" not in done.stderr


def test_sigint_leaves_a_checkable_history_and_exits_130(tmp_path: Path) -> None:
    experiment = write_experiment(tmp_path / "e.yaml", ops=50_000_000)
    out = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "chaos", "run", str(experiment), "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    history = out / "history.jsonl"
    deadline = time.monotonic() + 60
    while (not history.exists() or history.stat().st_size < 20_000) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    assert "interrupted" in stdout
    events = read_events(history)
    assert any(e.get("error") == "interrupted" for e in events)
    done = chaos("check", str(history), "--model", "cas-register")
    assert done.returncode == 0
    results = json.loads((out / "results.json").read_bytes())
    assert results["interrupted"] is True and results["exit_code"] == 130
