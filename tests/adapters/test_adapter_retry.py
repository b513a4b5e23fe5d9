"""Retry policies: only what is safe is retried, inside one call, and the count is visible.

The store is the http adapter in front of a real aiohttp service that fails on purpose a given
number of times, so every attempt is a real request the service counts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from adapters import ConfigError, IndefiniteError, Rejected, Unavailable, Unsupported, create
from adapters.retry import is_retryable, transient
from tests.kv_service import kv_store_settings

Start = Callable[[web.Application], Awaitable[str]]
FAST = {"attempts": 3, "backoff": 0, "jitter": False}


def flaky_app(failures: int, status: int) -> tuple[web.Application, dict[str, int]]:
    """A key-value service whose first ``failures`` requests of each method answer ``status``."""
    counts: dict[str, int] = {}
    data: dict[str, bytes] = {}
    app = web.Application()

    def failing(request: web.Request) -> bool:
        counts[request.method] = counts.get(request.method, 0) + 1
        return counts[request.method] <= failures

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def get(request: web.Request) -> web.Response:
        if failing(request):
            return web.Response(status=status)
        value = data.get(request.match_info["key"])
        return web.Response(status=404) if value is None else web.Response(body=value)

    async def put(request: web.Request) -> web.Response:
        if failing(request):
            return web.Response(status=status)
        data[request.match_info["key"]] = await request.read()
        return web.Response(status=204)

    app.router.add_get("/health", health)
    app.router.add_get("/kv/{key:.+}", get)
    app.router.add_put("/kv/{key:.+}", put)
    return app, counts


async def open_store(url: str, retry: dict[str, Any] | None) -> Any:
    settings = kv_store_settings(url)
    settings["operations"] = {k: v for k, v in settings["operations"].items() if k in ("get", "put")}
    if retry is not None:
        settings["retry"] = retry
    store = create("http", settings, "retry")
    await store.open()
    return store


async def test_a_read_with_unknown_outcome_is_retried_within_one_call(http_service: Start) -> None:
    app, counts = flaky_app(failures=2, status=503)
    store = await open_store(await http_service(app), FAST)
    try:
        assert await store.get("k") is None  # the third attempt got through
        assert counts["GET"] == 3
        assert store.retries == 2
    finally:
        await store.close()


async def test_a_write_with_unknown_outcome_is_never_retried(http_service: Start) -> None:
    app, counts = flaky_app(failures=1, status=503)
    store = await open_store(await http_service(app), FAST)
    try:
        with pytest.raises(IndefiniteError) as caught:
            await store.put("k", b"v")
        assert counts["PUT"] == 1
        assert caught.value.attempts == 1  # type: ignore[attr-defined]
        assert store.retries == 0
    finally:
        await store.close()


async def test_a_write_refused_for_now_is_retried(http_service: Start) -> None:
    app, counts = flaky_app(failures=2, status=429)  # refused, so certainly not applied
    store = await open_store(await http_service(app), FAST)
    try:
        await store.put("k", b"v")
        assert counts["PUT"] == 3
        assert store.retries == 2
        assert await store.get("k") == b"v"  # (its first two attempts are refused too)
    finally:
        await store.close()


async def test_the_last_error_says_how_many_attempts_it_took(http_service: Start) -> None:
    app, counts = flaky_app(failures=10, status=503)
    store = await open_store(await http_service(app), FAST)
    try:
        with pytest.raises(IndefiniteError, match=r"HTTP 503 \(after 3 attempts\)") as caught:
            await store.get("k")
        assert caught.value.attempts == 3  # type: ignore[attr-defined]
        assert counts["GET"] == 3
    finally:
        await store.close()


async def test_without_a_policy_nothing_is_retried(http_service: Start) -> None:
    app, counts = flaky_app(failures=1, status=503)
    store = await open_store(await http_service(app), None)
    try:
        with pytest.raises(IndefiniteError):
            await store.get("k")
        assert counts["GET"] == 1
    finally:
        await store.close()


@pytest.mark.postgres
async def test_postgres_retries_reads_and_counts_them(pg_dsn: str) -> None:
    """The policy wraps every primitive of a pooled store without changing what it answers."""
    store = create("postgres", {"dsn": pg_dsn, "retry": FAST, "pool_size": 2}, "retry-pg")
    await store.open()
    try:
        await store.put("k", b"v")
        assert await store.get("k") == b"v"
        assert await store.cas("k", b"v", b"w") is True
        assert store.retries == 0
    finally:
        await store.close()


def test_which_errors_are_safe_to_retry() -> None:
    assert is_retryable(Unavailable("not sent"), idempotent=False)
    assert is_retryable(transient(Rejected("serialization failure")), idempotent=False)
    assert not is_retryable(Rejected("constraint violation"), idempotent=True)
    assert is_retryable(IndefiniteError("timeout"), idempotent=True)
    assert not is_retryable(IndefiniteError("timeout"), idempotent=False)
    assert not is_retryable(IndefiniteError("timeout"), idempotent=True, indefinite_reads=False)
    assert not is_retryable(Unsupported("no conditional writes"), idempotent=True)
    assert not is_retryable(ValueError("a bug"), idempotent=True)


def test_a_bad_policy_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"retry\.attempts: Input should be greater than or equal to 1"):
        create("http", {"base_url": "http://127.0.0.1:1", "retry": {"attempts": 0}}, "x")
