"""Units: the project's one syntax for durations and sizes, in settings, experiments and faults.

Durations are seconds: a number, or a string with a unit (``250us``, ``500ms``, ``10s``,
``2m``, ``1.5h``, ``1d``). Sizes are bytes: a number, or a string with an SI unit, powers of 1000
(``KB``, ``MB``, ``GB``, ``TB``: ``64KB`` is 64,000 bytes, as Toxiproxy's rates are), or an
IEC unit, powers of 1024 (``KiB``, ``MiB``, ``GiB``, ``TiB``). Plain numbers
(:data:`Integer`, :data:`Number`) are never booleans.

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


def not_a_bool(value: Any) -> Any:
    """A number as a file writes it: pydantic would read ``true`` as 1, and YAML reads ``yes``,
    ``no``, ``on`` and ``off`` as booleans, so ``concurrency: yes`` would silently be 1."""
    if isinstance(value, bool):
        raise ValueError("expected a number, not true or false (YAML reads yes, no, on and off as booleans)")
    return value


if TYPE_CHECKING:
    Duration = Annotated[float, "seconds"]
    """Seconds, as a number or a string with a unit (``us``, ``ms``, ``s``, ``m``, ``h``, ``d``)."""
    Size = Annotated[int, "bytes"]
    """Bytes, as a number or a string with a unit (``KB`` = 1000, ``KiB`` = 1024, ...)."""
    Integer = Annotated[int, "never a boolean"]
    """An integer, never a boolean."""
    Number = Annotated[float, "never a boolean"]
    """A number, never a boolean."""


_TYPES: dict[str, tuple[type, Any]] = {
    "Duration": (float, parse_duration),
    "Size": (int, parse_size),
    "Integer": (int, not_a_bool),
    "Number": (float, not_a_bool),
}


def __getattr__(name: str) -> Any:
    """``Duration``, ``Size``, ``Integer`` and ``Number``, the pydantic types of schemas, made
    when a schema asks: a command that only parses a size (``chaos check --memory-limit``)
    does not load pydantic."""
    if name not in _TYPES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from pydantic import BeforeValidator

    kind, parse = _TYPES[name]
    value: Any = Annotated[kind, BeforeValidator(parse)]
    globals()[name] = value
    return value


__all__ = ["Duration", "Integer", "Number", "Size", "not_a_bool", "parse_duration", "parse_size"]
