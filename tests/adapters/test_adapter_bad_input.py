"""Bad input against real servers: a server that cannot be reached or answers nonsense must
end ``chaos run`` with exit code 4 and one line on stderr that says what is wrong and where
(never a traceback, never a credential), and must leave nothing behind in the store; a mistake
in a store's settings is bad input, found before any server is contacted (exit 3, with its
path and line).
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import redis.asyncio
import yaml
from aiohttp import web

from adapters import ConnectError, NamespaceNotEmpty, create
from adapters.postgres import table_name
from tests.conftest import S3_CREDENTIALS, free_port
from tests.kv_service import KV_OPERATIONS, kv_store_settings

REPO = Path(__file__).resolve().parents[2]
UNREACHABLE = 4
BAD_INPUT = 3


def experiment(name: str, adapter: str, settings: dict[str, Any]) -> str:
    """A small register experiment on one store."""
    return yaml.safe_dump(
        {
            "name": name,
            "seed": 1,
            "operations": 20,
            "concurrency": 2,
            "stores": {"db": {"adapter": adapter, "settings": settings}},
            "system": "register",
            "workload": {"keys": 1, "mix": {"read": 1, "write": 1, "cas": 1}},
            "checks": [{"model": "cas-register"}],
        },
        sort_keys=False,
    )


async def chaos_run(text: str, tmp_path: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``python -m chaos run`` on ``text`` as a subprocess, without blocking the event loop (the
    services under test run in it). The run directory is ``tmp_path/run``."""
    path = tmp_path / "experiment.yaml"
    path.write_text(text, encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chaos",
        "run",
        str(path),
        "--out",
        str(tmp_path / "run"),
        cwd=REPO,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def assert_one_line(code: int, out: str, err: str, *fragments: str, hidden: tuple[str, ...] = ()) -> str:
    """Exit 4, exactly one line on stderr containing ``fragments``, no traceback, and none of
    ``hidden`` anywhere in the output."""
    assert code == UNREACHABLE, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in out + err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    for secret in hidden:
        assert secret not in out + err
    return lines[0]


def assert_bad_setting(code: int, out: str, err: str, *fragments: str) -> None:
    """Exit 3, the file's problem list naming the store's settings and each fragment."""
    assert code == BAD_INPUT, (code, out, err)
    assert "Traceback" not in out + err
    assert "stores.db.settings" in err, err
    for fragment in fragments:
        assert fragment in err, err


def with_database(dsn: str, database: str, *, user: str | None = None, password: str | None = None) -> str:
    parts = urlsplit(dsn)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{host}:{parts.port or 5432}"
    if user is not None:
        netloc = f"{user}:{password}@{netloc}" if password else f"{user}@{netloc}"
    elif parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((parts.scheme, netloc, "/" + database, parts.query, ""))


def address(dsn: str) -> str:
    parts = urlsplit(dsn)
    return f"{parts.hostname}:{parts.port or 5432}"


# ---------------------------------------------------------------------------- postgres


async def test_postgres_refused_connection(tmp_path: Path) -> None:
    port = free_port()
    code, out, err = await chaos_run(
        experiment("bad-pg", "postgres", {"dsn": f"postgresql://postgres@127.0.0.1:{port}/test"}), tmp_path
    )
    assert_one_line(code, out, err, "store 'db'", f"postgres at 127.0.0.1:{port}", "connection refused")


@pytest.mark.postgres
async def test_postgres_unknown_database(pg_dsn: str, tmp_path: Path) -> None:
    dsn = with_database(pg_dsn, "chaos_no_such_database")
    code, out, err = await chaos_run(experiment("bad-pg", "postgres", {"dsn": dsn}), tmp_path)
    assert_one_line(code, out, err, f"postgres at {address(pg_dsn)}", '"chaos_no_such_database" does not exist')


@pytest.mark.postgres
@pytest.mark.parametrize("via_env", [True, False], ids=["dsn-from-env", "dsn-in-file"])
async def test_postgres_bad_credentials_are_never_shown(pg_dsn: str, tmp_path: Path, via_env: bool) -> None:
    password = "Sup3r-Secret-Pw"
    dsn = with_database(pg_dsn, urlsplit(pg_dsn).path.lstrip("/") or "test", user="chaos_no_role", password=password)
    settings = {"dsn": "${CHAOS_TEST_BAD_DSN}" if via_env else dsn}
    code, out, err = await chaos_run(
        experiment("bad-pg", "postgres", settings), tmp_path, env={"CHAOS_TEST_BAD_DSN": dsn}
    )
    assert_one_line(code, out, err, f"postgres at {address(pg_dsn)}", "chaos_no_role", hidden=(password,))
    stored = "".join(p.read_text(errors="replace") for p in (tmp_path / "run").iterdir() if p.is_file())
    assert password not in stored or not via_env  # the stored experiment keeps ${VAR}, not its value


async def test_postgres_malformed_dsn(tmp_path: Path) -> None:
    code, out, err = await chaos_run(experiment("bad-pg", "postgres", {"dsn": "host=localhost user=x"}), tmp_path)
    assert_bad_setting(code, out, err, "line 8:", "postgres settings: dsn: expected postgresql://")


async def test_unknown_and_missing_settings_are_named(tmp_path: Path) -> None:
    code, out, err = await chaos_run(experiment("bad-pg", "postgres", {"pool_sise": 3}), tmp_path)
    assert_bad_setting(code, out, err, "dsn: required setting is missing", "pool_sise: unknown setting")


@pytest.mark.postgres
async def test_postgres_namespace_with_data_is_refused_and_left_alone(pg_dsn: str, tmp_path: Path) -> None:
    namespace = "bad-pg-run"  # a run's namespace is its own; a table named in the settings may not be
    earlier = create("postgres", {"dsn": pg_dsn, "keep": True}, namespace)
    await earlier.open()
    await earlier.put("precious", b"data")
    await earlier.close()
    try:
        settings = {"dsn": pg_dsn, "table": table_name(namespace)}
        code, out, err = await chaos_run(experiment("bad-pg", "postgres", settings), tmp_path)
        assert_one_line(code, out, err, "already holds data", "reuse: true")
        conn = await asyncpg.connect(pg_dsn)
        try:
            rows = await conn.fetch(f'SELECT key, value FROM "{table_name(namespace)}"')
        finally:
            await conn.close()
        assert [(r["key"], r["value"]) for r in rows] == [("precious", b"data")]
    finally:
        cleanup = create("postgres", {"dsn": pg_dsn, "reuse": True}, namespace)
        await cleanup.open()
        await cleanup.close()


async def test_postgres_server_that_never_answers_times_out_cleanly() -> None:
    """A port that accepts connections but never speaks: ``open`` gives up at
    ``connect_timeout`` with a ConnectError, not a hang."""
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    try:
        store = create(
            "postgres", {"dsn": f"postgresql://postgres@127.0.0.1:{port}/test", "connect_timeout": 0.5}, "silent"
        )
        with pytest.raises(ConnectError, match=re.escape(f"postgres at 127.0.0.1:{port}: no connection within 0.5s")):
            await store.open()
    finally:
        silent.close()


# ---------------------------------------------------------------------------- s3


async def test_s3_wrong_endpoint(tmp_path: Path) -> None:
    port = free_port()
    settings = {"endpoint_url": f"http://127.0.0.1:{port}", "bucket": "chaos", **S3_CREDENTIALS}
    code, out, err = await chaos_run(experiment("bad-s3", "s3", settings), tmp_path)
    assert_one_line(code, out, err, f"s3 at 127.0.0.1:{port}", "connection refused", hidden=("testing",))


@pytest.mark.s3
async def test_s3_missing_bucket_is_named_and_not_created(s3_settings: dict[str, Any], tmp_path: Path) -> None:
    settings = {**s3_settings, "bucket": "chaos-no-such-bucket", "create_bucket": False}
    code, out, err = await chaos_run(experiment("bad-s3", "s3", settings), tmp_path)
    assert_one_line(code, out, err, "bucket 'chaos-no-such-bucket' does not exist", "create_bucket: true")
    again = create("s3", settings, "check")
    with pytest.raises(ConnectError, match="does not exist"):
        await again.open()


@pytest.mark.s3
async def test_s3_bad_credentials(moto_factory: Callable[..., str], tmp_path: Path) -> None:
    checking = moto_factory({"INITIAL_NO_AUTH_ACTION_COUNT": "0"})  # a moto that checks credentials
    secret = "wJalrXUtnFEMI-not-a-real-key"
    settings = {
        "endpoint_url": checking,
        "bucket": "chaos",
        "aws_access_key_id": "AKIACHAOSNOTAKEY",
        "aws_secret_access_key": "${CHAOS_TEST_SECRET_KEY}",
    }
    code, out, err = await chaos_run(
        experiment("bad-s3", "s3", settings), tmp_path, env={"CHAOS_TEST_SECRET_KEY": secret}
    )
    assert_one_line(code, out, err, "access to bucket 'chaos' denied (check the credentials)", hidden=(secret,))


@pytest.mark.s3
async def test_s3_prefix_with_objects_is_refused_and_left_alone(s3_settings: dict[str, Any], tmp_path: Path) -> None:
    earlier = create("s3", {**s3_settings, "keep": True}, "bad-s3-run")
    await earlier.open()
    await earlier.put("precious", b"data")
    await earlier.close()
    try:
        code, out, err = await chaos_run(experiment("bad-s3", "s3", {**s3_settings, "prefix": "bad-s3-run"}), tmp_path)
        assert_one_line(code, out, err, "already holds objects under 'bad-s3-run/'")
        peek = create("s3", {**s3_settings, "reuse": True, "keep": True, "conditional_writes": False}, "bad-s3-run")
        await peek.open()
        assert await peek.get("precious") == b"data"
        await peek.close()
    finally:
        cleanup = create("s3", {**s3_settings, "reuse": True, "conditional_writes": False}, "bad-s3-run")
        await cleanup.open()
        await cleanup.close()


# ---------------------------------------------------------------------------- redis


def redis_address(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}"


def with_credentials(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, f"{user}:{password}@{redis_address(url)}", parts.path, parts.query, ""))


async def test_redis_refused_connection(tmp_path: Path) -> None:
    port = free_port()
    code, out, err = await chaos_run(experiment("bad-redis", "redis", {"url": f"redis://127.0.0.1:{port}/0"}), tmp_path)
    assert_one_line(code, out, err, "store 'db'", f"redis at 127.0.0.1:{port}", "connection refused")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://postgres@127.0.0.1:5432/test", "url: expected redis://"),
        ("redis://:Secr3t-pw@127.0.0.1:99999/0", "url: the port must be a number from 1 to 65535"),
        ("redis://:Secr3t-pw@127.0.0.1:6379/zero", "url: the database (the path after the port) must be a number"),
    ],
    ids=["other-scheme", "port-99999", "database-name"],
)
async def test_redis_malformed_url(tmp_path: Path, url: str, problem: str) -> None:
    code, out, err = await chaos_run(experiment("bad-redis", "redis", {"url": url}), tmp_path)
    assert_bad_setting(code, out, err, "redis settings:", problem)
    assert "Secr3t" not in out + err


async def test_redis_unknown_setting_and_negative_pool_size_are_named(tmp_path: Path) -> None:
    settings = {"url": "redis://127.0.0.1:6379/0", "pool_size": -2, "prefx": "x"}
    code, out, err = await chaos_run(experiment("bad-redis", "redis", settings), tmp_path)
    assert_bad_setting(
        code, out, err, "pool_size: Input should be greater than or equal to 1", "prefx: unknown setting"
    )


@pytest.mark.redis
@pytest.mark.parametrize("via_env", [True, False], ids=["url-from-env", "url-in-file"])
async def test_redis_wrong_password_is_never_shown(redis_url: str, tmp_path: Path, via_env: bool) -> None:
    """A real ACL user on the machine's server, made for the test, and the wrong password for it."""
    user, password = f"chaos-{uuid.uuid4().hex[:8]}", "Sup3r-Secret-Redis-Pw"
    admin = redis.asyncio.Redis.from_url(redis_url)
    await admin.acl_setuser(user, enabled=True, passwords=["+the-right-one"], keys=["*"], categories=["+@all"])
    try:
        url = with_credentials(redis_url, user, password)
        settings = {"url": "${CHAOS_TEST_REDIS_URL}" if via_env else url}
        code, out, err = await chaos_run(
            experiment("bad-redis", "redis", settings), tmp_path, env={"CHAOS_TEST_REDIS_URL": url}
        )
        assert_one_line(
            code,
            out,
            err,
            f"redis at {redis_address(redis_url)}",
            "authentication failed (WRONGPASS",
            hidden=(password,),
        )
        if via_env:
            stored = "".join(p.read_text(errors="replace") for p in (tmp_path / "run").rglob("*") if p.is_file())
            assert password not in stored
    finally:
        await admin.acl_deluser(user)
        await admin.aclose()


@pytest.mark.redis
async def test_redis_prefix_with_keys_is_refused_and_left_alone(redis_url: str, tmp_path: Path) -> None:
    admin = redis.asyncio.Redis.from_url(redis_url)
    await admin.set("bad-redis-run:precious", b"data")  # a prefix named in the settings, not the run's own
    try:
        settings = {"url": redis_url, "prefix": "bad-redis-run"}
        code, out, err = await chaos_run(experiment("bad-redis", "redis", settings), tmp_path)
        assert_one_line(code, out, err, "already holds keys under 'bad-redis-run:'", "reuse: true")
        assert await admin.get("bad-redis-run:precious") == b"data"
        store = create("redis", {"url": redis_url}, "bad-redis-run")
        with pytest.raises(NamespaceNotEmpty):
            await store.open()
        await store.close()  # close() after a refused open() touches nothing
        assert await admin.get("bad-redis-run:precious") == b"data"
    finally:
        await admin.delete("bad-redis-run:precious")
        await admin.aclose()


async def test_redis_server_that_never_answers_times_out_naming_the_address(tmp_path: Path) -> None:
    """A port that accepts connections but never speaks: the run stops within connect_timeout
    with the store's own line, which names the address."""
    silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    try:
        store = create("redis", {"url": f"redis://127.0.0.1:{port}/0", "connect_timeout": 0.5}, "silent")
        with pytest.raises(ConnectError, match=re.escape(f"redis at 127.0.0.1:{port}: no connection within 0.5s")):
            await store.open()
        settings = {"url": f"redis://127.0.0.1:{port}/0", "connect_timeout": 1}
        code, out, err = await chaos_run(experiment("bad-redis", "redis", settings), tmp_path)
        assert_one_line(code, out, err, f"store 'db': redis at 127.0.0.1:{port}: no connection within 1s")
    finally:
        silent.close()


async def test_redis_peer_that_does_not_speak_redis(
    http_service: Callable[[web.Application], Awaitable[str]], tmp_path: Path
) -> None:
    url = await http_service(web.Application())  # an HTTP server answers the handshake with HTTP
    port = urlsplit(url).port
    code, out, err = await chaos_run(experiment("bad-redis", "redis", {"url": f"redis://127.0.0.1:{port}/0"}), tmp_path)
    assert_one_line(code, out, err, f"redis at 127.0.0.1:{port}: the server does not speak the Redis protocol")


# ---------------------------------------------------------------------------- http


async def test_http_refused_connection(tmp_path: Path) -> None:
    port = free_port()
    code, out, err = await chaos_run(
        experiment("bad-http", "http", kv_store_settings(f"http://127.0.0.1:{port}")), tmp_path
    )
    assert_one_line(code, out, err, f"http at 127.0.0.1:{port}", "connection refused")


async def test_http_service_answering_garbage(
    http_service: Callable[[web.Application], Awaitable[str]], tmp_path: Path
) -> None:
    writes: list[str] = []
    app = web.Application()

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>Welcome to nginx!</body></html>", content_type="text/html")

    async def record(request: web.Request) -> web.Response:
        writes.append(request.path)
        return web.Response(status=204)

    app.router.add_get("/health", html)
    app.router.add_get("/keys", html)
    app.router.add_route("*", "/{tail:.*}", record)
    url = await http_service(app)
    settings = {**kv_store_settings(url), "headers": {"Authorization": "Bearer ${CHAOS_TEST_TOKEN}"}}
    token = "tok-3xtremely-secret"
    code, out, err = await chaos_run(
        experiment("bad-http", "http", settings), tmp_path, env={"CHAOS_TEST_TOKEN": token}
    )
    assert_one_line(code, out, err, "list GET /keys", "the answer is not JSON (text/html", hidden=(token,))
    assert writes == []  # nothing was written before the run gave up


async def test_http_peer_that_does_not_speak_http(tmp_path: Path) -> None:
    async def babble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\nnot http at all\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(babble, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        settings = {"base_url": f"http://127.0.0.1:{port}", "operations": KV_OPERATIONS, "value_encoding": "base64"}
        code, out, err = await chaos_run(experiment("bad-http", "http", settings), tmp_path)
        assert_one_line(code, out, err, f"http at 127.0.0.1:{port}: list GET /keys")
    finally:
        server.close()


async def test_http_with_data_under_the_namespace_is_refused(
    kv_service: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    url, data = kv_service
    data["bad-http-run/precious"] = b"data"
    settings = {**kv_store_settings(url), "key_prefix": "bad-http-run/"}
    code, out, err = await chaos_run(experiment("bad-http", "http", settings), tmp_path)
    assert_one_line(code, out, err, "already holds keys under 'bad-http-run/'")
    assert data == {"bad-http-run/precious": b"data"}


async def test_a_refused_open_does_not_clean_up_what_it_refused(
    kv_service: tuple[str, dict[str, bytes]],
) -> None:
    """close() after a refused open() must not delete the data that made it refuse."""
    url, data = kv_service
    data["ns/k"] = b"v"
    store = create("http", kv_store_settings(url), "ns")
    with pytest.raises(NamespaceNotEmpty):
        await store.open()
    await store.close()
    assert data == {"ns/k": b"v"}
