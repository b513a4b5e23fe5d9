"""``mutex``: a lock per key (Knossos' mutex). ``acquire`` is legal when free, ``release``
when held. The state is a bool, held or not. ``pins``: acquire is ``(False, True)`` (needs free, makes held),
release ``(True, False)``, so a branch that strands a pending acquire or release dies early."""

from __future__ import annotations

from chaos.history import Operation
from chaos.models.base import Model, by_key, unsupported

MUTEX_FS = frozenset({"acquire", "release"})


def _step(state: bool, op: Operation) -> tuple[bool, bool]:
    f = op.f
    if f == "acquire":
        return not state, True
    if f == "release":
        return state, False
    raise unsupported("mutex", op, MUTEX_FS)


def _prepare(ops: list[Operation]) -> list[Operation]:
    for op in ops:
        if op.f not in MUTEX_FS:
            raise unsupported("mutex", op, MUTEX_FS)
    return ops


mutex = Model(
    name="mutex",
    init=lambda: False,
    step=_step,
    partition=by_key,
    describe_state=lambda held: "held" if held else "free",
    prepare=_prepare,
    effect=lambda op: op.f,
    pins=lambda op: (False, True) if op.f == "acquire" else (True, False),
    operations=MUTEX_FS,
    doc="lock per key: acquire and release",
)
