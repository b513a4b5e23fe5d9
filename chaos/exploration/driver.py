"""The controlled scheduler: one execution of a system on in-memory stores, every step chosen.

Instead of an asyncio event loop, the driver steps the system's coroutines itself. Every
adapter call and every clock read or sleep of the system under test yields a request to the
driver (through :class:`DriverInterceptor` and :class:`DriverClock`); the driver then asks a
:class:`Chooser` which actor takes the next step and which fault, if any, hits it:

* ``crash-before`` / ``crash-after``: the server dies at this call, before or after it takes
  effect (:class:`~chaos.faults.injector.ServerCrash`); it restarts for its next operation
  under a new process id;
* ``pause <d>``: the server stops for ``d`` system seconds before making the call.

Time is virtual: it stands still while any actor can step, and jumps to the next wake-up
(a sleep, a pause, a deadline from :meth:`DriverClock.timeout`) when none can. So the same
choices give the same execution, byte for byte the same history, on any machine.

Histories are stamped with virtual time in nanoseconds plus the event index, which keeps
real-time order exact and makes hours show as hours in reports.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Coroutine, Generator, Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol

from adapters import AdapterError, DefiniteError
from adapters.memory import MemoryStore

from ..calls import Call, Proceed, StoreHandle
from ..faults.injector import ServerCrash
from ..stats import Stats
from ..system import Env, OperationFailed, OperationUnknown, SystemCodeError, construct

# ------------------------------------------------------------------ requests to the driver


@dataclass(slots=True)
class StepRequest:
    """An actor wants to make an adapter call."""

    call: Call


@dataclass(slots=True)
class ClockRead:
    """An actor reads the clock."""


@dataclass(slots=True)
class Sleep:
    seconds: float


@dataclass(slots=True)
class PushDeadline:
    seconds: float


@dataclass(slots=True)
class PopDeadline:
    token: object


@types.coroutine
def _request(request: object) -> Generator[object, Any, Any]:
    """Hand ``request`` to the driver and return what it sends back."""
    return (yield request)


async def _background(name: str, factory: Any, env: Env) -> None:
    """A background actor's whole life. An exception from its code (its constructor included)
    is the system's bug, exit 3 naming the actor and the line, as :func:`chaos.system.supervise`
    makes it in a run; the memory stores explored raise no store errors to restart it for."""
    try:
        await factory(env).run()
    except Exception as exc:
        raise SystemCodeError(f"actor {name!r}", exc) from exc


class DeadlineExceeded(BaseException):
    """Thrown into an actor whose :meth:`DriverClock.timeout` ran out."""

    def __init__(self, token: object) -> None:
        super().__init__("deadline exceeded")
        self.token = token


class _Timeout:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.token: object = None

    async def __aenter__(self) -> _Timeout:
        self.token = await _request(PushDeadline(self.seconds))
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        if isinstance(exc, GeneratorExit):
            return False  # the execution is being torn down: the driver is not listening
        await _request(PopDeadline(self.token))
        if isinstance(exc, DeadlineExceeded) and exc.token is self.token:
            raise TimeoutError(f"deadline of {self.seconds:g}s exceeded") from None
        return False


class DriverClock:
    """The clock systems see under the driver: every read and sleep is a scheduling point."""

    async def now(self) -> float:
        now: float = await _request(ClockRead())
        return now

    async def sleep(self, seconds: float) -> None:
        await _request(Sleep(max(0.0, seconds)))

    def timeout(self, seconds: float) -> _Timeout:
        """Raise ``TimeoutError`` in the block if it lasts more than ``seconds`` system seconds."""
        return _Timeout(seconds)


CRASH_BEFORE = "crash-before"
CRASH_AFTER = "crash-after"


class DriverInterceptor:
    """Stands around every adapter call: asks the driver, then obeys its directive."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver

    async def around(self, call: Call, proceed: Proceed) -> Any:
        directive = await _request(StepRequest(call))
        if directive == CRASH_BEFORE:
            raise ServerCrash(call.store, call.op, -1)
        result = await proceed()
        self.driver.observed(call, result)
        if directive == CRASH_AFTER:
            raise ServerCrash(call.store, call.op, -1, "after")
        return result


_NO_RESULT: Any = object()


def _describe_call(call: Call) -> str:
    return f"{call.store}.{call.op}({', '.join(_short(a) for a in call.args)})"


# ------------------------------------------------------------------ plans and choices


@dataclass(frozen=True, slots=True)
class PlannedOp:
    """One client request in an exploration plan (``idle`` > 0: the server first waits)."""

    f: str
    key: str
    value: Any
    idle: float = 0.0


@dataclass(frozen=True)
class Plan:
    """The requests each server handles, in order: the workload of one execution."""

    servers: tuple[tuple[PlannedOp, ...], ...]

    @property
    def operations(self) -> int:
        return sum(len(ops) for ops in self.servers)

    def to_json(self) -> list[list[dict[str, Any]]]:
        return [
            [{"f": op.f, "key": op.key, "value": op.value, **({"idle": op.idle} if op.idle else {})} for op in ops]
            for ops in self.servers
        ]

    @classmethod
    def from_json(cls, data: list[list[dict[str, Any]]]) -> Plan:
        return cls(
            tuple(
                tuple(PlannedOp(o["f"], o["key"], o.get("value"), float(o.get("idle", 0.0))) for o in ops)
                for ops in data
            )
        )


@dataclass(frozen=True, slots=True)
class Option:
    """One possible next step: which actor, and the fault that hits it (``None``: none)."""

    actor: int
    fault: str | None = None
    pause: float = 0.0


class Chooser(Protocol):
    """Picks the next step among the options the driver offers."""

    def choose(self, options: list[Option], driver: Driver) -> int: ...


@dataclass
class Budget:
    """How many faults one execution may contain."""

    crashes: int = 0
    pauses: tuple[float, ...] = ()
    max_pauses: int = 0


# ------------------------------------------------------------------ actors

READY, SLEEPING, DONE = "ready", "sleeping", "done"


@dataclass
class Actor:
    name: str
    coro: Coroutine[Any, Any, Any]
    server: int | None
    """Server index, or None for a background actor (faults are only injected into servers)."""
    state: str = READY
    pending: object = None
    wake: float = 0.0
    paused: bool = False
    deadlines: list[tuple[float, object]] = field(default_factory=list)
    log: list[Any] = field(default_factory=list)
    """What the actor observed in its current operation (its local state is a function of it)."""
    op_index: int = 0
    awake_steps: int = 0
    """Steps a background actor took since it last slept on the clock (see ``actor_steps``)."""


@dataclass(slots=True)
class Step:
    """One entry of an execution's trace: what an actor did at a scheduling point.

    Steps keep raw data (``detail``: text, a history event, or a store call and its result)
    and are put into words only when a trace is printed: exploration makes millions of them.
    """

    number: int
    time: float
    actor: str
    detail: Any
    fault: str | None = None
    result: Any = _NO_RESULT

    @property
    def what(self) -> str:
        detail = self.detail
        if isinstance(detail, str):
            return detail
        if isinstance(detail, dict):  # a history event
            words = [detail["type"], detail["f"], _short(detail.get("key"))]
            if detail.get("value") is not None:
                words.append(_short(detail.get("value")))
            if detail.get("error"):
                words.append(f"({detail['error']})")
            return " ".join(words)
        if isinstance(detail, ClockRead):
            return f"reads the clock: {_hours(self.time)}"
        text = _describe_call(detail)
        if self.result is not _NO_RESULT and detail.op in ("get", "cas", "list"):
            text += f" -> {_short(self.result)}"
        return text


@dataclass
class Interleaving:
    """One execution under the controlled scheduler: its plan, the choices that ordered its
    steps, and what came of them (events, steps)."""

    plan: Plan
    choices: list[int]
    events: list[dict[str, Any]]
    steps: list[Step]
    complete: bool
    """False when the step limit cut the execution short."""
    pruned: bool = False
    """True when exploration stopped it at a state already explored."""
    branching: list[int] = field(default_factory=list)
    """How many options each choice had (for exhaustive search)."""
    failure: SystemCodeError | None = None
    """A bug in the system's own code that stopped this execution (a run stops the same way)."""


class ExplorationError(RuntimeError):
    """The system cannot be driven (it awaited something outside the framework)."""


# ------------------------------------------------------------------ the driver


class Driver:
    """Runs one execution of ``system`` over ``plan``, asking ``chooser`` at every step."""

    def __init__(
        self,
        system: type,
        roles: dict[str, str],
        store_names: list[str],
        options: dict[str, Any],
        plan: Plan,
        chooser: Chooser,
        budget: Budget,
        *,
        max_steps: int = 1000,
        visit: Callable[[Driver], bool] | None = None,
        stats: Stats | None = None,
        unexpected_errors: str = "stop",
        actor_steps: int = 8,
    ) -> None:
        self.plan = plan
        self.actor_steps = actor_steps
        """Steps a background actor may take without sleeping on the clock; then it is parked
        until the execution ends. An actor that loops on store calls (an evictor) steps
        between the servers' steps like any actor, but cannot make an execution endless."""
        self.stats = stats
        """Outcomes of every operation executed (over all executions that share it)."""
        self.record_unexpected = unexpected_errors == "info"
        self.unexpected: dict[str, int] = {}
        self.failure: SystemCodeError | None = None
        self.chooser = chooser
        self.budget = budget
        self.crashes_left = budget.crashes
        self.pauses_left = budget.max_pauses
        self.max_steps = max_steps
        self.visit = visit
        """Called at every choice point; returning False prunes the execution there."""
        self.now = 0.0
        self.events: list[dict[str, Any]] = []
        self.steps: list[Step] = []
        self.choices: list[int] = []
        self.branching: list[int] = []
        self.stores = {name: MemoryStore({}, "") for name in store_names}
        interceptor = DriverInterceptor(self)
        self.clock = DriverClock()
        servers = len(plan.servers)

        shared: dict[str, Any] = {}

        def env(index: int) -> Env:
            handles = {role: StoreHandle(name, self.stores[name], interceptor) for role, name in roles.items()}
            return Env(
                stores=handles, clock=self.clock, options=dict(options), server=index, servers=servers, shared=shared
            )

        self.actors: list[Actor] = []
        self.instances: list[Any] = []
        for index, ops in enumerate(plan.servers):
            instance = construct(system, env(index))
            self.instances.append(instance)
            self.actors.append(Actor(f"server-{index}", self._serve(index, instance, ops), index))
        for name, factory in getattr(system, "actors", {}).items():
            self.actors.append(Actor(name, _background(name, factory, env(-1)), None))
        self._current: Actor | None = None

    # ---------------------------------------------------------------- recording

    def _record(self, event: dict[str, Any]) -> None:
        if event["process"] == "nemesis" and self.stats is not None:
            self.stats.faults += 1  # a crash or a pause the exploration injected
        event["index"] = len(self.events)
        event["time"] = int(self.now * 1e9) + event["index"]
        self.events.append(event)
        if event["process"] != "nemesis" and self._current is not None:
            self.steps.append(Step(len(self.steps) + 1, self.now, self._current.name, event))

    def observed(self, call: Call, result: Any) -> None:
        if self._current is not None:
            self._current.log.append((call.store, call.op, call.key, result))

    async def _serve(self, index: int, instance: Any, ops: tuple[PlannedOp, ...]) -> None:
        """A server taking its planned requests one at a time, recording each."""
        process = index
        actor_servers = len(self.plan.servers)
        for op_index, op in enumerate(ops):
            actor = self.actors[index]
            actor.op_index = op_index
            actor.log = []
            if op.idle:
                await self.clock.sleep(op.idle)
            self._record({"process": process, "type": "invoke", "f": op.f, "key": op.key, "value": op.value})
            error = None
            began = self.now
            try:
                output = await getattr(instance, op.f)(op.key, op.value)
                kind = "ok"
            except (OperationFailed, DefiniteError) as exc:
                kind, output, error = "fail", op.value, str(exc) or type(exc).__name__
            except (ServerCrash, AdapterError, OperationUnknown, TimeoutError) as exc:
                kind, output, error = "info", op.value, f"{type(exc).__name__}: {exc}"
                if isinstance(exc, ServerCrash):
                    error = str(exc)
            except Exception as exc:  # a bug in the system's own code, as in a run
                kind, output, error = "info", op.value, f"{type(exc).__name__}: {exc}"
                if not self.record_unexpected:
                    self._record(
                        {"process": process, "type": kind, "f": op.f, "key": op.key, "value": output, "error": error}
                    )
                    self._count(op.f, kind, began)
                    self.failure = SystemCodeError(f"operation {op.f}({op.key!r})", exc)
                    return
                name = type(exc).__name__
                self.unexpected[name] = self.unexpected.get(name, 0) + 1
            event = {"process": process, "type": kind, "f": op.f, "key": op.key, "value": output}
            if error is not None:
                event["error"] = error
            self._record(event)
            self._count(op.f, kind, began)
            if kind == "info":
                process += actor_servers

    def _count(self, f: str, kind: str, began: float) -> None:
        if self.stats is not None:
            self.stats.record(f, kind, int((self.now - began) * 1e9))

    # ---------------------------------------------------------------- hooks outside the exploration

    def _complete(self, coro: Coroutine[Any, Any, Any], hook: str) -> None:
        """Run a hook's coroutine (``setup()``, ``close()``) to its end, outside the choices:
        as in a run, it completes before any operation starts (or after the last). Its store
        calls go through unhindered; a sleep moves time on."""
        value: Any = None
        exc: BaseException | None = None
        try:
            while True:
                request = coro.throw(exc) if exc is not None else coro.send(value)
                exc, value = None, None
                if isinstance(request, ClockRead):
                    value = self.now
                elif isinstance(request, Sleep):
                    self.now += request.seconds
                elif isinstance(request, PushDeadline):
                    value = object()
                elif request is not None and not isinstance(request, StepRequest | PopDeadline):
                    raise ExplorationError(
                        f"the system's {hook} awaited {request!r}, which the controlled scheduler does not drive"
                    )
        except StopIteration:
            return
        except AdapterError:
            raise
        except ExplorationError:
            raise
        except Exception as exc:
            raise SystemCodeError(hook, exc) from exc

    def _hook(self, instance: Any, name: str) -> None:
        method = getattr(instance, name, None)
        if method is not None:
            self._complete(method(), f"{name}()")

    # ---------------------------------------------------------------- stepping

    def _resume(self, actor: Actor, value: object = None, exc: BaseException | None = None) -> None:
        """Run ``actor`` until its next scheduling point, sleep, or end."""
        self._current = actor
        try:
            while True:
                try:
                    request = actor.coro.throw(exc) if exc is not None else actor.coro.send(value)
                except StopIteration:
                    actor.state, actor.pending = DONE, None
                    return
                exc, value = None, None
                if request is None:
                    continue  # the memory store's own turn: not a scheduling point
                if isinstance(request, StepRequest | ClockRead):
                    actor.state, actor.pending = READY, request
                    return
                if isinstance(request, Sleep):
                    actor.state, actor.pending, actor.wake = SLEEPING, request, self.now + request.seconds
                    actor.awake_steps = 0
                    return
                if isinstance(request, PushDeadline):
                    token = object()
                    actor.deadlines.append((self.now + request.seconds, token))
                    value = token
                    continue
                if isinstance(request, PopDeadline):
                    actor.deadlines = [(t, k) for t, k in actor.deadlines if k is not request.token]
                    continue
                actor.coro.close()
                raise ExplorationError(
                    f"{actor.name} awaited {request!r}, which the controlled scheduler does not drive: "
                    "systems explored must wait only through their stores and env.clock"
                )
        finally:
            self._current = None

    def _options(self) -> list[Option]:
        options: list[Option] = []
        for index, actor in enumerate(self.actors):
            if actor.state != READY:
                continue
            if actor.server is None and actor.awake_steps >= self.actor_steps:
                continue  # parked: it has had its steps
            options.append(Option(index))
            if actor.server is None or not isinstance(actor.pending, StepRequest):
                continue
            if self.crashes_left > 0:
                options.append(Option(index, CRASH_BEFORE))
                options.append(Option(index, CRASH_AFTER))
            if self.pauses_left > 0 and not actor.paused:
                options.extend(Option(index, "pause", d) for d in self.budget.pauses)
        return options

    def _advance_time(self) -> bool:
        """Move time to the next wake-up; False when nothing is left to wake (the end)."""
        if all(a.state == DONE for a in self.actors if a.server is not None):
            return False
        times = [a.wake for a in self.actors if a.state == SLEEPING]
        times += [t for a in self.actors if a.state != DONE for t, _ in a.deadlines]
        if not times:
            return False
        self.now = max(self.now, min(times))
        for actor in self.actors:
            due = [k for t, k in actor.deadlines if t <= self.now]
            if due and actor.state != DONE:
                actor.deadlines = [(t, k) for t, k in actor.deadlines if t > self.now]
                self.steps.append(Step(len(self.steps) + 1, self.now, actor.name, "is killed: deadline passed"))
                actor.paused = False
                self._resume(actor, exc=DeadlineExceeded(due[0]))
        for actor in self.actors:
            if actor.state == SLEEPING and actor.wake <= self.now:
                if isinstance(actor.pending, StepRequest):  # a paused call: now it may proceed
                    actor.state = READY
                else:
                    self._resume(actor)
        return True

    def run(self) -> Interleaving:
        if self.instances:
            try:
                self._hook(self.instances[0], "setup")  # once, on the first server, as a run does
            except SystemCodeError as exc:
                for actor in self.actors:
                    actor.coro.close()
                return Interleaving(self.plan, [], self.events, self.steps, False, failure=exc)
        for actor in self.actors:
            self._resume(actor)
        complete, pruned = True, False
        servers = [a for a in self.actors if a.server is not None]
        while self.failure is None:
            if all(a.state == DONE for a in servers):
                break  # background actors cannot change the history once every request is answered
            options = self._options()
            if not options:
                if not self._advance_time():
                    break
                continue
            if len(self.steps) >= self.max_steps:
                complete = False
                break
            if self.visit is not None and not self.visit(self):
                pruned = True
                break
            choice = self.chooser.choose(options, self) if len(options) > 1 else 0
            if len(options) > 1:
                self.choices.append(choice)
                self.branching.append(len(options))
            self._take(options[choice])
        for actor in self.actors:
            actor.coro.close()
        if self.failure is None:
            try:
                for instance in self.instances:
                    self._hook(instance, "close")
            except SystemCodeError as exc:
                self.failure = exc
        return Interleaving(
            self.plan,
            self.choices,
            self.events,
            self.steps,
            complete and self.failure is None,
            pruned,
            self.branching,
            self.failure,
        )

    def _take(self, option: Option) -> None:
        actor = self.actors[option.actor]
        request = actor.pending
        if actor.server is None:
            actor.awake_steps += 1
        if option.fault == "pause":
            self.pauses_left -= 1
            actor.paused = True
            actor.state, actor.wake = SLEEPING, self.now + option.pause
            assert isinstance(request, StepRequest)  # a pause is offered before a call only
            what = _describe_call(request.call)
            story = f"pauses {_hours(option.pause)} before {what}"
            self.steps.append(Step(len(self.steps) + 1, self.now, actor.name, story, "pause"))
            self._record(
                {
                    "process": "nemesis",
                    "type": "info",
                    "f": "pause",
                    "value": {"actor": actor.name, "duration": option.pause, "before": what},
                }
            )
            return
        actor.paused = False
        if isinstance(request, ClockRead):
            self.steps.append(Step(len(self.steps) + 1, self.now, actor.name, request))
            self._resume(actor, self.now)
            return
        assert isinstance(request, StepRequest)  # a ready actor waits on a clock read or a call
        call = request.call
        directive = option.fault
        if directive is not None:
            self.crashes_left -= 1
            self._record(
                {
                    "process": "nemesis",
                    "type": "info",
                    "f": "crash",
                    "value": {
                        "actor": actor.name,
                        "when": directive.removeprefix("crash-"),
                        "call": _describe_call(call),
                    },
                }
            )
        step = Step(len(self.steps) + 1, self.now, actor.name, call, directive)
        self.steps.append(step)
        before = len(actor.log)
        self._resume(actor, directive)
        if len(actor.log) > before:
            step.result = actor.log[before][3]

    # ---------------------------------------------------------------- state, for deduplication

    def state_key(self) -> Hashable:
        """Everything the future of this execution depends on: store contents, each actor's
        progress and what it has observed, time, budgets, and the history so far."""
        stores = tuple((name, tuple(sorted(s.data.items()))) for name, s in sorted(self.stores.items()))
        actors = tuple(
            (
                a.state,
                a.op_index,
                tuple(map(repr, a.log)),
                repr(a.pending),
                a.wake,
                a.paused,
                tuple(t for t, _ in a.deadlines),
                a.awake_steps,
            )
            for a in self.actors
        )
        history = tuple(
            (e["process"], e["type"], e["f"], repr(e.get("key")), repr(e.get("value"))) for e in self.events
        )
        return (stores, actors, self.now, self.crashes_left, self.pauses_left, history)


def _short(value: Any) -> str:
    if isinstance(value, bytes):
        text = value.decode(errors="replace")
        return text if len(text) <= 48 else text[:45] + "..."
    if value is None:
        return "nil"
    if isinstance(value, list | tuple):
        return "[" + " ".join(_short(v) for v in value) + "]"
    return value if isinstance(value, str) else repr(value)


def _hours(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g}h"
    if seconds >= 60:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"
