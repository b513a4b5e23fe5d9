"""The artifacts stage: a Result in, results.json, junit.xml and report.html out.

One module writes every file a finished run or exploration leaves, and the files of a run
that stopped on an error, so that both modes and every way of ending look the same to CI.
Secrets are masked in each file as it is written. A report that cannot be drawn never costs
the verdict: the reason goes into the result instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from .encoding import dumps
from .errors import ChaosError, ExitCode
from .junit import error_xml, junit_xml, write_junit
from .result import Result, error_dict
from .rundir import RunDir
from .secrets import Secrets


def write_results(path: Path, data: dict[str, object], secrets: Secrets) -> None:
    text = dumps(data, indent=2).decode()
    path.write_text(secrets.redact(text) + "\n", encoding="utf-8")


def write(
    result: Result,
    secrets: Secrets,
    *,
    raw_text: str,
    junit: Path | None = None,
    report: bool = True,
    hold: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext,
) -> None:
    """Every artifact of a finished result: results.json and junit.xml in the run directory
    and junit.xml at ``junit`` first (small, and what CI reads), then report.html, whose
    failure (or a signal while it is drawn) is recorded in results.json. ``hold`` holds signals
    while the small files are written. An ``OSError`` means the disk refused a file (the caller
    reports it as infrastructure)."""
    rundir = RunDir(result.run_dir)
    try:
        with hold():  # a signal waits until these are whole
            write_results(rundir.results, result.to_dict(), secrets)
            text = junit_xml(result)
            write_junit(rundir.junit, text, secrets)
            if junit is not None:
                write_junit(junit, text, secrets)
    except KeyboardInterrupt:  # one held while they were written arrives as they are done
        result.signalled, result.exit_code = True, ExitCode.INTERRUPTED
        if report:
            result.report_error = "interrupted before the report was drawn"
        with hold():
            write_results(rundir.results, result.to_dict(), secrets)
        return
    if not report:
        return
    try:
        from .report import write_run_report  # jinja2 only when a page is wanted

        write_run_report(result, raw_text=raw_text, secrets=secrets)
    except KeyboardInterrupt:
        result.report_error = "interrupted while drawing the report"
        result.signalled, result.exit_code = True, ExitCode.INTERRUPTED
    except Exception as exc:  # the verdict and the history stand without a page
        result.report_error = f"{type(exc).__name__}: {exc}"
    if result.report_error:
        with hold():
            write_results(rundir.results, result.to_dict(), secrets)


def write_error(
    name: str,
    error: ChaosError,
    secrets: Secrets,
    *,
    rundir: RunDir | None = None,
    seed: int | None = None,
    junit: Path | None = None,
) -> None:
    """results.json and junit.xml of a run that stopped on ``error`` before it had a verdict.
    Best effort: the disk that refused the history may refuse these too, and the error the
    user must see is the first one."""
    message = secrets.clean(f"error: {error}")
    text = error_xml(name, message, kind=error.kind)
    targets: list[Path] = [] if junit is None else [junit]
    if rundir is not None:
        targets.insert(0, rundir.junit)
        with contextlib.suppress(OSError):
            write_results(rundir.results, error_dict(name, error, rundir.path, seed), secrets)
    for path in targets:
        with contextlib.suppress(OSError):
            write_junit(path, text, secrets)


__all__ = ["write", "write_error", "write_results"]
