"""JUnit XML for CI: one test case per check (many seeds: per seed), the counterexample in the failure.

CI systems (GitHub Actions reporters, GitLab, Jenkins, Buildkite...) read JUnit XML to show
which tests failed and why. A chaos run becomes one ``<testsuite>`` named after the
experiment, with one ``<testcase>`` per check. What counts as failure follows the run's exit
code, not the raw verdict: with ``expect: invalid`` finding the violation is the pass.

- expect valid: a valid check passes, an invalid one is a ``<failure>`` whose message is the
  reason and whose text is the whole counterexample (``CheckResult.describe()``).
- expect invalid: when the run found a violation every check passes (the invalid ones say
  so in ``<system-out>``); when none did, each valid check is a ``<failure>``.
- unknown (the checker gave up) and interrupted runs are ``<error>``: not a verdict.
- a run that could not start (bad input, unreachable store) is one ``<error>`` test case.

The output is restricted to what the Jenkins xUnit plugin's ``junit-10.xsd`` allows (the
tests validate against that schema) and is passed through the run's secrets before it is
written.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .elle.result import ElleResult

if TYPE_CHECKING:
    from .result import Check, Result
    from .secrets import Secrets
    from .seeds import SeedOutcome, SeedsResult

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MESSAGE_LIMIT = 500
"""Characters of a failure's ``message`` attribute (one line in most CI views); the element's
text carries everything."""


def _clean(text: str) -> str:
    """XML 1.0 cannot carry control characters at all, escaped or not: show them as ``\\xNN``."""
    return _INVALID_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _seconds(value: float) -> str:
    return f"{max(0.0, value):.3f}"


def _message(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MESSAGE_LIMIT else line[: MESSAGE_LIMIT - 1] + "…"


def _case_name(index: int, check: Check, total: int) -> str:
    if isinstance(check, ElleResult):  # "elle serializable" -> elle[serializable]; "bank" -> bank
        kind, _, level = check.model.partition(" ")
        name = f"{kind}[{level}]" if level else kind
    else:
        name = f"linearizability[{check.model}]"
    return name if total == 1 else f"{index}: {name}"


def _testcase(
    suite: ET.Element, *, name: str, classname: str, seconds: float, outcome: str | None, message: str, text: str
) -> ET.Element:
    case = ET.SubElement(suite, "testcase", name=_clean(name), classname=_clean(classname), time=_seconds(seconds))
    if outcome is not None:
        element = ET.SubElement(case, outcome, message=_clean(_message(message)), type=_clean(outcome_type(outcome)))
        element.text = _clean(text)
    return case


def outcome_type(outcome: str) -> str:
    return {"failure": "chaos.violation", "skipped": "chaos.not-run"}.get(outcome, "chaos.error")


def _suite(root: ET.Element, name: str, properties: dict[str, Any], seconds: float) -> ET.Element:
    suite = ET.SubElement(
        root,
        "testsuite",
        name=_clean(name),
        tests="0",
        failures="0",
        errors="0",
        skipped="0",
        time=_seconds(seconds),
        timestamp=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        hostname=_clean(socket.gethostname()),
    )
    props = ET.SubElement(suite, "properties")
    for key, value in properties.items():
        if value is not None:
            ET.SubElement(props, "property", name=key, value=_clean(str(value)))
    return suite


def _finish(root: ET.Element, suite: ET.Element) -> str:
    cases = suite.findall("testcase")
    failures = sum(1 for c in cases if c.find("failure") is not None)
    errors = sum(1 for c in cases if c.find("error") is not None)
    skipped = sum(1 for c in cases if c.find("skipped") is not None)
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    root.set("tests", str(len(cases)))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    root.set("time", suite.get("time", "0"))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _properties(result: Result) -> dict[str, Any]:
    props: dict[str, Any] = {
        "seed": result.seed,
        "mode": result.mode,
        "expect": result.experiment.expect,
        "verdict": result.verdict,
        "exit_code": int(result.exit_code),
        "run_dir": str(result.run_dir),
        "replay": result.replay,
        "operations": result.stats.completed,
        "ended": result.execution.ended,
    }
    exploration = result.exploration
    if exploration is not None:
        props.update(strategy=exploration.strategy, executions=exploration.executions, states=exploration.states)
    for number, warning in enumerate(result.warnings, 1):
        props[f"warning.{number}"] = warning
    return props


def junit_xml(result: Result, *, replay: str | None = None) -> str:
    """The JUnit document of a finished run or exploration: one test case per check (an
    exploration that found nothing: one for the exploration), warnings in ``<system-err>``.
    ``replay`` replaces the result's own replay command (a path as the user typed it)."""
    experiment = result.experiment
    name = experiment.name
    classname = f"chaos.{name}"
    replay = replay or result.replay
    root = ET.Element("testsuites", name="chaos")
    suite = _suite(root, name, {**_properties(result), "replay": replay}, result.wall_seconds)
    found = result.verdict == "invalid"
    trace = result.exploration.trace if result.exploration is not None else []
    warned = "".join(f"warning: {w}\n" for w in result.warnings)
    strict_error = result.withheld
    cases: list[tuple[str, float, str | None, str, str]] = []
    total = len(result.checks)
    for index, check in enumerate(result.checks):
        evidence = ("\n".join(trace) + "\n\n" if trace else "") + check.describe()
        evidence += f"\n\nrun directory: {result.run_dir}\nreplay: {replay}\n"
        outcome: str | None = None
        message = ""
        if result.interrupted:
            outcome, message = "error", "run interrupted before it ended: the history is partial"
        elif check.verdict == "unknown":
            outcome, message = "error", f"checker gave up: {check.reason or 'unknown'}"
        elif experiment.expect == "valid" and check.verdict == "invalid":
            outcome = "failure"
            if isinstance(check, ElleResult):
                message = check.summary
            else:
                reason = check.counterexample.reason if check.counterexample else check.reason
                message = f"not linearizable: {reason or 'violation found'}"
        elif experiment.expect == "invalid" and not found:
            outcome, message = "failure", "expected a violation, none was found"
        elif strict_error:
            outcome, message = "error", f"strict: {result.warnings[0]}"
        cases.append((_case_name(index, check, total), check.elapsed, outcome, message, evidence))
    if not result.checks:
        exploration = result.exploration
        label = f"explore[{exploration.strategy}]" if exploration is not None else "checks"
        evidence = f"{result.stats.completed} operations\n"
        if exploration is not None:
            evidence = f"{exploration.executions} executions, {exploration.states} states explored\n"
        outcome, message = None, ""
        if result.interrupted:
            outcome, message = "error", "interrupted before the exploration ended"
        elif result.verdict == "unknown":
            outcome, message = "error", result.reason or "unknown"
        elif experiment.expect == "invalid":
            outcome, message = "failure", "expected a violation, none was found"
        elif strict_error:
            outcome, message = "error", f"strict: {result.warnings[0]}"
        elif exploration is None:
            outcome, message = "error", "the experiment ran no check"
        cases.append((label, result.wall_seconds, outcome, message, evidence))
    for case_name, seconds, outcome, message, text in cases:
        case = _testcase(
            suite, name=case_name, classname=classname, seconds=seconds, outcome=outcome, message=message, text=text
        )
        if outcome is None:
            out = ET.SubElement(case, "system-out")
            note = "violation found, as the experiment expects\n" if found else ""
            out.text = _clean(note + text)
        if warned:
            ET.SubElement(case, "system-err").text = _clean(warned)
    return _finish(root, suite)


def _seed_case(result: SeedsResult, outcome: SeedOutcome) -> tuple[str | None, str, str]:
    """One seed's outcome, message and text, judged as the combined exit code judges it."""
    where = f"run directory: {outcome.run_dir}\nreplay: {outcome.replay}\n" if outcome.ran else ""
    text = (outcome.evidence + "\n\n" if outcome.evidence else "") + where
    if not outcome.ran:
        kind = "skipped" if outcome.interrupted else "error"
        return kind, outcome.reason or "not run", outcome.reason or "not run"
    if outcome.error_kind is not None or outcome.interrupted:
        return "error", outcome.reason or "run interrupted before it ended: the history is partial", text
    if outcome.verdict == "unknown":
        return "error", f"checker gave up: {outcome.reason or 'unknown'}", text
    if result.expect == "invalid":
        if outcome.found:
            return None, "violation found, as the experiment expects", text
        if result.matched:
            return None, "no violation with this seed (another seed found it, as the experiment expects)", text
        return "failure", "expected a violation, no seed found one", text
    if outcome.found:
        return "failure", f"not linearizable: {outcome.reason or 'violation found'}", text
    if not outcome.matched:
        return "error", f"strict: {outcome.warnings[0]}" if outcome.warnings else "not as expected", text
    return None, "", text


def seeds_junit_xml(result: SeedsResult) -> str:
    """The JUnit document of many seeds of one experiment: one test case per seed (``seed-N``),
    failed as the combined exit code would have it (with ``expect: invalid``, a seed that did
    not find the violation fails only when no seed found it); seeds an interrupt kept from
    running are ``<skipped>``."""
    name = result.experiment
    failing = result.first_failing
    props: dict[str, Any] = {
        "seeds": len(result.seeds),
        "expect": result.expect,
        "exit_code": int(result.exit_code),
        "run_dir": str(result.run_dir),
        "workers": result.workers,
        "replay": failing.replay if failing is not None else None,
        "found_by": ",".join(str(o.seed) for o in result.found) or None,
        "rerun": ",".join(str(s) for s in sorted(result.reruns)) or None,
        "failure_database": ",".join(str(s) for s in result.recorded) or None,
    }
    root = ET.Element("testsuites", name="chaos")
    suite = _suite(root, name, props, result.wall_seconds)
    for outcome in result.ordered:
        kind, message, text = _seed_case(result, outcome)
        case = _testcase(
            suite,
            name=f"seed-{outcome.seed}",
            classname=f"chaos.{name}",
            seconds=outcome.wall_seconds,
            outcome=kind,
            message=message,
            text=text,
        )
        if kind is None:
            ET.SubElement(case, "system-out").text = _clean((message + "\n" if message else "") + text)
        if outcome.warnings:
            ET.SubElement(case, "system-err").text = _clean("".join(f"warning: {w}\n" for w in outcome.warnings))
    return _finish(root, suite)


def error_xml(name: str, message: str, *, kind: str = "infrastructure", seconds: float = 0.0) -> str:
    """A run that could not start or finish (bad input, unreachable store): one test case in
    error, so that CI shows the reason instead of a missing report."""
    root = ET.Element("testsuites", name="chaos")
    suite = _suite(root, name, {"error": kind}, seconds)
    _testcase(
        suite, name=kind, classname=f"chaos.{name}", seconds=seconds, outcome="error", message=message, text=message
    )
    return _finish(root, suite)


def write_junit(path: Path | str, text: str, secrets: Secrets | None = None) -> Path:
    """Write a JUnit document, secrets masked (an ``OSError`` says the disk refused it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(secrets.redact(text) if secrets else text, encoding="utf-8")
    return path


__all__ = ["error_xml", "junit_xml", "seeds_junit_xml", "write_junit"]
