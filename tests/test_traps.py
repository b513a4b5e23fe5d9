"""Traps a team adopting the framework falls into, each run through the ``chaos`` command.

The systems and models under tests/user_systems/ are written from the README alone, as a user
writes them. Every test here proves one of two promises: the framework never says ``valid``
where it tested nothing (a warning, and exit 2 under ``--strict``; an exploration that stopped
early is ``unknown``), and it never reports a mistake in the experiment (a typo, a bug in the
user's system or model, a broken file) as a finding (exit 3, one line naming the place).
Where a trap applies to both modes, it is tested under ``mode: run`` and ``mode: explore``.

Most commands run in-process through click's ``CliRunner`` (a subprocess costs a second of
imports); the ones that must run side by side (trap 8, trap 13) are subprocesses.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml
from click.testing import CliRunner

from chaos.cli import main
from tests.kv_service import kv_store_settings
from tests.user_systems import hooks

ROOT = Path(__file__).resolve().parent.parent
USER = ROOT / "tests" / "user_systems"
MODES = ("run", "explore")
STRICT_OUTCOME = "unknown"


# ---------------------------------------------------------------------------- helpers


@dataclass
class Outcome:
    """What one ``chaos`` command left: its exit code, its output and its run directory."""

    code: int
    stdout: str
    stderr: str
    run_dir: Path | None = None

    def line(self, prefix: str) -> str:
        """The one stdout line that starts with ``prefix``."""
        found = [line for line in self.stdout.splitlines() if line.startswith(prefix)]
        assert len(found) == 1, f"expected one line starting {prefix!r}:\n{self.stdout}\n{self.stderr}"
        return found[0]

    def lines(self, prefix: str) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith(prefix)]

    @property
    def error(self) -> str:
        """stderr, which for an error is exactly one line."""
        lines = self.stderr.splitlines()
        assert len(lines) == 1, f"expected one line on stderr, got:\n{self.stderr}\nstdout:\n{self.stdout}"
        return lines[0]

    @property
    def results(self) -> dict[str, Any]:
        assert self.run_dir is not None
        return json.loads((self.run_dir / "results.json").read_text(encoding="utf-8"))

    @property
    def junit(self) -> str:
        assert self.run_dir is not None
        return (self.run_dir / "junit.xml").read_text(encoding="utf-8")

    @property
    def history(self) -> list[dict[str, Any]]:
        assert self.run_dir is not None
        text = (self.run_dir / "history.jsonl").read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines()]

    def values(self, f: str, kind: str = "ok") -> list[Any]:
        """The values of the history's ``kind`` events of operation ``f``."""
        return [e["value"] for e in self.history if e["process"] != "nemesis" and e["f"] == f and e["type"] == kind]


def cli(*args: str) -> Outcome:
    """``chaos ARGS`` in this process (stdout and stderr apart)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    out = None
    if "--out" in args:
        out = Path(args[args.index("--out") + 1])
    return Outcome(result.exit_code, result.stdout, result.stderr, out)


def chaos_run(experiment: Path, out: Path, *extra: str) -> Outcome:
    return cli("run", str(experiment), "--out", str(out), "--no-report", *extra)


def subprocess_chaos(*args: str, cwd: Path, timeout: float = 180) -> Outcome:
    """``python -m chaos ARGS`` in a subprocess, with this repository importable from ``cwd``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "chaos", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    out = Path(args[args.index("--out") + 1]) if "--out" in args else None
    if out is not None and not out.is_absolute():
        out = cwd / out
    return Outcome(done.returncode, done.stdout, done.stderr, out)


def line_of(module: str, text: str) -> int:
    """The line of tests/user_systems/<module>.py holding ``text`` (exactly one)."""
    lines = (USER / f"{module}.py").read_text(encoding="utf-8").splitlines()
    found = [number for number, line in enumerate(lines, 1) if text in line]
    assert len(found) == 1, (module, text, found)
    return found[0]


def where(module: str, text: str) -> str:
    """How an error names a place in a user module: ``.../tests/user_systems/M.py:N)``."""
    return f"tests/user_systems/{module}.py:{line_of(module, text)})"


def experiment(
    tmp_path: Path,
    system: str | dict[str, Any],
    mode: str,
    *,
    mix: dict[str, int] | None = None,
    model: str = "register",
    expect: str = "valid",
    servers: int = 2,
    **top: Any,
) -> Path:
    """A small experiment on the in-memory store: 60 operations of two workers in a run, every
    plan of up to two operations on two servers in an exploration."""
    name = system if isinstance(system, str) else system["name"]
    spec = {"name": name, "servers": servers} if isinstance(system, str) else system
    doc: dict[str, Any] = {
        "name": "trap-" + name.rsplit(":", 1)[-1].lower(),
        "seed": 1,
        "concurrency": 2,
        "stores": {"db": {"adapter": "memory"}},
        "system": spec,
        "workload": {"keys": 1, "mix": mix or {"read": 1, "write": 1}},
        "checks": [{"model": model}],
        "expect": expect,
    }
    if mode == "explore":
        doc["mode"] = "explore"
        doc["explore"] = {"max_operations": 2, "crashes": 0}
    else:
        doc["operations"] = 60
    doc.update(top)
    path = tmp_path / f"{doc['name']}-{mode}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def yaml_line(path: Path, start: str) -> int:
    """The line of ``path`` that starts with ``start``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = [n for n, line in enumerate(lines, 1) if line.startswith(start)]
    assert len(found) == 1, (start, found)
    return found[0]


def copy_experiment(source: Path, tmp_path: Path, **changes: Any) -> Path:
    """``source`` with top-level keys (or ``explore`` keys, as a dict) replaced, written to
    ``tmp_path``: what a user does to shorten a shipped experiment."""
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key] = {**doc[key], **value}
        else:
            doc[key] = value
    path = tmp_path / source.name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


AS_EXPECTED_VALID = "verdict: valid (expected valid: as expected)"
AS_EXPECTED_INVALID = "verdict: invalid (expected invalid: as expected)"


# ---------------------------------------------------------------------------- 1. setup()


@pytest.mark.parametrize("mode", MODES)
def test_1_a_system_that_needs_its_setup_works_in_both_modes(tmp_path: Path, mode: str) -> None:
    path = experiment(
        tmp_path,
        "tests.user_systems.setup:NeedsSetup",
        mode,
        mix={"read": 1, "write": 1, "cas": 1},
        model="cas-register",
    )
    done = chaos_run(path, tmp_path / "run")
    assert done.code == 0, done.stdout + done.stderr
    assert done.line("verdict:") == AS_EXPECTED_VALID
    assert done.results["warnings"] == []


@pytest.mark.parametrize("mode", MODES)
def test_1_a_setup_that_raises_is_exit_3_naming_setup_and_the_line(tmp_path: Path, mode: str) -> None:
    path = experiment(tmp_path, "tests.user_systems.setup:SetupRaises", mode)
    done = chaos_run(path, tmp_path / "run")
    assert done.code == 3, done.stdout + done.stderr
    assert done.error.startswith("error: the system's setup() raised RuntimeError: migration 4 failed")
    assert done.error.endswith(where("setup", 'raise RuntimeError("migration 4'))
    assert done.results["exit_code"] == 3 and done.results["verdict"] is None
    assert 'errors="1"' in done.junit


# ---------------------------------------------------------------------------- 2. every hook


HOOK_SYSTEMS = {
    "options": ("ReadsOption", hooks.OPTION_MARK),
    "server": ("ReadsServer", hooks.SERVER_MARK + 1),
    "shared": ("ReadsShared", hooks.SHARED_MARK),
    "actors": ("WithActor", hooks.ACTOR_MARK),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("hook", sorted(HOOK_SYSTEMS))
def test_2_a_hook_reaches_the_history_in_both_modes(tmp_path: Path, mode: str, hook: str) -> None:
    """Each system reads back a value only its hook supplies, which no write wrote: the
    violation is expected, and its history (the run's, or the exploration's counterexample)
    carries the value."""
    name, mark = HOOK_SYSTEMS[hook]
    system = {
        "name": f"tests.user_systems.hooks:{name}",
        "servers": 2,
        "options": {"mark": hooks.OPTION_MARK, "keys": ["k0"]},
    }
    done = chaos_run(experiment(tmp_path, system, mode, expect="invalid"), tmp_path / "run")
    assert done.code == 0, done.stdout + done.stderr
    assert done.line("verdict:") == AS_EXPECTED_INVALID
    assert mark in done.values("read"), done.history


@pytest.mark.parametrize("mode", MODES)
def test_2_request_shapes_the_values_in_both_modes(tmp_path: Path, mode: str) -> None:
    path = experiment(tmp_path, "tests.user_systems.hooks:RequestShaped", mode, expect="invalid")
    done = chaos_run(path, tmp_path / "run")
    assert done.code == 0, done.stdout + done.stderr
    assert done.line("verdict:") == AS_EXPECTED_INVALID
    written = done.values("write", "invoke")
    assert written and all(v % 1000 == 7 for v in written), written
    assert any(v % 1000 == 8 for v in done.values("read") if v is not None), done.history


@pytest.mark.parametrize("mode", MODES)
def test_2_close_is_called_on_every_server_in_both_modes(tmp_path: Path, mode: str) -> None:
    log = tmp_path / "close.log"
    system = {"name": "tests.user_systems.hooks:LogsClose", "servers": 2, "options": {"log": str(log)}}
    done = chaos_run(experiment(tmp_path, system, mode), tmp_path / "run")
    assert done.code == 0, done.stdout + done.stderr
    assert done.line("verdict:") == AS_EXPECTED_VALID
    closed = log.read_text(encoding="utf-8").splitlines()
    executions = 1 if mode == "run" else done.results["coverage"]["executions"]
    assert sorted(closed) == sorted(["closed 0", "closed 1"] * executions)


@pytest.mark.parametrize("mode", MODES)
def test_2_a_close_that_raises_is_exit_3_in_both_modes(tmp_path: Path, mode: str) -> None:
    path = experiment(tmp_path, "tests.user_systems.hooks:CloseRaises", mode)
    done = chaos_run(path, tmp_path / "run")
    assert done.code == 3, done.stdout + done.stderr
    assert done.error.startswith("error: the system's close() raised KeyError: 'connection-pool'")
    assert done.error.endswith(where("hooks", 'raise KeyError("connection-pool")'))
    assert done.results["exit_code"] == 3 and done.results["error"]["kind"] == "system-bug"
    assert done.history, "the history is kept"


# ---------------------------------------------------------------------------- 3. bugs in operations


BUGS = {
    "TypeError": ("WriteTypeError", "write", "TypeError: can't concat int to bytes", 'return b"written: " + value'),
    "KeyError": ("ReadKeyError", "read", "KeyError: 'k0'", "return cache[key]"),
    "AttributeError": ("WriteTypo", "write", "AttributeError: '", "await self.db.flsuh()"),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bug", sorted(BUGS))
def test_3_a_bug_in_an_operation_is_exit_3_naming_it(tmp_path: Path, mode: str, bug: str) -> None:
    name, f, raised, source = BUGS[bug]
    path = experiment(tmp_path, f"tests.user_systems.bugs:{name}", mode)
    done = chaos_run(path, tmp_path / "run")
    assert done.code == 3, done.stdout + done.stderr
    assert done.error.startswith(f"error: the system's operation {f}('k0') raised {raised}"), done.error
    assert done.error.endswith(where("bugs", source)), done.error
    if bug == "AttributeError":
        assert "has no attribute 'flsuh'" in done.error
    assert done.results["exit_code"] == 3 and done.results["error"]["kind"] == "system-bug"
    assert 'errors="1"' in done.junit
    assert done.history, "the history so far is kept"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bug", sorted(BUGS))
def test_3_unexpected_errors_info_counts_them_by_type(tmp_path: Path, mode: str, bug: str) -> None:
    name, f, _, _ = BUGS[bug]
    system = {"name": f"tests.user_systems.bugs:{name}", "servers": 2, "unexpected_errors": "info"}
    done = chaos_run(experiment(tmp_path, system, mode), tmp_path / "run")
    assert done.code == 0, done.stdout + done.stderr
    assert done.line("verdict:") == AS_EXPECTED_VALID
    counted = done.results["unexpected_errors"]
    assert list(counted) == [bug] and counted[bug] >= 1
    assert counted[bug] == done.results["operations"]["by_operation"][f]["info"]
    warning = f"the system's own code raised in operations (recorded as info): {bug} x{counted[bug]}"
    assert done.line("warning: the system's own code") == f"warning: {warning}"
    assert warning in done.results["warnings"]
    assert warning in done.junit


# ---------------------------------------------------------------------------- 4. mistakes in the file


UNREACHABLE_PG = "postgresql://postgres@127.0.0.1:1/test"
"""Nothing listens there: a run that opened its store would exit 4, not 3."""

TYPO_FILE = """\
name: trap-typo
seed: 1
operations: 50
concurrency: 2
stores:
  db:
    adapter: postgres
    settings:
      dsn: {dsn}
      connect_timeout: 1
system: register
workload:
  keys: 1
  mix: {{read: 1, write: 1}}
checks: [{{model: register}}]
"""

MISTAKES = {
    "mix": (
        ("{read: 1, write: 1}", "{read: 1, wirte: 1}"),
        "line 14: workload.mix.wirte: system 'register' has no operation 'wirte' (its operations: cas, read, write)",
    ),
    "model": (("{model: register}", "{model: regsiter}"), "line 15: checks.0.model: unknown model 'regsiter'"),
    "system": (("system: register", "system: regster"), "line 11: system: unknown system 'regster'"),
    "adapter": (("adapter: postgres", "adapter: postgress"), "line 7: stores.db.adapter: unknown adapter 'postgress'"),
    "pool_size": (
        ("connect_timeout: 1", "pool_size: -1"),
        "line 10: stores.db.settings.pool_size: Input should be greater than or equal to 1",
    ),
}


DESIGN_TYPO = """\
name: design-typo
operations: 10
stores:
  db: {adapter: memory}
  blobs: {adapter: memory}
system:
  name: profile-service
  stores: {db: db, blobs: blobs}
  options: {design: workign}
workload:
  keys: [u1]
  mix: {write: 1, read: 1}
checks: [{model: profile}]
"""


@pytest.mark.parametrize("command", ["validate", "run"])
def test_4_an_option_a_system_refuses_is_exit_3_before_it_starts(tmp_path: Path, command: str) -> None:
    """A system's ``option_problems`` hook: the profile service's design name, misspelled."""
    path = tmp_path / "design.yaml"
    path.write_text(DESIGN_TYPO, encoding="utf-8")
    args = [command, str(path)] + (["--out", str(tmp_path / "run"), "--no-report"] if command == "run" else [])
    done = cli(*args)
    assert done.code == 3, done.stdout + done.stderr
    assert done.stderr.splitlines()[1].strip() == (
        "line 9: system.options.design: unknown design 'workign'; known: naive, improved, working, "
        "cleaner-naive, cleaner-improved, cleaner-kill, cleaner-working"
    )
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(DESIGN_TYPO.replace("workign", "working"), encoding="utf-8")
    assert cli("validate", str(fixed)).code == 0  # the control: the same file, spelled right


@pytest.fixture
def typo_file(tmp_path: Path) -> Path:
    path = tmp_path / "good.yaml"
    path.write_text(TYPO_FILE.format(dsn=UNREACHABLE_PG), encoding="utf-8")
    return path


def test_4_the_file_without_mistakes_validates_and_its_run_reaches_the_store(typo_file: Path, tmp_path: Path) -> None:
    """The control: the same file, correct, validates (0) and its run tries the store (4)."""
    assert cli("validate", str(typo_file)).code == 0
    done = chaos_run(typo_file, tmp_path / "run")
    assert done.code == 4, done.stdout + done.stderr
    assert done.error == "error: store 'db': postgres at 127.0.0.1:1: connection refused"


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_4_a_mistake_in_the_file_is_exit_3_before_any_store_opens(
    typo_file: Path, tmp_path: Path, command: str, mistake: str
) -> None:
    (old, new), expected = MISTAKES[mistake]
    text = typo_file.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / f"{mistake}.yaml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    args = [command, str(path)] + (["--out", str(tmp_path / "run"), "--no-report"] if command == "run" else [])
    done = cli(*args)
    assert done.code == 3, done.stdout + done.stderr
    assert done.stderr.splitlines()[0] == f"{path}: 1 problem"
    assert done.stderr.splitlines()[1].strip().startswith(expected), done.stderr


# ---------------------------------------------------------------------------- 5. own models


def test_5_an_own_model_validates_runs_and_checks(tmp_path: Path) -> None:
    model = "tests.user_systems.models:last_write"
    path = experiment(tmp_path, "register", "run", mix={"read": 1, "write": 1, "cas": 1}, model=model)
    assert cli("validate", str(path)).code == 0
    done = chaos_run(path, tmp_path / "run")
    assert done.code == 0, done.stdout + done.stderr
    assert done.line("verdict:") == AS_EXPECTED_VALID
    checked = cli("check", str(tmp_path / "run" / "history.jsonl"), "--model", model)
    assert checked.code == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("mode", MODES)
def test_5_an_own_model_whose_step_raises_is_exit_3(tmp_path: Path, mode: str) -> None:
    path = experiment(
        tmp_path, "register", mode, mix={"read": 1, "write": 1, "cas": 1}, model="tests.user_systems.models:broken_cas"
    )
    done = chaos_run(path, tmp_path / "run")
    assert done.code == 3, done.stdout + done.stderr
    assert "broken-cas" in done.error and "cas" in done.error
    assert done.error.endswith(where("models", 'return True, op.value["new"]'))
    assert done.results["exit_code"] == 3
    assert 'errors="1"' in done.junit


# ---------------------------------------------------------------------------- 6. bounded is not valid


PROFILE_WORKING_2 = ROOT / "experiments/explore/profile-working-2.yaml"


def test_6_an_exploration_stopped_by_its_budget_is_unknown(tmp_path: Path) -> None:
    path = copy_experiment(PROFILE_WORKING_2, tmp_path, explore={"executions": 50})
    done = chaos_run(path, tmp_path / "run")
    assert done.code == 2, done.stdout + done.stderr
    stopped = "execution budget of 50 reached"
    assert done.line("50 executions").endswith(f"explored every plan of up to 1 operation(s), then stopped: {stopped}")
    assert done.line("verdict:") == (
        f"verdict: unknown (the exploration stopped before covering its space: "
        f"{stopped}) (expected valid: NOT as expected)"
    )
    coverage = done.results["coverage"]
    assert coverage["exhausted"] is False and coverage["stopped"] == stopped
    assert coverage["complete_up_to_operations"] == 1
    assert f'message="the exploration stopped before covering its space: {stopped}"' in done.junit


def test_6_an_exploration_stopped_by_its_time_limit_is_unknown(tmp_path: Path) -> None:
    source = ROOT / "experiments/explore/profile-cleaner-working.yaml"
    path = copy_experiment(source, tmp_path, explore={"time_limit": "1s"})
    done = chaos_run(path, tmp_path / "run")
    assert done.code == 2, done.stdout + done.stderr
    assert "then stopped: time limit of 1s reached" in done.stdout
    assert done.line("verdict:").startswith(
        "verdict: unknown (the exploration stopped before covering its space: time limit of 1s reached)"
    )
    assert done.results["coverage"]["stopped"] == "time limit of 1s reached"


def test_6_an_exploration_cut_short_by_max_steps_is_unknown(tmp_path: Path) -> None:
    path = copy_experiment(PROFILE_WORKING_2, tmp_path, explore={"max_steps": 10})
    done = chaos_run(path, tmp_path / "run")
    assert done.code == 2, done.stdout + done.stderr
    assert "reached max_steps (10) before they ended" in done.line("verdict:")
    assert done.results["coverage"]["truncated_executions"] > 0


def test_6_an_exploration_that_covers_its_space_is_valid(tmp_path: Path) -> None:
    path = experiment(tmp_path, "tests.user_systems.setup:NeedsSetup", "explore")
    done = chaos_run(path, tmp_path / "run")
    assert done.code == 0, done.stdout + done.stderr
    assert "explored the whole bounded space" in done.stdout
    assert done.line("verdict:") == AS_EXPECTED_VALID
    assert done.results["coverage"]["exhausted"] is True
    # nothing was found, so there is no replay file: what reproduces the result is the run itself
    assert not (tmp_path / "run/replay.json").exists()
    assert done.results["replay"] == f"chaos run {tmp_path / 'run' / 'experiment.yaml'} --seed 1"
    assert f'name="replay" value="chaos run {tmp_path / "run" / "experiment.yaml"} --seed 1"' in done.junit


# ---------------------------------------------------------------------------- 7. runs that found nothing


def health_cases() -> Iterator[Any]:
    """(id, mode, system, top-level changes, the warning expected)."""
    for mode in MODES:
        yield pytest.param(
            mode,
            "tests.user_systems.health:WritesRefused",
            {},
            "operation 'write' never succeeded (",
            id=f"writes-fail-{mode}",
        )
        yield pytest.param(
            mode,
            "tests.user_systems.health:MostlyUnknown",
            {},
            "operations ended info (outcome unknown): the history constrains little",
            id=f"mostly-info-{mode}",
        )
    yield pytest.param(
        "run",
        "register",
        {"faults": [{"kind": "error-before", "op": "list", "probability": 0.5}]},
        "1 fault(s) declared, none fired",
        id="fault-never-fires-run",
    )
    yield pytest.param(
        "run",
        "register",
        {"faults": [{"kind": "latency", "delay": "1ms", "key": "u*"}, {"kind": "error-after", "op": "put", "nth": 2}]},
        "fault 0 (latency) never matched a call",
        id="fault-never-matches-run",
    )
    yield pytest.param(
        "explore",
        "register",
        {"faults": [{"kind": "error-before", "probability": 1.0}]},
        "1 fault(s) declared under faults:, which an exploration does not inject",
        id="faults-in-an-exploration",
    )
    yield pytest.param(
        "run",
        "register",
        {"faults": [{"kind": "error-before", "probability": 1.0}]},
        "operation 'read' never succeeded (",
        id="every-call-refused-run",
    )


@pytest.mark.parametrize(("mode", "system", "changes", "warning"), list(health_cases()))
def test_7_a_run_that_could_not_have_found_anything_warns(
    tmp_path: Path, mode: str, system: str, changes: dict[str, Any], warning: str
) -> None:
    path = experiment(tmp_path, system, mode, **changes)
    done = chaos_run(path, tmp_path / "plain")
    assert done.code == 0, done.stdout + done.stderr
    assert done.line("verdict:") == AS_EXPECTED_VALID
    printed = [line for line in done.lines("warning: ") if warning in line]
    assert printed, done.stdout
    stored = [w for w in done.results["warnings"] if warning in w]
    assert [f"warning: {w}" for w in stored] == printed
    assert all(w in done.junit for w in stored)

    strict = chaos_run(path, tmp_path / "strict", "--strict")
    assert strict.code == 2, strict.stdout + strict.stderr
    assert strict.line("verdict:").startswith("verdict: unknown (--strict: the run could not have found anything: ")
    assert strict.results["verdict"] == STRICT_OUTCOME and strict.results["exit_code"] == 2

    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["strict"] = True
    in_file = tmp_path / "strict.yaml"
    in_file.write_text(yaml.safe_dump(doc), encoding="utf-8")
    from_file = chaos_run(in_file, tmp_path / "strict-in-file")
    assert from_file.code == 2, from_file.stdout + from_file.stderr
    assert from_file.line("verdict:") == strict.line("verdict:")


async def test_7_a_store_that_answers_nothing_but_errors_warns(
    tmp_path: Path, kv_service: tuple[str, dict[str, bytes]]
) -> None:
    """An http store whose templates point at paths the service does not have (its API moved
    to /v2): every call is a 404, a definite error. The service runs in this test's loop, so
    the command runs as a subprocess awaited here."""
    settings = kv_store_settings(kv_service[0])
    operations = dict(settings["operations"])
    operations["get"] = {"method": "GET", "path": "/v1/kv/{key}", "result": "body"}
    operations["put"] = {"method": "PUT", "path": "/v1/kv/{key}", "body": "{value}"}
    settings["operations"] = operations
    path = experiment(tmp_path, "register", "run", stores={"db": {"adapter": "http", "settings": settings}})
    outcomes = []
    for extra in ([], ["--strict"]):
        out = tmp_path / f"run{len(outcomes)}"
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chaos",
            "run",
            str(path),
            "--out",
            str(out),
            "--no-report",
            *extra,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode is not None
        outcomes.append(Outcome(process.returncode, stdout.decode(), stderr.decode(), out))
    plain, strict = outcomes
    assert plain.code == 0, plain.stdout + plain.stderr
    warning = "store 'db' (http) answered all 60 calls with errors"
    assert plain.line("warning: store") == f"warning: {warning}"
    assert warning in plain.results["warnings"] and warning in plain.junit
    assert strict.code == 2, strict.stdout + strict.stderr
    assert strict.line("verdict:").startswith("verdict: unknown (--strict: the run could not have found anything")


# ---------------------------------------------------------------------------- 8. side by side on one database


@pytest.mark.postgres
def test_8_runs_started_together_on_one_database_each_get_their_table(tmp_path: Path, pg_dsn: str) -> None:
    name = f"trap-pg-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "pg.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        name: {name}
        seed: 3
        operations: 300
        concurrency: 4
        stores:
          db:
            adapter: postgres
            settings: {{dsn: "{pg_dsn}", keep: true}}
        system: register
        workload: {{keys: 1, mix: {{read: 2, write: 1, cas: 1}}}}
        checks: [{{model: cas-register}}]
        """),
        encoding="utf-8",
    )
    with_out, without = tmp_path / "with-out", tmp_path / "no-out"
    with_out.mkdir()
    without.mkdir()
    jobs = [
        (("run", str(path), "--out", "a/run", "--no-report"), with_out),
        (("run", str(path), "--out", "b/run", "--no-report"), with_out),
        (("run", str(path), "--no-report"), without),
        (("run", str(path), "--no-report"), without),
    ]
    try:
        with ThreadPoolExecutor(len(jobs)) as pool:
            done = list(pool.map(lambda job: subprocess_chaos(*job[0], cwd=job[1]), jobs))
        for outcome in done:
            assert outcome.code == 0, outcome.stdout + outcome.stderr
            assert outcome.line("verdict:") == AS_EXPECTED_VALID
        assert (with_out / "a/run/results.json").is_file() and (with_out / "b/run/results.json").is_file()
        stamped = sorted((without / "runs" / name).iterdir())
        assert len(stamped) == 2 and all((d / "results.json").is_file() for d in stamped)
        tables = asyncio.run(_tables(pg_dsn, name))
        assert len(tables) == 4, tables
    finally:
        asyncio.run(_drop_tables(pg_dsn, name))


def _table_prefix(name: str) -> str:
    return "chaos_" + name.replace("-", "_") + "_"


async def _tables(dsn: str, name: str) -> dict[str, int]:
    """The tables the runs named ``name`` left (``keep: true``), with their row counts."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE starts_with(tablename, $1)", _table_prefix(name))
        return {r["tablename"]: await conn.fetchval(f'SELECT count(*) FROM "{r["tablename"]}"') for r in rows}
    finally:
        await conn.close()


async def _drop_tables(dsn: str, name: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE starts_with(tablename, $1)", _table_prefix(name))
        for row in rows:
            await conn.execute(f'DROP TABLE IF EXISTS "{row["tablename"]}"')
    finally:
        await conn.close()


# ---------------------------------------------------------------------------- 9. broken replay files


@pytest.fixture(scope="module")
def found_replay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The replay file of the naive design's violation (a crash before the blob's put)."""
    out = tmp_path_factory.mktemp("naive") / "run"
    done = chaos_run(ROOT / "experiments/explore/profile-naive-1.yaml", out)
    assert done.code == 0, done.stdout + done.stderr
    return out / "replay.json"


def _edit(document: dict[str, Any], how: str) -> None:
    decisions = document["decisions"]
    faulty = next(d for d in decisions if "fault" in d)
    if how == "fault":  # another fault the execution offers at that very step
        faulty["fault"] = "crash-after" if faulty["fault"] == "crash-before" else "crash-before"
    elif how == "no-fault":
        del faulty["fault"]
    elif how == "actor":
        decisions[0]["actor"] = "server-1"
    elif how == "cut":
        del decisions[-1]
    elif how == "extra":
        decisions.append({"actor": "server-0"})


@pytest.mark.parametrize("how", ["fault", "no-fault", "actor", "cut", "extra"])
def test_9_an_edited_replay_file_diverges(found_replay: Path, tmp_path: Path, how: str) -> None:
    document = json.loads(found_replay.read_text(encoding="utf-8"))
    _edit(document, how)
    edited = tmp_path / "replay.json"
    edited.write_text(json.dumps(document), encoding="utf-8")
    done = cli("replay", str(edited), "--out", str(tmp_path / "replayed"))
    assert done.code == 3, done.stdout + done.stderr
    assert done.error.startswith(f"error: {edited}: replay diverged at step "), done.error
    assert "verdict: valid" not in done.stdout


@pytest.mark.parametrize("cut", [0, 10, 0.5, -2])
def test_9_a_truncated_replay_file_is_not_a_replay_file(found_replay: Path, tmp_path: Path, cut: float) -> None:
    text = found_replay.read_text(encoding="utf-8")
    keep = int(len(text) * cut) if isinstance(cut, float) else (cut if cut >= 0 else len(text) + cut)
    broken = tmp_path / "replay.json"
    broken.write_text(text[:keep], encoding="utf-8")
    done = cli("replay", str(broken), "--out", str(tmp_path / "replayed"))
    assert done.code == 3, done.stdout + done.stderr
    assert done.error == (
        f"error: {broken}: not a replay file (malformed or truncated JSON: Input data was truncated)"
    ), done.error


def test_9_the_untouched_replay_file_replays_the_violation(found_replay: Path, tmp_path: Path) -> None:
    done = cli("replay", str(found_replay), "--out", str(tmp_path / "replayed"))
    assert done.code == 1, done.stdout + done.stderr
    assert (tmp_path / "replayed/history.jsonl").read_bytes() == (found_replay.parent / "history.jsonl").read_bytes()


# ---------------------------------------------------------------------------- 10. what a seed fixes


def test_10_a_virtual_clock_run_by_operation_count_is_byte_identical(tmp_path: Path) -> None:
    path = experiment(
        tmp_path,
        "register",
        "run",
        clock="virtual",
        operations=300,
        concurrency=4,
        mix={"read": 2, "write": 1, "cas": 1},
        model="cas-register",
    )
    first, second = chaos_run(path, tmp_path / "one"), chaos_run(path, tmp_path / "two")
    assert first.code == second.code == 0, first.stdout + second.stdout
    assert first.results["deterministic"] is True
    history = (tmp_path / "one/history.jsonl").read_bytes()
    assert history.count(b"\n") == 600
    assert history == (tmp_path / "two/history.jsonl").read_bytes()


def test_10_a_real_time_run_says_the_seed_does_not_fix_the_interleaving(tmp_path: Path) -> None:
    path = experiment(tmp_path, "register", "run", expect="invalid")
    done = chaos_run(path, tmp_path / "run")
    assert done.code == 1, done.stdout + done.stderr
    assert done.line("replay:") == f"replay: chaos run {tmp_path / 'run' / 'experiment.yaml'} --seed 1"
    lines = done.stdout.splitlines()
    note = lines[lines.index(done.line("replay:")) + 1].strip()
    assert note == (
        "(the seed fixes the requests and the fault decisions, not the interleaving (real time); "
        "use mode: explore for an exact trace)"
    )
    assert done.results["deterministic"] is False


# ---------------------------------------------------------------------------- 11. cas is tested


def cas_share(done: Outcome) -> float:
    cas = done.results["operations"]["by_operation"]["cas"]
    return float(cas["ok"] / (cas["ok"] + cas["fail"] + cas["info"]))


def test_11_the_register_workload_swaps_a_quarter_of_its_cas(tmp_path: Path) -> None:
    done = chaos_run(ROOT / "experiments/register-memory.yaml", tmp_path / "run")
    assert done.code == 0, done.stdout + done.stderr
    assert cas_share(done) >= 0.25


@pytest.mark.postgres
def test_11_cas_swaps_on_postgresql_too(tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight workers on one row: 26-30% of cas swap (measured over seeds 1-4); before the cas
    statement waited for the row lock, 9-17%. The bound leaves room for a busier machine's
    scheduling, which decides the order the statements reach the row in."""
    monkeypatch.setenv("CHAOS_PG_DSN", pg_dsn)
    done = chaos_run(ROOT / "experiments/register-postgres.yaml", tmp_path / "run")
    assert done.code == 0, done.stdout + done.stderr
    assert cas_share(done) >= 0.2


# ---------------------------------------------------------------------------- 12. roles


@pytest.mark.parametrize("mode", MODES)
def test_12_an_unbound_role_is_exit_3_naming_it(tmp_path: Path, mode: str) -> None:
    path = experiment(tmp_path, "tests.user_systems.roles:CachedRegister", mode)
    done = chaos_run(path, tmp_path / "run")
    assert done.code == 3, done.stdout + done.stderr
    assert done.stderr.splitlines()[1].strip() == (
        f"line {yaml_line(path, 'system:')}: system.stores: system needs store role(s) cache: map them under "
        "system.stores (stores declared: db)"
    )


@pytest.mark.parametrize("mode", MODES)
def test_12_both_roles_mapped_to_one_store_run(tmp_path: Path, mode: str) -> None:
    system = {"name": "tests.user_systems.roles:CachedRegister", "servers": 2, "stores": {"db": "db", "cache": "db"}}
    done = chaos_run(experiment(tmp_path, system, mode), tmp_path / "run")
    assert done.code == 0, done.stdout + done.stderr
    assert done.line("verdict:") == AS_EXPECTED_VALID


# ---------------------------------------------------------------------------- 13. the founding story


SEED_TABLE = {
    "naive-1-memory": "invalid",
    "naive-2-memory": "invalid",
    "improved-1-memory": "invalid",
    "improved-2-memory": "invalid",
    "working-1-memory": "valid",
    "working-3-memory": "valid",
    "cleaner-naive-memory": "invalid",
    "cleaner-improved-memory": "invalid",
    "cleaner-kill-memory": "invalid",
    "cleaner-working-memory": "valid",
}
EXPLORE_TABLE = {
    "profile-naive-1": "invalid",
    "profile-naive-2": "invalid",
    "profile-improved-1": "invalid",
    "profile-improved-2": "invalid",
    "profile-working-2": "valid",
    "profile-cleaner-naive": "invalid",
    "profile-cleaner-improved": "invalid",
    "profile-cleaner-kill": "invalid",
    "profile-cleaner-working": "valid",
}


def test_13_every_seed_design_gives_the_verdict_of_the_readme_table(tmp_path: Path) -> None:
    """The README's two tables, one seed each. The runs are shortened to a 2 s duration (the
    broken designs still break, the cleaner ones within a few system hours); the cleaner's
    working exploration covers every plan of up to 2 operations instead of 3 (80 s otherwise),
    which it must still cover whole."""
    jobs: list[tuple[str, Path, str]] = []
    for stem, verdict in SEED_TABLE.items():
        shipped = ROOT / "experiments/seed" / f"{stem}.yaml"
        assert shipped.is_file(), stem
        jobs.append((stem, copy_experiment(shipped, _dir(tmp_path / "files" / stem), duration="2s"), verdict))
    for stem, verdict in EXPLORE_TABLE.items():
        shipped = ROOT / "experiments/explore" / f"{stem}.yaml"
        assert shipped.is_file(), stem
        if stem == "profile-cleaner-working":
            shipped = copy_experiment(shipped, _dir(tmp_path / "files" / stem), explore={"max_operations": 2})
        jobs.append((stem, shipped, verdict))
    assert {p.stem for p in (ROOT / "experiments/seed").glob("*-memory.yaml")} == set(SEED_TABLE)
    assert {p.stem for p in (ROOT / "experiments/explore").glob("*.yaml")} == set(EXPLORE_TABLE)

    def run(job: tuple[str, Path, str]) -> tuple[str, str, Outcome]:
        stem, path, verdict = job
        return (
            stem,
            verdict,
            subprocess_chaos("run", str(path), "--out", str(tmp_path / "runs" / stem), "--no-report", cwd=ROOT),
        )

    # the cleaner's kill exploration takes longest: start it first
    jobs.sort(key=lambda job: job[0] != "profile-cleaner-kill")
    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(run, jobs))
    wrong = {
        stem: (o.code, o.stdout[-400:], o.stderr)
        for stem, verdict, o in outcomes
        if o.code != 0 or o.line("verdict:") != f"verdict: {verdict} (expected {verdict}: as expected)"
    }
    assert not wrong, wrong


def _dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
