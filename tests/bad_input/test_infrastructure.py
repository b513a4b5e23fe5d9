"""``chaos run`` against infrastructure that is not there or not what it should be: exit 4 and
one line naming the store's kind and address (never a credential), within ``connect_timeout``
for a server that accepts and never answers; a disk that refuses the history (a file-size
limit on the subprocess, as a full disk refuses to grow a file); and nothing left behind, in
the run directory (what the README lists for a run that stopped on an error) or in the real
servers (no table, no key prefix, no bucket).

Servers here: a port nobody listens on, a port that accepts connections and never answers, one
that closes every connection at once, an HTTP server answering HTML (or 500) to everything,
and the machine's real PostgreSQL, Redis and a moto S3 server for what only a real server can
refuse (a database or role that does not exist, a bucket that is missing).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio
import yaml

from adapters import create
from tests.conftest import S3_CREDENTIALS, free_port

from .corpus import RUN_ARTIFACTS_ON_ERROR, UNREACHABLE, Case, Outcome, check, run_all

NAME = "bad-input-corpus"
"""The experiment's name: its namespace (table, key prefix) is looked for afterwards."""
LEAVES = frozenset({"run", *(f"run/{name}" for name in RUN_ARTIFACTS_ON_ERROR)})
CONNECT_TIMEOUT = 1
SILENT_WITHIN = CONNECT_TIMEOUT + 6.0
"""A silent server is given up on within connect_timeout; the rest is start-up and writing the
error's results.json and junit.xml, with a margin for a loaded machine."""
KV_OPERATIONS = {
    "get": {"method": "GET", "path": "/kv/{key}", "missing": [404], "result": "body"},
    "put": {"method": "PUT", "path": "/kv/{key}", "body": "{value}"},
    "delete": {"method": "DELETE", "path": "/kv/{key}", "missing": [404]},
    "cas": {
        "method": "POST",
        "path": "/cas/{key}",
        "json": {"expected": "{expected}", "new": "{new}"},
        "mismatch": [409],
    },
    "list": {"method": "GET", "path": "/keys", "query": {"prefix": "{prefix}"}, "result": "json:keys"},
}


SHORT_EXPERIMENT = """\
name: d
seed: 1
operations: 200000
stores: {db: {adapter: memory}}
system: register
checks: [{model: register}]
"""
"""Small enough for a disk that refuses files over 300 bytes to take it (and not its history)."""


def experiment(adapter: str, settings: dict[str, Any], **top: Any) -> str:
    return yaml.safe_dump(
        {
            "name": NAME,
            "seed": 1,
            "operations": 20,
            "concurrency": 2,
            "stores": {"db": {"adapter": adapter, "settings": settings}},
            "system": "register",
            "workload": {"keys": 1, "mix": {"read": 1, "write": 1, "cas": 1}},
            "checks": [{"model": "cas-register"}],
            **top,
        },
        sort_keys=False,
    )


def store_settings(adapter: str, address: str, **extra: Any) -> dict[str, Any]:
    """Settings of ``adapter`` pointed at ``address`` (``host:port``)."""
    by_adapter: dict[str, dict[str, Any]] = {
        "postgres": {"dsn": f"postgresql://postgres@{address}/test"},
        "s3": {"endpoint_url": f"http://{address}", "bucket": "chaos", **S3_CREDENTIALS},
        "http": {"base_url": f"http://{address}", "operations": KV_OPERATIONS, "value_encoding": "base64"},
        "redis": {"url": f"redis://{address}/0"},
    }
    made = by_adapter[adapter]
    return {**made, **extra}


def unreachable(
    id: str,
    text: str,
    *named: str,
    within: float | None = None,
    process: bool = False,
    hidden: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    file_limit: int | None = None,
    args: tuple[str, ...] = (),
    leaves: frozenset[str] = LEAVES,
) -> Case:
    return Case(
        f"infra-{id}",
        "infrastructure",
        ("run", "e.yaml", "--out", "run", "--no-progress", *args),
        files={"e.yaml": text},
        code=UNREACHABLE,
        named=named,
        within=within,
        process=process,
        hidden=hidden,
        env=env or {},
        file_limit=file_limit,
        leaves=leaves,
    )


ADAPTERS = ("postgres", "s3", "http", "redis")

LOCAL: list[Case] = [
    *(
        unreachable(
            f"{a}-refused",
            experiment(a, store_settings(a, "127.0.0.1:@refused@")),
            f"error: store 'db': {a} at 127.0.0.1:@refused@: ",
            "connection refused",
            process=a == "postgres",
        )
        for a in ADAPTERS
    ),
    *(
        unreachable(
            f"{a}-silent",
            experiment(a, store_settings(a, "127.0.0.1:@silent@", connect_timeout=CONNECT_TIMEOUT)),
            f"error: store 'db': {a} at 127.0.0.1:@silent@: no connection within {CONNECT_TIMEOUT}s",
            within=SILENT_WITHIN,
            process=False,
        )
        for a in ADAPTERS
    ),
    *(
        unreachable(
            f"{a}-closes-at-once",
            experiment(a, store_settings(a, "127.0.0.1:@closing@", connect_timeout=CONNECT_TIMEOUT)),
            f"error: store 'db': {a} at 127.0.0.1:@closing@",
        )
        for a in ADAPTERS
    ),
    unreachable(
        "http-answers-html",
        experiment("http", store_settings("http", "127.0.0.1:@html@")),
        "error: store 'db': http at 127.0.0.1:@html@: list GET /keys: the answer is not JSON (text/html",
        process=True,
    ),
    unreachable(
        "http-answers-500",
        experiment("http", store_settings("http", "127.0.0.1:@status500@")),
        "error: store 'db': http at 127.0.0.1:@status500@: list GET /keys",
        "500",
    ),
    unreachable(
        "http-health-500",
        experiment("http", {"base_url": "http://127.0.0.1:@status500@", "health": {"path": "/health"}}),
        "error: store 'db': http at 127.0.0.1:@status500@",
        "health GET /health",
        "500",
    ),
    unreachable(
        "http-secret-header-not-shown",
        experiment(
            "http", store_settings("http", "127.0.0.1:@html@", headers={"Authorization": "Bearer ${CORPUS_TOKEN}"})
        ),
        "error: store 'db': http at 127.0.0.1:@html@",
        env={"CORPUS_TOKEN": "tok-corpus-5ecret"},
        hidden=("tok-corpus-5ecret",),
        process=True,
    ),
    unreachable(
        "s3-answers-html",
        experiment("s3", store_settings("s3", "127.0.0.1:@html@")),
        "error: store 'db': s3 at 127.0.0.1:@html@",
    ),
    unreachable(
        "s3-answers-500",
        experiment("s3", store_settings("s3", "127.0.0.1:@status500@")),
        "error: store 'db': s3 at 127.0.0.1:@status500@",
    ),
    unreachable(
        "redis-answers-http",
        experiment("redis", store_settings("redis", "127.0.0.1:@html@")),
        "error: store 'db': redis at 127.0.0.1:@html@: ",
    ),
    unreachable(
        "postgres-answers-http",
        experiment("postgres", store_settings("postgres", "127.0.0.1:@html@", connect_timeout=CONNECT_TIMEOUT)),
        "error: store 'db': postgres at 127.0.0.1:@html@",
    ),
    unreachable(
        "postgres-password-not-shown",
        experiment("postgres", {"dsn": "postgresql://app:${CORPUS_PG_PASSWORD}@127.0.0.1:@refused@/x"}),
        "error: store 'db': postgres at 127.0.0.1:@refused@: connection refused",
        env={"CORPUS_PG_PASSWORD": "pw-corpus-5ecret"},
        hidden=("pw-corpus-5ecret",),
    ),
    unreachable(
        "redis-password-not-shown",
        experiment(
            "redis",
            {"url": "redis://:${CORPUS_REDIS_PASSWORD}@127.0.0.1:@silent@/0", "connect_timeout": CONNECT_TIMEOUT},
        ),
        "error: store 'db': redis at 127.0.0.1:@silent@: no connection within",
        env={"CORPUS_REDIS_PASSWORD": "pw-redis-5ecret"},
        hidden=("pw-redis-5ecret",),
        within=SILENT_WITHIN,
    ),
    unreachable(
        "postgres-silent-behind-proxy",
        experiment(
            "postgres",
            store_settings("postgres", "127.0.0.1:@silent@", connect_timeout=CONNECT_TIMEOUT),
            faults=[{"kind": "network", "store": "db", "toxic": "latency", "latency": "5ms"}],
        ),
        f"error: store 'db': postgres at 127.0.0.1:@silent@: no connection within {CONNECT_TIMEOUT}s",
        within=SILENT_WITHIN,
        process=False,
    ),
    unreachable(
        "network-fault-on-refused-store",
        experiment(
            "postgres",
            store_settings("postgres", "127.0.0.1:@refused@"),
            faults=[{"kind": "network", "store": "db", "toxic": "latency", "latency": "5ms"}],
        ),
        "error: store 'db': postgres at 127.0.0.1:@refused@: connection refused",
    ),
    unreachable(
        "second-store-refused",
        experiment(
            "memory",
            {},
            stores={
                "db": {"adapter": "memory"},
                "cache": {"adapter": "redis", "settings": {"url": "redis://127.0.0.1:@refused@/0"}},
            },
            system={"name": "register", "stores": {"store": "db"}},
        ),
        "error: store 'cache': redis at 127.0.0.1:@refused@: connection refused",
    ),
    unreachable(
        "disk-refuses-history",
        experiment("memory", {}, operations=200_000),
        "error: cannot write the history run/history.jsonl: File too large",
        file_limit=100_000,
        process=True,
    ),
    unreachable(
        # every file is limited to 300 bytes: the history, then results.json and both junit.xml
        # fail; the history's failure is the one reported
        "disk-refuses-history-and-junit",
        SHORT_EXPERIMENT,
        "error: cannot write the history run/history.jsonl: File too large",
        file_limit=300,
        args=("--junit", "ci/junit.xml"),
        leaves=LEAVES | {"ci", "ci/junit.xml"},
        process=True,
    ),
    unreachable(
        "disk-refuses-experiment-copy",
        experiment("memory", {}, description="x" * 2000),
        "error: cannot write the run directory run: File too large",
        file_limit=1000,
        process=True,
    ),
]

REAL: list[Case] = [
    unreachable(
        "postgres-unknown-database",
        experiment("postgres", {"dsn": "@pg_no_database@"}),
        "error: store 'db': postgres at @pg_address@",
        'database "chaos_corpus_no_such_db" does not exist',
    ),
    unreachable(
        "postgres-unknown-role",
        experiment("postgres", {"dsn": "@pg_no_role@"}),
        "error: store 'db': postgres at @pg_address@",
        'role "chaos_corpus_no_role" does not exist',
        env={"CORPUS_PG_ROLE_PASSWORD": "pw-corpus-role"},
        hidden=("pw-corpus-role",),
    ),
    unreachable(
        "redis-database-out-of-range",
        experiment("redis", {"url": "@redis_db_99@"}),
        "error: store 'db': redis at @redis_address@",
        "DB index is out of range",
    ),
    unreachable(
        "s3-bucket-missing",
        experiment("s3", {"endpoint_url": "@s3@", "bucket": "corpus-no-such-bucket", **S3_CREDENTIALS}),
        "error: store 'db': s3 at @s3_address@: bucket 'corpus-no-such-bucket' does not exist",
    ),
]
SERVE_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "CHAOS_PG_DSN": None}


def serve(id: str, *args: str, code: int, named: tuple[str, ...]) -> Case:
    """``chaos serve profile`` on the real PostgreSQL and moto, failing to listen; its data
    (``--no-keep``) is removed on the way out. Each case has a namespace of its own: they run
    at the same time, and two services opening one S3 prefix at once race on its probe object."""
    argv = (
        "serve",
        "profile",
        "--db",
        "@pg@",
        "--blobs",
        "@s3@",
        "--bucket",
        SERVE_BUCKET,
        "--no-keep",
        "--namespace",
        f"{NAME}-serve-{id}",
        *args,
    )
    return Case(f"serve-{id}", "serve", argv, code=code, named=named, process=True, env=SERVE_ENV)


SERVE_BUCKET = "corpus-serve"
REAL += [
    serve(
        "host-unknown",
        "--host",
        "no-such-host.invalid",
        code=3,
        named=("error: --host no-such-host.invalid: cannot listen there",),
    ),
    serve(
        "host-not-here",
        "--host",
        "192.0.2.1",
        code=3,
        named=("error: --host 192.0.2.1: cannot listen there (", "give an address of this machine"),
    ),
    serve(
        "port-in-use",
        "--port",
        "@busy@",
        code=UNREACHABLE,
        named=("error: cannot listen on 127.0.0.1:@busy@: the port is in use",),
    ),
]
CASES = LOCAL + REAL


# ---------------------------------------------------------------------------- local servers


def _serve_forever(server: socket.socket, handle: Any) -> None:
    while True:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        handle(conn)


class _Answer(BaseHTTPRequestHandler):
    """Any method, any path: the same status and an HTML page."""

    status = 200

    def _answer(self) -> None:
        body = b"<html><body><h1>Welcome to nginx!</h1></body></html>"
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Fail(_Answer):
    status = 500


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    """Ports: ``refused`` (nobody listens), ``silent`` (accepts, never answers), ``closing``
    (accepts and closes at once), ``html`` (HTML to everything), ``status500``."""
    silent = socket.create_server(("127.0.0.1", 0), backlog=128)
    closing = socket.create_server(("127.0.0.1", 0), backlog=128)
    threading.Thread(target=_serve_forever, args=(closing, lambda c: c.close()), daemon=True).start()
    html = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    failing = ThreadingHTTPServer(("127.0.0.1", 0), _Fail)
    for server in (html, failing):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield {
            "refused": str(free_port()),
            "silent": str(silent.getsockname()[1]),
            "closing": str(closing.getsockname()[1]),
            "html": str(html.server_address[1]),
            "status500": str(failing.server_address[1]),
        }
    finally:
        for server in (html, failing):
            server.shutdown()
            server.server_close()
        silent.close()
        closing.close()


@pytest.fixture(scope="module")
def local_outcomes(
    tmp_path_factory: pytest.TempPathFactory, servers: dict[str, str]
) -> tuple[Path, dict[str, Outcome], dict[str, str]]:
    root = tmp_path_factory.mktemp("infrastructure")
    return root, run_all(LOCAL, root, servers), servers


@pytest.mark.parametrize("case", LOCAL, ids=lambda c: c.id)
def test_unreachable(case: Case, local_outcomes: tuple[Path, dict[str, Outcome], dict[str, str]]) -> None:
    root, found, context = local_outcomes
    check(case, found[case.id], root / case.id, context)


# ---------------------------------------------------------------------------- real servers


def _address(url: str, default_port: int) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or default_port}"


def _with(url: str, *, path: str | None = None, user: str | None = None) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    netloc = f"{user}@{_address(url, 5432)}" if user else parts.netloc
    return urlunsplit((parts.scheme, netloc, path if path is not None else parts.path, parts.query, ""))


async def _bucket(s3: dict[str, Any], bucket: str) -> None:
    """Make ``bucket`` (the service needs one that exists)."""
    store = create("s3", {**s3, "bucket": bucket, "create_bucket": True, "conditional_writes": False}, "setup")
    await store.open()
    await store.close()


async def _leftovers(pg_dsn: str, redis_url: str, s3: dict[str, Any]) -> list[str]:
    """What a run of this corpus could have left in the real servers."""
    found: list[str] = []
    conn = await asyncpg.connect(pg_dsn)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE tablename LIKE 'chaos_bad_input_corpus%'")
        found += [f"postgres table {r['tablename']}" for r in rows]
    finally:
        await conn.close()
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        found += [f"redis key {k!r}" async for k in client.scan_iter(match=f"{NAME}*")]
    finally:
        await client.aclose()
    probe = create("s3", {**s3, "bucket": "corpus-no-such-bucket", "create_bucket": False}, "probe")
    try:
        await probe.open()
        found.append("s3 bucket corpus-no-such-bucket")
        await probe.close()
    except Exception:  # the bucket must not exist: refusing to open is what is wanted
        pass
    return found


@pytest.fixture(scope="module")
def real_outcomes(
    tmp_path_factory: pytest.TempPathFactory, pg_dsn: str, redis_url: str, s3_server: str
) -> tuple[Path, dict[str, Outcome], dict[str, str]]:
    root = tmp_path_factory.mktemp("infrastructure-real")
    s3_settings = {"endpoint_url": s3_server, "region": "us-east-1", **S3_CREDENTIALS}
    asyncio.run(_bucket(s3_settings, SERVE_BUCKET))
    busy = socket.create_server(("127.0.0.1", 0))
    context = {
        "pg_no_database": _with(pg_dsn, path="/chaos_corpus_no_such_db"),
        "pg_no_role": _with(pg_dsn, user="chaos_corpus_no_role:${CORPUS_PG_ROLE_PASSWORD}"),
        "pg_address": _address(pg_dsn, 5432),
        "redis_db_99": _with(redis_url, path="/99"),
        "redis_address": _address(redis_url, 6379),
        "s3": s3_settings["endpoint_url"],
        "s3_address": _address(s3_settings["endpoint_url"], 80),
        "pg": pg_dsn,
        "busy": str(busy.getsockname()[1]),
    }
    try:
        outcomes = run_all(REAL, root, context)
    finally:
        busy.close()
    assert asyncio.run(_leftovers(pg_dsn, redis_url, s3_settings)) == []
    return root, outcomes, context


@pytest.mark.parametrize("case", REAL, ids=lambda c: c.id)
def test_unreachable_real_server(case: Case, real_outcomes: tuple[Path, dict[str, Outcome], dict[str, str]]) -> None:
    root, found, context = real_outcomes
    check(case, found[case.id], root / case.id, context)
