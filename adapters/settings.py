"""Settings shared by the real adapters, and how their problems are reported.

Every backend validates its ``settings:`` mapping with a pydantic model derived from
:class:`CommonSettings`, so that the options every store has (``keep``, ``reuse``,
``connect_timeout``, ``retry``) are spelled and checked the same way everywhere. A bad setting
is a :class:`~adapters.errors.ConfigError` whose message is one line naming the setting and the
problem, but never the value: values may come from ``${ENV}`` interpolation and be secrets.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError
from .units import Duration, Integer, Number


class RetryPolicy(BaseModel):
    """``retry:`` in a store's settings: how often a failed primitive is tried again.

    Only errors that are safe to retry are retried (see :mod:`adapters.retry`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    attempts: Integer = Field(default=3, ge=1, le=100)
    """Total tries, the first included."""
    backoff: Duration = 0.05
    """Wait before the first retry; each later wait is ``multiplier`` times longer."""
    multiplier: Number = Field(default=2.0, ge=1.0)
    max_backoff: Duration = 1.0
    """No wait is longer than this."""
    jitter: bool = True
    """Add up to one ``backoff`` of random wait, so that workers that failed together do not
    retry in lockstep."""
    indefinite_reads: bool = True
    """Also retry reads (``get``, ``list``, http operations marked idempotent) whose outcome
    was unknown. Writes are never retried after an indefinite error."""


class CommonSettings(BaseModel):
    """Options every real adapter takes."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    keep: bool = False
    """Leave the run's data (table, objects) in place at close, for inspection."""
    reuse: bool = False
    """Open even if the run's namespace already holds data (otherwise ``NamespaceNotEmpty``)."""
    connect_timeout: Number = Field(default=10.0, gt=0)
    """Seconds ``open()`` may take before it fails with ``ConnectError``. A plain number,
    because the runner reads it too."""
    retry: RetryPolicy | None = None
    """Retry policy; no retries when omitted."""


Settings = TypeVar("Settings", bound=BaseModel)


def validate_settings(model: type[Settings], settings: dict[str, Any] | None, kind: str) -> Settings:
    """``settings`` validated against ``model``, or a one-line :class:`ConfigError` listing every
    problem by setting name (pydantic's own text quotes the input, which may be a secret)."""
    try:
        return model.model_validate(settings or {})
    except ValidationError as exc:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for error in exc.errors(include_url=False, include_input=False):
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown setting"
            elif error["type"] == "missing":
                message = "required setting is missing"
            problems.append((tuple(error["loc"]), message))
        text = "; ".join(f"{'.'.join(str(p) for p in loc) or 'settings'}: {message}" for loc, message in problems)
        raise ConfigError(f"{kind} settings: {text}", problems=problems) from None
