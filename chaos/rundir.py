"""Run directories (Jepsen's ``store/``): every artifact of one run, re-analysable later.

``runs/<experiment>/<timestamp>/`` holds ``experiment.yaml`` (as written, so ``${VAR}``
references and never their values), ``seed``, ``history.jsonl``, ``results.json`` and, once
reports exist, ``report.html`` and ``junit.xml``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from pathlib import Path

from .errors import BadInput, Unreachable

ARTIFACTS = (
    "experiment.yaml",
    "seed",
    "history.jsonl",
    "results.json",
    "report.html",
    "junit.xml",
    "replay.json",
    "trace.txt",
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
        """A fresh directory: ``out`` itself when given (this run's files in it are replaced),
        else ``runs/<experiment>/<stamp>``, made atomically: two runs started in the same
        second get ``<stamp>`` and ``<stamp>-2``, never one directory between them."""
        try:
            if out is not None:
                for name in ARTIFACTS:  # a directory reused with --out holds this run's files only
                    (out / name).unlink(missing_ok=True)
                out.mkdir(parents=True, exist_ok=True)
                return cls(out)
            base = Path("runs") / experiment
            base.mkdir(parents=True, exist_ok=True)
            stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
            for n in itertools.count(1):
                path = base / (stamp if n == 1 else f"{stamp}-{n}")
                try:
                    path.mkdir()
                except FileExistsError:
                    continue
                return cls(path)
        except OSError as exc:
            where = out if out is not None else Path("runs") / experiment
            raise RunDirError(f"cannot write the run directory {where}: {exc.strerror or exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover

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
        """The experiment as written and the seed; a disk that refuses them is infrastructure
        (exit 4), like one that refuses the history."""
        try:
            (self.path / "experiment.yaml").write_text(raw_text, encoding="utf-8")
            (self.path / "seed").write_text(f"{seed}\n", encoding="utf-8")
        except OSError as exc:
            raise Unreachable(f"cannot write the run directory {self.path}: {exc.strerror or exc}") from None
