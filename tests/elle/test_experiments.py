"""The known answers of experiments/txn: each file, run against the real PostgreSQL by the
runner as written, gives the verdict its ``expect:`` names.

The runner does not run ``type: elle`` and ``type: bank`` checks itself yet, so the test runs
the experiment with a placeholder linearizability check (which refuses transactions: its
verdict is ``unknown`` and ignored), reads the run's history.jsonl back and runs the file's own
checks on it with :func:`chaos.elle.run_check`, as the pipeline will.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from chaos.elle import ElleResult, run_check
from chaos.experiment import loads
from chaos.history import load_operations
from chaos.runner import Runner

EXPERIMENTS = sorted(Path("experiments/txn").glob("*.yaml"))

pytestmark = pytest.mark.postgres


async def run_file(path: Path, out: Path) -> tuple[dict[str, Any], list[ElleResult]]:
    data = yaml.safe_load(path.read_text())
    checks = data["checks"]
    data["checks"] = [{"model": "register"}]
    result = await Runner(loads(yaml.safe_dump(data), str(path)), out, report=False).run()
    operations = load_operations(result.run_dir / "history.jsonl")
    return data, [run_check(check, operations, f"checks.{i}") for i, check in enumerate(checks)]


def verdict(results: list[ElleResult]) -> str:
    verdicts = {r.verdict for r in results}
    return "invalid" if "invalid" in verdicts else "unknown" if "unknown" in verdicts else "valid"


def test_every_known_answer_has_a_file() -> None:
    assert [p.name for p in EXPERIMENTS] == [
        "bank-read-committed.yaml",
        "bank-serializable.yaml",
        "list-append-read-committed.yaml",
        "list-append-repeatable-read.yaml",
        "list-append-serializable.yaml",
    ]


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.stem)
async def test_the_experiment_gives_its_known_answer(
    path: Path, tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAOS_PG_DSN", pg_dsn)
    data, results = await run_file(path, tmp_path / "run")
    assert verdict(results) == data["expect"], "\n".join(r.describe() for r in results)
    kinds = {kind for result in results for kind in result.counts}
    if path.stem == "list-append-repeatable-read":
        serializable, snapshot = results
        assert serializable.counts.get("G2-item", 0) >= 1
        assert not kinds & {"G0", "G1a", "G1b", "G1c", "G-single", "G-nonadjacent", "lost-update"}, kinds
        assert snapshot.verdict == "valid"
    if path.stem == "list-append-read-committed":
        assert not kinds & {"G0", "G1a", "G1b", "G1c"}, kinds
        assert results[1].verdict == "valid"  # as read committed it holds
    if path.stem == "bank-read-committed":
        assert results[0].counts.get("wrong-total", 0) >= 1


FAULTY = """
name: list-append-serializable-faults
seed: 5
operations: 1000
concurrency: 10
stores:
  db:
    adapter: postgres
    settings:
      dsn: ${CHAOS_PG_DSN}
      isolation: serializable
      statement_timeout: 100ms
      command_timeout: 50ms
system: list-append
workload:
  keys: [txn]
  mix: {txn: 1}
faults:
  - {kind: network, store: db, toxic: latency, latency: 10ms, jitter: 40ms, probability: 0.5}
checks:
  - {type: elle, consistency: serializable}
expect: valid
"""


async def test_timeouts_before_and_during_commit_keep_a_serializable_history_valid(
    tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow network (the runner's proxy) makes statements, COMMITs and ROLLBACKs outlast
    ``command_timeout``: failures before COMMIT are ``fail``, during it ``info``, and the
    checker must not mistake either for an anomaly."""
    monkeypatch.setenv("CHAOS_PG_DSN", pg_dsn)
    path = tmp_path / "faulty.yaml"
    path.write_text(FAULTY)
    _, (result,) = await run_file(path, tmp_path / "run")
    assert result.verdict == "valid", result.describe()
    assert result.stats["fail"] > 0
    assert result.stats["ok"] > 300
