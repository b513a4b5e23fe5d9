"""Real servers for tests: PostgreSQL, moto's S3 and aiohttp services on loopback.

Fixtures (use them by name; nothing here is a stand-in for a real part):

``pg_dsn`` (session)
    DSN of the PostgreSQL server (``CHAOS_PG_DSN``, default the machine's
    ``postgresql://postgres@127.0.0.1:5432/test``), checked once.
``redis_url`` (session)
    URL of the Redis server (``CHAOS_REDIS_URL``, default the machine's
    ``redis://127.0.0.1:6379/0``), checked once with a PING.
``s3_server`` (session)
    Endpoint URL of a moto S3 server started as a subprocess on a free loopback port
    (``tests/moto_server.py``: moto's app with its requests applied one at a time) and
    stopped at the end of the session.
``s3_settings``
    Settings for an ``s3`` store on ``s3_server``: endpoint, region, dummy credentials and a
    bucket that is created on first use. Add ``prefix``/``keep``/... as needed.
``moto_factory`` (session)
    ``start(env=None) -> url``: another moto server, e.g. ``{"INITIAL_NO_AUTH_ACTION_COUNT":
    "0"}`` for one that checks credentials.
``http_service``
    ``await start(app) -> base_url``: serve an ``aiohttp.web.Application`` on a free loopback
    port for the duration of the test.
``kv_service`` / ``kv_settings``
    A small HTTP key-value service (:func:`tests.kv_service.kv_app`) already started, and
    settings for an ``http`` store that drives it through templates.

A server that cannot be reached skips the test with the reason, except when ``CI=true``: there
it fails, because a skipped real-backend test would hide exactly what CI is for.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio
import redis.exceptions
from aiohttp import web

from tests.kv_service import KV_DATA, kv_app, kv_store_settings

IN_CI = os.environ.get("CI", "").lower() == "true"
DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
MOTO_SCRIPT = Path(__file__).with_name("moto_server.py")
S3_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
"""moto accepts any credentials; botocore still insists on having some."""
S3_BUCKET = "chaos-tests"


def unavailable(reason: str) -> None:
    """Skip (locally) or fail (in CI) a test whose real server is not there."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: real-backend tests may not skip)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """The PostgreSQL DSN, once the server has answered a connection."""
    dsn = os.environ.get("CHAOS_PG_DSN", DEFAULT_PG_DSN)
    where = dsn.rsplit("@", 1)[-1]

    async def probe() -> None:
        conn = await asyncpg.connect(dsn, timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        unavailable(f"PostgreSQL unreachable at {where}: {type(exc).__name__}")
    return dsn


# ---------------------------------------------------------------------------- Redis


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis URL, once the server has answered a PING."""
    url = os.environ.get("CHAOS_REDIS_URL", DEFAULT_REDIS_URL)
    where = url.rsplit("@", 1)[-1]

    async def probe() -> None:
        client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        try:
            await client.ping()
        finally:
            await client.aclose()

    try:
        asyncio.run(probe())
    except (OSError, redis.exceptions.RedisError, TimeoutError) as exc:
        unavailable(f"Redis unreachable at {where}: {type(exc).__name__}")
    return url


# ---------------------------------------------------------------------------- S3 (moto)


class MotoServer:
    """One moto subprocess on a free loopback port."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop(), after the process)
        self.process = subprocess.Popen(
            [sys.executable, str(MOTO_SCRIPT), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until the server answers HTTP (moto takes a few seconds to import)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                tail = self.log.read().decode(errors="replace").strip().splitlines()[-3:]
                raise RuntimeError(f"moto exited with {self.process.returncode}: {' / '.join(tail)}")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1):
                    return
            except urllib.error.HTTPError:
                return  # any HTTP answer means it is serving
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"moto did not answer on {self.url} within {timeout:g}s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="session")
def moto_factory() -> Iterator[Callable[..., str]]:
    """``start(env=None) -> endpoint URL``; every server started is stopped at session end."""
    servers: list[MotoServer] = []

    def start(env: dict[str, str] | None = None) -> str:
        server = MotoServer(env)
        servers.append(server)
        try:
            server.wait_ready()
        except RuntimeError as exc:
            unavailable(f"moto S3 server: {exc}")
        return server.url

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def s3_server(moto_factory: Callable[..., str]) -> str:
    """Endpoint URL of the session's moto S3 server."""
    return moto_factory()


@pytest.fixture
def s3_settings(s3_server: str) -> dict[str, Any]:
    """Settings of an ``s3`` store on the session's moto server (a fresh dict per test)."""
    return {
        "endpoint_url": s3_server,
        "region": "us-east-1",
        "bucket": S3_BUCKET,
        "create_bucket": True,
        **S3_CREDENTIALS,
    }


# ---------------------------------------------------------------------------- HTTP services


@pytest.fixture
async def http_service() -> AsyncIterator[Callable[[web.Application], Awaitable[str]]]:
    """``await start(app) -> base_url``: serve ``app`` on a free loopback port until the test
    ends. The server runs in the test's own event loop."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in reversed(runners):
        await runner.cleanup()


@pytest.fixture
async def kv_service(http_service: Callable[[web.Application], Awaitable[str]]) -> tuple[str, dict[str, bytes]]:
    """A running :func:`~tests.kv_service.kv_app`: ``(base_url, its data dict)``."""
    app = kv_app()
    return await http_service(app), app[KV_DATA]


@pytest.fixture
def kv_settings(kv_service: tuple[str, dict[str, bytes]]) -> dict[str, Any]:
    """Settings of an ``http`` store on ``kv_service`` (a fresh dict per test)."""
    return kv_store_settings(kv_service[0])


# ---------------------------------------------------------------------------- the seed's experiments


@pytest.fixture
async def seed_env(pg_dsn: str, s3_settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment the ``*-pg-s3.yaml`` experiments read: PostgreSQL, and a fresh bucket on
    the session's moto server with its credentials."""
    from adapters import create

    bucket = f"seed-{uuid.uuid4().hex[:8]}"
    setup = create("s3", {**s3_settings, "bucket": bucket, "conditional_writes": False}, "setup")
    await setup.open()  # creates the bucket the experiments expect
    await setup.close()
    monkeypatch.setenv("CHAOS_PG_DSN", pg_dsn)
    monkeypatch.setenv("CHAOS_S3_ENDPOINT", s3_settings["endpoint_url"])
    monkeypatch.setenv("CHAOS_S3_BUCKET", bucket)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
