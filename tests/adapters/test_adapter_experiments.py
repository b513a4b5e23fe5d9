"""The register experiment, unchanged but for its store, on memory, PostgreSQL, S3 and Redis: each
run through the CLI must exit 0 with a valid history, and leave nothing behind."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio
import yaml
from aiobotocore.session import get_session

from adapters import create
from adapters.postgres import table_name
from tests.conftest import S3_CREDENTIALS

REPO = Path(__file__).resolve().parents[2]
EXPERIMENTS = REPO / "experiments"
REGISTER = ["register-memory.yaml", "register-postgres.yaml", "register-s3.yaml", "register-redis.yaml"]


def run_cli(experiment: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chaos", "run", str(experiment), "--out", str(out)],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )


def assert_valid_run(result: subprocess.CompletedProcess[str], out: Path) -> dict[str, Any]:
    assert result.returncode == 0, result.stdout + result.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["verdict"] == "valid"
    assert results["operations"]["total"] > 0
    return results


def test_register_experiments_differ_only_in_their_stores() -> None:
    loaded = [yaml.safe_load((EXPERIMENTS / name).read_text()) for name in REGISTER]
    adapters = [doc["stores"]["db"]["adapter"] for doc in loaded]
    assert adapters == ["memory", "postgres", "s3", "redis"]
    common = [{k: v for k, v in doc.items() if k not in ("name", "description", "stores")} for doc in loaded]
    assert all(other == common[0] for other in common[1:])


async def run_cli_async(experiment: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(run_cli, experiment, out, env)


async def test_register_experiment_on_memory(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert_valid_run(await run_cli_async(EXPERIMENTS / "register-memory.yaml", out, {}), out)


@pytest.mark.postgres
async def test_register_experiment_on_postgres(pg_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / f"run-{uuid.uuid4().hex[:8]}"
    result = await run_cli_async(EXPERIMENTS / "register-postgres.yaml", out, {"CHAOS_PG_DSN": pg_dsn})
    assert_valid_run(result, out)
    conn = await asyncpg.connect(pg_dsn)
    try:
        table = f'"{table_name(f"register-postgres-{out.name}")}"'
        assert await conn.fetchval("SELECT to_regclass($1)", table) is None  # dropped at the end
    finally:
        await conn.close()


@pytest.mark.s3
async def test_register_experiment_on_s3(s3_settings: dict[str, Any], tmp_path: Path) -> None:
    bucket = f"register-{uuid.uuid4().hex[:8]}"
    setup = create("s3", {**s3_settings, "bucket": bucket, "conditional_writes": False}, "setup")
    await setup.open()  # creates the bucket that the experiment expects to exist
    await setup.close()
    out = tmp_path / "run"
    env = {
        "CHAOS_S3_ENDPOINT": s3_settings["endpoint_url"],
        "CHAOS_S3_BUCKET": bucket,
        "AWS_ACCESS_KEY_ID": S3_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": S3_CREDENTIALS["aws_secret_access_key"],
    }
    result = await run_cli_async(EXPERIMENTS / "register-s3.yaml", out, env)
    assert_valid_run(result, out)
    async with get_session().create_client(
        "s3", endpoint_url=s3_settings["endpoint_url"], region_name="us-east-1", **S3_CREDENTIALS
    ) as client:
        listing = await client.list_objects_v2(Bucket=bucket)
    assert listing.get("KeyCount", 0) == 0  # every object of the run (and the cas probe) is gone


@pytest.mark.redis
async def test_register_experiment_on_redis(redis_url: str, tmp_path: Path) -> None:
    out = tmp_path / f"run-{uuid.uuid4().hex[:8]}"
    result = await run_cli_async(EXPERIMENTS / "register-redis.yaml", out, {"CHAOS_REDIS_URL": redis_url})
    results = assert_valid_run(result, out)
    assert results["operations"]["total"] == 2000
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        left = [key async for key in client.scan_iter(match=f"register-redis-{out.name}:*", count=1000)]
    finally:
        await client.aclose()
    assert left == []  # every key of the run is gone
