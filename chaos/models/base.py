"""The model interface: a sequential specification the checker compares a history against.

A model is a small record of plain functions, like Porcupine's: an initial state, a ``step``
that says whether an operation is legal in a state and what state follows, and optional
``partition`` and ``describe`` functions. A user model needs nothing else::

    Model(name="counter", init=lambda: 0, step=lambda s, op: (True, s + op.value))

States must be hashable and compare by value: the checker memoises ``(set of linearized
operations, state)`` pairs, so two equal states must mean the same future.

The remaining fields are optional hooks that make the search faster or the model richer. Each
has a contract; a wrong hook gives wrong verdicts, so the built-in models are fuzzed against a
brute-force reference with their hooks on (tests/test_checker_fuzz.py).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from chaos.history import Operation
from chaos.models.errors import OperationError, UnsupportedOperation

State = Any
"""A model state: any hashable value (ints, strings, tuples, frozensets, None...)."""

StepFn = Callable[[State, Operation], tuple[bool, State]]


def freeze(value: Any) -> Hashable:
    """A hashable, value-equal copy of JSON-ish data: lists become tuples, dicts sorted item
    tuples, sets frozensets. Histories come from JSON or EDN, so values read or written may be
    lists; model states must be hashable to be memoised."""
    kind = type(value)
    if kind is int or kind is str or value is None or kind is bool or kind is float:
        return cast(Hashable, value)
    if kind is list or kind is tuple:
        return tuple(freeze(v) for v in value)
    if kind is dict:
        return tuple(sorted(((freeze(k), freeze(v)) for k, v in value.items()), key=repr))
    if kind is set or kind is frozenset:
        return frozenset(freeze(v) for v in value)
    return cast(Hashable, value)


def describe_value(value: Any) -> str:
    """Short text for a value in an operation or a state: ``None`` reads as ``nil``."""
    if value is None:
        return "nil"
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "[" + " ".join(describe_value(v) for v in value) + "]"
    if isinstance(value, set | frozenset):
        return "#{" + " ".join(sorted(describe_value(v) for v in value)) + "}"
    return repr(value)


def describe_operation(op: Operation) -> str:
    """``#12 p3 write k1 7 ok`` / ``#5 p2 read k1 -> 7 ok``: one operation on one line."""
    parts = [f"#{op.id}", f"p{op.process}", op.f]
    if op.key is not None:
        parts.append(describe_value(op.key))
    if op.value is not None:
        parts.append(describe_value(op.value))
    if op.status == "ok" and op.output is not None and op.output != op.value:
        parts.append("-> " + describe_value(op.output))
    elif op.status == "ok" and op.output is None and op.value is None:
        parts.append("-> nil")
    parts.append(op.status)
    return " ".join(parts)


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ANY: Any = _Marker("ANY")
"""In ``Model.pins``: the op is legal in every state."""
SAME: Any = _Marker("SAME")
"""In ``Model.pins``: the op leaves the state unchanged."""


@dataclass(frozen=True)
class Model:
    """A sequential specification.

    Required:

    - ``name``: how results and the command line name it.
    - ``init()``: the initial state.
    - ``step(state, op) -> (legal, next_state)``: is ``op`` legal in ``state``, and the state
      after it. For an ``ok`` operation ``op.output`` holds what it returned (the value read);
      for an ``info`` operation ``op.output`` is None: its result is unknown, so ``step`` must
      accept any result (a read-like info op is dropped before the search, see ``read_only``).

    Optional:

    - ``partition(op) -> key``: P-compositionality. Operations with different keys never
      interact, so each key is checked on its own, and the history is linearizable iff every
      partition is. ``None``: the whole history is one partition.
    - ``describe_state(state) -> str`` and ``describe_op(op) -> str``: text for counterexamples.
    - ``prepare(ops) -> ops``: per partition, before the search (fail ops already removed).
      May validate (raise ValueError naming the unsupported operation) and drop info operations
      that can never change a verdict. Must not drop ok operations.
    - ``read_only(op) -> bool``: True only if ``op`` changes nothing in EVERY state where it is
      legal. Such an op is linearized as soon as it is pending and legal, without branching;
      an op that merely changes nothing in the current state (a write of the current value)
      does not qualify, and the fuzzer catches that mistake.
    - ``effect(op) -> hashable``: two info operations with equal effects act identically in
      every state, so among pending ones only one is tried. ``None`` for "no claim".
    - ``impossible(ops) -> (op, reason) | None``: an ok op that is legal in no reachable state
      (a read of a value nobody wrote) refutes the partition without a search.
    - ``pins(op) -> (needs, makes) | None``: the op's whole behaviour, when it is this simple:
      it is legal in state ``s`` iff ``needs is ANY or s == needs``, and then leads to
      ``makes`` (``SAME``: the state is unchanged, the op is read-only). A register read of 7
      is ``(7, SAME)``, a write of 7 ``(ANY, 7)``, a cas [1, 2] ``(1, 2)``; ``None`` for ops
      that need ``step``. Pinned ops are then run with bitset operations instead of calls,
      an ok op needing a state nothing can make refutes the partition at once, and a branch
      dies as soon as it leaves a state that a pending ok op needs and that no remaining op
      can make again (an unpinned op that is not ``read_only`` counts as able to make
      anything).
    - ``successors(state, op) -> iterable of states``: for operations whose effect is not
      determined by the state and the op (an info dequeue removed some unknown element). When
      given, the checker calls it for info operations instead of ``step`` and tries each
      successor state; an empty result means illegal.
    - ``operations``: the operation names (``op.f``) the model supports. ``check`` refuses a
      history with any other as bad input naming the operation, before searching; ``None``
      makes no claim (``step`` then sees every operation).
    - ``initial(value) -> state``: the state a JSON value names, for ``check(init=...)`` and
      ``chaos check --init`` (a register's ``0``; a multi-register's ``{"x": 0}``). Default:
      :func:`freeze`.
    """

    name: str
    init: Callable[[], State]
    step: StepFn
    partition: Callable[[Operation], Hashable] | None = None
    describe_state: Callable[[State], str] = describe_value
    describe_op: Callable[[Operation], str] = describe_operation
    prepare: Callable[[list[Operation]], list[Operation]] | None = None
    read_only: Callable[[Operation], bool] | None = None
    effect: Callable[[Operation], Hashable] | None = None
    impossible: Callable[[list[Operation]], tuple[Operation, str] | None] | None = None
    successors: Callable[[State, Operation], Iterable[State]] | None = None
    pins: Callable[[Operation], tuple[State, State] | None] | None = None
    operations: frozenset[str] | None = None
    initial: Callable[[Any], State] | None = freeze
    doc: str = ""

    def __repr__(self) -> str:
        return f"Model({self.name!r})"


def by_key(op: Operation) -> Hashable:
    """The partition function of keyed models: ``op.key`` (None keys form one partition)."""
    key = op.key
    if type(key) is list:
        return freeze(key)
    return cast(Hashable, key)


def unsupported(model: str, op: Operation, known: Iterable[str]) -> UnsupportedOperation:
    """The error for an operation a model does not understand, naming what it does (bad input,
    and a ``ValueError``)."""
    return UnsupportedOperation.of(model, op, known)


def malformed(model: str, op: Operation, what: str) -> OperationError:
    """The error for an operation whose value the model cannot read."""
    return OperationError(f"model {model!r}: {op.f} #{op.id} (process {op.process}) {what}")
