"""The known answers of experiments/txn: each file, run against the real PostgreSQL as
written (its store settings, system, workload, concurrency, operations and seed), gives the
verdict its ``expect:`` names, by its own checks.

The files are written for ``chaos run``; until the run pipeline runs ``type: elle`` and
``type: bank`` checks, this test runs them with the test driver (tests/txn_driver.py) and
:func:`chaos.elle.run_check`, the call the pipeline will make.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters import create
from chaos.elle import ElleResult, run_check
from chaos.system import resolve
from tests.txn_driver import drive

EXPERIMENTS = sorted(Path("experiments/txn").glob("*.yaml"))
_ENV = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")

pytestmark = pytest.mark.postgres


def read_experiment(path: Path) -> dict[str, Any]:
    """The file's YAML with ``${VAR:-default}`` filled in from the environment."""
    text = _ENV.sub(lambda m: os.environ.get(m["name"], m["default"] or ""), path.read_text())
    return yaml.safe_load(text)


async def run_file(path: Path) -> tuple[dict[str, Any], list[ElleResult]]:
    data = read_experiment(path)
    ((role, spec),) = data["stores"].items()
    store = create(
        spec["adapter"], spec["settings"], f"{data['name']}-{uuid.uuid4().hex[:8]}", concurrency=data["concurrency"]
    )
    await store.open()
    try:
        operations = await drive(
            resolve(data["system"]),
            store,
            operations=data["operations"],
            concurrency=data["concurrency"],
            mix=data["workload"]["mix"],
            seed=data["seed"],
            role=role,
        )
    finally:
        await store.close()
    return data, [run_check(check, operations, f"checks.{i}") for i, check in enumerate(data["checks"])]


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
async def test_the_experiment_gives_its_known_answer(path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAOS_PG_DSN", pg_dsn)
    data, results = await run_file(path)
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
