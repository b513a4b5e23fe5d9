"""Fixtures of the fault tests: real PostgreSQL, a real aiohttp server on loopback, and a
helper that builds a fault layer from YAML the way an experiment declares faults."""

from __future__ import annotations

import os
import textwrap
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
import yaml
from aiohttp import web
from pydantic import TypeAdapter

from chaos.clock import ScaledClock, VirtualClock
from chaos.faults import FaultLayer, FaultSpec

PG_DSN = os.environ.get("CHAOS_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"

_faults = TypeAdapter(list[FaultSpec])


def specs(text: str) -> list[Any]:
    """Fault specs from the YAML of a ``faults:`` list."""
    return _faults.validate_python(yaml.safe_load(textwrap.dedent(text)))


def layer(text: str, seed: int = 1, clock: Any = None, stores: tuple[str, ...] = ("db",)) -> FaultLayer:
    """A fault layer whose events are kept in ``layer.events``."""
    return FaultLayer(specs(text), seed, clock or VirtualClock(), stores=stores)


def nemesis(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("process") == "nemesis"]


@pytest.fixture
async def virtual() -> AsyncIterator[VirtualClock]:
    clock = VirtualClock()
    yield clock
    await clock.aclose()


@pytest.fixture
def scaled() -> ScaledClock:
    return ScaledClock(1.0)


@pytest.fixture
async def pg_dsn() -> str:
    """The PostgreSQL DSN, after checking the server answers. In CI an unreachable server
    fails the test; elsewhere it skips it."""
    try:
        conn = await asyncpg.connect(PG_DSN, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL unreachable at {PG_DSN.rsplit('@', 1)[-1]}: {type(exc).__name__}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    await conn.close()
    return PG_DSN


@dataclass
class HttpServer:
    """What the loopback aiohttp server saw."""

    url: str
    port: int
    uploads_started: int = 0
    uploads_complete: list[int] = field(default_factory=list)
    uploads_cut: list[str] = field(default_factory=list)


@pytest.fixture
async def http_server() -> AsyncIterator[HttpServer]:
    """A real aiohttp server on a free loopback port: ``GET /bytes/{n}`` returns ``n`` bytes,
    ``POST /upload`` reads the whole body and records whether it arrived complete."""
    seen = HttpServer(url="", port=0)

    async def payload(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        return web.Response(body=bytes(i % 251 for i in range(n)))

    async def upload(request: web.Request) -> web.Response:
        seen.uploads_started += 1
        try:
            body = await request.read()
        except Exception as exc:  # the body was cut: what the test wants to see
            seen.uploads_cut.append(type(exc).__name__)
            return web.Response(status=400)
        seen.uploads_complete.append(len(body))
        return web.json_response({"received": len(body)})

    app = web.Application(client_max_size=16 << 20)
    app.router.add_get("/bytes/{n}", payload)
    app.router.add_post("/upload", upload)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    seen.url = f"http://127.0.0.1:{port}"
    seen.port = port
    try:
        yield seen
    finally:
        await runner.cleanup()
