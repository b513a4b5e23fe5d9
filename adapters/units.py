"""Units: the project's one syntax for durations and sizes, in settings, experiments and faults.

Durations are seconds: a number, or a string with a unit (``250us``, ``500ms``, ``10s``,
``2m``, ``1.5h``, ``1d``). Sizes are bytes: a number, or a string with an SI unit, powers of 1000
(``KB``, ``MB``, ``GB``, ``TB``: ``64KB`` is 64,000 bytes, as Toxiproxy's rates are), or an
IEC unit, powers of 1024 (``KiB``, ``MiB``, ``GiB``, ``TiB``).

This module lives in ``adapters`` because adapters need it and never import the engine; the
engine imports it from here.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Annotated, Any

_DURATION = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>us|µs|ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {None: 1.0, "us": 1e-6, "µs": 1e-6, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>[kmgt]i?b|b)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
    "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}  # fmt: skip


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string such as ``500ms``, ``10s``, ``2m``, ``1.5h``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 10s, 500ms or 2m")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match["n"]) * _DURATION_UNITS[match["unit"]]
    else:
        raise ValueError("expected a duration such as 10s, 500ms or 2m")
    if not math.isfinite(seconds):
        raise ValueError("a duration must be a finite number")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


def parse_size(value: Any) -> int:
    """Bytes from a number or a string such as ``64KB`` (64,000) or ``1GiB`` (2**30)."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str) and (match := _SIZE.match(value)):
        size = int(float(match["n"]) * _SIZE_UNITS[(match["unit"] or "b").lower()])
    else:
        raise ValueError("expected a size such as 64KB, 512MB or 1GiB")
    if size < 0:
        raise ValueError("a size cannot be negative")
    return size


if TYPE_CHECKING:
    Duration = Annotated[float, "seconds"]
    """Seconds, as a number or a string with a unit (``us``, ``ms``, ``s``, ``m``, ``h``, ``d``)."""
    Size = Annotated[int, "bytes"]
    """Bytes, as a number or a string with a unit (``KB`` = 1000, ``KiB`` = 1024, ...)."""


def __getattr__(name: str) -> Any:
    """``Duration`` and ``Size``, the pydantic types of schemas, made when a schema asks: a
    command that only parses a size (``chaos check --memory-limit``) does not load pydantic."""
    if name not in ("Duration", "Size"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from pydantic import BeforeValidator

    value: Any = (
        Annotated[float, BeforeValidator(parse_duration)]
        if name == "Duration"
        else Annotated[int, BeforeValidator(parse_size)]
    )
    globals()[name] = value
    return value

__all__ = ["Duration", "Size", "parse_duration", "parse_size"]
