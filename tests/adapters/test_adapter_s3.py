"""S3-specific behaviour against moto, some of it through an HTTP proxy of ours in front of
moto that can drop conditional headers, slip in a write between a cas's read and its write,
hang, cut the connection or answer an error: the situations the adapter's error mapping and
its ETag-guarded cas exist for."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from adapters import ConfigError, ConnectionLost, IndefiniteError, Rejected, Timeout, Unavailable, Unsupported, create

from .opening import Opener, opening

pytestmark = pytest.mark.s3

Hook = Callable[[web.Request, bytes], Awaitable[web.StreamResponse | None]]
HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}


class Interposer:
    """A reverse proxy to moto. ``hook(request, body)`` may answer instead of moto (or act
    first and return ``None`` to forward); ``strip_conditions`` drops If-Match and
    If-None-Match, turning moto into a server without conditional writes."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.hook: Hook | None = None
        self.strip_conditions = False
        self.close_connections = False
        """Answer with ``Connection: close`` (as moto does), so that clients keep no idle
        connection that would outlive the proxy."""
        self.session: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if self.hook is not None:
            answer = await self.hook(request, body)
            if answer is not None:
                return answer
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        if self.strip_conditions:
            headers = {k: v for k, v in headers.items() if k.lower() not in ("if-match", "if-none-match")}
        assert self.session is not None
        async with self.session.request(
            request.method, self.upstream + request.path_qs, headers=headers, data=body
        ) as response:
            payload = await response.read()
            kept = {k: v for k, v in response.headers.items() if k.lower() not in HOP_HEADERS}
            answer = web.Response(status=response.status, headers=kept, body=payload)
            if self.close_connections:
                answer.force_close()
            return answer

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1 << 24)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app


@pytest.fixture
async def proxy(
    s3_server: str, http_service: Callable[[web.Application], Awaitable[str]]
) -> AsyncIterator[tuple[Interposer, str]]:
    interposer = Interposer(s3_server)
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        interposer.session = session
        yield interposer, await http_service(interposer.app())


@pytest.fixture
async def opened(s3_settings: dict[str, Any]) -> AsyncIterator[Opener]:
    async with opening("s3", s3_settings) as make:
        yield make


async def test_moto_honours_conditional_writes(opened: Callable[..., Awaitable[Any]]) -> None:
    store = await opened()
    assert store.conditional_writes is True


async def test_a_server_without_conditional_writes_makes_cas_unsupported(
    proxy: tuple[Interposer, str], opened: Callable[..., Awaitable[Any]]
) -> None:
    interposer, url = proxy
    interposer.strip_conditions = True
    store = await opened(endpoint_url=url)
    assert store.conditional_writes is False
    with pytest.raises(Unsupported, match=r"cas needs conditional writes \(If-None-Match / If-Match\)"):
        await store.cas("k", None, b"v")
    await store.put("k", b"v")  # everything else still works
    assert await store.get("k") == b"v"
    assert await store.list() == ["k"]


async def test_a_write_between_the_read_and_the_guarded_put_makes_cas_fail(
    proxy: tuple[Interposer, str], opened: Callable[..., Awaitable[Any]]
) -> None:
    interposer, url = proxy
    store = await opened(endpoint_url=url)
    await store.put("k", b"old")
    direct = await opened(reuse=True)  # the same objects, reached without the proxy
    direct.prefix = store.prefix
    interfered = False

    async def read_then_interfere(request: web.Request, body: bytes) -> web.StreamResponse | None:
        """Let the cas's GET through, then overwrite the object before the GET's answer (and
        so the cas's guarded PUT) goes out."""
        nonlocal interfered
        if request.method != "GET" or not request.path.endswith("/k") or interfered:
            return None
        interfered = True
        interposer.hook = None
        answer = await interposer.handle(request)  # moto's answer: "old" and its ETag
        await direct.put("k", b"theirs")
        return answer

    interposer.hook = read_then_interfere
    assert await store.cas("k", b"old", b"mine") is False  # the guard refused, the re-read saw "theirs"
    assert interfered
    assert await store.get("k") == b"theirs"


async def test_a_delete_between_the_read_and_the_guarded_put_makes_cas_fail(
    proxy: tuple[Interposer, str], opened: Callable[..., Awaitable[Any]]
) -> None:
    interposer, url = proxy
    store = await opened(endpoint_url=url)
    await store.put("k", b"old")
    direct = await opened(reuse=True)
    direct.prefix = store.prefix

    async def read_then_delete(request: web.Request, body: bytes) -> web.StreamResponse | None:
        if request.method != "GET" or not request.path.endswith("/k"):
            return None
        interposer.hook = None
        answer = await interposer.handle(request)
        await direct.delete("k")
        return answer

    interposer.hook = read_then_delete
    assert await store.cas("k", b"old", b"mine") is False
    assert await store.get("k") is None


async def test_throttling_is_definite_and_other_5xx_unknown(
    proxy: tuple[Interposer, str], opened: Callable[..., Awaitable[Any]]
) -> None:
    interposer, url = proxy
    store = await opened(endpoint_url=url)
    status, code = 503, "SlowDown"

    async def fail_puts(request: web.Request, body: bytes) -> web.StreamResponse | None:
        if request.method != "PUT":
            return None
        return web.Response(status=status, text=f"<Error><Code>{code}</Code></Error>", content_type="application/xml")

    interposer.hook = fail_puts
    with pytest.raises(Rejected, match="throttled") as caught:
        await store.put("k", b"v")
    assert caught.value.transient  # type: ignore[attr-defined]
    status, code = 500, "InternalError"
    with pytest.raises(IndefiniteError, match="server error 500"):
        await store.put("k", b"v")


async def test_no_answer_in_time_is_an_unknown_outcome(
    proxy: tuple[Interposer, str], opened: Callable[..., Awaitable[Any]]
) -> None:
    interposer, url = proxy
    store = await opened(endpoint_url=url, read_timeout=0.3)
    never = asyncio.Event()

    async def hang(request: web.Request, body: bytes) -> web.StreamResponse | None:
        if request.method == "PUT":
            await never.wait()
        return None

    interposer.hook = hang
    try:
        with pytest.raises(Timeout, match=r"no answer within 0\.3s"):
            await store.put("k", b"v")
    finally:
        never.set()  # let the held request finish, so the proxy can shut down


async def test_connection_cut_after_the_request_left_is_an_unknown_outcome(
    proxy: tuple[Interposer, str], opened: Callable[..., Awaitable[Any]]
) -> None:
    interposer, url = proxy
    store = await opened(endpoint_url=url)

    async def cut(request: web.Request, body: bytes) -> web.StreamResponse | None:
        if request.method == "PUT":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=200)
        return None

    interposer.hook = cut
    with pytest.raises(ConnectionLost):
        await store.put("k", b"v")


async def test_a_server_that_went_away_is_unavailable(
    s3_settings: dict[str, Any], s3_server: str, http_service: Callable[[web.Application], Awaitable[str]]
) -> None:
    interposer = Interposer(s3_server)
    interposer.close_connections = True
    runner = web.AppRunner(interposer.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    async with aiohttp.ClientSession() as session:
        interposer.session = session
        store = create("s3", {**s3_settings, "endpoint_url": url}, f"s3-{uuid.uuid4().hex[:8]}")
        await store.open()
        await runner.cleanup()  # the server is gone: connections are refused
        with pytest.raises(Unavailable, match="connection refused") as caught:
            await store.put("k", b"v")
        assert caught.value.definite
        await store._abandon()  # nothing to clean up on a server that is gone


async def test_no_credentials_anywhere_is_a_config_error(
    s3_settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    settings = {k: v for k, v in s3_settings.items() if not k.startswith("aws_")}
    store = create("s3", settings, "nocreds")
    with pytest.raises(ConfigError, match="no AWS credentials"):
        await store.open()


async def test_list_pages_through_every_page(opened: Callable[..., Awaitable[Any]]) -> None:
    store = await opened()
    store.list_page = 3  # S3 pages by 1,000; a short page shows the paging without 1,000 objects
    keys = [f"k{i:02d}" for i in range(11)]
    await asyncio.gather(*(store.put(k, b"") for k in keys))
    assert await store.list() == keys
    assert await store.list("k1") == ["k10"]
    assert await store.list("k0") == keys[:10]
