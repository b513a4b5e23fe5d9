"""The ``checks:`` entries of the transactional checkers, and running one.

An experiment names them beside its linearizability checks::

    checks:
      - {type: elle, consistency: snapshot-isolation}     # list-append histories
      - {type: bank, total: 100}                          # bank histories

:class:`ElleCheckSpec` and :class:`BankCheckSpec` are the schema of those entries (pydantic,
unknown keys refused, as every part of an experiment); :func:`chaos.elle.run.run_check` runs
the one an entry names on a history's operations. This module stays light: the experiment
schema imports it, and ``chaos validate`` should not load the checker to read a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from adapters.units import Duration
from chaos.errors import BadInput

from .consistency import LEVELS, level


class ElleCheckSpec(BaseModel):
    """``{type: elle, consistency: ..., time_limit: ...}``: Elle's list-append check."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    type: Literal["elle"]
    consistency: str = "serializable"
    """``serializable`` (default), ``snapshot-isolation``, ``repeatable-read``,
    ``read-committed`` or ``read-uncommitted``."""
    time_limit: Duration | None = Field(default=None, gt=0)
    """Seconds the witness-cycle search may take (whether each level holds is decided anyway)."""
    workload: Literal["list-append"] = "list-append"

    @field_validator("consistency")
    @classmethod
    def _level(cls, value: str) -> str:
        try:
            return level(value)
        except BadInput:
            raise ValueError(f"unknown consistency level {value!r}; use one of {', '.join(LEVELS)}") from None


class BankCheckSpec(BaseModel):
    """``{type: bank, total: 100}``: Jepsen's bank check."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    type: Literal["bank"]
    total: int | None = None
    """What the balances sum to; taken from the earliest read when omitted."""
    accounts: list[str | int] | None = None
    """The only accounts a read may show (any, when omitted)."""
    negative_balances: bool = False


TxnCheckSpec = Annotated[ElleCheckSpec | BankCheckSpec, Field(discriminator="type")]


def parse_spec(
    entry: Mapping[str, Any] | ElleCheckSpec | BankCheckSpec, where: str = "checks"
) -> ElleCheckSpec | BankCheckSpec:
    """A ``checks:`` entry as its spec; :class:`BadInput` naming the field otherwise."""
    if isinstance(entry, ElleCheckSpec | BankCheckSpec):
        return entry
    kind = entry.get("type")
    model: type[ElleCheckSpec] | type[BankCheckSpec]
    if kind == "elle":
        model = ElleCheckSpec
    elif kind == "bank":
        model = BankCheckSpec
    else:
        raise BadInput(f"{where}.type: {kind!r} is not a transactional check (elle, bank)")
    try:
        return model.model_validate(dict(entry))
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in error["loc"])
        message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"].removeprefix("Value error, ")
        raise BadInput(f"{where}.{field}: {message}") from None
