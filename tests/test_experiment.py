"""Experiment files: validation reports every problem with its path and line, in one go."""

from __future__ import annotations

import os
import textwrap

import pytest

from adapters.units import parse_duration
from chaos.experiment import ExperimentError, load, loads
from chaos.preflight import preflight

GOOD = textwrap.dedent(
    """\
    name: demo
    operations: 10
    stores:
      db: {adapter: memory}
    system: register
    checks:
      - model: cas-register
    """
)


def problems_of(text: str) -> list[str]:
    with pytest.raises(ExperimentError) as info:
        loads(text, "x.yaml")
    return [str(p) for p in info.value.problems]


def test_good_file_loads_with_defaults() -> None:
    loaded = loads(GOOD)
    experiment = loaded.experiment
    assert experiment.name == "demo"
    assert experiment.concurrency == 4
    assert experiment.system.name == "register"
    assert experiment.expect == "valid"
    assert experiment.workload.key_names() == ["k0"]


def test_every_problem_is_listed_with_path_and_line() -> None:
    text = textwrap.dedent(
        """\
        name: demo
        operations: ten
        concurrency: 8
        stores:
          db:
            adaptr: memory
        system:
          name: register
          colour: blue
        workload:
          mix: {read: -1}
        checks:
          - model: cas-register
            time_limit: soon
        expect: maybe
        """
    )
    found = problems_of(text)
    assert "line 2: operations: Input should be a valid integer, unable to parse string as an integer" in found
    assert "line 6: stores.db.adaptr: unknown key" in found
    assert "line 5: stores.db.adapter: required field is missing" in found
    assert "line 9: system.colour: unknown key" in found
    assert any(p.startswith("line 11: workload.mix:") for p in found)
    assert any(p.startswith("line 14: checks.0.time_limit: expected a duration") for p in found)
    assert any(p.startswith("line 15: expect:") for p in found)
    assert len(found) == 7


def test_cross_references_are_checked() -> None:
    text = GOOD.replace("system: register", "system: {name: register, stores: {store: nowhere}}")
    assert any("no store named 'nowhere'" in p for p in problems_of(text))


def test_run_must_have_an_end() -> None:
    text = GOOD.replace("operations: 10\n", "")
    assert any("set duration, operations, or both" in p for p in problems_of(text))


def test_yaml_syntax_error_names_the_line() -> None:
    found = problems_of("name: demo\nstores: [unclosed\n")
    assert len(found) == 1 and found[0].startswith("line 3:") and "not valid YAML" in found[0]


def test_not_a_mapping() -> None:
    assert problems_of("- just\n- a list\n") == ["line 1: (top): an experiment is a YAML mapping (name:, stores:, ...)"]


def test_env_interpolation_registers_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAOS_TEST_PASSWORD", "hunter2-very-secret")
    text = GOOD.replace("db: {adapter: memory}", "db: {adapter: memory, settings: {name: '${CHAOS_TEST_PASSWORD}'}}")
    loaded = loads(text)
    assert loaded.experiment.stores["db"].settings["name"] == "hunter2-very-secret"
    assert "hunter2" not in loaded.raw_text
    assert loaded.secrets.redact("dsn=postgresql://u:hunter2-very-secret@h/db") == "dsn=postgresql://u:***@h/db"


def test_env_defaults_and_missing_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHAOS_TEST_UNSET", raising=False)
    ok = loads(GOOD.replace("name: demo", "name: ${CHAOS_TEST_UNSET:-fallback}"))
    assert ok.experiment.name == "fallback"
    found = problems_of(GOOD.replace("name: demo", "name: ${CHAOS_TEST_UNSET}"))
    assert "line 1: name: environment variable CHAOS_TEST_UNSET is not set" in found


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(5, 5.0), ("500ms", 0.5), ("10s", 10.0), ("2m", 120.0), ("1.5h", 5400.0), ("1d", 86400.0)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_unreadable_file(tmp_path) -> None:
    with pytest.raises(ExperimentError) as info:
        load(tmp_path / "missing.yaml")
    assert "cannot read file" in str(info.value)


def test_shipped_experiments_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    import re
    from pathlib import Path

    paths = sorted(Path(__file__).parent.parent.joinpath("experiments").glob("**/*.yaml"))
    assert paths
    for path in paths:
        for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", path.read_text()):
            placeholder = "placeholder-value"
            if "URL" in name or "ENDPOINT" in name:
                placeholder = "http://127.0.0.1:9"
            elif "DSN" in name:
                placeholder = "postgresql://postgres@127.0.0.1:9/test"
            monkeypatch.setenv(name, os.environ.get(name, placeholder))
        preflight(load(path))


def test_every_reference_problem_is_listed() -> None:
    text = GOOD.replace("system: register", "system: {name: register, stores: {store: nowhere}}") + (
        "faults:\n  - {kind: crash, store: ghost, when: before}\n  - {kind: latency, store: phantom, delay: 1ms}\n"
    )
    found = problems_of(text)
    assert "line 5: system.stores.store: no store named 'nowhere' in stores" in found
    assert "line 9: faults.0.store: no store named 'ghost' in stores" in found
    assert "line 10: faults.1.store: no store named 'phantom' in stores" in found
