"""A violation of a profile design, told in words a person follows without opening the history.

The checker says which read could not be placed; this module says why it is wrong for a
profile: which write each half of the returned pair came from, how those writes ended (a
crash after the blob step, a lost response...) and when they ran relative to the read, e.g.::

    read #7 of u1 returned metadata m2 with image i3
    no write wrote that pair: metadata m2 is from write #4 (acknowledged, completed before the read began);
    image i3 is from write #6 (crashed after blobs.put took effect, concurrent with the read)
"""

from __future__ import annotations

from typing import Any

from ...checker import CheckResult
from ...history import Operation


def _status(op: Operation) -> str:
    if op.status == "ok":
        return "acknowledged"
    if op.status == "fail":
        return f"failed: {op.error}" if op.error else "failed"
    return op.error or "outcome unknown"


def _when(op: Operation, read: Operation) -> str:
    if op.ret is not None and op.ret < read.call:
        return "completed before the read began"
    if read.ret is not None and op.call > read.ret:
        return "began after the read returned"
    return "concurrent with the read"


def _write(op: Operation, read: Operation) -> str:
    metadata, image = op.value
    return f"write #{op.id} ({metadata}, {image}; {_status(op)}, {_when(op, read)})"


def explain(result: CheckResult, operations: list[Operation]) -> list[str]:
    """Sentences about the read the checker could not place (empty when there is none)."""
    counterexample = result.counterexample
    if result.verdict != "invalid" or counterexample is None:
        return []
    by_id = {op.id: op for op in operations}
    reads = [by_id[i] for i in counterexample.failed if i in by_id and by_id[i].f == "read"]
    if not reads:
        return []
    read = reads[0]
    writes = [op for op in operations if op.f == "write" and op.key == read.key and isinstance(op.value, list)]
    by_metadata = {op.value[0]: op for op in writes}
    by_image = {op.value[1]: op for op in writes}
    output: Any = read.output
    if output is None:
        lines = [f"read #{read.id} of {read.key} returned the empty record"]
        done = [op for op in writes if op.status == "ok" and op.ret is not None and op.ret < read.call]
        if done:
            lines.append(f"but {_write(done[-1], read)} had already been acknowledged")
        return lines
    metadata, image = output
    shown = "no image (its blob was missing)" if image is None else f"image {image}"
    lines = [f"read #{read.id} of {read.key} returned metadata {metadata} with {shown}"]
    source = by_metadata.get(metadata)
    if image is None:
        lines.append(
            "no write leaves a record without its image: the blob the record points to was gone "
            "when the read fetched it (deleted, or never written)"
        )
        if source is not None:
            lines.append(f"metadata {metadata} is from {_write(source, read)}")
        return lines
    image_source = by_image.get(image)
    if source is not None and image_source is not None and source is not image_source:
        lines.append("no write wrote that pair:")
        lines.append(f"  metadata {metadata} is from {_write(source, read)}")
        lines.append(f"  image {image} is from {_write(image_source, read)}")
        return lines
    if source is not None:
        lines.append(f"that pair is from {_write(source, read)}")
        newer = [
            op
            for op in writes
            if op.status == "ok"
            and op.ret is not None
            and op.ret < read.call
            and op.call > (source.ret if source.ret is not None else source.call)
        ]
        if newer:
            lines.append(f"a stale read: {_write(newer[-1], read)} replaced it")
    return lines
