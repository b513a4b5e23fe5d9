"""In-process faults, one kind at a time, on real in-memory stores: what the store holds after
the call, what the caller sees, and what the nemesis events say must match each kind's
definition."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from adapters import ConnectionLost, DefiniteError, IndefiniteError, Timeout, Unavailable
from adapters.memory import MemoryStore
from chaos.calls import Call, current_actor
from chaos.clock import VirtualClock
from chaos.faults import FaultyStore, ServerCrash
from chaos.system import Env

from .broken import Swallower, TwoStep
from .conftest import layer


async def opened() -> MemoryStore:
    store = MemoryStore()
    await store.open()
    return store


async def as_actor(actor: str, call: Callable[[], Awaitable[Any]]) -> Any:
    """Make ``call()`` as ``actor`` (the runner sets this per worker). The primitive is called
    inside, because faults decide when a primitive is called."""
    current_actor.set(actor)
    return await call()


# ------------------------------------------------------------------------------ error-before


async def test_error_before_fails_without_reaching_the_store(virtual: VirtualClock) -> None:
    faults = layer("- {kind: error-before, store: db, op: put}", clock=virtual)
    raw = await opened()
    db = faults.wrap("db", raw)
    with pytest.raises(Unavailable) as caught:
        await db.put("k", b"v")
    assert isinstance(caught.value, DefiniteError)
    assert "db.put" in str(caught.value)
    assert await raw.get("k") is None, "an error-before call must not take effect"
    assert await db.get("k") is None  # get is not targeted and works
    [event] = faults.events
    assert event["process"] == "nemesis" and event["type"] == "info" and event["f"] == "error-before"
    assert {k: event["value"][k] for k in ("fault", "store", "op", "key", "actor", "when")} == {
        "fault": 0,
        "store": "db",
        "op": "put",
        "key": "k",
        "actor": "client",
        "when": "before",
    }
    assert faults.injected == 1


# ------------------------------------------------------------------------------ error-after


@pytest.mark.parametrize(("error", "exception"), [("lost", ConnectionLost), ("timeout", Timeout)])
async def test_error_after_takes_effect_then_fails_indefinitely(
    virtual: VirtualClock, error: str, exception: type[Exception]
) -> None:
    faults = layer(f"- {{kind: error-after, store: db, op: [put, cas], error: {error}}}", clock=virtual)
    raw = await opened()
    db = faults.wrap("db", raw)
    with pytest.raises(exception) as caught:
        await db.put("k", b"v1")
    assert isinstance(caught.value, IndefiniteError)
    assert await raw.get("k") == b"v1", "an error-after call really wrote"
    with pytest.raises(exception):
        await db.cas("k", b"v1", b"v2")
    assert await raw.get("k") == b"v2"
    assert [(e["f"], e["value"]["op"], e["value"]["when"]) for e in faults.events] == [
        ("error-after", "put", "after"),
        ("error-after", "cas", "after"),
    ]


# ------------------------------------------------------------------------------ crash


async def two_step(faults_yaml: str, system: type = TwoStep) -> tuple[Any, MemoryStore, MemoryStore, Any]:
    faults = layer(faults_yaml, stores=("blobs", "db"))
    blobs, db = await opened(), await opened()
    env = Env(stores={"blobs": faults.wrap("blobs", blobs), "db": faults.wrap("db", db)}, clock=faults.clock)
    return system(env), blobs, db, faults


async def test_crash_after_the_blob_step_leaves_the_blob_and_stops_the_operation() -> None:
    system, blobs, db, faults = await two_step("- {kind: crash, store: blobs, op: put, when: after}")
    with pytest.raises(ServerCrash) as caught:
        await system.write("u1", 7)
    assert str(caught.value) == "crashed after blobs.put took effect"
    assert await blobs.get("b/u1") == b"7", "crash when: after happens once the call took effect"
    assert await db.get("u1") is None, "nothing after the crash point runs"
    assert [(e["f"], e["value"]["when"]) for e in faults.events] == [("crash", "after")]


async def test_crash_before_the_blob_step_leaves_nothing() -> None:
    system, blobs, db, _ = await two_step("- {kind: crash, store: blobs, op: put, when: before}")
    with pytest.raises(ServerCrash):
        await system.write("u1", 7)
    assert await blobs.get("b/u1") is None
    assert await db.get("u1") is None


async def test_a_crash_is_not_caught_by_except_exception() -> None:
    system, _, db, _ = await two_step("- {kind: crash, store: blobs, op: put, when: after}", Swallower)
    assert not issubclass(ServerCrash, Exception)
    with pytest.raises(ServerCrash):
        await system.write("u1", 7)
    assert await db.get("u1") is None


# ------------------------------------------------------------------------------ latency


async def test_latency_delays_the_call_on_the_run_clock(virtual: VirtualClock) -> None:
    faults = layer("- {kind: latency, store: db, op: get, delay: 5s, when: both}", clock=virtual)
    raw = await opened()
    await raw.put("k", b"v")
    db = faults.wrap("db", raw)
    assert await db.get("k") == b"v"
    assert await virtual.now() == 10.0, "5 s before and 5 s after, in system time"
    assert [(e["value"]["when"], e["value"]["delay"]) for e in faults.events] == [("before", 5.0), ("after", 5.0)]
    await virtual.aclose()


async def test_latency_write_lands_after_the_delay(virtual: VirtualClock) -> None:
    """A delayed write reaches the store only once its delay is over: a read issued meanwhile
    by another server does not see it (the race window the fault exists to widen)."""
    faults = layer("- {kind: latency, store: db, op: put, delay: 1h}", clock=virtual)
    raw = await opened()
    db = faults.wrap("db", raw)
    writer = asyncio.create_task(as_actor("server-0", lambda: db.put("k", b"new")))
    await asyncio.sleep(0)
    assert await as_actor("server-1", lambda: db.get("k")) is None
    await writer
    assert await raw.get("k") == b"new"
    assert await virtual.now() == 3600.0
    await virtual.aclose()


@pytest.mark.parametrize("delay", ["{min: 10ms, max: 20ms}", "{mean: 10ms, max: 30ms}"])
async def test_latency_draws_are_bounded_and_follow_the_seed(delay: str) -> None:
    async def draws(seed: int) -> list[float]:
        clock = VirtualClock()
        faults = layer(f"- {{kind: latency, delay: {delay}}}", seed=seed, clock=clock)
        db = faults.wrap("db", await opened())
        for _ in range(20):
            await db.get("k")
        await clock.aclose()
        return [e["value"]["delay"] for e in faults.events]

    first, again, other = await draws(5), await draws(5), await draws(6)
    assert first == again, "the same seed draws the same delays"
    assert first != other
    upper = 0.02 if "min" in delay else 0.03
    lower = 0.01 if "min" in delay else 0.0
    assert all(lower <= d <= upper for d in first)


# ------------------------------------------------------------------------------ stall


async def test_stall_with_a_duration_hangs_then_completes(virtual: VirtualClock) -> None:
    faults = layer("- {kind: stall, store: db, op: put, duration: 2h}", clock=virtual)
    raw = await opened()
    db = faults.wrap("db", raw)
    await db.put("k", b"v")
    assert await raw.get("k") == b"v"
    assert await virtual.now() == 7200.0
    phases = [(e["f"], e["value"]["phase"], e["value"].get("reason")) for e in faults.events]
    assert phases == [("stall", "start", None), ("stall", "end", "elapsed")]
    await virtual.aclose()


async def test_stall_without_duration_lasts_until_the_operation_times_out(virtual: VirtualClock) -> None:
    faults = layer("- {kind: stall, store: db, op: put}", clock=virtual)
    raw = await opened()
    db = faults.wrap("db", raw)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await db.put("k", b"v")
    assert await raw.get("k") is None, "a stall before the call: the call never ran"
    assert [(e["value"]["phase"], e["value"].get("reason")) for e in faults.events] == [
        ("start", None),
        ("end", "cancelled"),
    ]


async def test_healing_ends_a_stall_and_the_call_goes_through(virtual: VirtualClock) -> None:
    faults = layer("- {kind: stall, store: db, op: put}", clock=virtual)
    raw = await opened()
    db = faults.wrap("db", raw)
    call = asyncio.create_task(db.put("k", b"v"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not call.done()
    faults.heal()
    await call
    assert await raw.get("k") == b"v"
    assert [(e["value"]["phase"], e["value"].get("reason")) for e in faults.events] == [
        ("start", None),
        ("end", "healed"),
    ]
    await db.put("k", b"w")  # healed: nothing fires any more
    assert len(faults.events) == 2


# ------------------------------------------------------------------------------ pause


async def test_pause_triggered_by_a_call_stops_that_server_only(virtual: VirtualClock) -> None:
    faults = layer(
        "- {kind: pause, store: db, op: put, actor: server-0, duration: 2h, when: after, nth: 1}", clock=virtual
    )
    raw = await opened()
    db = faults.wrap("db", raw)
    done: dict[str, float] = {}

    async def step(name: str, actor: str, call: Callable[[], Awaitable[Any]]) -> None:
        await as_actor(actor, call)
        done[name] = await virtual.now()

    paused = asyncio.create_task(step("paused put", "server-0", lambda: db.put("a", b"1")))
    await asyncio.sleep(0)
    same_server = asyncio.create_task(step("server-0 get", "server-0", lambda: db.get("a")))
    other_server = asyncio.create_task(step("server-1 put", "server-1", lambda: db.put("b", b"2")))
    await asyncio.gather(paused, same_server, other_server)
    assert done["server-1 put"] == 0.0, "other servers keep running"
    assert done["paused put"] == 7200.0
    assert done["server-0 get"] == 7200.0, "every call of the paused server waits for it to resume"
    assert await raw.get("a") == b"1", "when: after: the triggering call took effect before the pause"
    assert [(e["f"], e["value"]["phase"], e["value"]["actor"]) for e in faults.events] == [
        ("pause", "start", "server-0"),
        ("pause", "end", "server-0"),
    ]
    await virtual.aclose()


async def test_pause_window_holds_the_named_server_for_its_window(virtual: VirtualClock) -> None:
    faults = layer("- {kind: pause, actor: server-1, active: {start: 1h, end: 3h}}", clock=virtual)
    raw = await opened()
    db = faults.wrap("db", raw)
    await faults.start()
    completed: dict[str, list[float]] = {"server-0": [], "server-1": []}

    async def loop(actor: str) -> None:
        current_actor.set(actor)
        for _ in range(8):
            await db.put(actor, b"x")
            completed[actor].append(await virtual.now())
            await virtual.sleep(1800)

    await asyncio.gather(loop("server-0"), loop("server-1"))
    assert not [t for t in completed["server-1"] if 3600 < t < 3 * 3600], "no step of server-1 in its pause"
    assert 3 * 3600 in completed["server-1"], "it resumes where it was when the window ends"
    assert [t for t in completed["server-0"] if 3600 < t < 3 * 3600], "server-0 runs through the window"
    assert [(e["value"]["phase"], e["value"]["clock"]) for e in faults.events] == [("start", 3600.0), ("end", 10800.0)]
    await faults.aclose()
    await virtual.aclose()


# ------------------------------------------------------------------------------ targeting and frequency


async def fired_calls(text: str, calls: int = 12, seed: int = 1) -> list[int]:
    """Which of ``calls`` gets on key ``k`` an error-before fault fires on."""
    faults = layer(text, seed=seed)
    db = faults.wrap("db", await opened())
    fired = []
    for n in range(1, calls + 1):
        try:
            await db.get("k")
        except Unavailable:
            fired.append(n)
    return fired


async def test_every_nth_and_nth_exactly() -> None:
    assert await fired_calls("- {kind: error-before, every: 4}") == [4, 8, 12]
    assert await fired_calls("- {kind: error-before, nth: 5}") == [5]
    assert await fired_calls("- {kind: error-before, probability: 0}") == []
    assert await fired_calls("- {kind: error-before}") == list(range(1, 13))


async def test_probability_follows_the_seed() -> None:
    text = "- {kind: error-before, probability: 0.5}"
    first = await fired_calls(text, calls=40, seed=11)
    assert first == await fired_calls(text, calls=40, seed=11)
    assert first != await fired_calls(text, calls=40, seed=12)
    assert 0 < len(first) < 40


async def test_faults_count_their_own_calls_independently() -> None:
    """A second fault's decisions do not depend on whether the first one fired."""
    both = layer("- {kind: latency, delay: 0s, probability: 0.3}\n- {kind: error-before, probability: 0.5}", seed=3)
    db = both.wrap("db", await opened())
    fired = []
    for n in range(1, 31):
        try:
            await db.get("k")
        except Unavailable:
            fired.append(n)
    # fault 1 has its own generator, seeded from (seed, index 1): compare with it at index 1
    shifted = layer("- {kind: error-before, probability: 0}\n- {kind: error-before, probability: 0.5}", seed=3)
    db2 = shifted.wrap("db", await opened())
    expected = []
    for n in range(1, 31):
        try:
            await db2.get("k")
        except Unavailable:
            expected.append(n)
    assert fired == expected
    assert fired != []


async def test_key_actor_store_and_op_targeting() -> None:
    faults = layer(
        "- {kind: error-before, store: db, op: [put, delete], key: 'u*', actor: 'server-[01]'}",
        stores=("db", "other"),
    )
    raw, other_raw = await opened(), await opened()
    db, other = faults.wrap("db", raw), faults.wrap("other", other_raw)
    assert other is other_raw, "a store no fault targets is not wrapped"
    assert isinstance(db, FaultyStore)
    assert db.get == raw.get, "an untargeted primitive is the adapter's own method"
    current_actor.set("server-1")
    with pytest.raises(Unavailable):
        await db.put("u1", b"x")
    await db.put("v1", b"x")  # key does not match
    current_actor.set("server-2")
    await db.put("u1", b"x")  # actor does not match
    current_actor.set("server-0")
    with pytest.raises(Unavailable):
        await db.delete("u1")
    hits = [(e["value"]["op"], e["value"]["actor"]) for e in faults.events]
    assert hits == [("put", "server-1"), ("delete", "server-0")]


async def test_time_window_and_cycle(virtual: VirtualClock) -> None:
    faults = layer(
        "- {kind: error-before, active: {start: 10s, end: 20s}}\n"
        "- {kind: error-after, active: {on: 5s, off: 5s, start: 30s}}",
        clock=virtual,
    )
    raw = await opened()
    db = faults.wrap("db", raw)
    outcome = {}
    for t in (0, 10, 15, 20, 29, 30, 34, 35, 40):
        await virtual.sleep(t - await virtual.now())
        try:
            await db.get("k")
            outcome[t] = "ok"
        except DefiniteError:
            outcome[t] = "before"
        except IndefiniteError:
            outcome[t] = "after"
    assert outcome == {
        0: "ok",
        10: "before",
        15: "before",
        20: "ok",
        29: "ok",
        30: "after",
        34: "after",
        35: "ok",
        40: "after",
    }
    await virtual.aclose()


async def test_around_is_the_same_layer_as_an_interceptor() -> None:
    """The Interceptor form (for StoreHandle composition) decides and acts alike."""
    faults = layer("- {kind: error-after, store: db, op: put, nth: 2}")
    raw = await opened()

    async def put(key: str) -> Any:
        return await faults.around(Call("db", "put", key, (key, b"v"), "client"), lambda: raw.put(key, b"v"))

    await put("a")
    with pytest.raises(ConnectionLost):
        await put("b")
    assert await raw.get("b") == b"v"


class Service:
    """An in-process endpoint with the http adapter's shape: ``request(operation, key, value)``."""

    kind = "service"

    def __init__(self) -> None:
        self.received: list[tuple[str, Any, Any]] = []

    async def request(self, operation: str, key: str | None = None, value: Any = None) -> Any:
        self.received.append((operation, key, value))
        return "done"


async def test_request_primitive_of_an_endpoint() -> None:
    faults = layer("- {kind: error-after, store: api, op: request, key: 'u*'}", stores=("api",))
    service = Service()
    api = faults.wrap("api", service)
    with pytest.raises(ConnectionLost):
        await api.request("write", "u1", 5)
    assert service.received == [("write", "u1", 5)], "the request reached the service"
    assert await api.request("read", key="v1") == "done"
    assert [(e["value"]["op"], e["value"]["key"]) for e in faults.events] == [("request", "u1")]
