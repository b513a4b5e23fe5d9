"""A stored run read back for ``chaos report``: ``results.json`` and ``experiment.yaml``,
validated field by field.

A run directory is a user's file like any other: copied, edited, truncated, or not one of ours
at all. Each field the report reads is checked against the type the run wrote (msgspec, which
names the field's JSON path), the experiment goes through the same defensive YAML reader as
``chaos run`` (no alias bombs, no duplicate keys), and every problem is a
:class:`~chaos.errors.BadInput` naming the file and the field, never a ``TypeError`` from
somewhere inside the page's template.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import msgspec
from pydantic import TypeAdapter, ValidationError

from ..errors import BadInput
from ..yaml_loader import YamlProblem, load_yaml

Verdict = Literal["valid", "invalid", "unknown"]


class StoredRunError(BadInput):
    """A file of a stored run that the report cannot use: names the file and the field."""


class _Operation(msgspec.Struct):
    id: int
    process: Any = None
    f: Any = None
    key: Any = None
    value: Any = None
    output: Any = None
    status: str | None = None
    error: str | None = None


class _Counterexample(msgspec.Struct):
    key: Any = None
    prefix: list[int] = []
    failed: list[int] = []
    states: list[Any] = []
    operations: list[_Operation] = []
    reason: str = ""
    explanation: list[str] = []


class _Check(msgspec.Struct):
    verdict: Verdict
    model: str
    reason: str = ""
    partitions: int = 0
    operations: int = 0
    elapsed: float = 0.0
    explored: int = 0
    counterexample: _Counterexample | None = None
    linearization: Any = None


class _Operations(msgspec.Struct):
    throughput_per_second: float | None = None


class _Results(msgspec.Struct):
    """The fields of results.json the report reads (others are allowed and ignored)."""

    experiment: str | None = None
    description: str | None = None
    seed: int | None = None
    verdict: Verdict | None = None
    expect: Literal["valid", "invalid"] | None = None
    matched_expectation: bool | None = None
    interrupted: bool = False
    operations: _Operations | None = None
    explanation: list[str] = []
    checks: list[_Check] = []


_BYTE = re.compile(r"\(byte (\d+)\)")


def read_results(path: Path) -> dict[str, Any]:
    """results.json as plain data, every field the report uses checked."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StoredRunError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        results = msgspec.json.decode(data, type=_Results)
    except msgspec.ValidationError as exc:
        raise StoredRunError(f"{path}: not a results file: {exc}") from None
    except RecursionError:  # msgspec recurses once per nesting level of a free-form value
        raise StoredRunError(f"{path}: not a results file (nested too deeply)") from None
    except msgspec.DecodeError as exc:
        where = _BYTE.search(str(exc))
        newline = b"\n"
        line = f"line {data.count(newline, 0, int(where[1])) + 1}: " if where else ""
        raise StoredRunError(f"{path}: {line}not a results file (malformed or truncated JSON: {exc})") from None
    plain: dict[str, Any] = msgspec.to_builtins(results)
    return plain


def read_experiment(path: Path) -> tuple[str | None, dict[str, Any], dict[tuple[Any, ...], int]]:
    """experiment.yaml as written, its data and the line of every path (all empty when the
    run directory has none)."""
    if not path.is_file():
        return None, {}, {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StoredRunError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise StoredRunError(f"{path}: not a UTF-8 text file") from None
    try:
        data, lines = load_yaml(text)
    except YamlProblem as exc:
        where = f"line {exc.line}: " if exc.line else ""
        raise StoredRunError(f"{path}: {where}{exc.message}") from None
    if data is None:
        return text, {}, lines
    if not isinstance(data, dict):
        raise StoredRunError(f"{path}: line 1: an experiment is a YAML mapping (name:, stores:, ...)")
    return text, data, lines


def stored_checks(path: Path, spec: dict[str, Any], lines: dict[tuple[Any, ...], int]) -> list[Any]:
    """The experiment's ``checks:``, validated as ``chaos run`` validates them (the rest of the
    file may refer to ``${ENV}`` variables that are not set here, and is not needed)."""
    from ..experiment import CHECK_TYPES, AnyCheck, CheckSpec
    from ..models import UnknownModelError, get_model

    def problem(loc: tuple[Any, ...], message: str) -> StoredRunError:
        line = next((lines[loc[:end]] for end in range(len(loc), 0, -1) if loc[:end] in lines), None)
        where = f"line {line}: " if line else ""
        return StoredRunError(f"{path}: {where}{'.'.join(str(p) for p in loc)}: {message}")

    try:
        specs = TypeAdapter(list[AnyCheck]).validate_python(spec.get("checks") or [])
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        loc = tuple(part for part in error["loc"] if part not in CHECK_TYPES)  # the union's tags, not the file's
        raise problem(("checks", *loc), error["msg"].removeprefix("Value error, ")) from None
    for index, check in enumerate(specs):
        if not isinstance(check, CheckSpec):
            continue
        try:
            get_model(check.model)
        except UnknownModelError as exc:
            raise problem(("checks", index, "model"), str(exc)) from None
    return specs


__all__ = ["StoredRunError", "read_experiment", "read_results", "stored_checks"]
