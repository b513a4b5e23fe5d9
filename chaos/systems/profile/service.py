"""The profile store as an HTTP service, as it would be deployed in front of real stores.

``PUT /profiles/{user}`` with a JSON body ``[metadata, image]`` writes a profile,
``GET /profiles/{user}`` answers ``null`` (the empty record) or ``[metadata, image]``,
``GET /health`` answers ``ok``. The service runs ``servers`` instances of one design, each
taking one request at a time (requests go to them in turn), and the design's background
actors (the storage cleaner) for as long as it runs.

Answers follow the definite/indefinite split of the adapters: ``200`` done; ``409`` the write
definitely did not happen (a store refused it before anything took effect); ``500`` unknown
(a later step failed, a request was killed); a server that crashes mid-request drops the
connection without answering, as a dead process does.

Two ways to run it:

* ``chaos serve profile --design improved --db DSN --blobs URL --bucket B`` runs it standalone
  (see :func:`serve`), for an experiment with ``system: http`` to drive from outside;
* ``system: profile-service`` runs it inside a chaos run (:class:`ProfileService`): the
  service's stores are the experiment's ``db`` and ``blobs`` stores, so network faults on them
  cut and delay the service's own PostgreSQL and S3 connections, and the workers reach it
  through the http adapter: client -> HTTP -> service -> real stores.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import signal
from collections.abc import Callable
from typing import Any

from aiohttp import web

from adapters import DefiniteError, Endpoint, Store, create

from ...calls import current_actor
from ...clock import Clock, ScaledClock
from ...encoding import DecodeError, dumps, loads
from ...errors import BadInput, Unreachable
from ...faults import ServerCrash
from ...system import Env, OperationFailed, supervise
from .cleaner import ImprovedCleanerProfile, KillCleanerProfile, NaiveCleanerProfile, WorkingCleanerProfile
from .improved import ImprovedProfile
from .naive import NaiveProfile
from .working import WorkingProfile

DESIGNS: dict[str, type] = {  # the order and names of DESIGN_NAMES
    "naive": NaiveProfile,
    "improved": ImprovedProfile,
    "working": WorkingProfile,
    "cleaner-naive": NaiveCleanerProfile,
    "cleaner-improved": ImprovedCleanerProfile,
    "cleaner-kill": KillCleanerProfile,
    "cleaner-working": WorkingCleanerProfile,
}

TEMPLATES: dict[str, Any] = {
    "read": {"method": "GET", "path": "/profiles/{raw_key}", "result": "json", "fail": [409], "unknown": ["5xx"]},
    "write": {
        "method": "PUT",
        "path": "/profiles/{raw_key}",
        "json": "{value}",
        "result": "none",
        "fail": [409],
        "unknown": ["5xx"],
    },
}
"""The http adapter's templates for this service's API."""


class ProfileApp:
    """``servers`` instances of ``design`` behind one aiohttp application.

    A design's actor whose own code fails (a :class:`SystemCodeError` from :func:`supervise`)
    is kept in :attr:`failure` and passed to ``on_failure``: a service whose cleaner died
    would otherwise go on serving without it, unseen.
    """

    def __init__(
        self,
        design: type,
        env_for: Callable[[int], Env],
        servers: int = 1,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.instances = [design(env_for(i)) for i in range(servers)]
        self.locks = [asyncio.Lock() for _ in range(servers)]
        self._turn = itertools.cycle(range(servers))
        self._actor_env = env_for(-1)
        self._factories = dict(getattr(design, "actors", {}))
        self._actors: list[asyncio.Task[None]] = []
        self._on_failure = on_failure
        self.failure: BaseException | None = None

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/health", self._health)
        app.router.add_get("/profiles/{user}", self._read)
        app.router.add_put("/profiles/{user}", self._write)
        app.on_startup.append(self._start_actors)
        app.on_cleanup.append(self._stop_actors)
        return app

    async def _start_actors(self, _: web.Application) -> None:
        for name, factory in self._factories.items():
            task = asyncio.create_task(supervise(name, factory, self._actor_env))
            task.add_done_callback(self._actor_ended)
            self._actors.append(task)

    def _actor_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None or self.failure is not None:
            return
        failure = self.failure = task.exception()
        if self._on_failure is not None and failure is not None:
            self._on_failure(failure)

    async def _stop_actors(self, _: web.Application) -> None:
        for task in self._actors:
            task.cancel()
        await asyncio.gather(*self._actors, return_exceptions=True)

    async def _health(self, _: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _read(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "read", None)

    async def _write(self, request: web.Request) -> web.StreamResponse:
        try:
            value = loads(await request.read())
        except DecodeError:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
            return web.json_response({"error": "expected [metadata, image]"}, status=400)
        return await self._serve(request, "write", value)

    async def _serve(self, request: web.Request, f: str, value: Any) -> web.StreamResponse:
        index = next(self._turn)
        user = request.match_info["user"]
        async with self.locks[index]:
            current_actor.set(f"server-{index}")
            try:
                result = await getattr(self.instances[index], f)(user, value)
            except (OperationFailed, DefiniteError) as exc:
                return web.json_response({"error": str(exc)}, status=409)
            except ServerCrash:
                if request.transport is not None:
                    request.transport.abort()  # the server died: no answer at all
                raise web.HTTPInternalServerError() from None
            except Exception as exc:
                return web.json_response({"error": f"{type(exc).__name__}: {exc}"}, status=500)
        return web.Response(body=dumps(None if f == "write" else result), content_type="application/json")


async def start(app: ProfileApp, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, int]:
    """Serve ``app``; returns its runner (``await runner.cleanup()`` stops it) and port."""
    runner = web.AppRunner(app.application(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server: Any = site._server
    sockets = server.sockets if server is not None else []
    return runner, sockets[0].getsockname()[1] if sockets else port


class ProfileService:
    """``system: profile-service``: a design (``options.design``, default ``working``) served
    over HTTP inside the run, on the experiment's ``db`` and ``blobs`` stores, with
    ``system.servers`` instances; every worker calls it through the http adapter."""

    roles = ("db", "blobs")
    explain = staticmethod(WorkingProfile.explain)
    request = staticmethod(WorkingProfile.request)

    def __init__(self, env: Env) -> None:
        self.env = env

    @staticmethod
    def option_problems(options: dict[str, Any]) -> dict[str, str]:
        """``chaos validate`` refuses a design that does not exist, before any store opens."""
        name = str(options.get("design", "working"))
        if name not in DESIGNS:
            return {"design": f"unknown design {name!r}; known: {', '.join(DESIGNS)}"}
        return {}

    async def setup(self) -> None:
        env = self.env
        design = DESIGNS[str(env.options.get("design", "working"))]
        count = env.servers

        def env_for(index: int) -> Env:
            return Env(stores=env.stores, clock=env.clock, options=env.options, server=index, servers=count)

        app = ProfileApp(design, env_for, count)
        runner, port = await start(app)
        timeout = float(env.options.get("request_timeout", 10.0))
        api = create("http", {"base_url": f"http://127.0.0.1:{port}", "operations": TEMPLATES, "timeout": timeout})
        await api.open()
        env.shared["service"] = (runner, api, app)

    def _api(self) -> Endpoint:
        """The service's client; a service actor's failure ends the run (see :class:`SystemCodeError`)."""
        _, api, app = self.env.shared["service"]
        if app.failure is not None:
            raise app.failure
        endpoint: Endpoint = api
        return endpoint

    async def read(self, user: str, value: Any) -> Any:
        return await self._api().request("read", user, None)

    async def write(self, user: str, value: Any) -> Any:
        await self._api().request("write", user, value)
        return value

    async def close(self) -> None:
        service = self.env.shared.pop("service", None)
        if service is not None:
            runner, api, _ = service
            with contextlib.suppress(Exception):
                await api.close()
            await runner.cleanup()


async def _listen(app: ProfileApp, host: str, port: int) -> tuple[web.AppRunner, int]:
    """:func:`start`, its failure said in one line: a port another process holds is taken
    infrastructure (exit 4); a host that is no address of this machine is a bad --host (exit 3)."""
    try:
        return await start(app, host, port)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            raise Unreachable(f"cannot listen on {host}:{port}: the port is in use (choose another --port)") from None
        raise BadInput(f"--host {host}: cannot listen there ({reason}): give an address of this machine") from None


async def serve(
    design: str,
    db: dict[str, Any],
    blobs: dict[str, Any],
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    servers: int = 1,
    clock: Clock | None = None,
    namespace: str = "profile-service",
    keep: bool = True,
    ready: Callable[[int], None] | None = None,
) -> None:
    """Run the service until cancelled or sent SIGINT / SIGTERM (``chaos serve profile``): open
    the stores (the namespace's data is reused, and kept unless ``keep`` is false), serve, and
    close everything on the way out."""
    stores: list[Store] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        # both built (their settings checked) before either is opened: a typo in the blob
        # store's settings is bad input even when the database is down
        database = create(db.pop("adapter", "postgres"), {"reuse": True, "keep": keep, **db}, namespace)
        blob_store = create(blobs.pop("adapter", "s3"), {"reuse": True, "keep": keep, **blobs}, namespace)
        await database.open()
        stores.append(database)
        await blob_store.open()
        stores.append(blob_store)
        used_clock = clock or ScaledClock()

        def env_for(index: int) -> Env:
            return Env(stores={"db": database, "blobs": blob_store}, clock=used_clock, server=index, servers=servers)

        app = ProfileApp(DESIGNS[design], env_for, servers, on_failure=lambda _: stop.set())
        runner, bound = await _listen(app, host, port)
        if ready is not None:
            ready(bound)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
        if app.failure is not None:
            raise app.failure
    finally:
        for store in reversed(stores):
            with contextlib.suppress(Exception):
                await store.close()
