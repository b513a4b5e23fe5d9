"""The HTML report: one self-contained file a person opens to see what a run did and why it
failed.

``report.html`` holds the run's facts and verdict, the counterexample of each invalid check,
a zoomable canvas timeline of every operation (Jepsen's colours: ok blue, fail pink, info
orange) with fault windows as bands and the counterexample marked as Porcupine marks it (the
linearizable prefix joined point to point, then what could not be placed), latency and
throughput over time, and latency percentiles per operation. The page needs no network: its
CSS, script and data are inline, and a Content-Security-Policy allows only that script.

Entry points::

    write_run_report(result, raw_text=..., secrets=...)   # at the end of ``chaos run``
    report_from_run_dir("runs/x/20260101T000000")          # ``chaos report RUN_DIR``
    write_report(path, events, checks, ReportMeta(...))   # any history, e.g. ``chaos check --report``

Escaping: every user-supplied string (experiment names, keys, values, error texts) reaches
the page either through the template's autoescaping or as data in a non-executed JSON
``<script>`` whose ``<``, ``>`` and ``&`` are escaped, and the script shows data only through
``textContent`` and canvas text.
"""

from .page import ReportMeta, format_duration, render, report_from_run_dir, write_report, write_run_report

__all__ = ["ReportMeta", "format_duration", "render", "report_from_run_dir", "write_report", "write_run_report"]
