"""pytest integration: experiment files as test items, and a fixture to run one from a test.

Registered through the ``pytest11`` entry point, so installing the package is enough::

    pytest --chaos experiments/                          # every experiments/*.yaml is a test
    pytest --chaos 'experiments/*-memory.yaml'           # a glob (quote it for the shell)
    pytest --chaos experiments/ --chaos-select '*-memory.yaml'
    pytest --chaos experiments/register-memory.yaml --chaos-seeds 8 -n 2   # 8 items, on pytest-xdist

An experiment item passes when the run's outcome matches the file's ``expect:`` (exit code 0 of
``chaos run``); it fails with the verdict, the counterexample, the run directory and the
command that replays it. A file that does not validate, an unset ``${ENV_VAR}`` or a store
that cannot be reached fails the item with that one message rather than a traceback: in CI a
missing backend must be loud, never a skip.

Tests that want to assert on a run use the ``chaos_run`` fixture::

    def test_naive_design_is_caught(chaos_run):
        result = chaos_run("experiments/naive-memory.yaml", operations=300)
        assert result.verdict == "invalid"

The plugin is loaded into every pytest session of an environment where the package is
installed, so it imports nothing heavy until an experiment actually runs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fnmatch
import glob
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .result import Result

_FILES = pytest.StashKey[set[Path]]()
_SUFFIXES = (".yaml", ".yml")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaos", "chaos experiments (asyncchaos)")
    group.addoption(
        "--chaos",
        action="append",
        default=[],
        metavar="PATH",
        help="Collect experiment files as test items: a YAML file, a directory (its *.yaml) or a glob. "
        "Repeatable. Without other path arguments only the experiments are collected.",
    )
    group.addoption(
        "--chaos-select",
        metavar="GLOB",
        help="Keep only experiments whose file name matches this glob, e.g. '*-memory.yaml'.",
    )
    group.addoption(
        "--chaos-out",
        metavar="DIR",
        help="Directory for the run directories of collected experiments (default: runs/<experiment>/<stamp>).",
    )
    group.addoption("--chaos-seed", type=int, metavar="N", help="Override the seed of every collected experiment.")
    group.addoption(
        "--chaos-seeds",
        metavar="N|A-B",
        help="Turn each experiment into N items, one per seed (from --chaos-seed, else the file's seed, else 1), "
        "or one per seed A to B. Works under pytest-xdist (-n 2): every item has its own run directory.",
    )
    group.addoption(
        "--chaos-no-report",
        action="store_true",
        default=False,
        help="Do not write report.html into the run directories (junit.xml is still written).",
    )


def experiment_files(patterns: list[str], select: str | None = None) -> list[Path]:
    """The experiment files named by ``--chaos`` values: files, directories (their YAML files,
    not recursive) and globs, filtered by ``select`` on the file name, in sorted order."""
    found: dict[Path, None] = {}
    for pattern in patterns:
        path = Path(pattern)
        if glob.has_magic(pattern):
            candidates = [Path(p) for p in sorted(glob.glob(pattern, recursive=True))]
        elif path.is_dir():
            candidates = sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES)
        else:
            candidates = [path]
        for candidate in candidates:
            if candidate.suffix in _SUFFIXES and (select is None or fnmatch.fnmatch(candidate.name, select)):
                found[candidate.resolve()] = None
    return list(found)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    patterns: list[str] = config.getoption("chaos") or []
    if not patterns:
        return
    files = experiment_files(patterns, config.getoption("chaos_select"))
    missing = [p for p in patterns if not glob.has_magic(p) and not Path(p).exists()]
    if missing:
        raise pytest.UsageError(f"--chaos: no such file or directory: {', '.join(missing)}")
    if not files:
        raise pytest.UsageError(f"--chaos {' '.join(patterns)}: no experiment file (*.yaml) matched")
    spec = config.getoption("chaos_seeds")
    if spec is not None:
        from .errors import BadInput
        from .seeds import parse_seeds

        try:
            parse_seeds(spec, 1)
        except BadInput as exc:
            raise pytest.UsageError(str(exc).replace("--seeds", "--chaos-seeds", 1)) from None
    config.stash[_FILES] = set(files)
    names = [str(f) for f in files]
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        config.args.extend(n for n in names if n not in config.args)
    else:  # no path given: run only the experiments, not the default testpaths
        config.args[:] = names


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    files = parent.config.stash.get(_FILES, None)
    if files and file_path.resolve() in files:
        return ExperimentFile.from_parent(parent, path=file_path)
    return None


class ChaosFailure(Exception):
    """An experiment item whose run did not match its expectation, or could not run at all.
    The message is the whole report: no traceback adds anything to it."""


class ExperimentFile(pytest.File):
    """One experiment YAML file: one item, named after the file (with ``--chaos-seeds``, one
    item per seed, ``<file>[seed-N]``)."""

    def collect(self) -> Iterator[pytest.Item]:
        spec = self.config.getoption("chaos_seeds")
        if spec is None:
            yield ExperimentItem.from_parent(self, name=self.path.stem)
            return
        from .seeds import parse_seeds

        base = self.config.getoption("chaos_seed")
        for seed in parse_seeds(spec, base if base is not None else _file_seed(self.path)):
            yield ExperimentItem.from_parent(self, name=f"{self.path.stem}[seed-{seed}]", seed=seed)


def _file_seed(path: Path) -> int | None:
    """The ``seed:`` of an experiment file, read leniently (a broken file fails its items
    when they run, with the file's problems)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    seed = data.get("seed") if isinstance(data, dict) else None
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


class ExperimentItem(pytest.Item):
    """Runs the experiment once (with ``seed``, when one item per seed) and passes when the
    outcome matched ``expect:``."""

    def __init__(self, *, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed

    def runtest(self) -> None:
        out_base = self.config.getoption("chaos_out")
        stem = self.path.stem if self.seed is None else f"{self.path.stem}-seed-{self.seed}"
        out = Path(out_base) / stem if out_base else None
        result = run_file(
            self.path,
            out=out,
            seed=self.seed if self.seed is not None else self.config.getoption("chaos_seed"),
            report=not self.config.getoption("chaos_no_report"),
            fresh_out=True,
        )
        self.user_properties.append(("run_dir", str(result.run_dir)))
        self.user_properties.append(("seed", result.seed))
        if result.exit_code != 0:
            raise ChaosFailure(failure_text(result, self.path))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ChaosFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"chaos experiment {self.name}"


def failure_text(result: Result, path: Path | str) -> str:
    """What a failed item shows: outcome against expectation, each check's evidence, where the
    artifacts are and the one command that replays the run."""
    if result.interrupted:
        head = "interrupted"
    elif result.verdict == "unknown":
        head = "the checker gave up (verdict unknown)"
    else:
        head = f"verdict {result.verdict}, expected {result.experiment.expect}"
    lines = [f"{result.experiment.name}: {head}"]
    for check in result.checks:
        lines.append(check.describe())
    for warning in result.warnings:
        lines.append(f"warning: {warning}")
    lines.append(f"run directory: {result.run_dir}")
    lines.append(f"replay: {result.replay}")
    return "\n".join(lines)


def run_file(
    path: str | Path,
    *,
    out: Path | None = None,
    seed: int | None = None,
    report: bool = True,
    fresh_out: bool = False,
    overrides: dict[str, Any] | None = None,
) -> Result:
    """Load and run one experiment file, turning input and infrastructure problems into
    :class:`ChaosFailure` with their one-line message. ``overrides`` replaces top-level keys of
    the file (``operations=200``) before validation. Runs on a fresh event loop, in a worker
    thread when the caller already has one running (an async test)."""
    from .errors import ChaosError
    from .experiment import loads
    from .pipeline import Pipeline
    from .preflight import preflight

    try:
        loaded = loads(_override(Path(path), overrides), str(path)) if overrides else _load(path)
        preflight(loaded)  # the pipeline checks again; here a problem is a "bad experiment file"
    except ChaosError as exc:
        raise ChaosFailure(f"bad experiment file:\n{exc}") from None
    if out is not None and fresh_out:
        out = _fresh(out)
    pipeline = Pipeline(loaded, out, seed=seed, report=report)
    try:
        return _run_sync(pipeline)
    except ChaosError as exc:  # the system's own messages may quote a secret
        raise ChaosFailure(loaded.secrets.clean(f"{loaded.experiment.name}: {exc.title}: {exc}")) from None


def _load(path: str | Path) -> Any:
    from .experiment import load

    return load(path)


def _override(path: Path, overrides: dict[str, Any]) -> str:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        data = {}
    data.update(overrides)
    return yaml.safe_dump(data, sort_keys=False)


def _fresh(out: Path) -> Path:
    """``out`` if unused, else ``out-2``, ``out-3``...: a rerun never mixes two histories."""
    candidate, n = out, 1
    while candidate.exists() and any(candidate.iterdir()):
        n += 1
        candidate = out.with_name(f"{out.name}-{n}")
    return candidate


def _run_sync(pipeline: Any) -> Result:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return pipeline.run_sync()  # type: ignore[no-any-return]
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="chaos-run") as pool:
        return pool.submit(pipeline.run_sync).result()  # type: ignore[no-any-return]


class ChaosRun:
    """The ``chaos_run`` fixture's value: call it with an experiment file, get the Result.

    Run directories go under the test's ``tmp_path`` unless ``out`` is given. Keyword
    arguments other than ``seed``, ``out`` and ``report`` replace top-level keys of the file.
    """

    def __init__(self, base: Path) -> None:
        self.base = base
        self.results: list[Result] = []

    def __call__(
        self,
        path: str | Path,
        *,
        seed: int | None = None,
        out: Path | None = None,
        report: bool = True,
        **overrides: Any,
    ) -> Result:
        target = out if out is not None else _fresh(self.base / Path(path).stem)
        result = run_file(path, out=target, seed=seed, report=report, overrides=overrides or None)
        self.results.append(result)
        return result


@pytest.fixture
def chaos_run(tmp_path: Path) -> ChaosRun:
    """Run an experiment file from a test and get its :class:`~chaos.runner.Result`."""
    return ChaosRun(tmp_path / "chaos-runs")
