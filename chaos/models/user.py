"""A user's own model: found by name (``"myapp.models:counter"``), and its calls guarded.

``load_model("pkg.module:attr")`` imports ``pkg.module`` (the working directory is importable,
as it is for ``python -m``) and returns its ``attr``, which must be a :class:`Model`. Every way
that can fail is a :class:`ModelLoadError` with a one-line message.

``guard(model)`` wraps a user model's functions so that an exception in them stops the check
as a :class:`ModelError` naming the model, the hook, the operation and the user's file and line,
instead of a traceback through the checker's internals. Built-in models are not wrapped: their
functions are trusted and on the hot path.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chaos.history import Operation
from chaos.models.base import Model
from chaos.models.errors import ModelError, ModelLoadError, OperationError

BUILTIN_MODULES = "chaos.models."


def load_model(spec: str) -> Model:
    """The :class:`Model` that ``"module:attribute"`` names (``attribute`` may be dotted)."""
    module_name, _, attr = spec.partition(":")
    module_name = module_name.strip()
    attr = attr.strip()
    if not module_name or not attr:
        raise ModelLoadError(f"model {spec!r}: write a user model as module:attribute, e.g. myapp.models:counter")
    cwd = str(Path.cwd())
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ModelLoadError(
                f"model {spec!r}: no module {exc.name!r} (is it on PYTHONPATH, or run from its directory?)"
            ) from None
        raise ModelLoadError(f"model {spec!r}: importing {module_name} failed: {exc}") from None
    except Exception as exc:
        raise ModelLoadError(f"model {spec!r}: importing {module_name} raised {type(exc).__name__}: {exc}") from None
    value: Any = module
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise ModelLoadError(f"model {spec!r}: {module_name} has no attribute {attr!r}") from None
    if not isinstance(value, Model):
        raise ModelLoadError(
            f"model {spec!r} is a {type(value).__name__}, not a chaos.models.Model; "
            "build one with Model(name=..., init=..., step=...)"
        )
    return value


def is_builtin(model: Model) -> bool:
    """True for the built-in models, whose functions are not wrapped."""
    return (getattr(model.step, "__module__", None) or "").startswith(BUILTIN_MODULES)


def guard(model: Model) -> Model:
    """``model`` with every function wrapped to raise :class:`ModelError` (see the module
    docstring); built-in models are returned as they are."""
    if is_builtin(model):
        return model
    name = model.name
    changes: dict[str, Any] = {}
    for hook in ("step", "successors"):
        fn = getattr(model, hook)
        if fn is not None:
            changes[hook] = _state_op(name, hook, fn)
    for hook in ("partition", "describe_op", "read_only", "effect", "pins"):
        fn = getattr(model, hook)
        if fn is not None:
            changes[hook] = _op_only(name, hook, fn)
    for hook in ("init", "describe_state", "initial", "prepare", "impossible"):
        fn = getattr(model, hook)
        if fn is not None:
            changes[hook] = _plain(name, hook, fn)
    return dataclasses.replace(model, **changes)


def _state_op(name: str, hook: str, fn: Callable[[Any, Operation], Any]) -> Callable[[Any, Operation], Any]:
    @functools.wraps(fn)
    def wrapped(state: Any, op: Operation) -> Any:
        try:
            return fn(state, op)
        except OperationError:
            raise
        except Exception as exc:
            raise ModelError(name, hook, exc, op) from exc

    return wrapped


def _op_only(name: str, hook: str, fn: Callable[[Operation], Any]) -> Callable[[Operation], Any]:
    @functools.wraps(fn)
    def wrapped(op: Operation) -> Any:
        try:
            return fn(op)
        except OperationError:
            raise
        except Exception as exc:
            raise ModelError(name, hook, exc, op) from exc

    return wrapped


def _plain(name: str, hook: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapped(*args: Any) -> Any:
        try:
            return fn(*args)
        except OperationError:
            raise
        except ValueError as exc:
            if hook == "prepare":  # the documented way for prepare to refuse an operation
                raise OperationError(f"model {name!r}: {exc}") from exc
            raise ModelError(name, hook, exc) from exc
        except Exception as exc:
            raise ModelError(name, hook, exc) from exc

    return wrapped
