"""Shared pieces of the report tests: real runs of a broken in-memory system, and a headless
Chromium driven by Playwright (Debian's /usr/bin/chromium; no browser is downloaded).

Without Chromium the browser tests skip on a developer machine and fail under ``CI=true``
(.ci/run installs it), so a CI run can never pass without having opened a report.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from chaos.experiment import loads
from chaos.pipeline import Pipeline
from chaos.result import Result

from .browser import CHROMIUM, CHROMIUM_FLAGS

ROOT = Path(__file__).resolve().parents[2]
TEST_OUTPUT = ROOT / "test-output"

STALE_EXPERIMENT = """\
name: {name}
description: {description}
seed: {seed}
operations: {operations}
duration: 120s
concurrency: {concurrency}
stores:
  db:
    adapter: memory
system:
  name: tests.report.broken:StaleReadRegister
  options: {{stale: {stale}, gap: {gap}}}
workload:
  keys: {keys}
  mix: {{read: 2, write: 1}}
checks:
  - model: register
    time_limit: 60s
expect: {expect}
"""


def stale_experiment_text(
    *,
    name: str = "stale-read-memory",
    description: str = "A register whose server 0 serves one stale read.",
    seed: int = 3,
    operations: int = 400,
    concurrency: int = 4,
    stale: int = 10,
    gap: int = 12,
    keys: int = 2,
    expect: str = "valid",
) -> str:
    """The YAML of an in-memory experiment whose system serves one stale read: a real
    violation for the reports to show."""
    return STALE_EXPERIMENT.format(
        name=name,
        description=description,
        seed=seed,
        operations=operations,
        concurrency=concurrency,
        stale=stale,
        gap=gap,
        keys=keys,
        expect=expect,
    )


def run_text(text: str, out: Path, **runner_args: Any) -> Result:
    """Run an experiment given as YAML text, for real, into ``out``. On a thread of its own:
    Playwright's sync API keeps an event loop running on the test's thread."""
    runner = Pipeline(loads(text, "test"), out, **runner_args)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, runner.run()).result()


@pytest.fixture(scope="session")
def violation_run(tmp_path_factory: pytest.TempPathFactory) -> Result:
    """A 400-operation run of the broken register: invalid, with report.html and junit.xml."""
    result = run_text(stale_experiment_text(), tmp_path_factory.mktemp("violation") / "run")
    assert result.verdict == "invalid", "the broken system must produce a violation"
    return result


@pytest.fixture(scope="session")
def big_violation_run(tmp_path_factory: pytest.TempPathFactory) -> Result:
    """A 100,000-operation run of the broken register (8 workers, 4 keys)."""
    text = stale_experiment_text(
        name="stale-read-100k", operations=100_000, concurrency=8, keys=4, stale=6000, gap=30, seed=7
    )
    result = run_text(text, tmp_path_factory.mktemp("big") / "run")
    assert result.verdict == "invalid"
    return result


# ---------------------------------------------------------------------------------- browser


@dataclass
class Page:
    """A Playwright page and what it reported: console errors, uncaught exceptions, dialogs."""

    page: Any
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def open(self, path: Path) -> None:
        """Load a report and wait until its script has drawn the first frame."""
        self.page.goto(path.resolve().as_uri())
        # a selector, not wait_for_function: the report's CSP rightly forbids eval
        self.page.wait_for_selector("html[data-ready='1']", state="attached", timeout=30_000)

    def screenshot(self, tmp_path: Path, name: str, *, full_page: bool = True) -> Path:
        """Save a screenshot in the test's tmp path and copy it to test-output/ (gitignored)."""
        shot = tmp_path / f"{name}.png"
        self.page.screenshot(path=str(shot), full_page=full_page)
        TEST_OUTPUT.mkdir(exist_ok=True)
        shutil.copy(shot, TEST_OUTPUT / shot.name)
        return shot


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module. Not longer: Playwright's sync API keeps an event loop
    running on the main thread while it is open, and other modules call ``asyncio.run``."""
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        message = f"headless Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - a test dependency
        if os.environ.get("CI") == "true":
            pytest.fail(f"playwright is not installed: {exc}")
        pytest.skip(f"playwright is not installed: {exc}")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    raw = context.new_page()
    wrapped = Page(raw)
    raw.on("console", lambda m: wrapped.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    raw.on("pageerror", lambda e: wrapped.errors.append(f"pageerror: {e}"))

    def on_dialog(dialog: Any) -> None:
        wrapped.dialogs.append(dialog.message)
        dialog.dismiss()

    raw.on("dialog", on_dialog)
    try:
        yield wrapped
    finally:
        context.close()
