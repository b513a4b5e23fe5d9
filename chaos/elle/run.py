"""Running the transactional check a ``checks:`` entry names."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chaos.history import Operation

from .bank import check_bank
from .list_append import check
from .result import ElleResult
from .spec import BankCheckSpec, ElleCheckSpec, parse_spec


def run_check(
    entry: Mapping[str, Any] | ElleCheckSpec | BankCheckSpec, operations: Iterable[Operation], where: str = "checks"
) -> ElleResult:
    """Run the check ``entry`` names on ``operations``."""
    spec = parse_spec(entry, where)
    if isinstance(spec, ElleCheckSpec):
        return check(operations, spec.consistency, time_limit=spec.time_limit)
    return check_bank(operations, spec.total, accounts=spec.accounts, negative_balances=spec.negative_balances)


__all__ = ["run_check"]
