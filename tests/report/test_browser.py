"""The report in a real browser: headless Chromium opens report.html files from real runs.

Each test collects console errors, uncaught exceptions and dialogs, asserts on the DOM and on
what the canvas drew, and saves a screenshot (tmp path, copied to test-output/). Timing is
not asserted here: bench/report.py measures how fast a 100,000-operation report opens.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chaos.report import ReportMeta, write_report
from chaos.result import Result

from .conftest import Page, run_text

RED_NEAR = """([id, pad]) => {
  const r = window.chaosReport.opRect(id);
  if (!r) return null;
  const canvas = document.getElementById('timeline');
  const box = canvas.getBoundingClientRect();
  const scale = canvas.width / box.width;
  const x0 = Math.max(0, Math.floor((r.x - box.left - pad) * scale));
  const y0 = Math.max(0, Math.floor((r.y - box.top - pad) * scale));
  const w = Math.ceil((r.width + 2 * pad) * scale), h = Math.ceil((r.height + 2 * pad) * scale);
  const data = canvas.getContext('2d').getImageData(x0, y0, w, h).data;
  let red = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] > 190 && data[i + 1] < 70 && data[i + 2] < 90 && data[i + 3] > 200) red++;
  }
  return {red: red, visible: r.visible};
}"""


def _dataset(page: Page) -> dict[str, Any]:
    return page.page.evaluate("Object.assign({}, document.getElementById('timeline').dataset)")


def _failed_ids(result: Result) -> list[int]:
    ce = next(c.counterexample for c in result.checks if c.counterexample is not None)
    return list(ce.failed)


def test_violation_report_renders_timeline_and_counterexample(
    page: Page, violation_run: Result, tmp_path: Path
) -> None:
    page.open(violation_run.run_dir / "report.html")
    failed = _failed_ids(violation_run)
    assert failed, "an invalid check names the operation it could not place"

    # the page: verdict, the counterexample table with the failed operation first
    assert page.page.locator("#verdict").text_content() == "invalid"
    rows = page.page.locator(".counterexample tr.ce-failed")
    assert rows.count() == len(failed)
    assert int(rows.first.get_attribute("data-op-id")) == failed[0]
    assert page.page.locator(".counterexample tr.ce-prefix").count() >= 1

    # the timeline opened on the counterexample and drew it, outlines included
    data = _dataset(page)
    assert int(data["drawnOps"]) > 0
    assert int(data["highlighted"]) >= 2
    assert int(data["failedDrawn"]) >= 1
    found = page.page.evaluate(RED_NEAR, [failed[0], 4])
    assert found is not None and found["visible"] and found["red"] > 10, found

    # hovering the failed operation tells what it is
    rect = page.page.evaluate("id => window.chaosReport.opRect(id)", failed[0])
    page.page.locator("#timeline-scroll").scroll_into_view_if_needed()
    rect = page.page.evaluate("id => window.chaosReport.opRect(id)", failed[0])
    page.page.mouse.move(rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2)
    tooltip = page.page.locator("#tooltip")
    assert tooltip.is_visible()
    text = tooltip.text_content() or ""
    assert f"#{failed[0]}" in text and "cannot be placed" in text

    page.screenshot(tmp_path, "report-violation")

    # zoom out to the whole run, every key: every operation is drawn
    page.page.locator("#zoom-reset").click()
    page.page.select_option("#key-filter", "-1")
    page.page.wait_for_timeout(100)
    assert int(_dataset(page)["drawnOps"]) == violation_run.stats.completed
    before = page.page.evaluate("window.chaosReport.view.t1 - window.chaosReport.view.t0")
    page.page.locator("#zoom-in").click()
    page.page.wait_for_timeout(50)
    after = page.page.evaluate("window.chaosReport.view.t1 - window.chaosReport.view.t0")
    assert after < before

    assert page.errors == [] and page.dialogs == []


def test_hundred_thousand_operation_report_opens(page: Page, big_violation_run: Result, tmp_path: Path) -> None:
    report = big_violation_run.run_dir / "report.html"
    page.open(report)
    data = _dataset(page)
    assert int(data["failedDrawn"]) >= 1 and int(data["highlighted"]) >= 1
    failed = _failed_ids(big_violation_run)
    assert page.page.evaluate(RED_NEAR, [failed[0], 4])["red"] > 10
    page.screenshot(tmp_path, "report-100k-counterexample", full_page=False)

    # the whole run with every key: all 100,000 operations go through the drawing loop,
    # merged into pixel columns, and the page stays alive for more
    page.page.evaluate("window.chaosReport.setKey(-1)")
    page.page.locator("#zoom-reset").click()
    page.page.wait_for_timeout(100)
    assert int(_dataset(page)["drawnOps"]) == 100_000
    page.page.locator("#timeline-scroll").scroll_into_view_if_needed()
    box = page.page.locator("#timeline").bounding_box()
    page.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(5):
        page.page.mouse.wheel(0, -200)
    page.page.wait_for_timeout(100)
    assert int(_dataset(page)["drawnOps"]) < 100_000
    page.screenshot(tmp_path, "report-100k-zoomed", full_page=False)
    assert page.errors == [] and page.dialogs == []


HOSTILE_TITLE = "<script>alert('title')</script><img src=x onerror=alert('title-img')>"
HOSTILE_KEY = "</script><script>alert('key')</script>"
HOSTILE_EXPERIMENT = """\
name: hostile-memory
description: "<img src=x onerror=alert('description')> <b>bold?</b>"
seed: 5
operations: 60
duration: 30s
concurrency: 2
stores:
  db:
    adapter: memory
system: tests.report.broken:HostileRegister
workload:
  keys: ["</script><script>alert('key')</script>"]
  mix: {read: 1, write: 1}
checks:
  - model: register
expect: valid
"""


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run whose keys, read values, error texts and description are markup, then its
    report rendered again under a title that is markup too."""
    result = run_text(HOSTILE_EXPERIMENT, tmp_path_factory.mktemp("hostile") / "run")
    assert result.verdict == "invalid"
    from chaos.history import read_events

    path = result.run_dir / "hostile.html"
    meta = ReportMeta(
        title=HOSTILE_TITLE,
        description="<img src=x onerror=alert('description')> <b>bold?</b>",
        source=str(result.run_dir),
        seed=result.seed,
    )
    write_report(path, read_events(result.run_dir / "history.jsonl"), [c.to_dict() for c in result.checks], meta)
    return path


@pytest.mark.parametrize("csp", ["with-csp", "csp-bypassed"])
def test_user_data_shows_as_text(browser: Any, hostile_report: Path, tmp_path: Path, csp: str) -> None:
    # With the page's Content-Security-Policy bypassed, escaping alone must hold.
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=csp == "csp-bypassed")
    try:
        page = Page(context.new_page())
        page.page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
        page.open(hostile_report)
        dom = page.page.evaluate(
            """() => ({
                scripts: document.querySelectorAll('script').length,
                images: document.querySelectorAll('img').length,
                bolds: document.querySelectorAll('b').length,
                title: document.getElementById('experiment-name').textContent,
                description: document.querySelector('.description').textContent,
                cells: Array.from(document.querySelectorAll('.ce-ops td')).map(td => td.textContent),
                keys: Array.from(document.querySelectorAll('#key-filter option')).map(o => o.textContent),
            })"""
        )
        assert dom["scripts"] == 2  # the JSON data and the report's own script, nothing injected
        assert dom["images"] == 0 and dom["bolds"] == 0
        assert dom["title"] == HOSTILE_TITLE
        assert dom["description"] == "<img src=x onerror=alert('description')> <b>bold?</b>"
        assert "<script>alert('read')</script>" in dom["cells"]
        assert HOSTILE_KEY in dom["keys"]
        # hover a failed write: its error text, markup and all, is tooltip text
        failed_write = page.page.evaluate(
            """() => { const d = JSON.parse(document.getElementById('chaos-data').textContent);
                       const i = d.ops.err.findIndex(e => e >= 0); return d.ops.id[i]; }"""
        )
        page.page.evaluate("id => window.chaosReport.gotoOp(id)", failed_write)
        page.page.wait_for_timeout(100)
        rect = page.page.evaluate("id => window.chaosReport.opRect(id)", failed_write)
        page.page.mouse.move(rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2)
        tooltip = page.page.locator("#tooltip")
        assert "<img src=x onerror=alert('error')> </script><!--" in (tooltip.text_content() or "")
        assert page.page.locator("#tooltip img").count() == 0
        page.screenshot(tmp_path, f"report-escaping-{csp}")
        assert page.dialogs == []
        assert page.errors == []
    finally:
        context.close()


def test_check_report_of_a_hand_written_history(page: Page, tmp_path: Path) -> None:
    """``chaos check --report`` output for a three-operation EDN history: a good write, a
    second write, then a read of the first value after the second returned."""
    from click.testing import CliRunner

    from chaos.cli import main

    history = tmp_path / "stale.edn"
    history.write_text(
        "\n".join(
            [
                "{:process 0, :type :invoke, :f :write, :value 1, :time 0}",
                "{:process 0, :type :ok, :f :write, :value 1, :time 10}",
                "{:process 1, :type :invoke, :f :write, :value 2, :time 20}",
                "{:process :nemesis, :type :info, :f :start-partition, :value [:n1 :n2], :time 22}",
                "{:process 1, :type :ok, :f :write, :value 2, :time 30}",
                "{:process 2, :type :invoke, :f :read, :value nil, :time 40}",
                "{:process 2, :type :ok, :f :read, :value 1, :time 50}",
                "{:process :nemesis, :type :info, :f :stop-partition, :time 55}",
            ]
        )
        + "\n"
    )
    report = tmp_path / "stale.html"
    outcome = CliRunner().invoke(
        main, ["check", str(history), "--model", "register", "--format", "edn", "--report", str(report)]
    )
    assert outcome.exit_code == 1, outcome.output
    page.open(report)
    assert page.page.locator(".counterexample tr.ce-failed").count() == 1
    assert page.page.locator("#fault-summary td").first.text_content() == "partition"
    data = _dataset(page)
    assert int(data["failedDrawn"]) == 1 and int(data["faultsDrawn"]) == 1
    payload = json.loads(page.page.locator("#chaos-data").text_content() or "{}")
    assert payload["faults"]["start"] == [22] and payload["faults"]["end"] == [55]
    page.screenshot(tmp_path, "report-edn-check")
    assert page.errors == [] and page.dialogs == []
