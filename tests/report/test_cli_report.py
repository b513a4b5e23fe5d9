"""The commands that write reports: ``chaos run`` (report.html and junit.xml in the run
directory, ``--junit``, ``--no-report``), ``chaos report RUN_DIR`` and ``chaos check --report``."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from chaos.cli import main
from chaos.report import report_from_run_dir

from .conftest import ROOT, stale_experiment_text

EXPERIMENT = ROOT / "experiments" / "register-memory.yaml"


def _invoke(*args: str) -> tuple[int, str]:
    outcome = CliRunner().invoke(main, list(args))
    return outcome.exit_code, outcome.output


def _inline_scripts(html: str) -> list[str]:
    return re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)


def test_run_writes_report_and_junit(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, output = _invoke("run", str(EXPERIMENT), "--out", str(out), "--junit", str(tmp_path / "ci" / "junit.xml"))
    assert code == 0, output
    assert {p.name for p in out.iterdir()} >= {"report.html", "junit.xml", "history.jsonl", "results.json"}
    assert (tmp_path / "ci" / "junit.xml").read_text() == (out / "junit.xml").read_text()
    assert f"report.html: {out / 'report.html'}" in output
    html = (out / "report.html").read_text()
    # one executable script, allowed by the page's CSP through its hash; no network anywhere
    (script,) = _inline_scripts(html)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)


def test_no_report_leaves_junit_only(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, output = _invoke("run", str(EXPERIMENT), "--out", str(out), "--no-report", "--no-progress")
    assert code == 0, output
    assert (out / "junit.xml").is_file() and not (out / "report.html").exists()


def test_violation_exit_code_and_replay_line(tmp_path: Path) -> None:
    experiment = tmp_path / "stale.yaml"
    experiment.write_text(stale_experiment_text())
    code, output = _invoke("run", str(experiment), "--out", str(tmp_path / "run"))
    assert code == 1
    assert "replay: chaos run" in output
    assert 'class="counterexample"' in (tmp_path / "run" / "report.html").read_text()


def test_report_regenerates_a_stored_run(tmp_path: Path) -> None:
    experiment = tmp_path / "stale.yaml"
    experiment.write_text(stale_experiment_text())
    out = tmp_path / "run"
    _invoke("run", str(experiment), "--out", str(out), "--no-report")
    code, output = _invoke("report", str(out))
    assert code == 0, output
    html = (out / "report.html").read_text()
    failed = json.loads((out / "results.json").read_bytes())["checks"][0]["counterexample"]["failed"]
    assert f'class="ce-op ce-failed" data-op-id="{failed[0]}"' in html
    assert "expected valid: NOT as expected" in html

    # a run killed before results.json: the history is checked again with the file's checks
    (out / "results.json").unlink()
    target = tmp_path / "again.html"
    assert report_from_run_dir(out, target) == target
    assert f'class="ce-op ce-failed" data-op-id="{failed[0]}"' in target.read_text()


def test_report_of_a_directory_without_history_is_bad_input(tmp_path: Path) -> None:
    code, output = _invoke("report", str(tmp_path))
    assert code == 3
    assert "no history.jsonl" in output


def test_check_report_of_our_history(tmp_path: Path) -> None:
    out = tmp_path / "run"
    _invoke("run", str(EXPERIMENT), "--out", str(out), "--no-report")
    report = tmp_path / "check.html"
    code, output = _invoke("check", str(out / "history.jsonl"), "--model", "cas-register", "--report", str(report))
    assert code == 0, output
    html = report.read_text()
    assert '<span id="verdict" class="badge badge-valid">valid</span>' in html
    assert '<dd id="op-count">2000</dd>' in html


def test_unreachable_store_exits_4_with_a_junit_error(tmp_path: Path) -> None:
    experiment = tmp_path / "down.yaml"
    experiment.write_text(
        "name: down\noperations: 10\nstores:\n  db:\n    adapter: postgres\n    settings:\n"
        "      dsn: postgresql://postgres:hunter2secret@127.0.0.1:1/postgres\n      connect_timeout: 2\n"
        "system: register\nchecks:\n  - model: register\n"
    )
    junit = tmp_path / "junit.xml"
    code, output = _invoke("run", str(experiment), "--out", str(tmp_path / "run"), "--junit", str(junit))
    assert code == 4, output
    for path in (junit, tmp_path / "run" / "junit.xml"):
        text = path.read_text()
        assert 'errors="1"' in text and "connection refused" in text
        assert "hunter2secret" not in text


@pytest.mark.parametrize("content", ["name: [unclosed\n", "name: x\n"])
def test_bad_experiment_with_junit_writes_the_problem(tmp_path: Path, content: str) -> None:
    experiment = tmp_path / "bad.yaml"
    experiment.write_text(content)
    junit = tmp_path / "junit.xml"
    code, _ = _invoke("run", str(experiment), "--junit", str(junit))
    assert code == 3
    assert 'name="bad-input"' in junit.read_text()


def test_check_report_shows_values_beyond_64_bits(tmp_path: Path) -> None:
    """Integers of any size are written to the history as integers; the checker and the
    report take them as they are."""
    from chaos.history import HistoryWriter

    big = 2**70
    writer = HistoryWriter(tmp_path / "h.jsonl")
    for process, (f, asked) in enumerate((("write", big), ("read", None))):
        writer.append({"process": process, "type": "invoke", "f": f, "key": "k", "value": asked})
        writer.append({"process": process, "type": "ok", "f": f, "key": "k", "value": big})
    writer.close()
    report = tmp_path / "r.html"
    code, output = _invoke("check", str(tmp_path / "h.jsonl"), "--model", "register", "--report", str(report))
    assert code == 0, output
    assert str(big) in report.read_text()
