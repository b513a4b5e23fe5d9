"""Secrets from ${ENV} never reach a history, results.json or the stored experiment."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from chaos.experiment import loads
from chaos.pipeline import run_experiment
from chaos.secrets import redact_urls


def test_url_passwords_are_masked() -> None:
    assert redact_urls("could not connect to postgresql://app:s3cr3t@db:5432/x") == (
        "could not connect to postgresql://app:***@db:5432/x"
    )


async def test_secret_in_error_text_is_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAOS_TEST_TOKEN", "tok-9f8e7d6c5b4a")
    text = textwrap.dedent(
        """\
        name: secret-test
        seed: 1
        operations: 40
        concurrency: 2
        stores:
          db: {adapter: memory}
        system:
          name: tests.systems:LeakyRegister
          options: {token: "${CHAOS_TEST_TOKEN}"}
        checks: [{model: cas-register}]
        """
    )
    result = await run_experiment(loads(text), tmp_path / "run")
    for name in ("history.jsonl", "results.json", "experiment.yaml"):
        content = (result.run_dir / name).read_text()
        assert "tok-9f8e7d6c5b4a" not in content, name
    assert "***" in (result.run_dir / "history.jsonl").read_text()


def test_only_variables_named_like_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    from chaos.experiment import loads as load_text

    monkeypatch.setenv("CHAOS_TEST_REGION", "us-east-1")
    monkeypatch.setenv("CHAOS_TEST_API_KEY", "k-1234567890")
    text = textwrap.dedent(
        """\
        name: secret-names
        operations: 1
        stores:
          db: {adapter: memory, settings: {name: "${CHAOS_TEST_REGION}-${CHAOS_TEST_API_KEY}"}}
        system: register
        checks: [{model: register}]
        """
    )
    secrets = load_text(text).secrets
    assert secrets.redact("region us-east-1, key k-1234567890, true") == "region us-east-1, key ***, true"


def test_keyword_dsn_passwords_are_masked() -> None:
    assert redact_urls("connect host=db password='s3 cr3t' user=app failed") == (
        "connect host=db password=*** user=app failed"
    )
