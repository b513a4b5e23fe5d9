"""One check of a history, by the experiment's spec: linearizability against a model, or a
transactional check (:mod:`chaos.elle`). The run's check stage and the exploration's judge of
each execution both go through here, so an exploration judges what the run would: every check
of the experiment, with its ``init`` and its limits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .checker import check
from .elle.run import run_check as run_transactional
from .elle.spec import BankCheckSpec, ElleCheckSpec
from .experiment import CheckSpec
from .history import Operation

if TYPE_CHECKING:
    from .result import Check

AnySpec = CheckSpec | ElleCheckSpec | BankCheckSpec


def run_spec(operations: list[Operation], spec: AnySpec) -> Check:
    """The verdict of one check on ``operations``."""
    if isinstance(spec, CheckSpec):
        init = {"init": spec.init} if "init" in spec.model_fields_set else {}
        return check(operations, spec.model, time_limit=spec.time_limit, memory_limit=spec.memory_limit, **init)
    return run_transactional(spec, operations)


def first_failing(operations: list[Operation], specs: Sequence[AnySpec]) -> Check:
    """Every check in turn, up to the first that does not say ``valid``: that one's result, or
    the last check's when all do."""
    result: Check | None = None
    for spec in specs:
        result = run_spec(operations, spec)
        if result.verdict != "valid":
            return result
    assert result is not None, "an experiment has at least one check"
    return result


def check_name(spec: AnySpec) -> str:
    """How a check is named before it has run (an interrupted one, say)."""
    if isinstance(spec, CheckSpec):
        return spec.model
    return f"elle {spec.consistency}" if isinstance(spec, ElleCheckSpec) else "bank"


__all__ = ["AnySpec", "check_name", "first_failing", "run_spec"]
