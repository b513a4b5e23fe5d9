"""The founding story on the in-memory stores: every broken design of the seed is caught, every
correct one passes with faults active the whole run, and a violation is told in words."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.experiment import load
from chaos.pytest_plugin import run_file

SEED = Path(__file__).resolve().parent.parent / "experiments" / "seed"
MEMORY = sorted(SEED.glob("*-memory.yaml"))


def test_every_design_has_a_memory_experiment() -> None:
    names = {p.stem.removesuffix("-memory") for p in MEMORY}
    assert names == {
        "naive-1",
        "naive-2",
        "improved-1",
        "improved-2",
        "working-1",
        "working-3",
        "cleaner-naive",
        "cleaner-improved",
        "cleaner-kill",
        "cleaner-working",
    }
    expected = {p.stem: load(p).experiment.expect for p in MEMORY}
    assert {k for k, v in expected.items() if v == "valid"} == {
        "working-1-memory",
        "working-3-memory",
        "cleaner-working-memory",
    }


@pytest.mark.parametrize("path", MEMORY, ids=lambda p: p.stem)
def test_design_gets_its_expected_verdict(path: Path, tmp_path: Path) -> None:
    """A correct design passes with both seeds. A broken one is caught by the first seed that
    catches it: real-time runs are not deterministic, and bench/detection.py measures the rate
    (at least 19 of 20 seeds); three misses in a row would mean the rate collapsed."""
    expect = load(path).experiment.expect
    verdicts = []
    for seed in (2, 3, 4) if expect == "invalid" else (2, 3):
        result = run_file(path, out=tmp_path / f"run-{seed}", seed=seed, report=False, overrides={"duration": "5s"})
        verdicts.append(result.verdict)
        if expect == "invalid" and result.verdict == "invalid":
            explanation = result.explanation
            assert explanation and explanation[0].startswith("read #")
            break
        if expect == "valid":
            assert result.exit_code == 0, f"{path.stem} seed {seed}: verdict {result.verdict}"
    assert verdicts[-1] == expect, f"{path.stem}: verdicts {verdicts}, expected {expect}"


def test_mixed_pair_is_explained_in_words(tmp_path: Path) -> None:
    result = run_file(SEED / "improved-1-memory.yaml", out=tmp_path / "run", seed=1)
    lines = result.explanation
    text = "\n".join(lines)
    assert "returned metadata m" in lines[0] and "with image i" in lines[0]
    assert "no write wrote that pair" in text
    assert "crashed after blobs.put took effect" in text or "crashed at db.put" in text
    report = (result.run_dir / "report.html").read_text()
    assert '<pre class="ce-story">' in report and lines[0] in report


def test_missing_blob_is_explained_in_words(tmp_path: Path) -> None:
    result = run_file(SEED / "cleaner-naive-memory.yaml", out=tmp_path / "run", seed=1, report=False)
    lines = result.explanation
    assert "no image (its blob was missing)" in lines[0]
    assert "the blob the record points to was gone" in lines[1]
