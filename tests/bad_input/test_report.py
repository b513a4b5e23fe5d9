"""``chaos report`` on bad run directories: no history, a history that is not one, a
results.json of the wrong shape or with fields of the wrong type (a list, ``checks: 5``,
truncated...), an experiment.yaml that is malformed or hostile, and ``--out`` that cannot be
written. Each is bad input (exit 3) naming the file and the field; no report is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .corpus import Case, Content, Form, Outcome, check, run_all
from .experiment_files import HOSTILE_SECONDS, laughs

STORED = ("history.jsonl", "results.json", "experiment.yaml", "seed")


def stored(name: str) -> Callable[[Path], bytes]:
    return lambda base: (base / "run" / name).read_bytes()


def results(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path], str]:
    """The stored results.json with ``change`` applied (in place, or returning a replacement)."""

    def make(base: Path) -> str:
        document = json.loads((base / "run" / "results.json").read_text(encoding="utf-8"))
        replaced = change(document)
        return json.dumps(document if replaced is None else replaced)

    return make


def with_check(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        document["checks"][0].update(fields)

    return change


def with_counterexample(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        document["checks"][0]["counterexample"] = {
            "key": "k0",
            "prefix": [],
            "failed": [0],
            "states": [],
            "operations": [],
            "reason": "",
            "explanation": [],
            **fields,
        }

    return change


def experiment(change: Callable[[str], str]) -> Callable[[Path], str]:
    return lambda base: change((base / "run" / "experiment.yaml").read_text(encoding="utf-8"))


def report(
    id: str,
    named: tuple[str, ...],
    *,
    form: Form = "line",
    within: float | None = None,
    args: tuple[str, ...] = (),
    extra: dict[str, Content] | None = None,
    **replaced: Content | None,
) -> Case:
    """``chaos report rd`` on a copy of the stored run, some of its files replaced (keyword
    ``results_json`` for ``results.json``...; ``None``: absent) and ``extra`` files added."""
    contents: dict[str, Content] = {}
    for name in STORED:
        content = replaced.pop(name.replace(".", "_"), stored(name))
        if content is not None:
            contents[f"rd/{name}"] = content
    assert not replaced, replaced
    return Case(
        f"report-{id}",
        "report",
        ("report", "rd", *args),
        files={**contents, **(extra or {})},
        named=named,
        form=form,
        within=within,
    )


NO_RESULTS: dict[str, Any] = {"results_json": None}

CASES: list[Case] = [
    Case("report-missing-directory", "report", ("report", "rd"), named=("rd: no history.jsonl",)),
    Case("report-a-file", "report", ("report", "rd"), files={"rd": "x"}, form="usage", named=("'rd' is a file",)),
    Case(
        "report-empty-directory",
        "report",
        ("report", "rd"),
        files={"rd/notes.txt": ""},
        named=("rd: no history.jsonl (is this a run directory?)",),
    ),
    report("history-missing", ("rd: no history.jsonl",), history_jsonl=None),
    report("history-a-directory", ("rd: no history.jsonl",), history_jsonl=None, extra={"rd/history.jsonl/x": ""}),
    report(
        "history-garbage-line",
        ("rd/history.jsonl:2: not a JSON object",),
        history_jsonl=lambda base: stored("history.jsonl")(base).replace(b"\n", b"\nnot json\n", 1),
    ),
    report(
        "history-a-list-line",
        ("rd/history.jsonl:1: expected a JSON object, got an array",),
        history_jsonl=b"[1, 2, 3]\n",
    ),
    report(
        "history-event-without-type",
        ("rd/history.jsonl:1: event has no 'type'",),
        history_jsonl=b'{"process": 0, "f": "read"}\n',
    ),
    report("history-binary", ("rd/history.jsonl:1",), history_jsonl=b"\x00\x01\x02\xff\xfe\n\x89PNG\n"),
    report(
        "results-a-list", ("rd/results.json: not a results file: Expected `object`, got `array`",), results_json="[]"
    ),
    report(
        "results-checks-5",
        ("rd/results.json: not a results file: Expected `array`, got `int` - at `$.checks`",),
        results_json=results(lambda d: d.update(checks=5)),
    ),
    report(
        "results-checks-strings",
        ("rd/results.json: not a results file", "`$.checks[0]`"),
        results_json=results(lambda d: d.update(checks=["register"])),
    ),
    report(
        "results-check-verdict-unknown",
        ("rd/results.json", "`$.checks[0].verdict`"),
        results_json=results(with_check(verdict="maybe")),
    ),
    report(
        "results-check-model-missing",
        ("rd/results.json", "missing required field `model`"),
        results_json=results(lambda d: d["checks"][0].pop("model") and None),
    ),
    report(
        "results-check-elapsed-a-word",
        ("rd/results.json", "`$.checks[0].elapsed`"),
        results_json=results(with_check(elapsed="fast")),
    ),
    report(
        "results-check-operations-a-list",
        ("rd/results.json", "`$.checks[0].operations`"),
        results_json=results(with_check(operations=[1])),
    ),
    report(
        "results-counterexample-a-string",
        ("rd/results.json", "`$.checks[0].counterexample`"),
        results_json=results(with_check(counterexample="read #3")),
    ),
    report(
        "results-counterexample-prefix-words",
        ("rd/results.json", "`$.checks[0].counterexample.prefix[0]`"),
        results_json=results(with_counterexample(prefix=["first"])),
    ),
    report(
        "results-counterexample-operation-without-id",
        ("rd/results.json", "missing required field `id`"),
        results_json=results(with_counterexample(operations=[{"f": "read"}])),
    ),
    report(
        "results-counterexample-explanation-5",
        ("rd/results.json", "`$.checks[0].counterexample.explanation`"),
        results_json=results(with_counterexample(explanation=5)),
    ),
    report(
        "results-verdict-5", ("rd/results.json", "`$.verdict`"), results_json=results(lambda d: d.update(verdict=5))
    ),
    report(
        "results-verdict-unknown-word",
        ("rd/results.json", "`$.verdict`"),
        results_json=results(lambda d: d.update(verdict="passed")),
    ),
    report("results-seed-a-word", ("rd/results.json", "`$.seed`"), results_json=results(lambda d: d.update(seed="x"))),
    report(
        "results-seed-a-fraction", ("rd/results.json", "`$.seed`"), results_json=results(lambda d: d.update(seed=1.5))
    ),
    report(
        "results-experiment-a-list",
        ("rd/results.json", "`$.experiment`"),
        results_json=results(lambda d: d.update(experiment=["a"])),
    ),
    report(
        "results-operations-a-list",
        ("rd/results.json", "`$.operations`"),
        results_json=results(lambda d: d.update(operations=[])),
    ),
    report(
        "results-throughput-a-word",
        ("rd/results.json", "`$.operations.throughput_per_second`"),
        results_json=results(lambda d: d["operations"].update(throughput_per_second="fast")),
    ),
    report(
        "results-explanation-5",
        ("rd/results.json", "`$.explanation`"),
        results_json=results(lambda d: d.update(explanation=5)),
    ),
    report(
        "results-matched-a-word",
        ("rd/results.json", "`$.matched_expectation`"),
        results_json=results(lambda d: d.update(matched_expectation="yes")),
    ),
    report(
        "results-interrupted-a-word",
        ("rd/results.json", "`$.interrupted`"),
        results_json=results(lambda d: d.update(interrupted="no")),
    ),
    report(
        "results-expect-unknown",
        ("rd/results.json", "`$.expect`"),
        results_json=results(lambda d: d.update(expect="maybe")),
    ),
    report(
        "results-truncated",
        ("rd/results.json: not a results file (malformed or truncated JSON", "truncated"),
        results_json=lambda base: stored("results.json")(base)[:200],
    ),
    report("results-empty", ("rd/results.json", "not a results file (malformed or truncated JSON"), results_json=""),
    report(
        "results-not-json", ("rd/results.json: line 1: not a results file (malformed",), results_json="verdict: valid\n"
    ),
    report(
        "results-nan",
        ("rd/results.json", "malformed"),
        results_json=lambda base: stored("results.json")(base).replace(b'"seed": 42', b'"seed": NaN'),
    ),
    report("results-binary", ("rd/results.json", "not a results file"), results_json=b"\xff\xfe\x00garbage"),
    report(
        "results-nested-deeply",
        ("rd/results.json: not a results file (nested too deeply)",),
        results_json=b'{"checks": [{"verdict": "valid", "model": "register", "linearization": '
        + b"[" * 50_000
        + b"]" * 50_000
        + b"}]}",
    ),
    report("experiment-not-yaml", ("rd/experiment.yaml: line", "not valid YAML"), experiment_yaml="name: [unclosed\n"),
    report(
        "experiment-alias-bomb",
        ("rd/experiment.yaml: line", "expands to more than 100,000 values"),
        within=HOSTILE_SECONDS,
        experiment_yaml=experiment(lambda text: laughs() + text),
    ),
    report(
        "experiment-deep-nesting",
        ("rd/experiment.yaml: line 1", "nest"),
        within=HOSTILE_SECONDS,
        experiment_yaml="x: " + "[" * 20_000 + "]" * 20_000 + "\n",
    ),
    report(
        "experiment-duplicate-key",
        ("rd/experiment.yaml: line", "key 'seed' appears twice"),
        experiment_yaml=experiment(lambda text: text + "seed: 7\n"),
    ),
    report(
        "experiment-a-list",
        ("rd/experiment.yaml: line 1: an experiment is a YAML mapping",),
        experiment_yaml="- name: x\n",
    ),
    report("experiment-not-utf8", ("rd/experiment.yaml: not a UTF-8 text file",), experiment_yaml=b"name: \xff\xfe\n"),
    report(
        "recheck-checks-5",
        ("rd/experiment.yaml: line", "checks: Input should be a valid list"),
        experiment_yaml=experiment(lambda text: text.split("checks:")[0] + "checks: 5\n"),
        **NO_RESULTS,
    ),
    report(
        "recheck-time-limit-a-word",
        ("rd/experiment.yaml: line", "checks.0.time_limit: expected a duration"),
        experiment_yaml=experiment(
            lambda text: text.split("checks:")[0] + "checks:\n  - {model: cas-register, time_limit: soon}\n"
        ),
        **NO_RESULTS,
    ),
    report(
        "recheck-model-unknown",
        ("rd/experiment.yaml: line", "checks.0.model: unknown model 'nope'"),
        experiment_yaml=experiment(lambda text: text.split("checks:")[0] + "checks:\n  - model: nope\n"),
        **NO_RESULTS,
    ),
    report(
        "recheck-check-a-string",
        ("rd/experiment.yaml: line", "checks.0: Input should be a valid dictionary"),
        experiment_yaml=experiment(lambda text: text.split("checks:")[0] + "checks: [cas-register]\n"),
        **NO_RESULTS,
    ),
    report(
        "recheck-unknown-key",
        ("rd/experiment.yaml: line", "checks.0.timeout: Extra inputs are not permitted"),
        experiment_yaml=experiment(
            lambda text: text.split("checks:")[0] + "checks:\n  - {model: cas-register, timeout: 1s}\n"
        ),
        **NO_RESULTS,
    ),
    report(
        "out-under-a-file",
        ("--out blocker/r.html: cannot write: blocker is not a directory",),
        args=("--out", "blocker/r.html"),
        extra={"blocker": "x"},
    ),
    report("out-in-proc", ("--out /proc/chaos-corpus.html: cannot write",), args=("--out", "/proc/chaos-corpus.html")),
    report(
        "out-a-directory",
        ("'outdir' is a directory",),
        form="usage",
        args=("--out", "outdir"),
        extra={"outdir/keep": ""},
    ),
    Case(
        "report-directory-empty",
        "report",
        ("report", ""),
        form="usage",
        named=("Invalid value for 'RUN_DIR': an empty path",),
    ),
    Case(
        "report-out-empty",
        "report",
        ("report", "rd", "--out", ""),
        form="usage",
        named=("Invalid value for '--out': an empty path",),
    ),
    Case("report-no-directory", "report", ("report",), form="usage", named=("Missing argument 'RUN_DIR'",)),
    Case(
        "report-unknown-option",
        "report",
        ("report", "rd", "--model", "x"),
        form="usage",
        named=("No such option '--model'",),
    ),
]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, base: Path) -> tuple[Path, dict[str, Outcome]]:
    root = tmp_path_factory.mktemp("report")
    return root, run_all(CASES, root, {"base": str(base)})


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_run_directory(case: Case, outcomes: tuple[Path, dict[str, Outcome]]) -> None:
    root, found = outcomes
    check(case, found[case.id], root / case.id)
