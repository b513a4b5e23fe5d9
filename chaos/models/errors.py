"""What can go wrong with a model: a name that finds none, an operation it does not support, or
the model's own code raising. Each is bad input (exit 3) with a one-line message; none is ever
read as a verdict about the stores."""

from __future__ import annotations

import sysconfig
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from chaos.errors import BadInput, UserCodeError

if TYPE_CHECKING:
    from chaos.history import Operation


class UnknownModelError(BadInput, KeyError):
    """No built-in model of that name; the message lists the known names."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ModelLoadError(BadInput):
    """A user model named ``module:attribute`` that cannot be loaded: the module does not
    import, has no such attribute, or the attribute is not a :class:`chaos.models.Model`."""


class OperationError(BadInput, ValueError):
    """An operation the model cannot judge: an unknown name or a malformed value. Also a
    ``ValueError``, which callers that predate the error hierarchy catch."""


class UnsupportedOperation(OperationError):
    """The operation's name is not one the model supports (``Model.operations``)."""

    @classmethod
    def of(cls, model: str, op: Operation, known: Iterable[str]) -> UnsupportedOperation:
        return cls(
            f"model {model!r} has no operation {op.f!r} (operation #{op.id}, process {op.process}); "
            f"it supports: {', '.join(sorted(known))}"
        )


class BadInit(BadInput, ValueError):
    """An initial value (``check(init=...)``, ``chaos check --init``) the model cannot take."""


class ModelError(UserCodeError):
    """A user model's code raised: the model, the hook, the operation and the user's file and
    line, so the bug is found where it is."""

    def __init__(self, model: str, hook: str, exc: BaseException, op: Operation | None = None) -> None:
        where = user_frame(exc)
        about = f" on operation #{op.id} ({op.f} by process {op.process})" if op is not None else ""
        super().__init__(f"model {model!r}: {hook}{about} raised {type(exc).__name__}: {exc}{where}")


_PATHS = sysconfig.get_paths()
_NOT_USER_CODE = (
    str(Path(__file__).resolve().parent.parent),
    _PATHS["stdlib"],
    _PATHS["purelib"],
    _PATHS["platlib"],
)


def user_frame(exc: BaseException) -> str:
    """`` (file:line)`` of the innermost frame of the traceback that is the user's own code:
    not the framework's, not the standard library's, not an installed package's."""
    frames = traceback.extract_tb(exc.__traceback__)
    outside = [f for f in frames if not f.filename.startswith(_NOT_USER_CODE)] or frames
    return f" ({outside[-1].filename}:{outside[-1].lineno})" if outside else ""
