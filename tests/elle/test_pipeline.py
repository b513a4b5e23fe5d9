"""What the run pipeline does with a check result works with a transactional one as it is:
the terminal summary, junit.xml, results.json and report.html take an ``ElleResult`` where
they take a ``CheckResult`` (the pipeline is not wired to these checks yet; this is the
contract it will rely on)."""

from __future__ import annotations

import dataclasses
import io
import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console

from chaos.elle import run_check
from chaos.encoding import loads
from chaos.experiment import loads as load_experiment
from chaos.history import load_operations
from chaos.junit import junit_xml
from chaos.report import write_run_report
from chaos.runner import Runner, combine_verdicts, exit_code_for
from chaos.secrets import Secrets
from chaos.summary import print_run

EXPERIMENT = """
name: list-append-memory-si
seed: 3
operations: 600
concurrency: 8
stores:
  db:
    adapter: memory
    settings: {isolation: repeatable_read}
system: list-append
workload:
  keys: [txn]
  mix: {txn: 1}
checks:
  - model: register
expect: valid
"""


async def test_an_elle_result_goes_through_summary_junit_results_and_report(tmp_path: Path) -> None:
    loaded = load_experiment(EXPERIMENT, "inline")
    run = await Runner(loaded, tmp_path / "run", report=False).run()
    operations = load_operations(run.run_dir / "history.jsonl")
    checks = [run_check({"type": "elle", "consistency": c}, operations) for c in ("serializable", "snapshot-isolation")]
    verdict = combine_verdicts(checks)  # type: ignore[arg-type]
    result = dataclasses.replace(run, checks=checks, verdict=verdict, exit_code=exit_code_for(verdict, "valid", False))
    assert result.verdict == "invalid"  # write skew, which serializable forbids

    out = io.StringIO()
    print_run(Console(file=out, width=200, color_system=None), result)
    text = out.getvalue()
    assert "elle serializable: invalid" in text
    assert checks[0].summary in text  # the anomalies: line, among the described cases
    assert "a contradiction!" in text

    suite = ET.fromstring(junit_xml(result)).find("testsuite")
    assert suite is not None
    failure = suite.find("testcase/failure")
    assert failure is not None and failure.get("message", "").startswith("not linearizable: G2-item: op ")
    assert checks[0].summary in (failure.text or "")

    run.run_dir.joinpath("results.json").unlink(missing_ok=True)
    from chaos.rundir import RunDir

    RunDir(run.run_dir).write_results(result.to_dict(), Secrets())
    stored = loads(run.run_dir.joinpath("results.json").read_bytes())
    assert stored["checks"][0]["summary"] == checks[0].summary
    assert stored["checks"][1]["verdict"] == "valid"

    page = write_run_report(result, raw_text=EXPERIMENT).read_text()
    assert "elle serializable" in page
