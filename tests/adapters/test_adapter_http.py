"""The http adapter's templates and error mapping, against real aiohttp services.

A small "profile" service stands for a user's own API (the Endpoint use); the key-value service
of tests/kv_service.py is the Store use, covered by the conformance suite.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from adapters import ConfigError, ConnectionLost, IndefiniteError, Rejected, Timeout, Unsupported, create

Start = Callable[[web.Application], Awaitable[str]]


def profile_app(seen: list[dict[str, Any]]) -> web.Application:
    """Stores one JSON profile per user; records every request it sees."""
    profiles: dict[str, Any] = {}
    app = web.Application()

    async def record(request: web.Request) -> dict[str, Any]:
        body = await request.read()
        entry = {
            "method": request.method,
            "path": request.match_info.get("user"),
            "raw_path": request.raw_path,
            "query": dict(request.query),
            "auth": request.headers.get("Authorization"),
            "trace": request.headers.get("X-Trace"),
            "body": json.loads(body) if body else None,
        }
        seen.append(entry)
        return entry

    async def write(request: web.Request) -> web.Response:
        entry = await record(request)
        if entry["auth"] != "Bearer sesame":
            return web.json_response({"error": "who are you"}, status=401)
        profiles[entry["path"]] = entry["body"]
        return web.json_response({"stored": entry["body"]}, status=201)

    async def read(request: web.Request) -> web.Response:
        entry = await record(request)
        if entry["path"] not in profiles:
            return web.json_response({"error": "no such user"}, status=404)
        return web.json_response({"profile": profiles[entry["path"]], "version": 3})

    async def broken(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(status=int(request.query.get("status", "500")))

    app.router.add_put("/users/{user}", write)
    app.router.add_get("/users/{user}", read)
    app.router.add_route("*", "/broken/{user}", broken)
    return app


OPERATIONS: dict[str, Any] = {
    "write": {
        "method": "PUT",
        "path": "/users/{raw_key}",
        "query": {"ns": "{namespace}"},
        "headers": {"X-Trace": "write {raw_key}"},
        "json": {"metadata": "{value}", "note": "user {raw_key}", "list": ["{value}", 1]},
        "ok": [201],
        "result": "json:stored.metadata",
    },
    "read": {"method": "GET", "path": "/users/{raw_key}", "missing": [404], "result": "json:profile.metadata"},
    "read-version": {"method": "GET", "path": "/users/{raw_key}", "result": "json:version"},
    "read-raw": {"method": "GET", "path": "/users/{raw_key}", "result": "text"},
    "read-missing-field": {"method": "GET", "path": "/users/{raw_key}", "result": "json:profile.nope"},
    "boom": {"method": "POST", "path": "/broken/{raw_key}", "query": {"status": "{value}"}},
    "boom-unknown-4xx": {
        "method": "POST",
        "path": "/broken/{raw_key}",
        "query": {"status": "{value}"},
        "unknown": [408],
    },
    "slow": {"method": "GET", "path": "/slow", "timeout": 0.3},
}


async def open_endpoint(url: str, **extra: Any) -> Any:
    settings = {
        "base_url": url,
        "headers": {"Authorization": "Bearer sesame"},
        "operations": OPERATIONS,
        "health": {"path": "/users/nobody", "ok": [404]},
        **extra,
    }
    endpoint = create("http", settings, "ns-1")
    await endpoint.open()
    return endpoint


async def test_templates_fill_path_query_headers_and_typed_json(http_service: Start) -> None:
    seen: list[dict[str, Any]] = []
    endpoint = await open_endpoint(await http_service(profile_app(seen)))
    try:
        stored = await endpoint.request("write", "u1", {"name": "Ada", "age": 36})
        assert stored == {"name": "Ada", "age": 36}
        write = seen[-1]
        assert write["path"] == "u1"
        assert write["query"] == {"ns": "ns-1"}
        assert write["trace"] == "write u1"
        assert write["body"] == {
            "metadata": {"name": "Ada", "age": 36},
            "note": "user u1",
            "list": [{"name": "Ada", "age": 36}, 1],
        }
        assert await endpoint.request("read", "u1") == {"name": "Ada", "age": 36}
        assert await endpoint.request("read-version", "u1") == 3
        assert json.loads(await endpoint.request("read-raw", "u1"))["version"] == 3
        assert await endpoint.request("read", "nobody") is None  # a missing status
    finally:
        await endpoint.close()


async def test_keys_are_url_quoted_in_paths(http_service: Start) -> None:
    seen: list[dict[str, Any]] = []
    endpoint = await open_endpoint(await http_service(profile_app(seen)))
    try:
        await endpoint.request("write", "a b?c#d%e", "x")
        assert seen[-1]["raw_path"].startswith("/users/a%20b%3Fc%23d%25e?")
        assert seen[-1]["path"] == "a b?c#d%e"
        assert await endpoint.request("read", "a b?c#d%e") == "x"
    finally:
        await endpoint.close()


async def test_statuses_map_to_definite_and_unknown_outcomes(http_service: Start) -> None:
    seen: list[dict[str, Any]] = []
    endpoint = await open_endpoint(await http_service(profile_app(seen)))
    try:
        with pytest.raises(Rejected, match=r"boom POST /broken/\{raw_key\}: HTTP 409"):
            await endpoint.request("boom", "u", 409)
        with pytest.raises(IndefiniteError, match="HTTP 503"):
            await endpoint.request("boom", "u", 503)
        with pytest.raises(IndefiniteError, match="HTTP 302"):
            await endpoint.request("boom", "u", 302)
        with pytest.raises(IndefiniteError, match="HTTP 408"):  # listed as unknown, though 4xx
            await endpoint.request("boom-unknown-4xx", "u", 408)
        with pytest.raises(Rejected, match="HTTP 400"):
            await endpoint.request("boom-unknown-4xx", "u", 400)
    finally:
        await endpoint.close()


async def test_answers_that_do_not_decode_are_unknown_outcomes(http_service: Start) -> None:
    seen: list[dict[str, Any]] = []
    endpoint = await open_endpoint(await http_service(profile_app(seen)))
    try:
        await endpoint.request("write", "u1", "x")
        with pytest.raises(IndefiniteError, match=r"the answer has no field 'profile\.nope'"):
            await endpoint.request("read-missing-field", "u1")
        with pytest.raises(Unsupported, match="no template for operation 'fly'"):
            await endpoint.request("fly", "u1")
    finally:
        await endpoint.close()


async def test_secrets_in_headers_never_reach_messages(http_service: Start) -> None:
    seen: list[dict[str, Any]] = []
    url = await http_service(profile_app(seen))
    endpoint = await open_endpoint(url, headers={"Authorization": "Bearer wrong-but-secret"})
    try:
        with pytest.raises(Rejected) as caught:
            await endpoint.request("write", "u1", "x")
        assert "HTTP 401" in str(caught.value)
        assert "wrong-but-secret" not in str(caught.value)
    finally:
        await endpoint.close()


async def test_no_answer_in_time_is_unknown_and_a_cut_connection_too(http_service: Start) -> None:
    release = asyncio.Event()
    app = web.Application()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="late")

    async def cut(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        return web.Response(text="never sent")

    app.router.add_get("/slow", slow)
    app.router.add_put("/cut/{key}", cut)
    operations = {"slow": OPERATIONS["slow"], "put": {"method": "PUT", "path": "/cut/{key}", "body": "{value}"}}
    endpoint = create("http", {"base_url": await http_service(app), "operations": operations}, "t")
    await endpoint.open()
    try:
        with pytest.raises(Timeout, match=r"no answer within 0\.3s"):
            await endpoint.request("slow")
        with pytest.raises(ConnectionLost):
            await endpoint.put("k", b"v")
    finally:
        release.set()
        await endpoint.close()


def test_bad_templates_are_config_errors() -> None:
    base = {"base_url": "http://127.0.0.1:1"}
    cases = [
        ({**base, "operations": {"x": {"path": "/a/{user}"}}}, r"unknown placeholder\(s\) \['user'\]"),
        ({**base, "operations": {"x": {"path": "/a", "json": {}, "body": "b"}}}, "give json or body, not both"),
        ({**base, "operations": {"x": {"path": "a"}}}, "a path starts with /"),
        ({**base, "operations": {"x": {"ok": ["2yy"]}}}, "not a status code or pattern like 4xx"),
        ({**base, "operations": {"x": {"result": "xml"}}}, "expected body, text, json"),
        ({"base_url": "ftp://host"}, r"base_url: Value error, expected http\(s\)://|base_url: expected http"),
        ({**base, "timeout": "soon"}, "timeout: expected a duration"),
    ]
    for settings, message in cases:
        with pytest.raises(ConfigError, match=message):
            create("http", settings, "x")
