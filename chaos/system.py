"""Systems under test: the code whose operations a run records and checks.

A system is a class. The runner creates ``servers`` instances of it, each with its own
:class:`Env`, and sends each client operation to one server as a method call named after the
operation::

    class Counter:
        roles = ("db",)                      # the stores it needs, by role

        def __init__(self, env: Env) -> None:
            self.db = env.stores["db"]

        async def read(self, key, value):
            raw = await self.db.get(key)
            return None if raw is None else int(raw)

        async def write(self, key, value):
            await self.db.put(key, str(value).encode())

What a method returns is recorded as the operation's ``ok`` value. Raising
:class:`OperationFailed` (or an adapter's :class:`~adapters.DefiniteError`) records ``fail``:
the operation definitely did not take effect. Any other exception, a timeout or a crash
records ``info``: it may have. A system whose operation takes several store steps must raise
something indefinite once a step has taken effect, unless it can prove the whole operation
did not.

Optional hooks: ``actors``, a class attribute mapping a name to a factory ``(env) -> actor``,
starts background actors (the seed's storage cleaner) whose ``async run()`` loops for the
whole run under that name; ``request(f, key, n, expected)`` turns the workload's unique number ``n`` into the
operation's value (the default: ``n`` for writes, ``[expected, n]`` for cas), ``setup()`` runs
once on the first server before any operation, and ``close()`` on every server at the end.
"""

from __future__ import annotations

import asyncio
import importlib
import re
import sysconfig
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters import AdapterError, Store

from .calls import current_actor
from .clock import Clock
from .errors import BadInput, UserCodeError


class OperationFailed(Exception):
    """Raised by a system: the operation definitely did not take effect (e.g. a cas whose
    expected value did not match). The history records ``fail``."""


class OperationUnknown(Exception):
    """Raised by a system: the operation may or may not have taken effect, e.g. a later step
    failed after an earlier step took effect, or a request was abandoned part-way. The history
    records ``info``: the checker then tries it both ways."""


class SystemLoadError(BadInput):
    """The system named in an experiment cannot be loaded or bound to its stores."""


class SystemCodeError(SystemLoadError, UserCodeError):
    """The system's own code raised outside an operation: in its constructor, ``setup()``,
    ``request()`` hook or an actor. That is a bug in the experiment, not a finding about the stores, so it
    ends the run at once as bad input naming the hook and the line, never as a verdict (exit
    code 1 would tell a CI job that a violation was found)."""

    def __init__(self, hook: str, exc: BaseException) -> None:
        frames = traceback.extract_tb(exc.__traceback__)
        # The innermost line of the user's own code: not ours, not the standard library's.
        outside = [f for f in frames if not f.filename.startswith(_NOT_USER_CODE)] or frames
        where = f" ({outside[-1].filename}:{outside[-1].lineno})" if outside else ""
        super().__init__(f"the system's {hook} raised {type(exc).__name__}: {exc}{where}")


_PATHS = sysconfig.get_paths()
_NOT_USER_CODE = (str(Path(__file__).resolve().parent), _PATHS["stdlib"], _PATHS["purelib"], _PATHS["platlib"], "<")
"""Where frames are not the user's: this package, the standard library, installed packages, and
frozen modules (``<frozen os>``, ``<frozen importlib._bootstrap>``)."""


def construct(system: type, env: Env) -> Any:
    """One instance of ``system``; an exception in its constructor is a :class:`SystemCodeError`."""
    try:
        return system(env)
    except Exception as exc:
        raise SystemCodeError(f"{system.__name__}()", exc) from exc


@dataclass
class Env:
    """What one server of a system is given: its stores by role, the clock, its options."""

    stores: Mapping[str, Store]
    clock: Clock
    options: dict[str, Any] = field(default_factory=dict)
    server: int = 0
    servers: int = 1
    shared: dict[str, Any] = field(default_factory=dict)
    """One dict for every server (and actor) of a run: what they share, e.g. a service the
    first server's ``setup()`` starts and every server then calls."""


BUILTINS: dict[str, str] = {
    "register": "chaos.systems.register:Register",
    "kv": "chaos.systems.register:Register",
    "http": "chaos.systems.http:Remote",
    "counter": "chaos.systems.counter:Counter",
    "counter-racy": "chaos.systems.counter:RacyCounter",
    "bank": "chaos.systems.bank:Bank",
    "bank-racy": "chaos.systems.bank:RacyBank",
    "profile-service": "chaos.systems.profile.service:ProfileService",
    "profile-naive": "chaos.systems.profile.naive:NaiveProfile",
    "profile-improved": "chaos.systems.profile.improved:ImprovedProfile",
    "profile-working": "chaos.systems.profile.working:WorkingProfile",
    "profile-cleaner-naive": "chaos.systems.profile.cleaner:NaiveCleanerProfile",
    "profile-cleaner-improved": "chaos.systems.profile.cleaner:ImprovedCleanerProfile",
    "profile-cleaner-kill": "chaos.systems.profile.cleaner:KillCleanerProfile",
    "profile-cleaner-working": "chaos.systems.profile.cleaner:WorkingCleanerProfile",
    "list-append": "chaos.systems.txn:ListAppend",
    "bank-txn": "chaos.systems.txn:BankTxn",
}
"""Built-in system name -> ``module:attr``. ``register`` and ``kv`` are the same code; the
names say whether the workload uses one key or many. ``counter-racy`` and ``bank-racy`` are
broken on purpose (read-then-write without a compare-and-set): runs must catch them."""


_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
"""An absolute module path: ``importlib`` raises ``ValueError``/``TypeError`` for ``""`` and ``.x``."""


def resolve(name: str) -> type:
    """The system class for a built-in name or a user's ``module:attr``."""
    target = BUILTINS.get(name, name)
    if ":" not in target:
        known = ", ".join(sorted(BUILTINS))
        raise SystemLoadError(f"unknown system {name!r}: use a built-in ({known}) or module:attr")
    module_name, _, attr = target.partition(":")
    if not _DOTTED.match(module_name) or not attr.isidentifier():
        raise SystemLoadError(
            f"system {name!r}: expected module:Class, e.g. myapp.systems:Profiles "
            "(a module path importable from here, a colon, a class name)"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemLoadError(f"system {name!r}: cannot import module {module_name!r}: {exc}") from None
    except SyntaxError as exc:
        raise SystemLoadError(f"system {name!r}: {exc.msg} ({exc.filename}:{exc.lineno})") from None
    except (Exception, SystemExit) as exc:  # the module's own code ran and raised (or exited)
        raise SystemCodeError(f"module {module_name!r} (on import)", exc) from None
    found = getattr(module, attr, None)
    if found is None:
        raise SystemLoadError(f"system {name!r}: module {module_name!r} has no attribute {attr!r}")
    if not isinstance(found, type):
        raise SystemLoadError(f"system {name!r}: {attr!r} is a {type(found).__name__}, not a class")
    return found


def bind_roles(system: type, mapping: dict[str, str], store_names: list[str]) -> dict[str, str]:
    """Role -> store name for ``system``: explicit ``mapping`` first, then the store named
    after the role, then, for a system of one role, the lone store. A system with several
    roles never has two of them bound to one store by default: a ``db`` and a ``cache`` on
    one store test nothing a cache does."""
    roles: tuple[str, ...] = tuple(getattr(system, "roles", ()))
    bound = dict(mapping)
    bound.update({r: r for r in roles if r not in bound and r in store_names})
    missing = [r for r in roles if r not in bound]
    if missing and len(roles) == 1 and len(store_names) == 1:
        bound[missing[0]] = store_names[0]  # one role, one store: nothing to mistake
        missing = []
    if missing:
        raise SystemLoadError(
            f"system needs store role(s) {', '.join(missing)}: map them under system.stores "
            f"(stores declared: {', '.join(store_names)})"
        )
    return bound


class Server:
    """One instance of the system, taking one request at a time (as a server of the seed's
    model does) when several clients share it."""

    __slots__ = ("_instance", "_lock", "_methods", "index")

    @property
    def shared(self) -> bool:
        """True when several clients send requests to this server (they queue)."""
        return self._lock is not None

    def direct(self, f: str, key: Any, value: Any) -> Awaitable[Any]:
        """:meth:`call` for an unshared server, without its lock check."""
        method = self._methods.get(f)
        if method is None:
            method = self.method(f)
        return method(key, value)

    def __init__(self, instance: Any, index: int, shared: bool) -> None:
        self._instance = instance
        self.index = index
        self._lock = asyncio.Lock() if shared else None
        self._methods: dict[str, Callable[[Any, Any], Awaitable[Any]]] = {}

    def method(self, f: str) -> Callable[[Any, Any], Awaitable[Any]]:
        found = self._methods.get(f)
        if found is None:
            found = getattr(self._instance, f, None)
            if found is None or f.startswith("_"):
                raise SystemLoadError(f"{type(self._instance).__name__} has no operation {f!r}")
            self._methods[f] = found
        return found

    def call(self, f: str, key: Any, value: Any) -> Awaitable[Any]:
        """Run operation ``f`` on this server (after the requests ahead of it, if shared)."""
        method = self._methods.get(f) or self.method(f)
        if self._lock is None:
            return method(key, value)
        return self._serialised(method, key, value)

    async def _serialised(self, method: Callable[[Any, Any], Awaitable[Any]], key: Any, value: Any) -> Any:
        assert self._lock is not None
        async with self._lock:
            return await method(key, value)

    async def setup(self) -> None:
        hook = getattr(self._instance, "setup", None)
        if hook is not None:
            try:
                await hook()
            except AdapterError:  # a store failed it: the runner reports the store, not a bug
                raise
            except Exception as exc:
                raise SystemCodeError("setup()", exc) from exc

    async def close(self) -> None:
        hook = getattr(self._instance, "close", None)
        if hook is not None:
            try:
                await hook()
            except AdapterError:  # a store failed it: the run's operations are all recorded
                raise
            except Exception as exc:
                raise SystemCodeError("close()", exc) from exc


def default_request(f: str, key: Any, n: int, expected: Any) -> Any:
    """The value of a generated operation: nothing for reads, ``n`` for writes and other
    updates, ``[expected, n]`` for cas."""
    if f == "read":
        return None
    if f == "cas":
        return [expected, n]
    return n


def request_hook(system: type) -> Callable[[str, Any, int, Any], Any]:
    """The system's ``request()`` hook, or :func:`default_request`. An exception from the hook is
    the system's bug (a :class:`SystemCodeError` naming the hook and the line), in a run and in
    an exploration alike; one from the framework's own drawing of operations is not blamed on it."""
    hook = getattr(system, "request", None)
    if hook is None:
        return default_request

    def request(f: str, key: Any, n: int, expected: Any) -> Any:
        try:
            return hook(f, key, n, expected)
        except Exception as exc:
            raise SystemCodeError("request()", exc) from exc

    return request


async def supervise(name: str, factory: Callable[[Env], Any], env: Env) -> None:
    """Run background actor ``name`` until cancelled. A crash injected into it (a
    ``BaseException`` by design) or a store error it let escape restarts it, as a supervisor
    restarts a dead process. Any other exception is a bug in the actor's code, which would
    otherwise restart it in a loop for the whole run, unseen: it ends the supervision with a
    :class:`SystemCodeError`."""
    current_actor.set(name)
    while True:
        try:
            await factory(env).run()
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            raise
        except AdapterError:
            pass
        except Exception as exc:
            raise SystemCodeError(f"actor {name!r}", exc) from exc
        except BaseException:
            pass
        await asyncio.sleep(0)
