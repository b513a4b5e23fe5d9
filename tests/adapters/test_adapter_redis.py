"""Redis-specific behaviour: where keys live, pool sizing, the settings reaching the server, and
every error mapping that a real server can be made to produce.

The machine's server (``redis_url``) serves what disturbs nobody; states that would disturb
other users of a shared server (pausing writers, a busy script, a replica cut off, a restart
into a slow load, passwords, TLS, a flushed script cache) are produced on a ``redis-server``
of the test's own (:mod:`tests.adapters.redis_server`).
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
import yaml

from adapters import ConfigError, ConnectError, ConnectionLost, Rejected, Timeout, Unavailable, Unsupported, create
from adapters.redis import CAS_SHA, RedisStore, closed_by_peer, glob_escape
from chaos.experiment import loads
from chaos.faults.network import find_address, rewrite
from chaos.history import pair, read_events
from chaos.pipeline import Pipeline
from chaos.secrets import redact_urls
from tests.conftest import free_port

from .opening import Opener, opening
from .redis_server import RedisServer
from .test_adapter_bad_input import chaos_run, experiment

pytestmark = pytest.mark.redis

Start = Callable[..., RedisServer]


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture
def redis_servers(tmp_path: Path) -> Iterator[Start]:
    """``start(*args, tls=False) -> RedisServer``: private servers, stopped at the end."""
    started: list[RedisServer] = []

    def start(*args: str, tls: bool = False) -> RedisServer:
        server = RedisServer(tmp_path / f"redis-{len(started)}", *args, tls=tls)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture
async def admins() -> AsyncIterator[Callable[[str], redis.asyncio.Redis]]:
    """``admin(url)``: a plain redis-py client for looking behind the store; closed at the end."""
    made: list[redis.asyncio.Redis] = []

    def admin(url: str) -> redis.asyncio.Redis:
        client = redis.asyncio.Redis.from_url(url)
        made.append(client)
        return client

    yield admin
    for client in made:
        await client.aclose()


@pytest.fixture
async def opened(redis_url: str) -> AsyncIterator[Opener]:
    async with opening("redis", {"url": redis_url}) as make:
        yield make


def namespace() -> str:
    return f"redis-test-{uuid.uuid4().hex[:10]}"


async def open_store(url: str, **settings: Any) -> Any:
    store = create("redis", {"url": url, **settings}, namespace())
    await store.open()
    return store


async def until_closed_by_peer(store: Any) -> None:
    """Wait until the store's idle connection has seen the server close it."""
    [connection] = store._pool.free
    for _ in range(500):
        if not connection.is_connected or closed_by_peer(connection):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the connection never saw the server close it")


async def until_blocked(admin: redis.asyncio.Redis, client_id: int, command: str) -> None:
    """Wait until the server holds the client's ``command`` (``CLIENT PAUSE``)."""
    for _ in range(500):
        [client] = await admin.client_list(client_id=[str(client_id)])
        if client["cmd"] == command and "b" in client["flags"]:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the store's {command} was never held")


# ---------------------------------------------------------------------------- settings


def test_pool_size_follows_concurrency_unless_set() -> None:
    url = "redis://127.0.0.1:6379/0"
    assert RedisStore({"url": url}, "n", concurrency=3).pool_size == 3
    assert RedisStore({"url": url}, "n", concurrency=1000).pool_size == 64
    assert RedisStore({"url": url}, "n").pool_size == 10
    assert RedisStore({"url": url, "pool_size": 5}, "n", concurrency=50).pool_size == 5


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://u:Secr3t-pw@127.0.0.1:5432/test", "expected redis://"),
        ("redis://:Secr3t-pw@127.0.0.1:99999/0", "the port must be a number from 1 to 65535"),
        ("redis://:Secr3t-pw@127.0.0.1:6379/zero", "the database (the path after the port) must be a number"),
        ("redis://:Secr3t-pw@/0", "expected redis://"),
        ("redis://:Secr3t-pw@127.0.0.1:6379/0?socket_timeout=soon", "invalid value"),
        ("redis://:Secr3t-pw@127.0.0.1:6379/0?flavour=Secr3t-pw", "an option redis-py does not know"),
    ],
)
def test_bad_urls_are_named_without_their_password(url: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        RedisStore({"url": url}, "n")
    assert problem in str(caught.value)
    assert str(caught.value).startswith("redis settings: url: ")
    assert "Secr3t" not in str(caught.value)


def test_settings_are_validated_like_every_adapter() -> None:
    with pytest.raises(ConfigError) as caught:
        RedisStore({"url": "redis://127.0.0.1", "pool_size": -1, "pool_sise": 2, "command_timeout": "soon"}, "n")
    message = str(caught.value)
    assert "pool_size: Input should be greater than or equal to 1" in message
    assert "pool_sise: unknown setting" in message
    assert "command_timeout: expected a duration" in message
    with pytest.raises(ConfigError, match="url: required setting is missing"):
        RedisStore({}, "n")


def test_glob_characters_are_escaped() -> None:
    assert glob_escape("a*b?c[d]e\\f^g-h") == "a\\*b\\?c\\[d\\]e\\\\f^g-h"


# ---------------------------------------------------------------------------- keys on the shared server


async def test_keys_live_under_the_prefix_and_close_leaves_the_rest(
    redis_url: str, admins: Callable[[str], redis.asyncio.Redis]
) -> None:
    admin = admins(redis_url)
    ns = namespace()
    neighbours = {f"{ns}": b"no colon", f"{ns}x:k": b"longer prefix", f"other-{ns}:k": b"elsewhere"}
    await admin.mset(neighbours)
    try:
        store = create("redis", {"url": redis_url}, ns)
        await store.open()
        await store.put("k", b"v")
        await store.put("dir/k", b"w")
        assert await admin.get(f"{ns}:k") == b"v"
        assert await admin.get(f"{ns}:dir/k") == b"w"
        assert await store.list() == ["dir/k", "k"]
        await store.close()
        assert await admin.exists(f"{ns}:k", f"{ns}:dir/k") == 0
        assert await admin.mget(list(neighbours)) == list(neighbours.values())
    finally:
        await admin.delete(*neighbours)


async def test_an_explicit_prefix_and_database(redis_url: str, admins: Callable[[str], redis.asyncio.Redis]) -> None:
    prefix = f"team-{uuid.uuid4().hex[:6]}:run"
    other_db = redis_url.rsplit("/", 1)[0] + "/3"
    store = create("redis", {"url": other_db, "prefix": prefix + ":"}, "ignored")  # the colon is not doubled
    await store.open()
    try:
        await store.put("k", b"v")
        assert await admins(other_db).get(f"{prefix}:k") == b"v"
        assert await admins(redis_url.rsplit("/", 1)[0] + "/0").get(f"{prefix}:k") is None
    finally:
        await store.close()
    assert await admins(other_db).get(f"{prefix}:k") is None


async def test_a_prefix_with_glob_characters_matches_only_itself(opened: Opener) -> None:
    tag = uuid.uuid4().hex[:6]
    globby = await opened(prefix=f"g[ab]*?\\{tag}")
    plain = await opened(prefix=f"ga{tag}")  # what the unescaped pattern g[ab]*?\... would match
    await globby.put("k", b"1")
    await plain.put("k", b"2")
    assert await globby.list() == ["k"]
    assert await plain.list() == ["k"]
    await globby.close()
    assert await plain.get("k") == b"2"
    assert await plain.list() == ["k"]


async def test_close_removes_more_keys_than_one_batch(
    redis_url: str, admins: Callable[[str], redis.asyncio.Redis]
) -> None:
    ns = namespace()
    store = create("redis", {"url": redis_url, "pool_size": 8}, ns)
    await store.open()
    await asyncio.gather(*(store.put(f"k{i:04}", b"v") for i in range(1234)))
    assert len(await store.list()) == 1234
    assert await store.list("k123") == [f"k123{i}" for i in range(4)]
    await store.close()
    assert [k async for k in admins(redis_url).scan_iter(match=f"{ns}:*", count=1000)] == []


async def test_every_connection_is_made_at_open_and_named(
    opened: Opener, redis_url: str, admins: Callable[[str], redis.asyncio.Redis]
) -> None:
    store = await opened(pool_size=3)
    assert len(store._pool.free) == 3 and all(c.is_connected for c in store._pool.free)
    ids = [await store._command("CLIENT", "ID") for _ in range(3)]
    admin = admins(redis_url)
    names = [(await admin.client_list(client_id=[str(i)]))[0]["name"] for i in ids]
    assert names == ["asyncchaos"] * 3


async def test_cas_reads_and_writes_in_one_script(redis_servers: Start) -> None:
    """What the server receives from the store (MONITOR): one EVALSHA per cas with an expected
    value, one SET NX per insert-if-absent; the GET and SET run inside the script."""
    server = redis_servers()
    store = await open_store(server.url, pool_size=1)
    admin = redis.asyncio.Redis.from_url(server.url)
    try:
        await store.put("k", b"v1")
        info = (await store._command("CLIENT", "INFO")).decode()
        port = next(f for f in info.split() if f.startswith("addr=")).rsplit(":", 1)[1]
        async with admin.monitor() as monitor:
            assert await store.cas("k", b"v1", b"v2") is True
            assert await store.cas("k", b"v1", b"v3") is False
            assert await store.cas("new", None, b"x") is True
            await admin.echo("end of the cas calls")
            seen: list[tuple[str, str]] = []
            while True:
                command = await monitor.next_command()
                if command["command"].startswith("ECHO"):
                    break
                if command["client_type"] == "lua" or command["client_port"] == port:
                    seen.append((command["client_type"], command["command"].split(" ", 1)[0].upper()))
        assert seen == [
            ("tcp", "EVALSHA"),
            ("lua", "GET"),
            ("lua", "SET"),  # swapped
            ("tcp", "EVALSHA"),
            ("lua", "GET"),  # compared, not written
            ("tcp", "SET"),  # SET new x NX
        ]
    finally:
        await admin.aclose()
        await store.close()


async def test_cas_survives_a_flushed_script_cache(redis_servers: Start) -> None:
    server = redis_servers()
    store = await open_store(server.url)
    admin = redis.asyncio.Redis.from_url(server.url)
    try:
        await store.put("k", b"v1")
        await admin.script_flush()
        assert await store.cas("k", b"v1", b"v2") is True  # NOSCRIPT: the script itself is sent
        assert await store.get("k") == b"v2"
        assert await admin.script_exists(CAS_SHA) == [True]  # and cached again
        assert await store.cas("k", b"v1", b"v3") is False
    finally:
        await admin.aclose()
        await store.close()


# ---------------------------------------------------------------------------- definite errors


async def test_a_server_that_is_gone_is_unavailable(redis_servers: Start) -> None:
    server = redis_servers()
    store = await open_store(server.url, pool_size=1)
    try:
        server.stop()
        await until_closed_by_peer(store)
        with pytest.raises(Unavailable, match=rf"redis at 127.0.0.1:{server.port}: no connection: connection refused"):
            await store.put("k", b"v")  # nothing was sent: the reconnect was refused
        server.start()
        await store.put("k", b"v")  # the connection is made again
        assert await store.get("k") == b"v"
    finally:
        await store.close()


async def test_an_idle_connection_killed_is_replaced_without_an_error(
    opened: Opener, redis_url: str, admins: Callable[[str], redis.asyncio.Redis]
) -> None:
    store = await opened(pool_size=1)
    before = await store._command("CLIENT", "ID")
    await admins(redis_url).client_kill_filter(_id=before)
    await until_closed_by_peer(store)
    await store.put("k", b"v")
    assert await store.get("k") == b"v"
    assert await store._command("CLIENT", "ID") != before


async def test_error_replies_are_definite(
    opened: Opener, redis_url: str, admins: Callable[[str], redis.asyncio.Redis]
) -> None:
    store = await opened()
    await admins(redis_url).lpush(f"{store.prefix}list", b"x")  # a key of another type
    with pytest.raises(Rejected, match="WRONGTYPE") as caught:
        await store.get("list")
    assert not getattr(caught.value, "transient", False)
    with pytest.raises(Rejected, match="WRONGTYPE"):
        await store.cas("list", b"x", b"y")  # the script fails at its GET, before writing
    assert await admins(redis_url).lrange(f"{store.prefix}list", 0, -1) == [b"x"]
    await store.put("fine", b"v")  # the connection is still good
    assert await store.get("fine") == b"v"


async def test_a_busy_script_is_a_passing_refusal_and_is_retried(redis_servers: Start) -> None:
    server = redis_servers("--busy-reply-threshold", "20")
    plain = await open_store(server.url, pool_size=1)
    patient = await open_store(server.url, pool_size=1, retry={"attempts": 100, "backoff": "50ms", "jitter": False})
    admin = redis.asyncio.Redis.from_url(server.url)
    busy_loop = (  # about a second of work, measured with the server's own clock
        "local s = redis.call('TIME') local start = s[1] * 1000000 + s[2] "
        "while true do local t = redis.call('TIME') "
        "if t[1] * 1000000 + t[2] - start > 1000000 then return 1 end end"
    )
    try:
        script = asyncio.create_task(admin.eval(busy_loop, 0))
        refused = None
        for _ in range(200):
            try:
                await plain.get("k")
            except Rejected as exc:
                refused = exc
                break
            await asyncio.sleep(0.01)
        assert refused is not None, "the server never answered BUSY"
        assert str(refused).startswith(f"redis at 127.0.0.1:{server.port}: BUSY Redis is busy running a script")
        assert refused.transient  # type: ignore[attr-defined]
        await patient.put("k", b"after")  # retried until the script ended
        assert patient.retries >= 1
        assert await script == 1
        assert await patient.get("k") == b"after"
    finally:
        await admin.aclose()
        await plain.close()
        await patient.close()


async def test_a_replica_cut_off_refuses_with_masterdown_and_readonly(redis_servers: Start) -> None:
    server = redis_servers()
    store = await open_store(server.url, pool_size=1)
    admin = redis.asyncio.Redis.from_url(server.url)
    try:
        await store.put("k", b"v")
        await admin.config_set("replica-serve-stale-data", "no")
        await admin.replicaof("127.0.0.1", free_port())  # a primary that is not there
        with pytest.raises(Rejected, match="MASTERDOWN Link with MASTER is down") as down:
            await store.get("k")
        assert down.value.transient  # type: ignore[attr-defined]
        await admin.config_set("replica-serve-stale-data", "yes")
        with pytest.raises(Rejected, match="READONLY You can't write against a read only replica") as readonly:
            await store.put("k", b"w")
        assert not getattr(readonly.value, "transient", False)
        await admin.replicaof("NO", "ONE")
        assert await store.get("k") == b"v"
    finally:
        await admin.aclose()
        await store.close()


async def test_a_server_loading_its_data_refuses_with_loading(redis_servers: Start, tmp_path: Path) -> None:
    server = redis_servers()
    store = await open_store(server.url, pool_size=1, keep=True)  # close() must not wait for the load
    admin = redis.asyncio.Redis.from_url(server.url)
    try:
        await admin.execute_command("DEBUG", "POPULATE", 3000, "filler", 100)
        await admin.save()
        await admin.aclose()
        server.stop()
        # a millisecond per key: the restarted server spends three seconds loading
        server.start("--key-load-delay", "1000", "--loading-process-events-interval-bytes", "1024")
        await until_closed_by_peer(store)
        with pytest.raises(Rejected, match="LOADING Redis is loading the dataset in memory") as caught:
            await store.get("k")  # reconnected (the handshake works while loading), then refused
        assert caught.value.transient  # type: ignore[attr-defined]
        with pytest.raises(ConnectError, match=rf"redis at 127.0.0.1:{server.port}: LOADING"):
            await open_store(server.url)
    finally:
        await store.close()


async def test_passwords_and_acl_users(redis_servers: Start) -> None:
    password = "Pa55-w0rd-never-shown"
    server = redis_servers("--requirepass", password)
    port = server.port
    with pytest.raises(ConnectError, match=rf"redis at 127.0.0.1:{port}: the server requires a password \(put it"):
        await open_store(server.url)
    for wrong in (f"redis://:not-{password}@127.0.0.1:{port}/0", f"redis://ghost:{password}@127.0.0.1:{port}/0"):
        with pytest.raises(
            ConnectError, match=r"authentication failed \(WRONGPASS .*\): check the user and password in url"
        ) as caught:
            await open_store(wrong)
        assert password not in str(caught.value)
    store = await open_store(f"redis://:{password}@127.0.0.1:{port}/0")
    await store.put("k", b"v")
    admin = redis.asyncio.Redis.from_url(f"redis://:{password}@127.0.0.1:{port}/0")
    try:
        # A user without scripting or DEL: cas with an expected value is unsupported, the rest works.
        await admin.acl_setuser(
            "limited",
            enabled=True,
            passwords=[f"+{password}"],
            keys=["*"],
            categories=["+@all", "-@scripting"],
            commands=["-del"],
        )
        limited = await open_store(f"redis://limited:{password}@127.0.0.1:{port}/0")
        try:
            assert limited.scripting is False
            with pytest.raises(Unsupported, match="cas needs Lua scripts"):
                await limited.cas("k", b"v", b"w")
            assert await limited.cas("k", None, b"w") is True
            with pytest.raises(Rejected, match="NOPERM"):
                await limited.delete("k")
        finally:
            await limited.close()  # UNLINK is allowed: the keys go
    finally:
        await admin.aclose()
        await store.close()


def test_connection_string_passwords_without_a_user_are_masked() -> None:
    assert redact_urls("redis://:Wr1tten@cache:6379/0") == "redis://:***@cache:6379/0"
    assert redact_urls("rediss://app:Wr1tten@cache:6379/0") == "rediss://app:***@cache:6379/0"
    assert redact_urls("redis://cache:6379/0, mail ops@example.com") == "redis://cache:6379/0, mail ops@example.com"


async def run_with_password_in_the_file(redis_servers: Start, tmp_path: Path) -> tuple[str, Path]:
    """A run whose experiment names ``redis://:password@host``, Redis's usual form (no user)."""
    password = "Wr1tten-In-The-File"
    server = redis_servers("--requirepass", password)
    url = f"redis://:{password}@127.0.0.1:{server.port}/0"
    code, out, err = await chaos_run(experiment("redis-password", "redis", {"url": url}), tmp_path)
    assert code == 0, out + err
    assert password not in out + err
    return password, tmp_path / "run"


async def test_a_password_written_in_the_url_stays_out_of_the_results(redis_servers: Start, tmp_path: Path) -> None:
    password, run = await run_with_password_in_the_file(redis_servers, tmp_path)
    for name in ("history.jsonl", "results.json", "junit.xml"):
        assert password not in (run / name).read_text(), name


async def test_a_password_written_in_the_url_stays_out_of_the_report(redis_servers: Start, tmp_path: Path) -> None:
    password, run = await run_with_password_in_the_file(redis_servers, tmp_path)
    assert password not in (run / "report.html").read_text()


async def test_tls(redis_servers: Start, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server = redis_servers(
        "--tls-cert-file",
        str(cert),
        "--tls-key-file",
        str(key),
        "--tls-ca-cert-file",
        str(cert),
        "--tls-auth-clients",
        "no",
        tls=True,
    )
    store = await open_store(f"{server.url}?ssl_ca_certs={cert}")
    try:
        await store.put("k", b"v")
        assert await store.get("k") == b"v"
    finally:
        await store.close()
    with pytest.raises(ConnectError, match=rf"redis at 127.0.0.1:{server.port}: TLS handshake failed"):
        await open_store(server.url, connect_timeout=5)  # the certificate is not trusted
    plain = server.url.replace("rediss://", "redis://")
    with pytest.raises(ConnectError, match=rf"redis at 127.0.0.1:{server.port}: the server reset the connection"):
        await open_store(plain, connect_timeout=5)  # plain text to a TLS port


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key (``cryptography``, which moto needs)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


# ---------------------------------------------------------------------------- indefinite errors


async def test_command_timeout_is_an_unknown_outcome(redis_servers: Start) -> None:
    server = redis_servers()
    store = await open_store(server.url, pool_size=1, command_timeout="200ms")
    admin = redis.asyncio.Redis.from_url(server.url)
    try:
        await store.put("k", b"before")
        await admin.client_pause(5000, all=False)  # writers wait; readers (and the admin) do not
        with pytest.raises(Timeout, match=rf"redis at 127.0.0.1:{server.port}: no answer within 0.2s"):
            await store.put("k", b"after")
        await admin.client_unpause()
        assert await store.get("k") in (b"before", b"after")  # and the store carries on
    finally:
        await admin.aclose()
        await store.close()


async def test_a_connection_killed_during_a_command_is_an_unknown_outcome(redis_servers: Start) -> None:
    server = redis_servers()
    store = await open_store(server.url, pool_size=1)
    admin = redis.asyncio.Redis.from_url(server.url)
    try:
        await store.put("k", b"before")
        client_id = await store._command("CLIENT", "ID")
        await admin.client_pause(10000, all=False)
        write = asyncio.create_task(store.put("k", b"after"))
        await until_blocked(admin, client_id, "set")
        await admin.client_kill_filter(_id=client_id)
        with pytest.raises(ConnectionLost, match=rf"redis at 127.0.0.1:{server.port}: connection lost"):
            await write
        await admin.client_unpause()
        assert await store.get("k") in (b"before", b"after")  # a fresh connection replaced the killed one
    finally:
        await admin.aclose()
        await store.close()


async def test_a_cancelled_command_does_not_poison_the_pool(redis_servers: Start) -> None:
    server = redis_servers()
    store = await open_store(server.url, pool_size=1)
    admin = redis.asyncio.Redis.from_url(server.url)
    try:
        client_id = await store._command("CLIENT", "ID")
        await admin.client_pause(10000, all=False)
        write = asyncio.create_task(store.put("k", b"held"))
        await until_blocked(admin, client_id, "set")
        write.cancel()  # an operation timeout, the end of the run
        with pytest.raises(asyncio.CancelledError):
            await write
        await admin.client_unpause()
        await store.put("other", b"fine")  # not the reply of the cancelled SET
        assert await store.get("other") == b"fine"
    finally:
        await admin.aclose()
        await store.close()


# ---------------------------------------------------------------------------- retries


async def test_reads_are_retried_after_a_timeout_and_writes_are_not(redis_servers: Start) -> None:
    server = redis_servers()
    retry = {"attempts": 50, "backoff": "50ms", "multiplier": 1, "jitter": False}
    store = await open_store(server.url, pool_size=1, command_timeout="100ms", retry=retry)
    admin = redis.asyncio.Redis.from_url(server.url)
    try:
        await store.put("k", b"v")
        await admin.client_pause(5000, all=False)
        with pytest.raises(Timeout) as caught:
            await store.put("k", b"w")
        assert caught.value.attempts == 1  # type: ignore[attr-defined]
        assert store.retries == 0
        await admin.client_unpause()
        await admin.client_pause(600, all=True)  # everyone waits, the admin too, for 0.6 s
        assert await store.get("k") in (b"v", b"w")  # timed out, tried again until the pause ended
        assert store.retries >= 1
    finally:
        await admin.aclose()
        await store.close()


async def test_a_write_is_retried_while_the_server_is_unreachable(redis_servers: Start) -> None:
    server = redis_servers()
    store = await open_store(
        server.url, pool_size=1, retry={"attempts": 100, "backoff": "20ms", "jitter": False, "max_backoff": "20ms"}
    )
    try:
        server.stop()
        await until_closed_by_peer(store)
        write = asyncio.create_task(store.put("k", b"v"))
        for _ in range(500):  # refused, refused...
            if store.retries >= 2:
                break
            await asyncio.sleep(0.01)
        assert not write.done()
        server.start()
        await write
        assert await store.get("k") == b"v"
    finally:
        await store.close()


# ---------------------------------------------------------------------------- network faults


def test_the_proxy_takes_the_place_of_the_url_keeping_its_credentials() -> None:
    assert find_address("db", {"url": "redis://:pw@cache.local/2"}) == ("url", "cache.local", 6379)
    assert find_address("db", {"url": "rediss://u:pw@10.0.0.5:6380/0"}) == ("url", "10.0.0.5", 6380)
    assert rewrite("redis://u:p%40ss@cache.local/2?protocol=3", "127.0.0.1", 41000) == (
        "redis://u:p%40ss@127.0.0.1:41000/2?protocol=3"
    )


def faulty_experiment(url: str, faults: list[dict[str, Any]], **settings: Any) -> str:
    return yaml.safe_dump(
        {
            "name": "redis-faults",
            "seed": 3,
            "duration": "2500ms",
            "concurrency": 3,
            "stores": {"db": {"adapter": "redis", "settings": {"url": url, **settings}}},
            "system": "register",
            "workload": {"keys": 1, "mix": {"read": 2, "write": 1, "cas": 1}, "rate": 150},
            "faults": faults,
            "checks": [{"model": "cas-register"}],
        },
        sort_keys=False,
    )


async def test_network_faults_give_definite_and_unknown_outcomes(
    redis_url: str, tmp_path: Path, admins: Callable[[str], redis.asyncio.Redis]
) -> None:
    """Through the proxy: while the server's port is refused, calls fail (nothing was sent);
    while nothing gets through, calls time out (unknown outcome); the history stays linearizable."""
    faults = [
        {
            "kind": "network",
            "store": "db",
            "toxic": "down",
            "mode": "refuse",
            "active": {"start": "500ms", "end": "1s"},
        },
        {
            "kind": "network",
            "store": "db",
            "toxic": "timeout",
            "timeout": 0,
            "active": {"start": "1500ms", "end": "1800ms"},
        },
    ]
    runner = Pipeline(loads(faulty_experiment(redis_url, faults, command_timeout="100ms")), tmp_path / "r")
    result = await runner.run()
    ops = pair(read_events(result.run_dir / "history.jsonl"))
    refused = [op for op in ops if op.status == "fail" and "connection refused" in (op.error or "")]
    unknown = [op for op in ops if op.status == "info" and "no answer within 0.1s" in (op.error or "")]
    assert refused, "calls while the port was refused failed definitely"
    assert unknown, "calls while nothing got through had unknown outcomes"
    assert any(op.status == "ok" and op.call > unknown[-1].call for op in ops), "and succeeded again after"
    assert result.verdict == "valid"
    [proxy] = runner.faults.proxies  # type: ignore[union-attr]
    assert proxy.connections > 3, "the store reconnected through the proxy"
    leftovers = [k async for k in admins(redis_url).scan_iter(match=f"redis-faults-{result.run_dir.name}:*")]
    assert leftovers == []


async def test_connections_reset_mid_command_are_unknown_outcomes(redis_url: str, tmp_path: Path) -> None:
    faults = [
        {
            "kind": "network",
            "store": "db",
            "toxic": "reset_peer",
            "timeout": "30ms",
            "probability": 0.5,
            "active": {"start": "300ms"},
        },
        {"kind": "network", "store": "db", "toxic": "latency", "latency": "20ms", "direction": "downstream"},
    ]
    runner = Pipeline(loads(faulty_experiment(redis_url, faults)), tmp_path / "r")
    result = await runner.run()
    history = result.run_dir / "history.jsonl"
    resets = [e for e in read_events(history) if e["process"] == "nemesis" and e["value"].get("action") == "reset"]
    ops = pair(read_events(history))
    lost = [op for op in ops if op.status == "info" and "connection lost" in (op.error or "")]
    assert resets and lost, "replies delayed 20 ms were cut by resets: their calls' outcomes are unknown"
    assert result.verdict == "valid"
