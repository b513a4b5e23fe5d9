"""History files: writing, torn lines, pairing rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.history import HistoryError, HistoryWriter, load_operations, pair, read_events


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
