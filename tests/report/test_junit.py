"""junit.xml: valid against the JUnit schema CI systems read (Jenkins xUnit's junit-10.xsd,
shipped beside this file), and read back by a JUnit parser with the counterexample in the
failure."""

from __future__ import annotations

from pathlib import Path

import pytest
import xmlschema
from junitparser import Error, Failure, JUnitXml

from chaos.junit import error_xml, junit_xml, write_junit
from chaos.result import Result
from chaos.secrets import Secrets

from .conftest import ROOT, run_text, stale_experiment_text

SCHEMA = xmlschema.XMLSchema(Path(__file__).with_name("junit-10.xsd"))


def _suite(path: Path):  # type: ignore[no-untyped-def]
    SCHEMA.validate(str(path))
    suites = list(JUnitXml.fromfile(str(path)))
    assert len(suites) == 1
    return suites[0]


def test_violation_is_a_failure_carrying_the_counterexample(violation_run: Result) -> None:
    suite = _suite(violation_run.run_dir / "junit.xml")
    assert suite.name == "stale-read-memory"
    assert (suite.tests, suite.failures, suite.errors) == (1, 1, 0)
    props = {p.name: p.value for p in suite.properties()}
    assert props["seed"] == str(violation_run.seed)
    assert props["verdict"] == "invalid" and props["exit_code"] == "1"
    assert props["replay"].endswith(f"--seed {violation_run.seed}")
    (case,) = list(suite)
    assert case.name == "linearizability[register]"
    assert case.classname == "chaos.stale-read-memory"
    (failure,) = case.result
    assert isinstance(failure, Failure)
    ce = violation_run.checks[0].counterexample
    assert ce is not None
    assert failure.message.startswith("not linearizable: ")
    assert ce.reason in failure.message
    assert f"cannot place: #{ce.failed[0]}" in failure.text
    assert "replay: chaos run" in failure.text


def test_valid_run_passes(tmp_path: Path) -> None:
    text = (ROOT / "experiments" / "register-memory.yaml").read_text()
    result = run_text(text, tmp_path / "run")
    suite = _suite(result.run_dir / "junit.xml")
    assert (suite.tests, suite.failures, suite.errors) == (1, 0, 0)
    (case,) = list(suite)
    assert case.is_passed
    assert "VALID" in (case.system_out or "")


@pytest.mark.parametrize(
    ("broken", "failures", "note"),
    [(True, 0, "violation found, as the experiment expects"), (False, 1, "expected a violation, none was found")],
)
def test_expect_invalid_turns_the_outcome_around(tmp_path: Path, broken: bool, failures: int, note: str) -> None:
    # stale=10**6: the broken system never gets to its stale read, so the run is valid
    text = stale_experiment_text(expect="invalid", stale=10 if broken else 10**6)
    result = run_text(text, tmp_path / "run")
    assert result.exit_code == (0 if broken else 1)
    suite = _suite(result.run_dir / "junit.xml")
    assert suite.failures == failures
    (case,) = list(suite)
    shown = case.system_out if broken else case.result[0].message
    assert note in (shown or "")


def test_an_error_document_validates_and_masks_secrets(tmp_path: Path) -> None:
    secrets = Secrets()
    secrets.add("hunter2-token")
    text = error_xml("infra", "store 'db': auth failed for hunter2-token\x00\x1b[31m", kind="infrastructure")
    path = write_junit(tmp_path / "junit.xml", text, secrets)
    suite = _suite(path)
    assert (suite.tests, suite.errors) == (1, 1)
    (case,) = list(suite)
    (error,) = case.result
    assert isinstance(error, Error)
    assert "hunter2-token" not in path.read_text() and "***" in error.message
    assert "\\x00" in error.message  # a control character XML cannot carry, shown as text


def test_the_replay_command_given_is_the_one_shown(violation_run: Result, tmp_path: Path) -> None:
    path = write_junit(tmp_path / "j.xml", junit_xml(violation_run, replay="chaos run x.yaml --seed 3"))
    suite = _suite(path)
    assert {p.name: p.value for p in suite.properties()}["replay"] == "chaos run x.yaml --seed 3"
    (case,) = list(suite)
    assert "replay: chaos run x.yaml --seed 3" in case.result[0].text
