"""A small HTTP key-value service, and the http adapter's templates that drive it.

It stands for a user's own service behind the ``http`` adapter: the conformance suite runs the
same store tests against it as against PostgreSQL and S3, and the bad-input tests break it.
Start it with the ``kv_service`` fixture (tests/conftest.py) or ``http_service(kv_app())``.
"""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web

KV_DATA = web.AppKey("kv_data", dict)


def kv_app() -> web.Application:
    """A small HTTP key-value service: what a user's own service behind the http adapter
    could look like. Each handler runs without awaiting in the middle, so every request is
    atomic, and compare-and-set is a real compare-and-set.

    ``GET /kv/{key}`` (raw bytes, 404 when missing), ``PUT /kv/{key}`` (raw body),
    ``DELETE /kv/{key}``, ``POST /cas/{key}`` with JSON ``{"expected": base64|null, "new":
    base64}`` (409 on mismatch), ``GET /keys?prefix=`` (``{"keys": [...]}``), ``GET /health``.
    The dict is ``app[KV_DATA]``, for tests that look behind the service's back."""
    data: dict[str, bytes] = {}
    app = web.Application()
    app[KV_DATA] = data

    async def get(request: web.Request) -> web.Response:
        value = data.get(request.match_info["key"])
        if value is None:
            return web.Response(status=404)
        return web.Response(body=value, content_type="application/octet-stream")

    async def put(request: web.Request) -> web.Response:
        body = await request.read()
        data[request.match_info["key"]] = body
        return web.Response(status=204)

    async def delete(request: web.Request) -> web.Response:
        return web.Response(status=204 if data.pop(request.match_info["key"], None) is not None else 404)

    async def cas(request: web.Request) -> web.Response:
        try:
            payload = await request.json()
            expected = None if payload["expected"] is None else base64.b64decode(payload["expected"], validate=True)
            new = base64.b64decode(payload["new"], validate=True)
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "bad request"}, status=400)
        key = request.match_info["key"]
        if data.get(key) != expected:
            return web.json_response({"swapped": False}, status=409)
        data[key] = new
        return web.json_response({"swapped": True})

    async def keys(request: web.Request) -> web.Response:
        prefix = request.query.get("prefix", "")
        return web.json_response({"keys": sorted(k for k in data if k.startswith(prefix))})

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/kv/{key:.+}", get)
    app.router.add_put("/kv/{key:.+}", put)
    app.router.add_delete("/kv/{key:.+}", delete)
    app.router.add_post("/cas/{key:.+}", cas)
    app.router.add_get("/keys", keys)
    app.router.add_get("/health", health)
    return app


KV_OPERATIONS: dict[str, Any] = {
    "get": {"method": "GET", "path": "/kv/{key}", "missing": [404], "result": "body"},
    "put": {"method": "PUT", "path": "/kv/{key}", "body": "{value}"},
    "delete": {"method": "DELETE", "path": "/kv/{key}", "missing": [404]},
    "cas": {
        "method": "POST",
        "path": "/cas/{key}",
        "json": {"expected": "{expected}", "new": "{new}"},
        "mismatch": [409],
        "result": "json:swapped",
    },
    "list": {"method": "GET", "path": "/keys", "query": {"prefix": "{prefix}"}, "result": "json:keys"},
}
"""Templates of the ``http`` adapter for :func:`kv_app`."""


def kv_store_settings(base_url: str) -> dict[str, Any]:
    """Settings of an ``http`` store that drives :func:`kv_app` at ``base_url``."""
    return {
        "base_url": base_url,
        "value_encoding": "base64",
        "health": {"path": "/health", "result": "none"},
        "operations": KV_OPERATIONS,
    }
