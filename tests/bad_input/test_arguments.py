"""Bad command lines: ``chaos run`` and ``chaos validate`` arguments, ``chaos check`` arguments
(the history files themselves have their own corpus), ``chaos serve profile`` options.

A usage error is click's form (the usage line, the hint, ``Error: ...``) with exit code 3; a
value click accepts but the command cannot use is one ``error:`` line, also exit 3. Nothing
is written: not a run directory, not a JUnit file, not a report.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .corpus import Case, Form, Outcome, check, run_all
from .experiment_files import BASE_TEXT

GOOD = {"e.yaml": BASE_TEXT}
HISTORY = (
    '{"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "write", "key": "x", "value": 1}\n'
    '{"index": 1, "time": 1, "process": 0, "type": "ok", "f": "write", "key": "x", "value": 1}\n'
)
HISTORY_FILES = {"h.jsonl": HISTORY}
NOT_A_DIRECTORY = {"blocker": "a file where a directory should be\n"}


def run(
    id: str,
    *args: str,
    named: tuple[str, ...],
    form: Form = "usage",
    files: dict[str, str] | None = None,
    leaves: frozenset[str] = frozenset(),
) -> Case:
    return Case(
        f"run-args-{id}",
        "run",
        ("run", *args),
        files={**GOOD, **NOT_A_DIRECTORY, **(files or {})},
        named=named,
        form=form,
        leaves=leaves,
    )


def validate(id: str, *args: str, named: tuple[str, ...], form: Form = "usage") -> Case:
    return Case(f"validate-args-{id}", "validate", ("validate", *args), files=GOOD, named=named, form=form)


def check_args(
    id: str, *args: str, named: tuple[str, ...], form: Form = "usage", files: dict[str, str] | None = None
) -> Case:
    return Case(
        f"check-{id}",
        "check-args",
        ("check", *args),
        files={**HISTORY_FILES, **NOT_A_DIRECTORY, **(files or {})},
        named=named,
        form=form,
    )


def serve(id: str, *args: str, named: tuple[str, ...], form: Form = "usage", code: int = 3) -> Case:
    """``chaos serve profile`` with a PostgreSQL DSN that is well formed but never used: each of
    these stops before a store is opened."""
    argv: tuple[str, ...] = ("serve", "profile")
    if not any(a.startswith("--db") for a in args):
        argv = (*argv, "--db", "postgresql://postgres@127.0.0.1:1/none")
    argv = (*argv, *args)
    return Case(
        f"serve-{id}",
        "serve",
        argv,
        named=named,
        form=form,
        code=code,
        env={"CHAOS_PG_DSN": None, "CHAOS_S3_ENDPOINT": None},
    )


CASES: list[Case] = [
    # chaos run
    run("seed-a-word", "e.yaml", "--seed", "lucky", named=("'lucky' is not a valid integer",)),
    run("seed-a-fraction", "e.yaml", "--seed", "1.5", named=("'1.5' is not a valid integer",)),
    run("seed-empty", "e.yaml", "--seed", "", named=("'' is not a valid integer",)),
    run("seed-without-value", "e.yaml", "--seed", named=("Option '--seed' requires an argument",)),
    run("seed-nan", "e.yaml", "--seed", "nan", named=("'nan' is not a valid integer",)),
    run("unknown-option", "e.yaml", "--sead", "3", named=("No such option '--sead'",)),
    run("no-experiment", named=("Missing argument 'EXPERIMENT'",)),
    run("two-experiments", "e.yaml", "e.yaml", named=("unexpected extra argument",)),
    run("report-with-a-value", "e.yaml", "--report=yes", named=("Option '--report' does not take a value",)),
    run("strict-with-a-value", "e.yaml", "--strict=no", named=("Option '--strict' does not take a value",)),
    run("out-is-a-file", "e.yaml", "--out", "blocker", named=("'blocker' is a file",)),
    run(
        "out-under-a-file",
        "e.yaml",
        "--out",
        "blocker/run",
        form="line",
        named=("cannot write the run directory blocker/run: Not a directory",),
    ),
    run(
        "out-in-proc",
        "e.yaml",
        "--out",
        "/proc/chaos-corpus/run",
        form="line",
        named=("cannot write the run directory /proc/chaos-corpus/run",),
    ),
    run("out-without-value", "e.yaml", "--out", named=("Option '--out' requires an argument",)),
    run("out-empty", "e.yaml", "--out", "", named=("Invalid value for '--out': an empty path",)),
    run("junit-empty", "e.yaml", "--junit", " ", named=("Invalid value for '--junit': an empty path",)),
    run("experiment-empty", "", named=("Invalid value for 'EXPERIMENT': an empty path",)),
    run(
        "junit-in-proc",
        "e.yaml",
        "--junit",
        "/proc/chaos-corpus.xml",
        "--out",
        "run",
        form="line",
        named=("--junit /proc/chaos-corpus.xml: cannot write",),
    ),
    run(
        "junit-under-a-file",
        "e.yaml",
        "--junit",
        "blocker/junit.xml",
        "--out",
        "run",
        form="line",
        named=("--junit blocker/junit.xml: cannot write: blocker is not a directory",),
    ),
    run(
        "junit-a-directory",
        "e.yaml",
        "--junit",
        "reports",
        "--out",
        "run",
        files={"reports/keep": ""},
        named=("'reports' is a directory",),
    ),
    run(
        "junit-in-sys",
        "e.yaml",
        "--junit",
        "/sys/chaos-corpus.xml",
        "--out",
        "run",
        form="line",
        named=("--junit /sys/chaos-corpus.xml: cannot write",),
    ),
    run(
        "bad-experiment-with-junit",
        "bad.yaml",
        "--junit",
        "ci/junit.xml",
        "--out",
        "run",
        form="problems",
        files={"bad.yaml": BASE_TEXT.replace("operations: 20", "operations: many")},
        named=("bad.yaml: 1 problem", "line 3: operations: Input should be a valid integer"),
        leaves=frozenset({"ci", "ci/junit.xml"}),
    ),
    run("progress-with-a-value", "e.yaml", "--progress=fast", named=("Option '--progress' does not take a value",)),
    Case(
        "run-args-unknown-command",
        "run",
        ("runn", "e.yaml"),
        files=GOOD,
        named=("No such command 'runn'",),
        form="usage",
    ),
    # chaos validate
    validate("no-experiment", named=("Missing argument 'EXPERIMENT'",)),
    validate("two-experiments", "e.yaml", "e.yaml", named=("unexpected extra argument",)),
    validate("unknown-option", "e.yaml", "--strict", named=("No such option '--strict'",)),
    validate("seed-option", "e.yaml", "--seed", "3", named=("No such option '--seed'",)),
    validate("experiment-empty", "", named=("Invalid value for 'EXPERIMENT': an empty path",)),
    # chaos check (arguments only)
    check_args("model-missing", "h.jsonl", named=("--model is needed to check linearizability",)),
    check_args(
        "model-unknown",
        "h.jsonl",
        "--model",
        "serializable",
        form="line",
        named=("unknown model 'serializable'; known models:",),
    ),
    check_args("model-empty", "h.jsonl", "--model", "", form="line", named=("unknown model ''",)),
    check_args("model-without-value", "h.jsonl", "--model", named=("Option '--model' requires an argument",)),
    check_args(
        "time-limit-negative",
        "h.jsonl",
        "--model",
        "register",
        "--time-limit",
        "-1",
        named=("'-1' is not a positive, finite number of seconds",),
    ),
    check_args(
        "time-limit-zero",
        "h.jsonl",
        "--model",
        "register",
        "--time-limit",
        "0",
        named=("'0' is not a positive, finite number of seconds",),
    ),
    check_args(
        "time-limit-nan",
        "h.jsonl",
        "--model",
        "register",
        "--time-limit",
        "nan",
        named=("'nan' is not a positive, finite number of seconds",),
    ),
    check_args(
        "time-limit-infinite",
        "h.jsonl",
        "--model",
        "register",
        "--time-limit",
        "inf",
        named=("'inf' is not a positive, finite number of seconds",),
    ),
    check_args(
        "time-limit-overflow",
        "h.jsonl",
        "--model",
        "register",
        "--time-limit",
        "1e400",
        named=("'1e400' is not a positive, finite number of seconds",),
    ),
    check_args(
        "time-limit-a-word",
        "h.jsonl",
        "--model",
        "register",
        "--time-limit",
        "long",
        named=("'long' is not a number of seconds",),
    ),
    check_args(
        "history-missing",
        "nowhere.jsonl",
        "--model",
        "register",
        form="line",
        named=("nowhere.jsonl", "No such file or directory"),
    ),
    check_args(
        "history-a-directory",
        "histories",
        "--model",
        "register",
        files={"histories/h.jsonl": HISTORY},
        named=("'histories' is a directory",),
    ),
    check_args(
        "history-under-a-file",
        "blocker/h.jsonl",
        "--model",
        "register",
        form="line",
        named=("blocker/h.jsonl", "Not a directory"),
    ),
    check_args("history-empty", "", "--model", "register", named=("Invalid value for 'HISTORY': an empty path",)),
    check_args(
        "report-empty",
        "h.jsonl",
        "--model",
        "register",
        "--report",
        "",
        named=("Invalid value for '--report': an empty path",),
    ),
    check_args(
        "format-unknown",
        "h.jsonl",
        "--model",
        "register",
        "--format",
        "xml",
        named=("'xml' is not one of 'jsonl', 'edn'",),
    ),
    check_args("no-history", "--model", "register", named=("Missing argument 'HISTORY'",)),
    check_args(
        "report-a-directory",
        "h.jsonl",
        "--model",
        "register",
        "--report",
        "reports",
        files={"reports/keep": ""},
        named=("'reports' is a directory",),
    ),
    check_args(
        "report-in-proc",
        "h.jsonl",
        "--model",
        "register",
        "--report",
        "/proc/chaos-corpus.html",
        form="line",
        named=("--report /proc/chaos-corpus.html: cannot write",),
    ),
    check_args(
        "report-under-a-file",
        "h.jsonl",
        "--model",
        "register",
        "--report",
        "blocker/r.html",
        form="line",
        named=("--report blocker/r.html: cannot write: blocker is not a directory",),
    ),
    check_args("unknown-option", "h.jsonl", "--model", "register", "--strict", named=("No such option '--strict'",)),
    # chaos serve profile
    serve("design-unknown", "--design", "perfect", named=("'perfect' is not one of",)),
    serve("port-99999", "--port", "99999", named=("99999 is not in the range 0<=x<=65535",)),
    serve("port-negative", "--port", "-1", named=("-1 is not in the range 0<=x<=65535",)),
    serve("port-a-word", "--port", "http", named=("'http' is not a valid integer",)),
    serve("servers-zero", "--servers", "0", named=("0 is not in the range 1<=x<=1024",)),
    serve("servers-too-many", "--servers", "5000", named=("5000 is not in the range 1<=x<=1024",)),
    serve("time-scale-zero", "--time-scale", "0", named=("'0' is not a positive, finite number of seconds",)),
    serve("time-scale-nan", "--time-scale", "nan", named=("'nan' is not a positive, finite number of seconds",)),
    serve("time-scale-negative", "--time-scale", "-1", named=("'-1' is not a positive, finite number",)),
    serve("time-scale-a-word", "--time-scale", "fast", named=("'fast' is not a number of seconds",)),
    serve("db-missing", "--db=", form="line", named=("--db", "dsn: expected postgresql://")),
    serve("db-not-a-dsn", "--db", "host=localhost user=x", form="line", named=("--db", "dsn: expected postgresql://")),
    serve(
        "db-port-99999",
        "--db",
        "postgresql://postgres@127.0.0.1:99999/x",
        form="line",
        named=("--db", "the port must be a number from 1 to 65535"),
    ),
    serve(
        "blobs-not-a-url",
        "--blobs",
        "ftp://127.0.0.1:9000",
        form="line",
        named=("--blobs", "endpoint_url: expected http(s)://"),
    ),
    serve(
        "bucket-too-short",
        "--bucket",
        "ab",
        form="line",
        named=("--bucket", "bucket: String should have at least 3 characters"),
    ),
    serve("unknown-option", "--workers", "2", named=("No such option '--workers'",)),
    serve("namespace-without-value", "--namespace", named=("Option '--namespace' requires an argument",)),
    Case("serve-unknown-service", "serve", ("serve", "profiles"), named=("No such command 'profiles'",), form="usage"),
    Case(
        "serve-db-unset",
        "serve",
        ("serve", "profile"),
        named=("Missing option '--db'",),
        form="usage",
        env={"CHAOS_PG_DSN": None},
    ),
]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Outcome]]:
    root = tmp_path_factory.mktemp("arguments")
    return root, run_all(CASES, root, {})


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_arguments(case: Case, outcomes: tuple[Path, dict[str, Outcome]]) -> None:
    root, found = outcomes
    check(case, found[case.id], root / case.id)
