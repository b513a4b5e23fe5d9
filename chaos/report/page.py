"""The report page: the facts of a run, its history's data and its checks, rendered into one
self-contained HTML file (see the package's docstring for what the page shows and how it
escapes what users wrote)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, Template

from ..encoding import dumps
from ..history import Operation, read_events
from ..secrets import Secrets
from .data import FaultWindow, ReportData, build, dumps_for_html

if TYPE_CHECKING:
    from ..result import Result

FAULT_ROWS = 200
"""Fault windows listed in the page's table; the timeline shows them all."""


@dataclass
class ReportMeta:
    """What the page says about the run besides its history and checks."""

    title: str
    source: str
    description: str = ""
    seed: int | None = None
    verdict: str | None = None
    expect: str | None = None
    matched: bool | None = None
    interrupted: bool = False
    experiment_text: str | None = None
    replay: str | None = None
    throughput: float | None = None
    story: list[str] = field(default_factory=list)
    """The violation in words, from the system under test (e.g. which writes a mixed pair came
    from); shown above the counterexample."""


def format_duration(value: float, unit: str) -> str:
    """``1.234 s``, ``12.5 ms``... for nanoseconds; ``N events`` when times are positions."""
    if unit != "ns":
        return f"{value:g} events"
    if value >= 1e9:
        return f"{value / 1e9:.3f} s"
    if value >= 1e6:
        return f"{value / 1e6:.3f} ms"
    if value >= 1e3:
        return f"{value / 1e3:.1f} µs"
    return f"{value:.0f} ns"


def _figure(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _json_text(value: Any) -> str:
    """A value as compact JSON text for a table cell (escaped by the template like any text)."""
    if value is None:
        return "nil"
    if isinstance(value, str):
        return value
    return dumps(value).decode()


@cache
def _assets() -> tuple[Environment, str, str]:
    files = resources.files(__package__)
    js = files.joinpath("report.js").read_text(encoding="utf-8")
    css = files.joinpath("report.css").read_text(encoding="utf-8")
    # The script is inlined raw: it must not be able to end its own element.
    assert "</script" not in js.lower() and "</style" not in css.lower()
    env = Environment(autoescape=True, trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=True)
    env.filters["tojson_text"] = _json_text
    env.filters["figure"] = _figure
    return env, js, css


@cache
def _template() -> Template:
    env, _, _ = _assets()
    text = resources.files(__package__).joinpath("template.html").read_text(encoding="utf-8")
    return env.from_string(text)


def _csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


def render(
    events: list[dict[str, Any]],
    checks: list[dict[str, Any]],
    meta: ReportMeta,
    operations: list[Operation] | None = None,
) -> str:
    """The report page for a history (its raw events, nemesis events included) and its check
    results in ``CheckResult.to_dict()`` form."""
    data: ReportData = build(events, checks, operations)
    _, js, css = _assets()
    faults = [_fault_row(w, data.unit) for w in data.faults]
    summary: dict[str, dict[str, Any]] = {}
    for window in data.faults:
        row = summary.setdefault(
            window.name,
            {"name": window.name, "count": 0, "first": window.start, "last": window.start, "example": window.detail},
        )
        row["count"] += 1
        row["last"] = max(row["last"], window.start)
    for row in summary.values():
        row["first"] = format_duration(row["first"], data.unit)
        row["last"] = format_duration(row["last"], data.unit)
    verdict = meta.verdict
    if verdict is None and checks:
        verdicts = {c.get("verdict") for c in checks}
        verdict = "invalid" if "invalid" in verdicts else "unknown" if "unknown" in verdicts else "valid"
    throughput = f"{meta.throughput:,.0f} ops/s" if meta.throughput else None
    return _template().render(
        title=meta.title,
        description=meta.description,
        verdict=verdict,
        expect=meta.expect,
        matched=meta.matched,
        interrupted=meta.interrupted,
        seed=meta.seed,
        operations=data.operations,
        span_text=format_duration(data.span, data.unit),
        throughput=throughput,
        source=meta.source,
        replay=meta.replay,
        story=meta.story,
        generated=dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z"),
        checks=checks,
        latency=data.latency,
        unit=data.unit,
        faults=faults,
        fault_summary=list(summary.values()),
        fault_rows=FAULT_ROWS,
        experiment_text=meta.experiment_text,
        data_json=dumps_for_html(data.payload),
        js=js,
        css=css,
        script_hash=_csp_hash(js),
        style_hash=_csp_hash(css),
    )


def _fault_row(window: FaultWindow, unit: str) -> dict[str, Any]:
    return {
        "name": window.name,
        "detail": window.detail,
        "start_text": format_duration(window.start, unit),
        "end_text": "" if window.instant else format_duration(window.end, unit) + (" (open)" if window.open else ""),
    }


def write_report(
    path: Path | str,
    events: list[dict[str, Any]],
    checks: list[dict[str, Any]],
    meta: ReportMeta,
    *,
    operations: list[Operation] | None = None,
    secrets: Secrets | None = None,
) -> Path:
    """Render and write the page; ``secrets`` are masked in the final text, whatever part of
    the page they might have reached."""
    html = (secrets or Secrets()).clean(render(events, checks, meta, operations))  # passwords in DSNs too
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def write_run_report(
    result: Result,
    *,
    raw_text: str | None = None,
    secrets: Secrets | None = None,
    path: Path | None = None,
) -> Path:
    """``report.html`` in a finished run's (or exploration's) directory, from its stored history."""
    run_dir = Path(result.run_dir)
    events = read_events(run_dir / "history.jsonl")
    experiment = result.experiment
    meta = ReportMeta(
        title=experiment.name,
        description=experiment.description,
        source=str(run_dir),
        seed=result.seed,
        verdict=result.verdict,
        expect=experiment.expect,
        matched=result.exit_code == 0,
        interrupted=result.interrupted,
        experiment_text=raw_text,
        replay=result.replay,
        throughput=result.stats.throughput() if result.mode == "run" else None,
        story=[*result.explanation, *(f"warning: {w}" for w in result.warnings)],
    )
    checks = [c.to_dict() for c in result.checks]
    return write_report(path or run_dir / "report.html", events, checks, meta, secrets=secrets)


def report_from_run_dir(run_dir: Path | str, out: Path | str | None = None) -> Path:
    """Regenerate a stored run's report from ``history.jsonl``, ``results.json`` and
    ``experiment.yaml``. Without ``results.json`` (a run killed before it was written) the
    history is checked again with the experiment's checks. Every file is validated field by
    field (:mod:`chaos.report.stored`): a directory without a history, a bad history, results
    or experiment are :class:`~chaos.errors.BadInput` naming the file and the field."""
    from .stored import StoredRunError, read_experiment, read_results, stored_checks

    run_dir = Path(run_dir)
    history = run_dir / "history.jsonl"
    if not history.is_file():
        raise StoredRunError(f"{run_dir}: no history.jsonl (is this a run directory?)")
    events = read_events(history)
    experiment_path = run_dir / "experiment.yaml"
    raw_text, spec, lines = read_experiment(experiment_path)
    results: dict[str, Any] = {}
    if (run_dir / "results.json").is_file():
        results = read_results(run_dir / "results.json")
        checks = list(results["checks"])
    else:
        checks = _recheck(events, stored_checks(experiment_path, spec, lines))
    seed: Any = results.get("seed")
    if seed is None and (run_dir / "seed").is_file():
        text = (run_dir / "seed").read_text(encoding="utf-8", errors="replace").strip()
        seed = int(text) if text.lstrip("-").isdigit() and len(text) < 100 else None
    name = str(results.get("experiment") or spec.get("name") or run_dir.name)
    operations = results.get("operations") or {}
    meta = ReportMeta(
        title=name,
        description=str(spec.get("description") or ""),
        source=str(run_dir),
        seed=seed,
        verdict=results.get("verdict"),
        expect=results.get("expect") or spec.get("expect") or "valid",
        matched=results.get("matched_expectation"),
        interrupted=bool(results.get("interrupted")),
        experiment_text=raw_text,
        replay=f"chaos run {experiment_path} --seed {seed}" if seed is not None and raw_text else None,
        throughput=operations.get("throughput_per_second"),
        story=[str(line) for line in results.get("explanation") or []],
    )
    if meta.matched is None and meta.verdict is None and checks:
        meta.expect = None  # re-checked here: the page shows the verdict, not the run's outcome
    return write_report(Path(out) if out else run_dir / "report.html", events, checks, meta)


def _recheck(events: list[dict[str, Any]], specs: list[Any]) -> list[dict[str, Any]]:
    """The stored history checked with the experiment's (validated) checks, by the check
    stage's own code: the page says what a finished run would have."""
    from ..analysis import run_check
    from ..history import pair

    operations = pair(events)
    return [run_check(operations, spec).to_dict() for spec in specs]


__all__ = [
    "ReportMeta",
    "format_duration",
    "render",
    "report_from_run_dir",
    "write_report",
    "write_run_report",
]
