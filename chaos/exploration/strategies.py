"""Strategies: who takes the next step, and which fault hits it.

A strategy is a :class:`~chaos.exploration.driver.Chooser`. Decisions are recorded as
:class:`Decision` (actor name and fault), not as option indices, so that a replay file reads
as a story and shrinking can edit it (drop a fault, move it to another call).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from ..errors import BadInput
from .driver import Driver, Option


@dataclass(frozen=True, slots=True)
class Decision:
    """One choice made at a scheduling point with more than one option."""

    actor: str
    fault: str | None = None
    pause: float = 0.0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"actor": self.actor}
        if self.fault is not None:
            out["fault"] = self.fault
        if self.pause:
            out["pause"] = self.pause
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        return cls(data["actor"], data.get("fault"), float(data.get("pause", 0.0)))


def decision_of(option: Option, driver: Driver) -> Decision:
    return Decision(driver.actors[option.actor].name, option.fault, option.pause)


class Recording:
    """Base of every chooser: remembers the decisions it made, for replay files."""

    def __init__(self) -> None:
        self.decisions: list[Decision] = []

    def pick(self, options: list[Option], driver: Driver) -> int:
        raise NotImplementedError

    def choose(self, options: list[Option], driver: Driver) -> int:
        index = self.pick(options, driver)
        self.decisions.append(decision_of(options[index], driver))
        return index


class ReplayDiverged(BadInput):
    """A replay file's decisions do not fit the execution they are replayed on: the file was
    edited, truncated, or made for another version of the system."""


class Replay(Recording):
    """Re-makes recorded decisions. Where a decision no longer fits (after shrinking edited the
    plan), it keeps the same actor without the fault if it can, else takes the first option.

    ``strict`` (``chaos replay``): a decision that does not fit, or decisions left over or
    missing, raise :class:`ReplayDiverged` naming the step (numbered as in trace.txt), instead
    of replaying something else and reporting on it."""

    def __init__(self, decisions: list[Decision], *, strict: bool = False) -> None:
        super().__init__()
        self.script = decisions
        self.position = 0
        self.strict = strict

    def pick(self, options: list[Option], driver: Driver) -> int:
        if self.position >= len(self.script):
            if self.strict:
                raise ReplayDiverged(
                    f"replay diverged at step {len(driver.steps) + 1}: the file's decisions end "
                    "before the execution does"
                )
            return 0
        wanted = self.script[self.position]
        self.position += 1
        fallback = 0
        for index, option in enumerate(options):
            decision = decision_of(option, driver)
            if decision == wanted:
                return index
            if decision.actor == wanted.actor and option.fault is None:
                fallback = index
        if self.strict:
            offered = ", ".join(sorted({_describe(decision_of(o, driver)) for o in options}))
            raise ReplayDiverged(
                f"replay diverged at step {len(driver.steps) + 1}: the file says "
                f"{_describe(wanted)}, the execution offers {offered}"
            )
        return fallback

    def finish(self, step: int) -> None:
        """After the execution (``step``: the number its next step would have had): in strict
        mode, every recorded decision must have been used."""
        if self.strict and self.position < len(self.script):
            raise ReplayDiverged(
                f"replay diverged at step {step}: the execution ended with "
                f"{len(self.script) - self.position} recorded decision(s) unused"
            )


def _describe(decision: Decision) -> str:
    fault = f" ({decision.fault}{f' {decision.pause:g}s' if decision.pause else ''})" if decision.fault else ""
    return f"{decision.actor}{fault}"


class DepthFirst(Recording):
    """Follows ``prefix`` (option indices), then always the first option: one path of an
    exhaustive depth-first search over the choice tree."""

    def __init__(self, prefix: list[int]) -> None:
        super().__init__()
        self.prefix = prefix

    def pick(self, options: list[Option], driver: Driver) -> int:
        depth = len(driver.choices)
        return self.prefix[depth] if depth < len(self.prefix) else 0


def _split(options: list[Option]) -> tuple[list[int], list[int]]:
    plain = [i for i, o in enumerate(options) if o.fault is None]
    faulty = [i for i, o in enumerate(options) if o.fault is not None]
    return plain, faulty


class RandomWalk(Recording):
    """Uniform among the actors that can step; a fault with probability ``fault_rate`` where
    one is possible."""

    def __init__(self, rng: random.Random, fault_rate: float) -> None:
        super().__init__()
        self.rng = rng
        self.fault_rate = fault_rate

    def pick(self, options: list[Option], driver: Driver) -> int:
        plain, faulty = _split(options)
        if faulty and self.rng.random() < self.fault_rate:
            return self.rng.choice(faulty)
        return self.rng.choice(plain)


class PCT(Recording):
    """Probabilistic concurrency testing (Burckhardt et al.): actors get random distinct
    priorities, the highest-priority actor that can step always does, and at ``depth`` random
    step numbers the running actor drops to the lowest priority. It finds ordering bugs of
    small depth with a probability that does not shrink with the length of the execution."""

    def __init__(self, rng: random.Random, fault_rate: float, depth: int, horizon: int) -> None:
        super().__init__()
        self.rng = rng
        self.fault_rate = fault_rate
        self.priorities: dict[int, float] = {}
        self.change_points = set(rng.sample(range(1, max(horizon, depth + 1) + 1), depth))
        self.step = 0
        self.lowest = 0.0

    def pick(self, options: list[Option], driver: Driver) -> int:
        self.step += 1
        for option in options:
            if option.actor not in self.priorities:
                self.priorities[option.actor] = 1.0 + self.rng.random()
        best = max({o.actor for o in options}, key=lambda a: self.priorities[a])
        if self.step in self.change_points:
            self.lowest -= 1.0
            self.priorities[best] = self.lowest
            best = max({o.actor for o in options}, key=lambda a: self.priorities[a])
        mine = [i for i, o in enumerate(options) if o.actor == best]
        faulty = [i for i in mine if options[i].fault is not None]
        if faulty and self.rng.random() < self.fault_rate:
            return self.rng.choice(faulty)
        return next(i for i in mine if options[i].fault is None)
