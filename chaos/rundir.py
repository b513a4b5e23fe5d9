"""Run directories (Jepsen's ``store/``): every artifact of one run, re-analysable later.

``runs/<experiment>/<timestamp>/`` holds ``experiment.yaml`` (as written, so ``${VAR}``
references and never their values), ``seed``, ``history.jsonl``, ``results.json`` and, once
reports exist, ``report.html`` and ``junit.xml``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .encoding import dumps, loads
from .errors import BadInput
from .secrets import Secrets

ARTIFACTS = (
    "experiment.yaml", "seed", "history.jsonl", "results.json", "report.html", "junit.xml", "replay.json", "trace.txt",
)
"""Every file a run may write into its directory."""


class RunDirError(BadInput):
    """The run directory cannot be made or cleared (``--out`` names a file, no permission):
    bad input, reported in one line before anything runs."""


@dataclass(frozen=True)
class RunDir:
    path: Path

    @classmethod
    def create(cls, out: Path | None, experiment: str) -> RunDir:
        """A fresh directory: ``out`` itself when given, else ``runs/<experiment>/<stamp>``."""
        if out is None:
            base = Path("runs") / experiment
            stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
            path = base / stamp
            n = 1
            while path.exists():
                n += 1
                path = base / f"{stamp}-{n}"
        else:
            path = out
        try:
            if out is not None:
                for name in ARTIFACTS:  # a directory reused with --out holds this run's files only
                    (path / name).unlink(missing_ok=True)
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunDirError(f"cannot write the run directory {path}: {exc.strerror or exc}") from None
        return cls(path)

    @property
    def history(self) -> Path:
        return self.path / "history.jsonl"

    @property
    def results(self) -> Path:
        return self.path / "results.json"

    @property
    def report(self) -> Path:
        return self.path / "report.html"

    @property
    def junit(self) -> Path:
        return self.path / "junit.xml"

    def write_experiment(self, raw_text: str, seed: int) -> None:
        (self.path / "experiment.yaml").write_text(raw_text, encoding="utf-8")
        (self.path / "seed").write_text(f"{seed}\n", encoding="utf-8")

    def write_results(self, results: dict[str, Any], secrets: Secrets) -> None:
        text = dumps(results, indent=2).decode()
        self.results.write_text(secrets.redact(text) + "\n", encoding="utf-8")

    def read_results(self) -> dict[str, Any]:
        return loads(self.results.read_bytes())
