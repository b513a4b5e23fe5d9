"""Models: sequential specifications the linearizability checker compares histories against.

Built-in models (see each module for its operation conventions):

- ``register``: read/write register per key.
- ``cas-register``: read/write/cas register per key (Knossos' cas-register).
- ``kv``: a key-value map, one register per key: read/get, write/put, cas and append.
- ``set``: grow-only set per key, add and read-all.
- ``queue``: unordered queue per key, enqueue and dequeue.
- ``mutex``: lock per key, acquire and release.
- ``profile``: the seed's per-user (metadata, image) pair register.
- ``multi-register``: Knossos' multi-register (transactions over several registers).
- ``counter``: an integer per key, add and read (Jepsen's counter).
- ``bank``: accounts per key, transfer and read every balance (Jepsen's bank); a bank with
  other accounts is named by the call that builds it, ``bank(accounts=8, total=80)``.

A user model is a :class:`Model`: an initial state and a ``step(state, op) -> (legal, next)``
function, plus optional partition and describe functions; ``get_model("pkg.module:attr")``
loads one by name. See docs/checker.md.
"""

from __future__ import annotations

from collections.abc import Callable

from chaos.models.bank import bank, bank_model
from chaos.models.base import ANY, SAME, Model, State, by_key, describe_operation, describe_value, freeze
from chaos.models.configure import configured
from chaos.models.counter import counter, counter_model
from chaos.models.errors import ModelError, ModelLoadError, OperationError, UnknownModelError, UnsupportedOperation
from chaos.models.kv import kv
from chaos.models.multi_register import multi_register
from chaos.models.mutex import mutex
from chaos.models.profile import profile
from chaos.models.queue import queue
from chaos.models.register import cas_register, register
from chaos.models.set import set_model
from chaos.models.user import load_model

MODELS: dict[str, Model] = {
    m.name: m for m in (register, cas_register, kv, set_model, queue, mutex, profile, multi_register, counter, bank)
}
"""Built-in models by name."""

FACTORIES: dict[str, Callable[..., Model]] = {"counter": counter_model, "bank": bank_model}
"""Built-in models that take options, named in experiments by a call: ``bank(accounts=8)``."""


def get_model(name: str | Model) -> Model:
    """The built-in model called ``name`` (``cas_register`` and ``CAS-Register`` also work),
    the one a call such as ``bank(accounts=8, total=80)`` configures, or a user's model named
    ``"package.module:attribute"`` (:func:`load_model`)."""
    if isinstance(name, Model):
        return name
    if "(" in str(name):  # a call may hold a dict literal, colons and all
        return configured(str(name), FACTORIES)
    if ":" in str(name):
        return load_model(str(name))
    normal = str(name).strip().lower().replace("_", "-")
    aliases = {
        "casregister": "cas-register",
        "cas": "cas-register",
        "unordered-queue": "queue",
        "multiregister": "multi-register",
        "lock": "mutex",
    }
    normal = aliases.get(normal, normal)
    try:
        return MODELS[normal]
    except KeyError:
        raise UnknownModelError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}") from None


__all__ = [
    "ANY",
    "FACTORIES",
    "MODELS",
    "SAME",
    "Model",
    "ModelError",
    "ModelLoadError",
    "OperationError",
    "State",
    "UnknownModelError",
    "UnsupportedOperation",
    "bank",
    "bank_model",
    "by_key",
    "cas_register",
    "counter",
    "counter_model",
    "describe_operation",
    "describe_value",
    "freeze",
    "get_model",
    "kv",
    "load_model",
    "multi_register",
    "mutex",
    "profile",
    "queue",
    "register",
    "set_model",
]
