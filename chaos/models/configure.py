"""Configured models named by a call: ``bank(accounts=8, total=80)``, ``counter(initial=5)``.

An experiment names its model with one string (``checks: [{model: ...}]``, ``chaos check
--model``), so a model with options is named by the call that builds it. The text is parsed as
a Python call whose arguments are keyword literals (numbers, strings, lists, maps), never
evaluated: nothing in an experiment file runs as code.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from chaos.errors import BadInput
from chaos.models.base import Model


class ModelConfigError(BadInput, KeyError):
    """A configured model's name that does not parse, or options its factory refuses."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def configured(text: str, factories: Mapping[str, Callable[..., Model]]) -> Model:
    """The model ``text`` (``name(option=value, ...)``) builds with ``factories[name]``."""
    usage = "write it as name(option=value, ...), e.g. bank(accounts=8, total=80)"
    try:
        call = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise ModelConfigError(f"model {text!r} does not parse: {usage}") from None
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.args:
        raise ModelConfigError(f"model {text!r}: {usage}")
    name = call.func.id.lower().replace("_", "-")
    factory = factories.get(name)
    if factory is None:
        raise ModelConfigError(
            f"model {text!r}: {name!r} takes no options; models with options: {', '.join(sorted(factories))}"
        )
    options: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            raise ModelConfigError(f"model {text!r}: {usage}")
        try:
            options[keyword.arg] = ast.literal_eval(keyword.value)
        except ValueError:
            raise ModelConfigError(
                f"model {text!r}: option {keyword.arg} must be a literal (a number, string, list or map)"
            ) from None
    known = list(inspect.signature(factory).parameters)
    unknown = [k for k in options if k not in known]
    if unknown:
        raise ModelConfigError(f"model {text!r}: unknown option {unknown[0]}; {name} takes {', '.join(known)}")
    try:
        return factory(**options)
    except BadInput as exc:
        raise ModelConfigError(f"model {text!r}: {exc}") from None
