"""Hand-made list-append histories in the compact notation of Elle's own tests.

``"ax1ry12"`` is a transaction that appends 1 to key ``x`` and then reads ``y`` as ``[1, 2]``;
``"rx"`` reads ``x`` as empty. Keys are single letters, elements single digits. :func:`history`
turns a list of such transactions into paired operations, in order (each one completes before
the next is invoked), with the outcome given per transaction (``ok`` by default).
"""

from __future__ import annotations

from typing import Any

from chaos.history import Operation, pair


def micro_ops(text: str) -> list[list[Any]]:
    """``"ax1ry12"`` -> ``[["append", "x", 1], ["r", "y", [1, 2]]]``."""
    mops: list[list[Any]] = []
    for c in text:
        if c in "ar":
            mops.append(["append" if c == "a" else "r", None, None])
        elif c.isalpha():
            mops[-1][1] = c
        else:
            mop = mops[-1]
            if mop[0] == "append":
                mop[2] = int(c)
            else:
                mop[2] = [*(mop[2] or []), int(c)]
    for mop in mops:
        if mop[0] == "r" and mop[2] is None:
            mop[2] = []
    return mops


def history(*txns: str | tuple[str, str], f: str = "txn") -> list[Operation]:
    """Operations for ``txns``, each ``"ax1ry1"`` (ok) or ``("fail" | "info" | "ok", "ax1")``,
    one process each, one after the other in real time."""
    events: list[dict[str, Any]] = []
    for process, txn in enumerate(txns):
        status, text = ("ok", txn) if isinstance(txn, str) else txn
        done = micro_ops(text)
        invoked = [[g, k, None if g == "r" else v] for g, k, v in done]
        events.append(
            {"index": len(events), "time": len(events), "process": process, "type": "invoke", "f": f, "value": invoked}
        )
        events.append(
            {
                "index": len(events),
                "time": len(events),
                "process": process,
                "type": status,
                "f": f,
                "value": done if status == "ok" else invoked,
            }
        )
    return pair(events)
