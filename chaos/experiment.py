"""Experiments: the YAML a user writes, validated into typed objects in one pass.

Loading does three things, in order, collecting every problem instead of stopping at the
first: parse the YAML keeping each node's line, interpolate ``${ENV_VAR}`` references (their
values become secrets, see :mod:`chaos.secrets`), and validate against the pydantic schema
below. :class:`ExperimentError` carries all problems, each with its path and line, so that
one run of ``chaos validate`` shows everything wrong with a file.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator

from adapters.units import Duration, Integer, Number, Size

from .elle.spec import BankCheckSpec, ElleCheckSpec
from .errors import BadInput
from .faults.spec import NETWORK_ADDRESS_KEYS, FaultSpec, NetworkFault, clean_fault_loc, refine_fault_error
from .secrets import Secrets, is_secret_name
from .yaml_loader import YamlProblem, load_yaml

# --------------------------------------------------------------------------------------------
# Schema


MAX_KEYS = 1_000_000
"""More keys than any workload can revisit: every key must see many operations to test anything."""
MIN_TIME_SCALE = 0.001
"""A system second lasting more than 1,000 wall seconds: a one-second delay would outlast the run."""
MAX_TIME_SCALE = 1e9
"""Thirty system years a wall second."""
MAX_PLANNED_SECONDS = 365 * 86400
"""Operations at a rate that cannot finish within a year, with no duration to end the run."""


class Strict(BaseModel):
    """Every schema object rejects unknown keys: a typo is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class StoreSpec(Strict):
    """One named store: which adapter, and its settings (passed to the adapter untouched)."""

    adapter: str
    settings: dict[str, Any] = Field(default_factory=dict)


class SystemSpec(Strict):
    """The system under test: a built-in name or ``module:attr`` of the user's own code."""

    name: str
    servers: Integer | None = Field(default=None, ge=1, le=100_000)
    """How many instances ("servers") run the same code, each taking one request at a time;
    workers are spread over them. One per worker when omitted."""
    stores: dict[str, str] = Field(default_factory=dict)
    """Role the system expects -> name of a store in ``stores:``. May be omitted when the
    system needs one store and the experiment declares one."""
    options: dict[str, Any] = Field(default_factory=dict)
    unexpected_errors: Literal["stop", "info"] = "stop"
    """What an exception from the system's own code in an operation does (one that is not an
    adapter error, ``OperationFailed``, ``OperationUnknown``, a timeout or an injected crash):
    ``stop`` the run as a bug in the experiment (exit 3), or record it as ``info``, Jepsen's
    way, counted by type in the results."""


class WorkloadSpec(Strict):
    """What the workers ask for."""

    keys: int | list[str] = Field(default=1)
    """A number of keys (named ``k0``, ``k1``...) or the key names (at most :data:`MAX_KEYS`)."""
    mix: dict[str, Annotated[Number, Field(allow_inf_nan=False)]] = Field(
        default_factory=lambda: {"read": 1.0, "write": 1.0}
    )
    """Operation name -> relative weight (finite: a NaN weight would reach ``random.choices``)."""
    rate: Number | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Operations per second over all workers; unbounded when omitted."""
    operation_timeout: Duration | None = None
    """An operation running longer is abandoned and recorded as ``info``."""

    @field_validator("keys", mode="before")
    @classmethod
    def _keys_shape(cls, keys: Any) -> Any:
        """One message for the union (pydantic would name each branch, ``keys.int`` and all)."""
        if isinstance(keys, list):
            if not all(isinstance(k, str) for k in keys):
                raise ValueError("key names must be strings")
        elif not isinstance(keys, int) or isinstance(keys, bool):
            raise ValueError("expected a number of keys or a list of key names")
        return keys

    @field_validator("keys")
    @classmethod
    def _keys(cls, keys: int | list[str]) -> int | list[str]:
        if isinstance(keys, int) and keys < 1:
            raise ValueError("at least one key is needed")
        if (keys if isinstance(keys, int) else len(keys)) > MAX_KEYS:
            raise ValueError(f"at most {MAX_KEYS:,} keys")
        if isinstance(keys, list) and (not keys or len(set(keys)) != len(keys)):
            raise ValueError("keys must be a non-empty list of distinct names")
        return keys

    @field_validator("mix")
    @classmethod
    def _mix(cls, mix: dict[str, float]) -> dict[str, float]:
        if not mix or any(w < 0 for w in mix.values()) or sum(mix.values()) <= 0:
            raise ValueError("mix needs at least one operation with a positive weight, and none negative")
        if not math.isfinite(sum(mix.values())):
            raise ValueError("the weights add up to more than a float holds: use smaller numbers (only ratios count)")
        return mix

    def key_names(self) -> list[str]:
        return [f"k{i}" for i in range(self.keys)] if isinstance(self.keys, int) else list(self.keys)


class CheckSpec(Strict):
    """One linearizability check of the history, against a model."""

    type: Literal["linearizability"] = "linearizability"
    model: str
    time_limit: Duration | None = Field(default=None, gt=0)
    """Seconds before the verdict is unknown (default 10 minutes)."""
    memory_limit: Size | None = Field(default=None, gt=0)
    """Memory the check may use (default half the RAM, at most 8 GiB)."""
    init: Any = None
    """The model's initial state, when it is not the model's own: ``0`` for a register that
    starts at 0, ``{x: 0, y: 0}`` per key (Knossos' histories start so). Only when given."""


def _check_type(entry: Any) -> str:
    """Which kind of check a ``checks:`` entry is: its ``type``, linearizability by default."""
    kind = entry.get("type", "linearizability") if isinstance(entry, dict) else getattr(entry, "type", None)
    return kind if isinstance(kind, str) else "linearizability"


AnyCheck = Annotated[
    Annotated[CheckSpec, Tag("linearizability")]
    | Annotated[ElleCheckSpec, Tag("elle")]
    | Annotated[BankCheckSpec, Tag("bank")],
    Discriminator(_check_type),
]
"""A ``checks:`` entry: linearizability against a model, Elle's transactional check, or
Jepsen's bank check (see :mod:`chaos.elle`)."""


class ExploreSpec(Strict):
    """``mode: explore``: drive the system with the controlled scheduler on in-memory stores
    instead of running workers against real time (see :mod:`chaos.exploration`)."""

    strategy: Literal["exhaustive", "random", "pct"] = "exhaustive"
    max_operations: Integer = Field(default=3, ge=1, le=12)
    """Operations per execution (exhaustive: every count from 1 up to this)."""
    operations: list[str] | None = None
    """Operation names to explore; the workload mix's when omitted."""
    crashes: Integer = Field(default=1, ge=0, le=8)
    """Crashes one execution may contain (each before or after a store call)."""
    pauses: list[Duration] = Field(default_factory=list)
    """Durations a server may pause for, at any store call."""
    max_pauses: Integer = Field(default=1, ge=0, le=8)
    idle: list[Duration] = Field(default_factory=list)
    """Think times a server may wait before a request."""
    max_idle: Integer = Field(default=2, ge=0, le=8)
    executions: Integer = Field(default=200_000, ge=1)
    """Budget of executions (random and pct stop at the first violation or here)."""
    max_steps: Integer = Field(default=400, ge=10)
    """Steps one execution may take; an execution cut short leaves the exploration unknown."""
    actor_steps: Integer = Field(default=8, ge=0, le=1000)
    """Steps (store calls, clock reads) a background actor may take without sleeping on the
    clock before it is parked for the rest of the execution: an actor looping on store calls
    interleaves with the servers, and executions still end."""
    time_limit: Duration = Field(default=120.0, gt=0)
    depth: Integer = Field(default=3, ge=0, le=20)
    """PCT: number of priority change points."""
    fault_rate: Number = Field(default=0.1, ge=0, le=1)
    """random / pct: chance that a step where a fault is possible gets one."""
    shrink: bool = True


class Experiment(Strict):
    """A whole experiment file."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    """Names the run directory (``runs/<name>/``) and the stores' namespace: a file name."""
    description: str = ""
    seed: Integer | None = None
    """Seeds every random choice; printed and stored, chosen at random when omitted."""
    duration: Duration | None = Field(default=None, gt=0)
    operations: Integer | None = Field(default=None, ge=1, le=100_000_000)
    """Operations to run (at most 100 million: each keeps a latency for the statistics; a
    longer run is a ``duration``)."""
    concurrency: Integer = Field(default=4, ge=1, le=100_000)
    """Number of async workers (clients), each with at most one operation outstanding."""
    time_scale: Number = Field(default=1.0, ge=MIN_TIME_SCALE, le=MAX_TIME_SCALE, allow_inf_nan=False)
    """System seconds per wall second for the framework's clock (3600 = an hour a second)."""
    memory_limit: Size | None = Field(default=None, gt=0)
    """Memory the run's process may use (its resident set); reaching it stops the run, whose
    outcome is then unknown. Default: half the machine's RAM, at most 8 GiB."""
    clock: Literal["scaled", "virtual"] = "scaled"
    """``virtual``: system time stands still while anything can run and jumps to the next
    wake-up when every task waits (in-memory stores only; see :class:`chaos.clock.VirtualClock`)."""
    stores: dict[str, StoreSpec]
    system: SystemSpec
    workload: WorkloadSpec = Field(default_factory=WorkloadSpec)
    faults: list[FaultSpec] = Field(default_factory=list)
    checks: list[AnyCheck] = Field(min_length=1)
    expect: Literal["valid", "invalid"] = "valid"
    strict: bool = False
    """Treat health warnings (an operation that never succeeded, faults that never fired...)
    as an unknown outcome, exit 2, as ``chaos run --strict`` does."""
    mode: Literal["run", "explore"] = "run"
    explore: ExploreSpec = Field(default_factory=ExploreSpec)
    secrets: list[Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]] = Field(default_factory=list)
    """Environment variables whose values are secrets whatever their names (Chaos Toolkit's
    ``secrets``): masked wherever they appear, beside those named like secrets."""

    @field_validator("system", mode="before")
    @classmethod
    def _system_shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    def reference_problems(self) -> list[tuple[tuple[Any, ...], str]]:
        """Problems between parts of a valid file (a name that refers to nothing, settings that
        do not fit together), each with its path: all of them, not just the first."""
        found: list[tuple[tuple[Any, ...], str]] = []
        if self.mode == "run" and self.duration is None and self.operations is None:
            found.append(((), "set duration, operations, or both, so that the run ends"))
        rate = self.workload.rate
        if self.mode == "run" and self.duration is None and self.operations and rate:
            seconds = self.operations / rate
            if seconds > MAX_PLANNED_SECONDS:
                found.append(
                    (
                        ("workload", "rate"),
                        f"{self.operations:,} operations at {rate:g} per second take "
                        f"{seconds / 86400:,.0f} days: set a duration, or a higher rate",
                    )
                )
        memory_only = [n for n, s in self.stores.items() if s.adapter != "memory"]
        if self.mode == "explore" and memory_only:
            found.append(
                (
                    ("mode",),
                    f"mode: explore drives in-memory stores only; stores {', '.join(memory_only)} are not memory",
                )
            )
        if self.mode == "explore":
            for i, check in enumerate(self.checks):
                if not isinstance(check, CheckSpec):
                    found.append(
                        (
                            ("checks", i, "type"),
                            f"mode: explore checks linearizability only; a {check.type} check judges "
                            "transactions, which the exploration's scheduler does not drive: use mode: run",
                        )
                    )
        if self.clock == "virtual" and memory_only:
            found.append((("clock",), f"clock: virtual time needs in-memory stores ({', '.join(memory_only)} is not)"))
        if not self.stores:
            found.append((("stores",), "at least one store is needed"))
        for role, store in self.system.stores.items():
            if store not in self.stores:
                found.append((("system", "stores", role), f"no store named {store!r} in stores"))
        for i, fault in enumerate(self.faults):
            target = getattr(fault, "store", None)
            if target is not None and target not in self.stores:
                found.append((("faults", i, "store"), f"no store named {target!r} in stores"))
            elif isinstance(fault, NetworkFault):
                spec = self.stores[fault.store]
                if not any(isinstance(spec.settings.get(k), str) for k in NETWORK_ADDRESS_KEYS):
                    found.append(
                        (
                            ("faults", i, "store"),
                            f"store {fault.store!r} ({spec.adapter}) has no server "
                            f"address ({', '.join(NETWORK_ADDRESS_KEYS)}) to put a proxy in front of",
                        )
                    )
        return found


# --------------------------------------------------------------------------------------------
# Loading


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an experiment file."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return _one_line(f"{where}{self.path or '(top)'}: {self.message}")


def _one_line(text: str) -> str:
    """A line break in a key or a message (a key ``"a\\nb"``, an exception's text) would split
    a problem over two lines of the list: shown as an escape instead."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


class ExperimentError(BadInput):
    """Every problem found in an experiment file."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        if len(problems) == 1 and not problems[0].path and problems[0].line is None:
            # about the whole file (unreadable, too large, not text): one line, like any error
            super().__init__(f"{source}: {problems[0].message}")
            return
        lines = [f"{source}: {len(problems)} problem{'s' if len(problems) != 1 else ''}"]
        lines += [f"  {p}" for p in problems]
        super().__init__("\n".join(lines))

    def render(self) -> str:
        text = str(self)  # the file and its problem list: it names itself
        return text if "\n" in text else f"error: {text}"


@dataclass(frozen=True)
class LoadedExperiment:
    """A validated experiment with what is needed to store it safely."""

    experiment: Experiment
    source: str
    raw_text: str
    """The file as written: ``${VAR}`` references, not their values, so it is safe to store."""
    secrets: Secrets
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)
    """The line of every path in the file, for problems found after loading."""

    def problem(self, path: tuple[Any, ...], message: str) -> Problem:
        """A problem at ``path`` of this file, with its line."""
        return Problem(_format_loc(path), _nearest_line(path, self.lines), message)


_ENV = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def _interpolate(
    value: Any,
    path: tuple[Any, ...],
    secrets: Secrets,
    problems: list[tuple[Any, ...]],
    named: frozenset[str] = frozenset(),
) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string; unset variables are problems.
    The values of variables named like secrets, or listed in ``named``, become secrets."""
    if isinstance(value, dict):
        return {k: _interpolate(v, (*path, k), secrets, problems, named) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*path, i), secrets, problems, named) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match["name"], match["default"]
        found = os.environ.get(name)
        if found is None:
            if default is None:
                problems.append((path, f"environment variable {name} is not set"))
                return ""
            found = default
        elif is_secret_name(name) or name in named:
            secrets.add(found)
        return found

    return _ENV.sub(substitute, value)


def _format_loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


_PYDANTIC_TAG = re.compile(r"\[key\]|[a-z][a-z_-]*\[.*\]|function-.*", re.DOTALL)
"""Tags pydantic puts in error paths: union branches and validators (``list[str]``,
``function-after[...]``, ``literal['auto']``), and ``[key]`` for a mapping's key."""


def _clean_loc(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int] | None = None) -> tuple[Any, ...]:
    """Drop pydantic's union-branch and validator tags so paths match the YAML; a part that is
    a key of the file (``"list[str]": 1``, ``"\\x1b[31m": 1``) is kept whatever it looks like."""
    kept: list[Any] = []
    for part in loc:
        in_file = lines is not None and (*kept, part) in lines
        if in_file or not (isinstance(part, str) and _PYDANTIC_TAG.fullmatch(part)):
            kept.append(part)
    if len(kept) > 2 and kept[0] == "checks" and kept[2] in CHECK_TYPES:
        del kept[2]  # the check's kind, which the file says in its own words
    return clean_fault_loc(tuple(kept))


CHECK_TYPES = ("linearizability", "elle", "bank")


def _nearest_line(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def loads(text: str, source: str = "<string>") -> LoadedExperiment:
    """Validate an experiment from YAML text; raise :class:`ExperimentError` with every problem."""
    try:
        data, lines = load_yaml(text)
    except YamlProblem as exc:
        raise ExperimentError(source, [Problem("", exc.line, exc.message)]) from None
    if not isinstance(data, dict):
        raise ExperimentError(source, [Problem("", 1, "an experiment is a YAML mapping (name:, stores:, ...)")])

    secrets = Secrets()
    env_problems: list[tuple[Any, ...]] = []
    listed = data.get("secrets")
    named = frozenset(n for n in listed if isinstance(n, str)) if isinstance(listed, list) else frozenset()
    for name in named:  # listed secrets are masked even where the file does not use them
        secrets.add(os.environ.get(name) or "")
    data = _interpolate(data, (), secrets, env_problems, named)
    problems = [Problem(_format_loc(p), _nearest_line(p, lines), m) for p, m in env_problems]
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = _clean_loc(tuple(error["loc"]), lines)
            message = error["msg"]
            if message.startswith("Value error, "):
                message = message[len("Value error, ") :]
            if error["type"] == "extra_forbidden":
                message = "unknown key"
            elif error["type"] == "missing":
                message = "required field is missing"
            elif error["type"] == "union_tag_invalid" and loc[:1] == ("checks",):
                loc, message = (*loc, "type"), f"unknown check type; known: {', '.join(CHECK_TYPES)}"
            loc, message = refine_fault_error(loc, error, message)
            problems.append(Problem(_format_loc(loc), _nearest_line(loc, lines), message))
        raise ExperimentError(source, problems) from None
    for loc, message in experiment.reference_problems():
        problems.append(Problem(_format_loc(loc), _nearest_line(loc, lines), message))
    if problems:
        raise ExperimentError(source, problems)
    return LoadedExperiment(experiment=experiment, source=source, raw_text=text, secrets=secrets, lines=lines)


def load(path: str | Path) -> LoadedExperiment:
    """Validate the experiment file at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ExperimentError(str(path), [Problem("", None, f"cannot read file: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise ExperimentError(str(path), [Problem("", None, "not a UTF-8 text file")]) from None
    return loads(text, str(path))
