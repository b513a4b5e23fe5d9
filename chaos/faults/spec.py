"""Fault declarations: the ``faults:`` list of an experiment.

Each entry has a ``kind`` that selects its schema (a pydantic discriminated union, so that a
mistake is reported at the exact path of the field that is wrong, e.g. ``faults.2.delay``):

* in-process kinds stand between the system under test and its adapters and act per call:
  ``error-before``, ``error-after``, ``crash``, ``latency``, ``stall``, ``pause``;
* ``network`` puts a TCP proxy between this process and a real server and applies one
  Toxiproxy ``toxic`` (``latency``, ``bandwidth``, ``down``, ``slow_close``, ``timeout``,
  ``reset_peer``, ``limit_data``, ``slicer``) to the connections that go through it.

Every fault says *what* it hits (``store``, ``op``, ``key`` glob, ``actor`` glob), *when* it is
active (``active``: omitted = the whole run, a window ``{start, end}`` or a cycle
``{on, off}`` like Jepsen's nemesis) and *how often* it fires (``probability``, ``every`` Nth
call or the ``nth`` call exactly; every matching call when none is given). Times are system
time: the run's clock, scaled by ``time_scale`` or virtual.

Validation happens with the rest of the experiment, so a bad declaration is listed with its
path alongside every other problem in the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from adapters.units import Duration, Integer, Number, Size

OPS: tuple[str, ...] = ("get", "put", "delete", "cas", "list", "request")
"""Adapter primitives a fault can target (``request`` is the http adapter's only one)."""

IN_PROCESS_KINDS: tuple[str, ...] = ("error-before", "error-after", "crash", "latency", "stall", "pause")
TOXICS: tuple[str, ...] = (
    "latency",
    "bandwidth",
    "down",
    "slow_close",
    "timeout",
    "reset_peer",
    "limit_data",
    "slicer",
)
KINDS: tuple[str, ...] = (*IN_PROCESS_KINDS, "network")

NETWORK_ADDRESS_KEYS: tuple[str, ...] = ("dsn", "endpoint_url", "base_url", "url")
"""Store settings that hold a server address a proxy can be put in front of."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def _yaml_on_off(value: Any) -> Any:
    """YAML 1.1 reads the keys ``on`` and ``off`` as booleans; give them their names back."""
    if isinstance(value, dict):
        return {({True: "on", False: "off"}.get(k, k) if isinstance(k, bool) else k): v for k, v in value.items()}
    return value


class Active(_Strict):
    """When a fault is active, in system seconds since the run started.

    ``{start, end}`` is one window; adding ``on`` and ``off`` makes it a cycle (active for
    ``on``, inactive for ``off``, repeated from ``start`` until ``end``)."""

    start: Duration = 0.0
    end: Duration | None = None
    on: Duration | None = Field(default=None, gt=0)
    off: Duration | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> Active:
        if (self.on is None) != (self.off is None):
            raise ValueError("a cycle needs both on and off")
        if self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    @property
    def bounded(self) -> bool:
        """True when the fault is ever inactive (a window or a cycle)."""
        return self.start > 0 or self.end is not None or self.on is not None

    def is_active(self, now: float) -> bool:
        if now < self.start or (self.end is not None and now >= self.end):
            return False
        if self.on is None or self.off is None:
            return True
        return (now - self.start) % (self.on + self.off) < self.on

    def next_phase(self, after: float) -> tuple[float, float | None] | None:
        """The first active phase ``(start, end)`` whose end is later than ``after`` (``end``
        ``None``: active to the end of the run), or ``None`` when there is none."""
        if self.end is not None and after >= self.end:
            return None
        if self.on is None or self.off is None:
            return (self.start, self.end)
        period = self.on + self.off
        n = 0 if after < self.start else int((after - self.start) // period)
        while True:
            begin = self.start + n * period
            end = begin + self.on
            if self.end is not None:
                if begin >= self.end:
                    return None
                end = min(end, self.end)
            if end > after:
                return (begin, end)
            n += 1


ActiveField = Annotated[Active | None, BeforeValidator(_yaml_on_off)]


class Delay(_Strict):
    """A delay: ``50ms`` (fixed), ``{min: 1ms, max: 20ms}`` (uniform) or ``{mean: 10ms}``
    (exponential, optionally capped by ``max``)."""

    fixed: Duration | None = None
    min: Duration | None = None
    max: Duration | None = None
    mean: Duration | None = Field(default=None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _scalar(cls, value: Any) -> Any:
        return {"fixed": value} if isinstance(value, int | float | str) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _one_shape(self) -> Delay:
        if self.fixed is not None:
            if any(v is not None for v in (self.min, self.max, self.mean)):
                raise ValueError("a fixed delay takes no min, max or mean")
        elif self.mean is not None:
            if self.min is not None:
                raise ValueError("an exponential delay (mean) takes no min; max caps it")
        elif self.min is None or self.max is None:
            raise ValueError("give a delay as 50ms, {min: 1ms, max: 20ms} or {mean: 10ms}")
        elif self.max < self.min:
            raise ValueError("max must not be less than min")
        return self

    def describe(self) -> dict[str, float]:
        return {
            k: v
            for k, v in (("fixed", self.fixed), ("min", self.min), ("max", self.max), ("mean", self.mean))
            if v is not None
        }


# ---------------------------------------------------------------------------------------------
# In-process faults


class _Targeted(_Strict):
    """What every in-process fault shares: its target, its activity and its frequency."""

    store: str | None = None
    """Name of the targeted store; every store when omitted."""
    op: str | list[str] | None = None
    """Adapter primitive(s) hit: get, put, delete, cas, list, request; all when omitted."""
    key: str | None = None
    """Glob pattern on the call's key (``u*``; for ``list``, the prefix); all keys when omitted."""
    actor: str | None = None
    """Glob pattern on who makes the call (``server-0``, ``server-*``, ``cleaner``)."""
    active: ActiveField = None
    probability: Number | None = Field(default=None, ge=0, le=1)
    """Chance that a matching call is hit (drawn from the fault's own seeded generator)."""
    every: Integer | None = Field(default=None, ge=1)
    """Hit the Nth, 2Nth, 3Nth... matching call."""
    nth: Integer | None = Field(default=None, ge=1)
    """Hit the Nth matching call only."""

    @field_validator("op", mode="before")
    @classmethod
    def _op_shape(cls, op: Any) -> Any:
        """One message for the union (pydantic would name each branch, ``op.str`` and all)."""
        names = op if isinstance(op, list) else [op]
        if op is not None and not all(isinstance(o, str) for o in names):
            raise ValueError(f"expected an operation name or a list of them ({', '.join(OPS)})")
        return op

    @field_validator("op")
    @classmethod
    def _known_ops(cls, op: str | list[str] | None) -> str | list[str] | None:
        names = [op] if isinstance(op, str) else (op or [])
        if isinstance(op, list) and not op:
            raise ValueError("op: give at least one operation, or omit it for all")
        unknown = [n for n in names if n not in OPS]
        if unknown:
            raise ValueError(f"unknown operation {', '.join(unknown)}; known: {', '.join(OPS)}")
        return op

    @model_validator(mode="after")
    def _one_frequency(self) -> _Targeted:
        given = [n for n in ("probability", "every", "nth") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(f"choose one of probability, every, nth (got {', '.join(given)})")
        return self

    @property
    def ops(self) -> tuple[str, ...]:
        if self.op is None:
            return OPS
        return (self.op,) if isinstance(self.op, str) else tuple(self.op)


class ErrorBefore(_Targeted):
    """The call fails without reaching the store: a :class:`~adapters.DefiniteError`."""

    kind: Literal["error-before"]
    message: str | None = None


class ErrorAfter(_Targeted):
    """The call reaches the store and takes effect, then the caller sees an error (``lost``:
    the connection broke) or a ``timeout``: an :class:`~adapters.IndefiniteError`."""

    kind: Literal["error-after"]
    error: Literal["lost", "timeout"] = "lost"
    message: str | None = None


class Crash(_Targeted):
    """The operation of the system under test dies at this call, ``before`` or ``after`` the
    call takes effect; nothing after it in that operation runs."""

    kind: Literal["crash"]
    when: Literal["before", "after"]


class Latency(_Targeted):
    """A delay before and/or after the call, to widen race windows."""

    kind: Literal["latency"]
    delay: Delay
    when: Literal["before", "after", "both"] = "before"


class Stall(_Targeted):
    """The call hangs for ``duration`` (system time), or, without one, until the operation's
    timeout or the end of the run (a server frozen mid-request)."""

    kind: Literal["stall"]
    duration: Duration | None = Field(default=None, gt=0)
    when: Literal["before", "after"] = "before"


class Pause(_Targeted):
    """A whole server stops taking steps, then resumes where it was.

    With ``duration``: triggered by a matching call (like the other kinds), the calling server
    pauses for ``duration`` of system time ``before`` or ``after`` that call. Without: the
    servers matching ``actor`` are paused while the fault is ``active`` (a window or a cycle).
    """

    kind: Literal["pause"]
    duration: Duration | None = Field(default=None, gt=0)
    when: Literal["before", "after"] = "after"

    @model_validator(mode="after")
    def _mode(self) -> Pause:
        if self.duration is None:
            if self.active is None or not self.active.bounded:
                raise ValueError(
                    "a pause needs a duration (pause the server making a matching call) or an active "
                    "window or cycle (pause the servers named by actor while it is on)"
                )
            if self.actor is None:
                raise ValueError("a pause without duration needs actor: the server(s) to pause, e.g. server-1")
            extra = [n for n in ("store", "op", "key", "probability", "every", "nth") if getattr(self, n) is not None]
            if extra:
                raise ValueError(f"{', '.join(extra)}: only for a pause with a duration (triggered by calls)")
        return self


# ---------------------------------------------------------------------------------------------
# Network faults
#
# Toxiproxy's toxics, with Toxiproxy's attribute names (``stream`` and ``toxicity`` are accepted
# beside ``direction`` and ``probability``). Units are this project's: a duration is written
# with its unit (``50ms``) and a rate is bytes per second written as a size (``64KB``). Toxiproxy
# writes bare numbers in milliseconds (the slicer's ``delay`` in microseconds) and rates in KB/s,
# while a bare number here would be seconds (bytes): so that a value copied from a Toxiproxy
# set-up is never read a thousand times too long, a network fault refuses a bare number other
# than 0 and asks for the unit.


_BARE = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")


def _net_duration(value: Any) -> Any:
    """Refuse a bare number other than 0 (see above)."""
    bare = isinstance(value, int | float) and not isinstance(value, bool)
    if bare or (isinstance(value, str) and _BARE.match(value)):
        if float(value) == 0:
            return 0.0
        raise ValueError(
            f"give the unit, e.g. {value}ms: a bare number is milliseconds to Toxiproxy (microseconds for "
            "the slicer's delay) but seconds elsewhere in this file"
        )
    return value


def _net_rate(value: Any) -> Any:
    bare = isinstance(value, int | float) and not isinstance(value, bool)
    if bare and value == 0:
        return 0  # refused as a rate of nothing, by the field's own bound
    if bare or (isinstance(value, str) and _BARE.match(value)):
        raise ValueError(
            f"give the rate as a size per second, e.g. {value}KB or {value}KB/s: a bare number is KB/s to "
            "Toxiproxy but bytes elsewhere in this file"
        )
    if isinstance(value, str) and value.replace(" ", "").lower().endswith("/s"):
        return value.replace(" ", "")[:-2]
    return value


NetDuration = Annotated[Duration, BeforeValidator(_net_duration)]
"""A duration with its unit (``50ms``, ``2s``), or 0."""
Rate = Annotated[Size, BeforeValidator(_net_rate)]
"""Bytes per second, written as a size (``64KB``, ``1MB/s``)."""

_TOXIPROXY_NAMES = {"stream": "direction", "toxicity": "probability"}


class _Network(_Strict):
    """What every network fault shares: the store whose server gets a proxy in front of it."""

    kind: Literal["network"]
    store: str
    """The store to proxy: its ``dsn``, ``endpoint_url`` or ``base_url`` is pointed at the proxy."""
    direction: Literal["upstream", "downstream", "both"] = Field(
        "downstream", validation_alias=AliasChoices("direction", "stream")
    )
    """``upstream``: data from this process to the server; ``downstream``: the replies
    (Toxiproxy's ``stream``)."""
    probability: Number = Field(default=1.0, ge=0, le=1, validation_alias=AliasChoices("probability", "toxicity"))
    """Chance that a new connection gets the toxic (Toxiproxy's ``toxicity``), drawn once per
    connection when it is accepted."""
    active: ActiveField = None

    @model_validator(mode="before")
    @classmethod
    def _one_name(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for theirs, ours in _TOXIPROXY_NAMES.items():
                if theirs in value and ours in value:
                    raise ValueError(f"give {ours} or {theirs} (Toxiproxy's name for it), not both")
        return value


class NetLatency(_Network):
    """Each chunk is held ``latency`` ± ``jitter`` (uniform) from the moment it reached the proxy."""

    toxic: Literal["latency"]
    latency: NetDuration
    jitter: NetDuration = 0.0


class NetBandwidth(_Network):
    """At most ``rate`` bytes per second go through."""

    toxic: Literal["bandwidth"]
    rate: Rate = Field(gt=0)
    """Bytes per second (``64KB``; Toxiproxy's ``rate: 64`` is ``64KB`` here, with KB = 1000 bytes, as Toxiproxy's)."""


class NetDown(_Network):
    toxic: Literal["down"]
    mode: Literal["refuse", "drop"] = "refuse"
    """``refuse`` (Toxiproxy's disabled proxy): the port is closed, so new connections are
    refused, and open ones are closed; ``drop``: connections are accepted and everything sent is
    silently discarded. ``down`` takes the whole proxy down: ``probability`` and ``direction`` do
    not apply to it."""


class NetSlowClose(_Network):
    """When one side closes, the other side sees it ``delay`` later (data still flows meanwhile)."""

    toxic: Literal["slow_close"]
    delay: NetDuration


class NetTimeout(_Network):
    toxic: Literal["timeout"]
    timeout: NetDuration
    """Stop forwarding (data is dropped), then close the connection after this long (0: never).
    When the toxic ends the connections it held are closed: what it dropped is lost for good."""


class NetResetPeer(_Network):
    toxic: Literal["reset_peer"]
    timeout: NetDuration = 0.0
    """Once data reaches the toxic, reset the connection (TCP RST) this long after; what comes
    meanwhile in its direction is dropped."""


class NetLimitData(_Network):
    toxic: Literal["limit_data"]
    bytes: Size
    """Close the connection once this many bytes went through in the toxic's direction."""


class NetSlicer(_Network):
    toxic: Literal["slicer"]
    average_size: Size = Field(gt=0)
    size_variation: Size = 0
    delay: NetDuration = 0.0
    """Pause after each slice (Toxiproxy's microseconds: ``delay: 10`` there is ``10us`` here)."""

    @model_validator(mode="after")
    def _variation(self) -> NetSlicer:
        if self.size_variation >= self.average_size:
            raise ValueError("size_variation must be less than average_size")
        return self


Network = Annotated[
    NetLatency | NetBandwidth | NetDown | NetSlowClose | NetTimeout | NetResetPeer | NetLimitData | NetSlicer,
    Field(discriminator="toxic"),
]

InProcessFault = ErrorBefore | ErrorAfter | Crash | Latency | Stall | Pause
NetworkFault = NetLatency | NetBandwidth | NetDown | NetSlowClose | NetTimeout | NetResetPeer | NetLimitData | NetSlicer

FaultSpec = Annotated[
    ErrorBefore | ErrorAfter | Crash | Latency | Stall | Pause | Network,
    Field(discriminator="kind"),
]
"""One entry of ``faults:``: the schema is chosen by ``kind`` (and, for network faults, ``toxic``)."""


def clean_fault_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the union tags pydantic puts in error paths (``faults.0.latency.delay`` ->
    ``faults.0.delay``) so that paths match the YAML."""
    if len(loc) < 3 or loc[0] != "faults" or not isinstance(loc[1], int):
        return loc
    rest = list(loc[2:])
    if rest and rest[0] in KINDS:
        kind = rest.pop(0)
        if kind == "network" and rest and rest[0] in TOXICS:
            rest.pop(0)
    return (*loc[:2], *rest)


_CROSS_REFERENCE = re.compile(r"^faults\.(?P<index>\d+)\.(?P<field>[A-Za-z_]+): (?P<message>.*)$", re.DOTALL)


def refine_fault_error(loc: tuple[Any, ...], error: Mapping[str, Any], message: str) -> tuple[tuple[Any, ...], str]:
    """Say a fault problem the way a person fixes it: an unknown ``kind`` or ``toxic`` at the
    path of that key, with the known names; a cross-reference problem (raised by the
    experiment as a whole) at the path of the fault field it is about, so it gets its line."""
    kind = error.get("type")
    if kind in ("union_tag_invalid", "union_tag_not_found") and loc[:1] == ("faults",):
        ctx = error.get("ctx") or {}
        field = str(ctx.get("discriminator", "'kind'")).strip("'")
        known = ", ".join(TOXICS if field == "toxic" else KINDS)
        if kind == "union_tag_not_found":
            return (*loc, field), f"required field is missing (one of {known})"
        return (*loc, field), f"unknown {field} {ctx.get('tag')!r}; known: {known}"
    if not loc and (match := _CROSS_REFERENCE.match(message)):
        return ("faults", int(match["index"]), match["field"]), match["message"]
    return loc, message


def is_network(fault: Any) -> bool:
    return getattr(fault, "kind", None) == "network"


__all__ = [
    "IN_PROCESS_KINDS",
    "KINDS",
    "NETWORK_ADDRESS_KEYS",
    "OPS",
    "TOXICS",
    "Active",
    "Crash",
    "Delay",
    "ErrorAfter",
    "ErrorBefore",
    "FaultSpec",
    "InProcessFault",
    "Latency",
    "NetBandwidth",
    "NetDown",
    "NetLatency",
    "NetLimitData",
    "NetResetPeer",
    "NetSlicer",
    "NetSlowClose",
    "NetTimeout",
    "NetworkFault",
    "Pause",
    "Stall",
    "clean_fault_loc",
    "is_network",
    "refine_fault_error",
]
