"""Fault declarations: the ``faults:`` list of an experiment.

Each entry names a kind, a target (store, operation, key pattern) and how often it fires.
Validation happens with the rest of the experiment, so a bad declaration is listed with its
path alongside every other problem in the file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FaultKind = Literal["error-before", "error-after", "crash", "latency", "stall", "pause"]


class FaultSpec(BaseModel):
    """One fault: what it hits, when it is active and how often it fires."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind
    store: str | None = None
    """Name of the targeted store; every store when omitted."""
    op: str | list[str] | None = None
    """Adapter primitive(s) hit: get, put, delete, cas, list, request; all when omitted."""
    key: str | None = None
    """Glob pattern on the call's key (``u*``); all keys when omitted."""
    probability: float | None = Field(None, ge=0, le=1)
    every: int | None = Field(None, ge=1)
    nth: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _one_frequency(self) -> FaultSpec:
        given = [n for n in ("probability", "every", "nth") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError(f"choose one of probability, every, nth (got {', '.join(given)})")
        return self
