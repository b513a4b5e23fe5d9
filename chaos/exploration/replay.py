"""Replay files: one execution of an exploration, written down so that it runs again exactly.

A replay file (``replay.json`` in the run directory) holds everything an execution depends
on: the experiment as written, the plan (each server's requests) and the decisions (which
actor stepped at each scheduling point, with which fault). ``chaos replay FILE`` re-executes
it and writes the same history, byte for byte, on any machine: the driver has no wall clock,
no event loop and no randomness of its own.

A replay is strict: a file whose decisions do not fit the execution (edited, truncated, made
for another version of the system) stops with "replay diverged at step N" instead of replaying
something else and reporting on that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import msgspec

from .. import encoding
from ..errors import BadInput
from ..experiment import LoadedExperiment, loads
from ..preflight import preflight
from .driver import Interleaving, Plan, PlannedOp, _hours
from .explorer import Explorer, Found
from .strategies import Decision, Replay, ReplayDiverged

FORMAT = "asyncchaos-replay/1"


class ReplayFileError(BadInput):
    """A replay file that cannot be read: the message names the file and the field."""


_Seconds = Annotated[float, msgspec.Meta(ge=0)]
"""A wait in system seconds (a negative one would move virtual time backwards)."""


class _Op(msgspec.Struct, forbid_unknown_fields=True):
    f: str
    key: str
    value: Any = None
    idle: _Seconds = 0.0


class _Decision(msgspec.Struct, forbid_unknown_fields=True):
    actor: str
    fault: str | None = None
    pause: _Seconds = 0.0


class _Document(msgspec.Struct, forbid_unknown_fields=True):
    format: str
    experiment: str
    plan: list[list[_Op]]
    decisions: list[_Decision]
    seed: int = 0
    trace: list[str] | None = None
    """The execution's numbered trace as it was recorded: a decision edited into another one
    the execution also offers fits every step, and only what the steps then did tells."""


def replay_document(raw_text: str, seed: int, found: Found) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "seed": seed,
        "experiment": raw_text,
        "plan": found.execution.plan.to_json(),
        "decisions": [d.to_json() for d in found.decisions],
        "trace": trace_lines(found.execution),
    }


def trace_lines(execution: Interleaving) -> list[str]:
    """The numbered story of an execution, like the seed page's trace table."""
    width = max((len(s.actor) for s in execution.steps), default=8)
    lines = []
    for step in execution.steps:
        flag = f"  <- {step.fault}" if step.fault and step.fault != "pause" else ""
        lines.append(f"{step.number:>3}. {_hours(step.time):>6}  {step.actor:<{width}}  {step.what}{flag}")
    return lines


def write_history(path: Path, events: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(encoding.dumps(e) + b"\n" for e in events))


def load_replay(path: Path) -> tuple[LoadedExperiment, Plan, list[Decision], int, list[str] | None]:
    """Read and validate a replay file, field by field (the trace is None in files written
    before replay files recorded it)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ReplayFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        document = msgspec.json.decode(data, type=_Document)
    except msgspec.ValidationError as exc:
        raise ReplayFileError(f"{path}: not a replay file: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ReplayFileError(f"{path}: not a replay file (malformed or truncated JSON: {exc})") from None
    except RecursionError:  # msgspec recurses once per nesting level of a free-form value
        raise ReplayFileError(f"{path}: not a replay file (nested too deeply)") from None
    if document.format != FORMAT:
        raise ReplayFileError(f"{path}: not a replay file (format {document.format!r}, expected {FORMAT})")
    loaded = loads(document.experiment, f"{path}#experiment")
    preflight(loaded)  # its system, models and stores, as chaos run checks them
    if loaded.experiment.mode != "explore":
        raise ReplayFileError(
            f"{path}: not a replay file (its experiment has mode: {loaded.experiment.mode}, "
            "and only an exploration is replayed)"
        )
    plan = Plan(tuple(tuple(PlannedOp(o.f, o.key, o.value, o.idle) for o in ops) for ops in document.plan))
    decisions = [Decision(d.actor, d.fault, d.pause) for d in document.decisions]
    experiment = loaded.experiment
    servers = experiment.system.servers or 1
    if len(plan.servers) != servers:
        raise ReplayDiverged(f"{path}: the plan has {len(plan.servers)} server(s), the experiment {servers}")
    return loaded, plan, decisions, document.seed, document.trace


def replay(
    loaded: LoadedExperiment, plan: Plan, decisions: list[Decision], seed: int, trace: list[str] | None = None
) -> Interleaving:
    """Re-execute ``plan`` with exactly ``decisions`` and, when the file recorded its trace,
    check that every step did what it did then (raises :class:`ReplayDiverged`)."""
    explorer = Explorer(loaded.experiment, seed)
    unknown = sorted({op.f for ops in plan.servers for op in ops} - set(explorer.kinds))
    if unknown:
        raise ReplayDiverged(
            f"replay diverged at step 1: the plan asks for {', '.join(unknown)}, which the "
            f"experiment does not explore ({', '.join(explorer.kinds)})"
        )
    chooser = Replay(decisions, strict=True)
    execution = explorer.execute(plan, chooser)
    chooser.finish(len(execution.steps) + 1)
    if execution.failure is not None:
        raise execution.failure
    if trace is not None:
        _same_steps(trace, trace_lines(execution))
    return execution


def _same_steps(recorded: list[str], replayed: list[str]) -> None:
    """Raise :class:`ReplayDiverged` at the first step (trace.txt's numbering) where the replay
    did something else than the recorded execution."""
    for number, (want, got) in enumerate(zip(recorded, replayed, strict=False), 1):
        if want.split() != got.split():
            raise ReplayDiverged(
                f"replay diverged at step {number}: the file recorded {_step(want)!r}, the execution did {_step(got)!r}"
            )
    if len(recorded) != len(replayed):
        raise ReplayDiverged(
            f"replay diverged at step {min(len(recorded), len(replayed)) + 1}: the file recorded "
            f"{len(recorded)} steps, the execution took {len(replayed)}"
        )


def _step(line: str) -> str:
    """A trace line without its number: ``0s server-0 blobs.put(u1, i1) <- crash-before``."""
    return " ".join(line.split()[1:])


__all__ = ["FORMAT", "ReplayFileError", "load_replay", "replay", "replay_document", "trace_lines", "write_history"]
