"""The corpus's machinery: a case as data, running it (in this process through click's
``CliRunner``, or as a ``chaos`` subprocess), and the checks every case must pass.

A case runs in a directory of its own, which is also the command's working directory: the
files it reads are written there first, and afterwards every path the command created in it is
compared with what the case allows (the README's run directory for an error: nothing for bad
input found before the run starts; ``experiment.yaml``, ``seed``, ``history.jsonl``,
``results.json`` and ``junit.xml`` for a run that stopped on unreachable infrastructure). A
``runs/`` directory appearing there would be a run directory the user did not ask for.

Subprocess cases are started from a small thread pool, so that their start-up (about a second
each on this machine) overlaps; in-process cases run one after another on the main thread,
because the command installs signal handlers.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[2]
BAD_INPUT = 3
UNREACHABLE = 4
GROUPS = ("run", "validate", "replay", "report", "serve", "check-args", "infrastructure")
"""The commands (and the infrastructure cases of ``chaos run``) the corpus counts separately."""
RUN_ARTIFACTS_ON_ERROR = frozenset({"experiment.yaml", "seed", "history.jsonl", "results.json", "junit.xml"})
"""What the README says a run that stopped on an error leaves in its run directory."""

Content = str | bytes | Callable[[Path], str | bytes]
"""A file's content, or a function of the shared base directory (see :func:`base_runs`) that
makes it, e.g. a stored replay file with one field changed."""
Form = Literal["line", "problems", "usage"]


@dataclass(frozen=True)
class Case:
    """One bad input and what must come of it.

    ``argv`` and the text of ``files`` may contain ``@name@`` tokens, replaced from the run's
    context: ``@dir@`` is the case's directory, ``@base@`` the shared base runs, and fixtures
    add their own (ports of the servers infrastructure cases point at)."""

    id: str
    group: str
    argv: tuple[str, ...]
    files: Mapping[str, Content] = field(default_factory=dict)
    code: int = BAD_INPUT
    named: tuple[str, ...] = ()
    """Fragments the error must contain: the place (file, line, setting path) and the problem."""
    hidden: tuple[str, ...] = ()
    """Text that must appear nowhere: not on the terminal, not in a file left behind."""
    form: Form = "line"
    """``line``: one ``error: ...`` line. ``problems``: the experiment's problem list (``<file>:
    N problems``, then each problem indented on its own line, with its line number).
    ``usage``: click's usage error (the usage line, the hint, ``Error: ...``)."""
    process: bool = False
    """Run as a ``chaos`` subprocess (import side effects, resource limits, real servers)."""
    env: Mapping[str, str | None] = field(default_factory=dict)
    """Environment variables to set (``None``: unset)."""
    within: float | None = None
    """Hostile input: seconds the command may take at most (a generous bound on a loaded machine)."""
    leaves: frozenset[str] = frozenset()
    """Paths (relative to the case's directory) the command may create."""
    setup: Callable[[Path], None] | None = None
    """Prepares the case's directory beyond ``files`` (a directory where a file should be...)."""
    file_limit: int | None = None
    """RLIMIT_FSIZE of the subprocess, in bytes: a disk that refuses to grow a file."""

    def __post_init__(self) -> None:
        assert self.group in GROUPS, self.group
        assert self.file_limit is None or self.process, "a resource limit needs a process of its own"


@dataclass
class Outcome:
    """What a command did."""

    code: int
    stdout: str
    stderr: str
    seconds: float
    created: set[str]
    exception: str | None = None
    """A traceback the command let escape (in-process only; a subprocess prints it)."""

    def describe(self) -> str:
        return f"exit {self.code} in {self.seconds:.2f}s\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}" + (
            f"\n--- exception\n{self.exception}" if self.exception else ""
        )


def _replace(text: str, context: Mapping[str, str]) -> str:
    for name, value in context.items():
        text = text.replace(f"@{name}@", value)
    return text


def _snapshot(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*") if "__pycache__" not in p.parts}


def materialize(case: Case, directory: Path, context: Mapping[str, str]) -> tuple[list[str], dict[str, str | None]]:
    """Write the case's files into ``directory``; the argv and environment to run it with."""
    directory.mkdir(parents=True, exist_ok=True)
    context = {**context, "dir": str(directory)}
    base = Path(context.get("base", directory))
    for name, content in case.files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        made = content(base) if callable(content) else content
        if isinstance(made, str):
            path.write_text(_replace(made, context), encoding="utf-8")
        else:
            path.write_bytes(made)
    if case.setup is not None:
        case.setup(directory)
    argv = [_replace(a, context) for a in case.argv]
    env = {k: None if v is None else _replace(v, context) for k, v in case.env.items()}
    return argv, env


@contextlib.contextmanager
def _cwd(directory: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def _importable(directory: Path) -> Iterator[None]:
    """Modules written into the case's directory import, as they would from the working
    directory of a ``chaos`` process; afterwards they are forgotten again."""
    sys.path.insert(0, str(directory))
    try:
        yield
    finally:
        sys.path.remove(str(directory))
        for name, module in list(sys.modules.items()):
            if str(getattr(module, "__file__", None) or "").startswith(str(directory)):
                del sys.modules[name]


def run_in_process(case: Case, directory: Path, context: Mapping[str, str]) -> Outcome:
    """The command through click's ``CliRunner``, with ``directory`` as working directory."""
    from click.testing import CliRunner

    from chaos.cli import main

    argv, env = materialize(case, directory, context)
    before = _snapshot(directory)
    with _cwd(directory), _importable(directory):
        started = time.perf_counter()
        result = CliRunner().invoke(main, argv, env=dict(env), catch_exceptions=True)
        seconds = time.perf_counter() - started
    escaped = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        assert result.exc_info is not None
        escaped = "".join(traceback.format_exception(*result.exc_info))
    return Outcome(result.exit_code, result.stdout, result.stderr, seconds, _snapshot(directory) - before, escaped)


def run_process(case: Case, directory: Path, context: Mapping[str, str]) -> Outcome:
    """``python -m chaos`` with ``directory`` as working directory and on ``PYTHONPATH`` (so
    that a system module written there imports), the repository root too (for ``tests.*``)."""
    argv, env = materialize(case, directory, context)
    before = _snapshot(directory)
    limit = case.file_limit

    def limit_file_size() -> None:
        import resource

        assert limit is not None
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(directory), str(ROOT)]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for name, value in env.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "chaos", *argv],
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
        preexec_fn=limit_file_size if limit is not None else None,
    )
    seconds = time.perf_counter() - started
    return Outcome(done.returncode, done.stdout, done.stderr, seconds, _snapshot(directory) - before)


def run_all(cases: Sequence[Case], root: Path, context: Mapping[str, str], workers: int = 3) -> dict[str, Outcome]:
    """Every case, each in ``root/<id>``: subprocess cases from a thread pool while the
    in-process ones run on this thread."""
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    outcomes: dict[str, Outcome] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures: dict[str, Future[Outcome]] = {
            c.id: pool.submit(run_process, c, root / c.id, context) for c in cases if c.process
        }
        for case in cases:
            if not case.process:
                outcomes[case.id] = run_in_process(case, root / case.id, context)
        for name, future in futures.items():
            outcomes[name] = future.result()
    return outcomes


_PROBLEMS_HEAD = re.compile(r"^(?P<file>.+): (?P<count>\d+) problems?$")
_PROBLEM_LINE = re.compile(r"^  line \d+: \S")


def check(case: Case, outcome: Outcome, directory: Path, context: Mapping[str, str] | None = None) -> None:
    """Everything a bad input must give: the exit code, the one-line error (or the problem
    list / usage form), no traceback, the problem named, within the bound, nothing left.
    ``context`` fills the ``@name@`` tokens of the expected fragments."""
    context = context or {}
    shown = outcome.describe()
    assert outcome.exception is None, shown
    assert "Traceback" not in outcome.stdout + outcome.stderr, shown
    assert outcome.code == case.code, shown
    lines = outcome.stderr.rstrip("\n").split("\n")
    if case.form == "line":
        assert len(lines) == 1 and lines[0].startswith("error: "), shown
    elif case.form == "problems":
        head = _PROBLEMS_HEAD.match(lines[0])
        assert head is not None, shown
        assert int(head["count"]) == len(lines) - 1, shown
        assert all(_PROBLEM_LINE.match(line) for line in lines[1:]), shown
    else:
        assert lines[0].startswith("Usage: ") and lines[-1].startswith("Error: ") and len(lines) <= 4, shown
    for fragment in (_replace(f, context) for f in case.named):
        assert fragment in outcome.stderr, f"{fragment!r} not named\n{shown}"
    if case.within is not None:
        assert outcome.seconds < case.within, shown
    unexpected = outcome.created - case.leaves
    assert not unexpected, f"left behind: {sorted(unexpected)}\n{shown}"
    if case.hidden:
        left = "".join(
            (directory / p).read_text(errors="replace") for p in outcome.created if (directory / p).is_file()
        )
        for secret in (_replace(h, context) for h in case.hidden):
            assert secret not in outcome.stdout + outcome.stderr + left, f"{secret!r} shown\n{shown}"


def counts(cases: Sequence[Case]) -> dict[str, int]:
    """Cases per group, in :data:`GROUPS` order."""
    return {group: sum(c.group == group for c in cases) for group in GROUPS}
