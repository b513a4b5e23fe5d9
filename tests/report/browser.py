"""Which Chromium the report tests and ``bench/report.py`` drive, and how: Debian's, headless,
with nothing that reaches the network."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("CHAOS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
