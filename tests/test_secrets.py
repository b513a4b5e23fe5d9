"""Secrets from ${ENV} never reach a history, results.json or the stored experiment."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from chaos.experiment import loads
from chaos.pipeline import run_experiment
from chaos.secrets import redact_urls

ROOT = Path(__file__).resolve().parent.parent


def test_url_passwords_are_masked() -> None:
    assert redact_urls("could not connect to postgresql://app:s3cr3t@db:5432/x") == (
        "could not connect to postgresql://app:***@db:5432/x"
    )


async def test_secret_in_error_text_is_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAOS_TEST_TOKEN", "tok-9f8e7d6c5b4a")
    text = textwrap.dedent(
        """\
        name: secret-test
        seed: 1
        operations: 40
        concurrency: 2
        stores:
          db: {adapter: memory}
        system:
          name: tests.systems:LeakyRegister
          options: {token: "${CHAOS_TEST_TOKEN}"}
        checks: [{model: cas-register}]
        """
    )
    result = await run_experiment(loads(text), tmp_path / "run")
    for name in ("history.jsonl", "results.json", "experiment.yaml"):
        content = (result.run_dir / name).read_text()
        assert "tok-9f8e7d6c5b4a" not in content, name
    assert "***" in (result.run_dir / "history.jsonl").read_text()


def test_only_variables_named_like_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    from chaos.experiment import loads as load_text

    monkeypatch.setenv("CHAOS_TEST_REGION", "us-east-1")
    monkeypatch.setenv("CHAOS_TEST_API_KEY", "k-1234567890")
    text = textwrap.dedent(
        """\
        name: secret-names
        operations: 1
        stores:
          db: {adapter: memory, settings: {name: "${CHAOS_TEST_REGION}-${CHAOS_TEST_API_KEY}"}}
        system: register
        checks: [{model: register}]
        """
    )
    secrets = load_text(text).secrets
    assert secrets.redact("region us-east-1, key k-1234567890, true") == "region us-east-1, key ***, true"


def test_keyword_dsn_passwords_are_masked() -> None:
    assert redact_urls("connect host=db password='s3 cr3t' user=app failed") == (
        "connect host=db password=*** user=app failed"
    )


ECHO = """\
name: echo-test
seed: 1
operations: 60
concurrency: 2
stores:
  db: {adapter: memory}
system:
  name: tests.systems:EchoingRegister
  options: {token: "${%s}"}
workload: {keys: 1, mix: {read: 1, write: 1}}
checks: [{model: register}]
expect: invalid
%s"""


@pytest.mark.parametrize(
    ("variable", "listed"),
    [("CHAOS_TEST_TOKEN", ""), ("CHAOS_TEST_BEARER", "secrets: [CHAOS_TEST_BEARER]\n")],
    ids=["named-like-a-secret", "listed-in-secrets"],
)
def test_a_secret_echoed_back_as_a_value_is_masked_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, listed: str
) -> None:
    """An echoed token is masked in the history and the terminal as well as in the reports;
    a variable whose name says nothing is a secret when the experiment lists it."""
    token = "tok-echo-5e6f7a8b9c"
    monkeypatch.setenv(variable, token)
    path = tmp_path / "echo.yaml"
    path.write_text(ECHO % (variable, listed), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "chaos", "run", str(path), "--out", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr  # the echoed reads are not the written values
    assert token not in done.stdout + done.stderr
    assert "Bearer ***" in (tmp_path / "run" / "history.jsonl").read_text()
    for artifact in ("history.jsonl", "results.json", "junit.xml", "report.html", "experiment.yaml"):
        assert token not in (tmp_path / "run" / artifact).read_text(), artifact


def test_a_password_written_in_a_dsn_is_masked_in_the_report(tmp_path: Path) -> None:
    from chaos.report import ReportMeta, write_report

    text = "stores: {db: {adapter: postgres, settings: {dsn: 'postgresql://app:Pl41n-pw@db/x'}}}"
    path = write_report(tmp_path / "r.html", [], [], ReportMeta(title="t", source="s", experiment_text=text))
    assert "Pl41n-pw" not in path.read_text() and "postgresql://app:***@db/x" in path.read_text()


def test_control_characters_reach_the_terminal_as_text(tmp_path: Path) -> None:
    """OSC 52 (clipboard), OSC 0 (title), CSI 2J (clear) and a right-to-left override in
    values and errors are printed as escapes by every command."""
    hostile = "\x1b]52;c;aGk=\x07\x1b]0;pwned\x07\x1b[2J\u202e"
    history = tmp_path / "h.jsonl"
    lines = [
        {"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "write", "key": "k", "value": hostile},
        {"index": 1, "time": 1, "process": 0, "type": "ok", "f": "write", "key": "k", "value": hostile},
        {"index": 2, "time": 2, "process": 0, "type": "invoke", "f": "read", "key": "k", "value": None},
        {"index": 3, "time": 3, "process": 0, "type": "ok", "f": "read", "key": "k", "value": "other" + hostile},
    ]
    history.write_text("".join(json.dumps(e) + "\n" for e in lines), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "chaos", "check", str(history), "--model", "register"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "\x1b" not in output and "\u202e" not in output and "\x07" not in output
    assert "\\x1b]52;c;aGk=\\x07" in output and "\\u202e" in output
