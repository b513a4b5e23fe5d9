"""What every profile design shares: the request shape, encodings, and the rule that a write
which has taken a step cannot report a definite failure."""

from __future__ import annotations

from typing import Any

from adapters import DefiniteError

from ...system import Env, OperationUnknown
from .explain import explain


class PartialWrite(OperationUnknown):
    """A later step of a write failed after an earlier step took effect: the outcome is
    unknown to the client (the history records ``info``), whatever the store said."""


class ProfileServer:
    """Base of every design: binds the two stores and shapes the workload's requests."""

    roles = ("db", "blobs")

    def __init__(self, env: Env) -> None:
        self.env = env
        self.db = env.stores["db"]
        self.blobs = env.stores["blobs"]
        self.clock = env.clock

    explain = staticmethod(explain)
    """Tells a violation in words (see :mod:`.explain`)."""

    @staticmethod
    def request(f: str, key: Any, n: int, expected: Any) -> Any:
        """Write ``[m<n>, i<n>]``: every metadata and image unique, so a mixed pair is visible."""
        return [f"m{n}", f"i{n}"] if f == "write" else None

    @staticmethod
    async def after_first_step(step: Any) -> Any:
        """Await a write's later step, turning a definite store error into an unknown outcome."""
        try:
            return await step
        except DefiniteError as exc:
            raise PartialWrite(f"{exc} (after an earlier step took effect)") from exc


def text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode()
