"""The fault layer: Jepsen's nemesis, standing between a system under test and its adapters.

:class:`FaultLayer` is built once per run from the experiment's ``faults:`` and seed. It wraps
each store the faults can touch (:meth:`FaultLayer.wrap`); every call on a wrapped store is
matched against the faults declared for that store and primitive (precomputed, so a call no
fault can hit goes straight to the adapter, and a store no fault targets is not wrapped at
all), and the faults that fire act on it:

========================  ==============================================================
``error-before``          raise :class:`~adapters.Unavailable` (definite) without calling
``error-after``           call, then raise :class:`~adapters.ConnectionLost` or
                          :class:`~adapters.Timeout` (indefinite): the write happened
``crash``                 raise :class:`ServerCrash` before or after the call: a
                          ``BaseException``, so the system's ``except Exception`` does not
                          stop it and nothing after it in the operation runs
``latency``               sleep on the run's clock before and/or after the call
``stall``                 hang the call (for ``duration``, or until the operation's timeout
                          or the end of the run)
``pause``                 stop the calling server (every call it makes waits) for
                          ``duration``, or pause the servers named by ``actor`` while the
                          fault's window is on
========================  ==============================================================

Determinism: each fault has its own generators seeded from ``(seed, fault index)`` and its
own counter of matching calls, so decisions depend on the order of the calls only, never on
how long they took: on the in-memory store, where the event loop orders calls the same way
every time, the same seed and system give the same faults at the same calls. Wall-clock waits
(scaled-time latency, time windows) can change that order; with ``clock: virtual`` they do not.

Every injected fault is a history event with process ``nemesis``; faults with a duration write
a ``start`` and an ``end`` event.

Healing (:meth:`FaultLayer.heal`) stops every fault at once: nothing fires any more, stalled
calls and paused servers resume, network toxics are removed. The runner heals when the run
stops (end, Ctrl-C, exception) and closes proxies (:meth:`FaultLayer.aclose`) before the
history is checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import math
import random
import re
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from adapters import ConnectionLost, Timeout, Unavailable

from ..calls import Call, Proceed, current_actor
from ..clock import sleep_until
from .spec import (
    OPS,
    Active,
    Crash,
    Delay,
    ErrorAfter,
    ErrorBefore,
    InProcessFault,
    Latency,
    NetworkFault,
    Pause,
    Stall,
    is_network,
)

NEMESIS = "nemesis"

Record = Callable[[dict[str, Any], bool], None]
"""Where events go: ``record(event, injected)``; ``injected`` is False for ``end`` events."""


class ServerCrash(BaseException):
    """The server running this operation died at a store call.

    A ``BaseException`` on purpose: a crash must not be caught by the ordinary
    ``except Exception`` of the system under test, so that nothing after the crash point runs
    (only ``finally`` blocks, as when a process is killed by a signal Python can see). The
    runner records the operation as ``info`` with this message as its error.
    """

    def __init__(self, store: str, op: str, fault: int, when: str = "before") -> None:
        if when == "after":
            super().__init__(f"crashed after {store}.{op} took effect")
        else:
            super().__init__(f"crashed at {store}.{op}, before it took effect")
        self.when = when
        self.store = store
        self.op = op
        self.fault = fault


def _glob(pattern: str | None) -> Callable[[str], Any] | None:
    return None if pattern is None else re.compile(fnmatch.translate(pattern)).match


NEVER = sys.maxsize
"""A call count never reached: the fault will not fire again."""


class _Rule:
    """One compiled in-process fault: its matchers, activity and seeded trigger.

    The trigger is kept as the number of the next matching call that fires (``next``), so
    deciding a call is one increment and one comparison whatever the mode: ``every`` and
    ``nth`` are counted, and ``probability`` draws the gap to the next firing call from the
    geometric distribution (the same law as one draw per call, with one draw per firing)."""

    __slots__ = (
        "active",
        "actor_match",
        "count",
        "delays",
        "every",
        "fired",
        "index",
        "key_match",
        "kind",
        "mode",
        "next",
        "p",
        "plain",
        "rng",
        "spec",
    )

    ALWAYS, PROBABILITY, EVERY, NTH = range(4)

    def __init__(self, index: int, spec: InProcessFault, seed: int) -> None:
        self.index = index
        self.spec = spec
        self.kind = spec.kind
        self.rng = random.Random(f"{seed}/fault/{index}")
        self.delays = random.Random(f"{seed}/fault/{index}/delays")
        self.key_match = _glob(spec.key)
        self.actor_match = _glob(spec.actor)
        self.active: Active | None = spec.active if spec.active is not None and spec.active.bounded else None
        self.plain = self.key_match is None and self.actor_match is None and self.active is None
        """No key, actor or time filter: every call of its primitives counts."""
        self.count = 0
        """Matching calls so far (while active)."""
        self.fired = 0
        self.p = 0.0
        self.every = 0
        if spec.nth is not None:
            self.mode, self.every, self.next = self.NTH, spec.nth, spec.nth
        elif spec.every is not None:
            self.mode, self.every, self.next = self.EVERY, spec.every, spec.every
        elif spec.probability is not None:
            self.mode, self.p = self.PROBABILITY, spec.probability
            self.next = self._gap()
        else:
            self.mode, self.next = self.ALWAYS, 1

    def _gap(self) -> int:
        """Calls until the next firing one (1: the very next), for ``probability``."""
        p = self.p
        if p >= 1.0:
            return 1
        if p <= 0.0:
            return NEVER
        return int(math.log(1.0 - self.rng.random()) / math.log1p(-p)) + 1

    def advance(self) -> None:
        """The fault fired on call ``count``: set the next call that fires."""
        self.fired += 1
        mode = self.mode
        if mode == self.PROBABILITY:
            self.next = min(NEVER, self.count + self._gap())
        elif mode == self.EVERY:
            self.next = self.count + self.every
        elif mode == self.NTH:
            self.next = NEVER
        else:
            self.next = self.count + 1

    def delay(self, spec: Delay) -> float:
        """A delay drawn from this fault's own generator for delays."""
        if spec.fixed is not None:
            return spec.fixed
        if spec.mean is not None:
            drawn = self.delays.expovariate(1.0 / spec.mean)
            return drawn if spec.max is None else min(drawn, spec.max)
        assert spec.min is not None and spec.max is not None
        return self.delays.uniform(spec.min, spec.max)


class _Gate:
    """Holds a server while it is paused; several pauses may overlap."""

    __slots__ = ("holds", "open")

    def __init__(self) -> None:
        self.holds = 0
        self.open = asyncio.Event()
        self.open.set()

    def hold(self) -> None:
        self.holds += 1
        self.open.clear()

    def release(self) -> None:
        self.holds = max(0, self.holds - 1)
        if not self.holds:
            self.open.set()

    def force_open(self) -> None:
        self.holds = 0
        self.open.set()


class _Hold:
    """A stall or a call-triggered pause in progress: ended by its duration, by healing, or
    by the cancellation of the operation it belongs to."""

    __slots__ = ("ended", "healed", "kind", "value")

    def __init__(self, kind: str, value: dict[str, Any]) -> None:
        self.kind = kind
        self.value = value
        self.ended = False
        self.healed: asyncio.Future[None] = asyncio.get_running_loop().create_future()


class FaultLayer:
    """All faults of one run. Build it, :meth:`start` it, :meth:`wrap` the stores, and
    :meth:`heal` + :meth:`aclose` it at the end.

    ``record`` receives every nemesis event (the runner appends them to the history and counts
    injected faults); without one, events are kept in :attr:`events` (tests, embedding)."""

    def __init__(
        self,
        faults: Sequence[Any],
        seed: int,
        clock: Any,
        record: Record | None = None,
        stores: Iterable[str] | None = None,
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.events: list[dict[str, Any]] = []
        self._record = record
        self.injected = 0
        self._healed = False
        self._closed = False
        self.rules: list[_Rule] = []
        self.window_pauses: list[tuple[_Rule, _Gate]] = []
        self.network: list[tuple[int, NetworkFault]] = []
        for index, spec in enumerate(faults):
            if is_network(spec):
                self.network.append((index, spec))
            elif isinstance(spec, Pause) and spec.duration is None:
                self.window_pauses.append((_Rule(index, spec, seed), _Gate()))
            else:
                self.rules.append(_Rule(index, spec, seed))
        self._gated = any(isinstance(r.spec, Pause) for r in self.rules) or bool(self.window_pauses)
        self._table: dict[str, dict[str, tuple[_Rule, ...]]] = {}
        self._wildcard: dict[str, tuple[_Rule, ...]] = {
            op: tuple(r for r in self.rules if r.spec.store is None and op in r.spec.ops) for op in OPS
        }
        for name in stores or ():
            self._table_for(name)
        self._actor_gates: dict[str, tuple[_Gate, ...]] = {}
        self._own_gates: dict[str, _Gate] = {}
        self._holds: set[_Hold] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._open_windows: dict[int, dict[str, Any]] = {}
        self._proxies: list[Any] = []
        self._fired: dict[int, int] = {}
        """Fault index -> injected events (pause windows, network toxics acting on connections)."""
        self._kinds = [getattr(spec, "kind", "?") for spec in faults]

    # ------------------------------------------------------------------ wiring

    @property
    def in_process(self) -> bool:
        """True when some fault acts on adapter calls (the stores need wrapping)."""
        return bool(self.rules) or bool(self.window_pauses)

    def _table_for(self, store: str) -> dict[str, tuple[_Rule, ...]]:
        table = self._table.get(store)
        if table is None:
            table = self._table[store] = {
                op: tuple(r for r in self.rules if (r.spec.store is None or r.spec.store == store) and op in r.spec.ops)
                for op in OPS
            }
        return table

    def rules_for(self, store: str, op: str) -> tuple[_Rule, ...]:
        """The faults that may hit ``store.op``, in declaration order (precomputed)."""
        return self._table_for(store).get(op, ())

    def targets(self, store: str) -> bool:
        """Whether any call on ``store`` may be touched (hit by a fault, or held by a pause)."""
        return self._gated or any(self._table_for(store).values())

    def wrap(self, name: str, store: Any) -> Any:
        """``store`` itself when no fault can touch it, else a :class:`FaultyStore` whose
        untargeted primitives are the adapter's own bound methods."""
        if not self.targets(name):
            return store
        return FaultyStore(self, name, store)

    def intercepted(self, store: str, op: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        """``fn`` (the adapter's ``op``) with this layer's faults around it; ``fn`` itself
        when no fault can touch that primitive.

        Faults are decided when the primitive is *called* (the returned function is not a
        coroutine function), in the caller's context: ``current_actor`` is read there. This
        is what keeps a call no fault hits as cheap as the adapter's own."""
        rules = self.rules_for(store, op)
        if not rules and not self._gated:
            return fn
        position = 1 if op == "request" else 0
        name = {"list": "prefix", "request": "key"}.get(op, "key")
        default = "" if op == "list" else None
        decide = self._decide
        gated = self._gated
        apply = self._apply

        def slow(fired: Sequence[_Rule] | None, *args: Any, **kwargs: Any) -> Awaitable[Any]:
            """Some fault fired (or the layer holds paused servers): act around the call."""
            key = args[position] if len(args) > position else kwargs.get(name, default)
            return apply(fired or (), store, op, key, current_actor.get(), lambda: fn(*args, **kwargs))

        # Plain functions returning the awaitable, not coroutines: when no fault fires, the
        # caller awaits the adapter's own coroutine and the layer adds no frame to the call.
        # One shape per primitive, so that no call packs its arguments, and for the common
        # case (a single fault with no key, actor or time filter) the counting is inline.
        one = rules[0] if len(rules) == 1 and rules[0].plain and not gated else None

        def fire(*args: Any) -> Awaitable[Any]:
            assert one is not None
            one.advance()
            return slow((one,), *args)

        call: Callable[..., Awaitable[Any]]
        if op in ("get", "delete") and one is not None:

            def call(key: str) -> Awaitable[Any]:
                one.count += 1
                return fn(key) if one.count != one.next else fire(key)

        elif op in ("get", "delete"):

            def call(key: str) -> Awaitable[Any]:
                fired = decide(rules, key)
                return fn(key) if fired is None and not gated else slow(fired, key)

        elif op == "put" and one is not None:

            def call(key: str, value: bytes) -> Awaitable[Any]:
                one.count += 1
                return fn(key, value) if one.count != one.next else fire(key, value)

        elif op == "put":

            def call(key: str, value: bytes) -> Awaitable[Any]:
                fired = decide(rules, key)
                return fn(key, value) if fired is None and not gated else slow(fired, key, value)

        elif op == "cas" and one is not None:

            def call(key: str, expected: bytes | None, new: bytes) -> Awaitable[Any]:
                one.count += 1
                return fn(key, expected, new) if one.count != one.next else fire(key, expected, new)

        elif op == "cas":

            def call(key: str, expected: bytes | None, new: bytes) -> Awaitable[Any]:
                fired = decide(rules, key)
                return fn(key, expected, new) if fired is None and not gated else slow(fired, key, expected, new)

        else:  # list(prefix=""), request(operation, key=None, value=None): rare, generic

            def call(*args: Any, **kwargs: Any) -> Awaitable[Any]:
                key = args[position] if len(args) > position else kwargs.get(name, default)
                fired = decide(rules, key)
                return fn(*args, **kwargs) if fired is None and not gated else slow(fired, *args, **kwargs)

        call.__name__ = op
        call.__doc__ = getattr(fn, "__doc__", None)
        return call

    async def around(self, call: Call, proceed: Proceed) -> Any:
        """The :class:`~chaos.calls.Interceptor` form of the same thing, for composing with
        other interceptors through a :class:`~chaos.calls.StoreHandle`."""
        if self._healed:
            return await proceed()
        rules = self.rules_for(call.store, call.op)
        fired = self._decide(rules, call.key, call.actor) if rules else None
        if fired is None and not self._gated:
            return await proceed()
        return await self._apply(fired or (), call.store, call.op, call.key, call.actor, proceed)

    # ------------------------------------------------------------------ deciding

    def _decide(self, rules: tuple[_Rule, ...], key: Any, actor: str | None = None) -> list[_Rule] | None:
        """The faults that fire on this call. Every matching, active fault counts the call
        whether or not another one fires, so one fault's decisions never depend on another's.
        Once healed, no rule fires (:meth:`heal` moves every rule's next call to never)."""
        fired: list[_Rule] | None = None
        now = -1.0
        for rule in rules:
            if not rule.plain:
                if rule.key_match is not None and (not isinstance(key, str) or rule.key_match(key) is None):
                    continue
                if rule.actor_match is not None:
                    if actor is None:
                        actor = current_actor.get()
                    if rule.actor_match(actor) is None:
                        continue
                if rule.active is not None:
                    if now < 0:
                        now = self.clock.peek()
                    if not rule.active.is_active(now):
                        continue
            rule.count += 1
            if rule.count != rule.next:
                continue
            rule.advance()
            if fired is None:
                fired = [rule]
            else:
                fired.append(rule)
        return fired

    # ------------------------------------------------------------------ acting

    async def _apply(self, fired: Sequence[_Rule], store: str, op: str, key: Any, actor: str, proceed: Proceed) -> Any:
        """Run the fired faults' ``before`` parts in declaration order, the call, then their
        ``after`` parts. A raising fault ends the sequence."""
        gated = self._gated
        if gated:
            await self._wait_gates(actor)
        for rule in fired:
            match rule.spec:
                case Latency(when="before" | "both", delay=delay):
                    await self._latency(rule, delay, store, op, key, actor, "before")
                case ErrorBefore(message=message):
                    self._emit(rule, store, op, key, actor, when="before")
                    raise Unavailable(message or f"injected fault {rule.index}: {store}.{op} refused", store=store)
                case Crash(when="before"):
                    self._emit(rule, store, op, key, actor, when="before")
                    raise ServerCrash(store, op, rule.index)
                case Stall(when="before", duration=duration) | Pause(when="before", duration=duration):
                    await self._hold(rule, duration, store, op, key, actor, "before")
        result = await proceed()
        for rule in fired:
            match rule.spec:
                case Latency(when="after" | "both", delay=delay):
                    await self._latency(rule, delay, store, op, key, actor, "after")
                case ErrorAfter(error=error, message=message):
                    self._emit(rule, store, op, key, actor, when="after", error=error)
                    if error == "timeout":
                        raise Timeout(message or f"injected fault {rule.index}: {store}.{op} timed out", store=store)
                    raise ConnectionLost(
                        message or f"injected fault {rule.index}: {store}.{op} lost its response", store=store
                    )
                case Crash(when="after"):
                    self._emit(rule, store, op, key, actor, when="after")
                    raise ServerCrash(store, op, rule.index, "after")
                case Stall(when="after", duration=duration) | Pause(when="after", duration=duration):
                    await self._hold(rule, duration, store, op, key, actor, "after")
        if gated:
            await self._wait_gates(actor)
        return result

    async def _latency(self, rule: _Rule, delay: Delay, store: str, op: str, key: Any, actor: str, when: str) -> None:
        seconds = rule.delay(delay)
        self._emit(rule, store, op, key, actor, when=when, delay=round(seconds, 9))
        await self.clock.sleep(seconds)

    async def _hold(
        self, rule: _Rule, duration: float | None, store: str, op: str, key: Any, actor: str, when: str
    ) -> None:
        """A stall (the call hangs) or a pause (the whole server stops: its other calls wait
        too) for the fault's duration, or until healed, or until the operation is cancelled."""
        value = self._value(rule, store, op, key, actor, when=when, duration=duration)
        hold = _Hold(rule.kind, value)
        gate = self._own_gate(actor) if isinstance(rule.spec, Pause) else None
        self._holds.add(hold)
        self._emit_value(rule.kind, {**value, "phase": "start"}, True)
        if gate is not None:
            gate.hold()
        reason = "elapsed"
        try:
            if duration is None:
                await hold.healed
            else:
                sleeper = asyncio.ensure_future(self.clock.sleep(duration))
                try:
                    await asyncio.wait((sleeper, hold.healed), return_when=asyncio.FIRST_COMPLETED)
                finally:
                    sleeper.cancel()
        except asyncio.CancelledError:
            reason = "cancelled"
            raise
        finally:
            if gate is not None:
                gate.release()
            self._holds.discard(hold)
            if not hold.ended:
                hold.ended = True
                self._emit_value(
                    rule.kind, {**value, "phase": "end", "reason": reason, "clock": round(self.clock.peek(), 6)}, False
                )

    def _own_gate(self, actor: str) -> _Gate:
        gate = self._own_gates.get(actor)
        if gate is None:
            gate = self._own_gates[actor] = _Gate()
            self._actor_gates.pop(actor, None)
        return gate

    async def _wait_gates(self, actor: str) -> None:
        """Wait while ``actor`` is paused (by any pause that names it)."""
        gates = self._actor_gates.get(actor)
        if gates is None:
            gates = tuple(gate for rule, gate in self.window_pauses if rule.actor_match and rule.actor_match(actor))
            own = self._own_gates.get(actor)
            if own is not None:
                gates = (*gates, own)
            self._actor_gates[actor] = gates
        while not self._healed:
            for gate in gates:
                if gate.holds:
                    await gate.open.wait()
                    break
            else:
                return

    # ------------------------------------------------------------------ events

    def _value(self, rule: _Rule, store: str, op: str, key: Any, actor: str, **extra: Any) -> dict[str, Any]:
        value = {
            "fault": rule.index,
            "store": store,
            "op": op,
            "key": key,
            "actor": actor,
            "clock": round(self.clock.peek(), 6),
        }
        value.update(extra)
        return value

    def _emit(self, rule: _Rule, store: str, op: str, key: Any, actor: str, **extra: Any) -> None:
        self._emit_value(rule.kind, self._value(rule, store, op, key, actor, **extra), True)

    def _emit_value(self, f: str, value: dict[str, Any], injected: bool) -> None:
        """Write one nemesis event (nothing once the layer is closed: the history is)."""
        if self._closed:
            return
        if injected:
            self.injected += 1
            index = value.get("fault")
            if isinstance(index, int):
                self._fired[index] = self._fired.get(index, 0) + 1
        event = {"process": NEMESIS, "type": "info", "f": f, "value": value}
        if self._record is None:
            self.events.append(event)
        else:
            self._record(event, injected)

    def emitter(self) -> Callable[[str, dict[str, Any], bool], None]:
        """The event sink for the network proxies."""
        return self._emit_value

    # ------------------------------------------------------------------ schedules

    async def start(self, stores: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        """Start what runs by itself: the window pauses' schedules and, for network faults,
        one proxy per targeted store. Returns store name -> settings pointed at its proxy
        (``stores`` maps names to specs with ``settings``; the specs are not changed)."""
        for rule, gate in self.window_pauses:
            self._tasks.append(asyncio.create_task(self._pause_window(rule, gate), name=f"fault-{rule.index}"))
        if not self.network:
            return {}
        from .network import start_proxies

        proxies, settings = await start_proxies(self.network, stores or {}, self.seed, self.clock, self._emit_value)
        self._proxies = proxies
        return settings

    async def _pause_window(self, rule: _Rule, gate: _Gate) -> None:
        """Pause the servers matching ``actor`` during each active phase of the window."""
        active = rule.active
        assert active is not None
        after = -1.0
        while (phase := active.next_phase(after)) is not None:
            begin, end = phase
            await sleep_until(self.clock, begin)
            value = {"fault": rule.index, "actor": rule.spec.actor, "clock": round(self.clock.peek(), 6), "until": end}
            gate.hold()
            self._open_windows[rule.index] = value
            self._emit_value("pause", {**value, "phase": "start"}, True)
            if end is None:
                await asyncio.Event().wait()  # until healed (the task is cancelled)
            else:
                await sleep_until(self.clock, end)
            gate.release()
            self._open_windows.pop(rule.index, None)
            self._emit_value(
                "pause", {**value, "phase": "end", "clock": round(self.clock.peek(), 6), "reason": "elapsed"}, False
            )
            after = end if end is not None else float("inf")

    # ------------------------------------------------------------------ healing

    @property
    def healed(self) -> bool:
        return self._healed

    def heal(self) -> None:
        """Remove every fault now: nothing fires any more, stalls and pauses end (each with
        its ``end`` event), network toxics stop. Synchronous and idempotent, so it can run
        from a signal handler and from every exit path of the runner."""
        if self._healed:
            return
        self._healed = True
        for rule in self.rules:
            rule.next = NEVER
        for task in self._tasks:
            task.cancel()
        for _index, value in sorted(self._open_windows.items()):
            self._emit_value(
                "pause", {**value, "phase": "end", "clock": round(self.clock.peek(), 6), "reason": "healed"}, False
            )
        self._open_windows.clear()
        for _, gate in self.window_pauses:
            gate.force_open()
        for gate in self._own_gates.values():
            gate.force_open()
        for hold in sorted(self._holds, key=lambda h: h.value["fault"]):
            hold.ended = True
            self._emit_value(
                hold.kind,
                {**hold.value, "phase": "end", "reason": "healed", "clock": round(self.clock.peek(), 6)},
                False,
            )
            if not hold.healed.done():
                hold.healed.set_result(None)
        self._holds.clear()
        for proxy in self._proxies:
            proxy.heal()

    async def aclose(self) -> None:
        """Heal, stop the schedules and close the proxies. After this no event is written."""
        self.heal()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        try:
            for proxy in self._proxies:
                with contextlib.suppress(Exception):
                    await proxy.close()
        finally:  # even when interrupted: no relay process or socket outlives the layer
            for proxy in self._proxies:
                proxy.abort()
        self._closed = True

    @property
    def proxies(self) -> list[Any]:
        return list(self._proxies)

    def problems(self) -> list[str]:
        """Faults that stopped working during the run, one line each (a network proxy whose
        relay process was killed): what was declared was not injected from then on."""
        return [proxy.lost for proxy in self._proxies if proxy.lost]

    def usage(self) -> list[tuple[int, str, int, int]]:
        """``(index, kind, matched, fired)`` of every declared fault, in declaration order: an
        in-process fault counts the calls it matched while active; a pause window and a network
        toxic count what they acted on (phases, connections) as both."""
        rules = {rule.index: rule for rule in self.rules}
        out = []
        for index, kind in enumerate(self._kinds):
            rule = rules.get(index)
            if rule is not None:
                out.append((index, kind, rule.count, rule.fired))
            else:
                fired = self._fired.get(index, 0)
                out.append((index, kind, fired, fired))
        return out


class FaultyStore:
    """A store seen through the fault layer: primitives that faults may hit are intercepted,
    the others are the adapter's own bound methods (no cost at all)."""

    def __init__(self, layer: FaultLayer, name: str, store: Any) -> None:
        self.name = name
        self.store = store
        self.kind = getattr(store, "kind", "?")
        for op in OPS:
            fn = getattr(store, op, None)
            if fn is not None:
                setattr(self, op, layer.intercepted(name, op, fn))

    async def open(self) -> None:
        await self.store.open()

    async def close(self) -> None:
        await self.store.close()

    def __getattr__(self, attr: str) -> Any:
        # Only reached for attributes not set above: the adapter's own extras (namespace...).
        return getattr(self.__dict__["store"], attr)


__all__ = ["NEMESIS", "FaultLayer", "FaultyStore", "Record", "ServerCrash"]
