"""Names a package exports, imported when first used.

A package's ``__init__`` that imports its modules eagerly makes every import of any one of
them pay for all: ``chaos validate`` would load the checker, the fault layer's asyncio and the
transactional checker to read a YAML file. A package lists its exports by module instead, and
this module's ``__getattr__`` imports each on first use (PEP 562).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def exports(package: str, names: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose public ``names`` map to the
    modules (absolute, or relative to the package when they start with a dot) defining them."""
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value  # the next lookup finds it without this function
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *names})

    return __getattr__, __dir__


__all__ = ["exports"]
