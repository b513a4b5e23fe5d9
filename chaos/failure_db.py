"""The failure database: seeds and exploration plans that failed, tried first the next time.

Hypothesis keeps every failing example and replays it before generating new ones, so that a
bug found once is found again at once, and a fix is confirmed on the very example that showed
it. The same here, per experiment, in ``failures.json`` under the run root
(``runs/<experiment>/failures.json``, or ``<--out DIR>/failures.json``):

* a seed whose run found a violation; ``chaos run --seeds`` runs it first (the ten most
  recent are added to the seeds asked for when they are not among them);
* an exploration's failing plan and its decisions (the shrunk one); the exploration replays it
  first and, when it still fails, only has to search the smaller plans.

An entry that no longer fails when tried is removed, as Hypothesis forgets examples that pass.
The file is rewritten whole (to a temporary file, then renamed), so a reader never sees half of
it; one that cannot be read is treated as empty rather than fail the run it only speeds up.
``--no-failure-db`` leaves it alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import encoding

FORMAT = "asyncchaos-failures/1"
NAME = "failures.json"
KEEP = 100
"""Entries of each kind kept (the most recent)."""


@dataclass(frozen=True)
class RecordedPlan:
    """A failing exploration plan and the decisions that made it fail, as replay.json has them."""

    plan: list[list[dict[str, Any]]]
    decisions: list[dict[str, Any]]
    operations: int


class FailureDB:
    """The failures recorded for one experiment."""

    def __init__(self, path: Path, experiment: str) -> None:
        self.path = path
        self.experiment = experiment
        self._data = self._read()

    @classmethod
    def for_run(cls, out: Path | None, experiment: str) -> FailureDB:
        """The database of runs written to ``out`` (or to ``runs/<experiment>/``)."""
        root = out if out is not None else Path("runs") / experiment
        return cls(root / NAME, experiment)

    def _read(self) -> dict[str, Any]:
        empty: dict[str, Any] = {"format": FORMAT, "experiment": self.experiment, "seeds": [], "plans": []}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return empty
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return empty
        seeds = [s for s in data.get("seeds", []) if isinstance(s, dict) and isinstance(s.get("seed"), int)]
        plans = [p for p in data.get("plans", []) if isinstance(p, dict) and isinstance(p.get("plan"), list)]
        return {**empty, "seeds": seeds, "plans": plans}

    def _write(self) -> None:
        """Best effort: a database that cannot be written costs speed next time, not this verdict."""
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=".failures-", dir=self.path.parent)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as file:
                    json.dump(self._data, file, indent=2)
                    file.write("\n")
                os.replace(name, self.path)
            except OSError:
                Path(name).unlink(missing_ok=True)
                raise

    @staticmethod
    def _now() -> str:
        return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    # ---------------------------------------------------------------- seeds

    def seeds(self) -> list[int]:
        """Recorded failing seeds, most recent first."""
        return [entry["seed"] for entry in reversed(self._data["seeds"])]

    def record_seed(self, seed: int, verdict: str, run_dir: str) -> None:
        entries = [e for e in self._data["seeds"] if e["seed"] != seed]
        entries.append({"seed": seed, "verdict": verdict, "recorded": self._now(), "run_dir": run_dir})
        self._data["seeds"] = entries[-KEEP:]
        self._write()

    def forget_seed(self, seed: int) -> None:
        before = len(self._data["seeds"])
        self._data["seeds"] = [e for e in self._data["seeds"] if e["seed"] != seed]
        if len(self._data["seeds"]) != before:
            self._write()

    # ---------------------------------------------------------------- exploration plans

    def plans(self) -> list[RecordedPlan]:
        """Recorded failing plans, most recent first."""
        out = []
        for entry in reversed(self._data["plans"]):
            plan, decisions = entry.get("plan"), entry.get("decisions", [])
            if isinstance(plan, list) and isinstance(decisions, list):
                out.append(RecordedPlan(plan, decisions, sum(len(ops) for ops in plan)))
        return out

    def record_plan(self, plan: list[list[dict[str, Any]]], decisions: list[dict[str, Any]], run_dir: str) -> None:
        plan, decisions = _plain(plan), _plain(decisions)
        entries = [e for e in self._data["plans"] if e.get("plan") != plan]
        entries.append({"plan": plan, "decisions": decisions, "recorded": self._now(), "run_dir": run_dir})
        self._data["plans"] = entries[-KEEP:]
        self._write()

    def forget_plan(self, plan: list[list[dict[str, Any]]]) -> None:
        plan = _plain(plan)
        before = len(self._data["plans"])
        self._data["plans"] = [e for e in self._data["plans"] if e.get("plan") != plan]
        if len(self._data["plans"]) != before:
            self._write()


def _plain(value: Any) -> Any:
    """``value`` as it reads back from the file (tuples become lists), so entries compare equal."""
    return json.loads(encoding.dumps(value))


__all__ = ["FORMAT", "NAME", "FailureDB", "RecordedPlan"]
