"""History files: writing, torn lines, pairing rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.history import FLUSH_BYTES, Event, HistoryError, HistoryWriter, load_operations, pair, read_events


def test_writer_indices_and_pairing(tmp_path: Path) -> None:
    writer = HistoryWriter(tmp_path / "h.jsonl")
    writer.append({"process": 0, "type": "invoke", "f": "write", "key": "a", "value": 1})
    writer.append({"process": "nemesis", "type": "info", "f": "crash", "value": {"store": "db"}})
    writer.append({"process": 0, "type": "ok", "f": "write", "key": "a", "value": 1})
    writer.append({"process": 1, "type": "invoke", "f": "read", "key": "a", "value": None})
    writer.close()
    events = read_events(tmp_path / "h.jsonl")
    assert [e["index"] for e in events] == [0, 1, 2, 3]
    ops = load_operations(tmp_path / "h.jsonl")
    assert [(o.f, o.status) for o in ops] == [("write", "ok"), ("read", "info")]
    assert ops[1].ret is None  # never completed: may take effect at any time, or never


def test_torn_last_line_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text('{"index":0,"time":1,"process":0,"type":"invoke","f":"read"}\n{"index":1,"ti')
    assert len(read_events(path)) == 1


def test_garbage_in_the_middle_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text('{"process":0,"type":"invoke"}\n[1, 2]\n{"process":0,"type":"ok"}\n')
    with pytest.raises(HistoryError, match=r"h.jsonl:2: expected a JSON object"):
        read_events(path)


def test_two_outstanding_operations_are_rejected() -> None:
    events = [
        {"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "read"},
        {"index": 1, "time": 1, "process": 0, "type": "invoke", "f": "read"},
    ]
    with pytest.raises(HistoryError, match="still open"):
        pair(events)


def test_completion_without_invoke_is_rejected() -> None:
    with pytest.raises(HistoryError, match="no open invoke"):
        pair([{"index": 0, "time": 0, "process": 0, "type": "ok", "f": "read"}])


def test_fail_and_info_keep_error_text() -> None:
    ops = pair(
        [
            {"index": 0, "time": 0, "process": 0, "type": "invoke", "f": "cas", "value": [1, 2]},
            {"index": 1, "time": 5, "process": 0, "type": "fail", "f": "cas", "value": [1, 2], "error": "mismatch"},
            {"index": 2, "time": 6, "process": 1, "type": "invoke", "f": "write", "value": 3},
            {"index": 3, "time": 9, "process": 1, "type": "info", "f": "write", "value": 3, "error": "timeout"},
        ]
    )
    assert (ops[0].status, ops[0].error, ops[0].ret) == ("fail", "mismatch", 5)
    assert (ops[1].status, ops[1].error, ops[1].ret) == ("info", "timeout", None)


def test_values_that_are_not_plain_json_still_make_a_line(tmp_path: Path) -> None:
    writer = HistoryWriter(tmp_path / "h.jsonl")
    writer.append({"process": 0, "type": "invoke", "f": "read", "key": "a", "value": {1: "one"}})
    writer.append({"process": 0, "type": "ok", "f": "read", "key": "a", "value": complex(1, 2)})
    writer.close()
    events = read_events(tmp_path / "h.jsonl")
    assert events[0]["value"] == {"1": "one"}
    assert events[1]["value"] == "(1+2j)"


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_values_json_cannot_hold_are_written_as_text_and_nothing_is_torn(tmp_path: Path) -> None:
    """The writer never loses an event or leaves a broken line, whatever a system returns."""
    looped: list[object] = [1]
    looped.append(looped)
    values = [(1, 2), {(1, 2): 3}, 2**70, b"ab", looped, Unprintable(), {"deep": [looped]}]
    writer = HistoryWriter(tmp_path / "h.jsonl")
    for process, value in enumerate(values):
        writer.add(Event(process, "invoke", "read", "k", value, process, writer.next_index()))
        writer.append({"process": process, "type": "ok", "f": "read", "key": "k", "value": value})
    writer.close()
    events = read_events(tmp_path / "h.jsonl")
    assert [e["index"] for e in events] == list(range(2 * len(values)))
    written = [e["value"] for e in events[::2]]
    assert written == [
        [1, 2],
        {"(1, 2)": 3},
        2**70,
        "YWI=",
        "[1, [...]]",
        "<unprintable Unprintable>",
        "{'deep': [[1, [...]]]}",
    ]
    assert [e["value"] for e in events[1::2]] == written  # the same through either path
    assert [op.status for op in load_operations(tmp_path / "h.jsonl")] == ["ok"] * len(values)


def test_lines_reach_the_disk_at_each_flush(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    writer = HistoryWriter(path)
    writer.append({"process": 0, "type": "invoke", "f": "read", "key": "a", "value": None})
    assert path.read_bytes() == b""
    writer.flush()
    assert read_events(path)[0]["f"] == "read"
    for _ in range(FLUSH_BYTES // 50):  # past the threshold: flushed without waiting for the timer
        writer.append({"process": 0, "type": "ok", "f": "read", "key": "a", "value": "x" * 40})
    assert len(read_events(path)) > 1
    writer.close()
