"""The corpus covers every command and every file the tool reads, with at least 250 cases."""

from __future__ import annotations

from .catalogue import ALL
from .corpus import GROUPS, counts


def test_at_least_250_cases_over_every_command() -> None:
    found = counts(ALL)
    assert sum(found.values()) >= 250, found
    assert all(found[group] > 0 for group in GROUPS), found


def test_case_ids_are_unique() -> None:
    ids = [case.id for case in ALL]
    assert len(ids) == len(set(ids))
