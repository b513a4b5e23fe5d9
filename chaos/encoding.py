"""JSON, the one way the framework writes and reads it: history lines, results.json, reports,
replay files and the values the built-in systems store.

One encoder (msgspec) everywhere, so a value reads the same in the history, the report and
results.json. JSON holds fewer kinds of value than Python, so what it cannot hold is written as
it can: tuples and sets as arrays, bytes as base64, integers of any size as integers,
non-string dict keys and other objects as their ``repr``. Nothing a system returns can make a
line, a report or a result fail to be written.
"""

from __future__ import annotations

from typing import Any

import msgspec

DecodeError = msgspec.DecodeError
"""What :func:`loads` raises for text that is not JSON (a ``ValueError``)."""


def as_text(value: Any) -> str:
    """``repr(value)``, or a placeholder naming its type when that raises."""
    try:
        return repr(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


ENCODER = msgspec.json.Encoder(enc_hook=as_text)
_SORTED = msgspec.json.Encoder(enc_hook=as_text, order="sorted")


def dumps(value: Any, *, sort_keys: bool = False, indent: int = 0) -> bytes:
    """``value`` as JSON: compact, or indented by ``indent`` spaces; dict keys sorted if asked."""
    data = (_SORTED if sort_keys else ENCODER).encode(value)
    return msgspec.json.format(data, indent=indent) if indent else data


loads = msgspec.json.decode
"""The value of a JSON document (bytes or str); :data:`DecodeError` if it is not one."""
