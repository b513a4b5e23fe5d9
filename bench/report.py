"""How fast a 100,000-operation report is made and how fast it opens.

Runs a 100,000-operation in-memory experiment whose system serves one stale read (so the report
carries a counterexample), then measures:

- the run, the check and the report generation (``chaos report`` work: read, pair, encode,
  render), and the report's size;
- in headless Chromium (Debian's ``/usr/bin/chromium`` driven by Playwright): the time from
  navigation to the page being interactive (first frame drawn and every handler attached,
  ``window.chaosReport.readyMs``, measured from the page's time origin), best and median of
  several loads;
- the cost of one frame while zooming and panning, at the whole-run view (every one of the
  100,000 operations in the window) and zoomed in.

Usage::

    .venv/bin/python bench/report.py [--operations 100000] [--loads 5] [--out DIR]

Prints figures; asserts nothing. The brief's target: interactive in under 3 s on this machine.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import chaos
from chaos.experiment import loads
from chaos.history import read_events
from chaos.report import report_from_run_dir

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the broken system and browser live with the tests

from tests.report.browser import CHROMIUM, CHROMIUM_FLAGS

EXPERIMENT = """\
name: report-bench
seed: 7
operations: {operations}
duration: 300s
concurrency: 8
stores:
  db:
    adapter: memory
system:
  name: tests.report.broken:StaleReadRegister
  options: {{stale: {stale}, gap: 30}}
workload:
  keys: 4
  mix: {{read: 2, write: 1}}
checks:
  - model: register
    time_limit: 120s
"""


def run(operations: int, out: Path) -> tuple[float, Any]:
    loaded = loads(EXPERIMENT.format(operations=operations, stale=max(5, operations // 16)), "bench")
    began = time.perf_counter()
    result = chaos.run(loaded, out=out, report=False)
    return time.perf_counter() - began, result


def browser_figures(report: Path, loads_: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    figures: dict[str, Any] = {"ready_ms": [], "wall_ms": [], "dcl_ms": [], "errors": []}
    profile = tempfile.mkdtemp(prefix="chaos-bench-chromium-")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
            try:
                for _ in range(loads_):
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    page.on("pageerror", lambda e: figures["errors"].append(str(e)))
                    page.on("console", lambda m: figures["errors"].append(m.text) if m.type == "error" else None)
                    began = time.perf_counter()
                    page.goto(report.resolve().as_uri(), wait_until="commit")
                    page.wait_for_selector("html[data-ready='1']", state="attached", timeout=60_000)
                    figures["wall_ms"].append((time.perf_counter() - began) * 1000)
                    figures["ready_ms"].append(page.evaluate("window.chaosReport.readyMs"))
                    figures["dcl_ms"].append(
                        page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
                    )
                    figures["drawn_highlights"] = page.locator("#timeline").get_attribute("data-highlighted")
                    page.close()
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(report.resolve().as_uri())
                page.wait_for_selector("html[data-ready='1']", state="attached")
                figures["whole"] = frames(page, whole=True)
                figures["zoomed"] = frames(page, whole=False)
                page.close()
            finally:
                browser.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return figures


def frames(page: Any, whole: bool) -> dict[str, float]:
    """Frame costs, read from the page's own draw timings. Whole run: 30 redraws with all
    operations in the window (the worst case of any zoom or pan there). Zoomed: 20 wheel steps
    and a 20-step drag starting at the counterexample, as a person would."""
    page.locator("#timeline-scroll").scroll_into_view_if_needed()
    if whole:
        page.evaluate("window.chaosReport.setKey(-1)")
        page.evaluate("window.chaosReport.setView(0, 1e18)")
        page.evaluate("window.chaosReport.drawNow()")  # warm-up: first draw at this size
        page.evaluate("window.chaosReport.stats.drawMs.length = 0")
        for _ in range(30):
            page.evaluate("window.chaosReport.drawNow()")
    else:
        page.evaluate("window.chaosReport.focusCounterexample(0)")
        page.wait_for_timeout(50)
        page.evaluate("window.chaosReport.stats.drawMs.length = 0")
        box = page.locator("#timeline").bounding_box()
        x, y = box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5
        page.mouse.move(x, y)
        for step in range(20):
            page.mouse.wheel(0, 60 if step % 2 else -60)
            page.wait_for_timeout(20)
        page.mouse.down()
        for step in range(20):
            page.mouse.move(x - step * 15, y)
            page.wait_for_timeout(20)
        page.mouse.up()
        page.wait_for_timeout(50)
    drawn = page.evaluate("Number(document.getElementById('timeline').dataset.drawnOps)")
    times = sorted(page.evaluate("window.chaosReport.stats.drawMs.slice()"))
    if not times:
        return {"frames": 0}
    return {
        "frames": len(times),
        "ops_in_window": drawn,
        "median_ms": statistics.median(times),
        "p95_ms": times[int(0.95 * (len(times) - 1))],
        "max_ms": times[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--operations", type=int, default=100_000)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--out", type=Path, help="keep the run directory here (default: a temporary one)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="chaos-bench-report-"))
    out = args.out or tmp / "run"
    try:
        run_s, result = run(args.operations, out)
        print(f"run + check: {args.operations:,} operations, verdict {result.verdict}, {run_s:.2f} s")
        history = out / "history.jsonl"
        began = time.perf_counter()
        events = read_events(history)
        read_s = time.perf_counter() - began
        began = time.perf_counter()
        report = report_from_run_dir(out)
        report_s = time.perf_counter() - began
        print(f"history: {history.stat().st_size / 1e6:.1f} MB, {len(events):,} events, read in {read_s:.2f} s")
        print(f"report generation (chaos report RUN_DIR, history read included): {report_s:.2f} s")
        print(f"report.html: {report.stat().st_size / 1e6:.2f} MB")
        if not Path(CHROMIUM).exists():
            print(f"browser figures skipped: {CHROMIUM} is not installed")
            return
        figures = browser_figures(report, args.loads)
        ready = figures["ready_ms"]
        print(
            f"interactive (first frame drawn, handlers attached), {len(ready)} loads: "
            f"best {min(ready):.0f} ms, median {statistics.median(ready):.0f} ms, worst {max(ready):.0f} ms"
        )
        print(f"DOMContentLoaded: median {statistics.median(figures['dcl_ms']):.0f} ms")
        print(f"navigation to ready seen from the driver: median {statistics.median(figures['wall_ms']):.0f} ms")
        print(f"counterexample operations highlighted in the first frame: {figures.get('drawn_highlights')}")
        for name in ("whole", "zoomed"):
            f = figures[name]
            if f.get("frames"):
                print(
                    f"frame ({name} view, {f['ops_in_window']:,} ops in window): "
                    f"median {f['median_ms']:.1f} ms, p95 {f['p95_ms']:.1f} ms, max {f['max_ms']:.1f} ms "
                    f"over {f['frames']} frames"
                )
        print(f"page errors: {len(figures['errors'])}" + (f" {figures['errors'][:3]}" if figures["errors"] else ""))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
