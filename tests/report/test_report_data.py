"""What the report page is given: fault windows, rows, linearization points, safe JSON."""

from __future__ import annotations

import json
from pathlib import Path

from chaos.checker import check, load_history
from chaos.report.data import build, dumps_for_html, fault_windows, linearization_points, time_unit


def _nemesis(time: int, f: str, value: object = None, kind: str = "info") -> dict:
    return {"process": "nemesis", "type": kind, "f": f, "value": value, "time": time}


def test_fault_layer_windows_pair_start_and_end_by_fault_and_target() -> None:
    stall = {"fault": 1, "store": "db", "op": "put", "key": "u1", "actor": "server-0"}
    events = [
        _nemesis(10, "stall", {**stall, "phase": "start", "clock": 0.01}),
        _nemesis(12, "stall", {**stall, "actor": "server-1", "phase": "start", "clock": 0.012}),
        _nemesis(15, "error-after", {"fault": 0, "store": "db", "op": "put", "key": "u1", "when": "after"}),
        _nemesis(30, "stall", {**stall, "actor": "server-1", "phase": "end", "reason": "timeout", "clock": 0.03}),
        _nemesis(40, "pause", {"fault": 2, "actor": "server-2", "phase": "start"}),
    ]
    windows = fault_windows(events, end_time=100)
    by_start = {w.start: w for w in windows}
    assert (by_start[10].end, by_start[10].open) == (100, True)  # never ended: runs to the end
    assert (by_start[12].end, by_start[12].open) == (30, False)
    assert by_start[15].instant and by_start[15].end == 15
    assert "key=u1" in by_start[15].detail and "phase" not in by_start[15].detail
    assert by_start[40].open and by_start[40].name == "pause"


def test_jepsen_style_nemesis_events() -> None:
    events = [
        _nemesis(5, "start-partition", ["n1", "n2"], kind="invoke"),
        _nemesis(6, "start-partition", ["n1", "n2"]),
        _nemesis(50, "stop-partition", None, kind="invoke"),
        _nemesis(51, "stop-partition", None),
        _nemesis(60, "kill", None, kind="invoke"),
        _nemesis(64, "kill", "killed n3"),
    ]
    windows = fault_windows(events, end_time=100)
    assert [(w.name, w.start, w.end, w.instant) for w in windows] == [
        ("partition", 5, 50, False),
        ("kill", 60, 64, False),
    ]


def test_rows_linearization_points_and_roles(tmp_path: Path) -> None:
    lines = [
        {"process": 0, "type": "invoke", "f": "write", "key": "k", "value": 1, "time": 0},
        {"process": 0, "type": "ok", "f": "write", "key": "k", "value": 1, "time": 10},
        {"process": 1, "type": "invoke", "f": "write", "key": "k", "value": 2, "time": 12},
        {"process": 1, "type": "ok", "f": "write", "key": "k", "value": 2, "time": 20},
        {"process": 2, "type": "invoke", "f": "read", "key": "k", "value": None, "time": 30},
        {"process": 2, "type": "ok", "f": "read", "key": "k", "value": 1, "time": 40},
        {"process": 3, "type": "invoke", "f": "read", "key": "k", "value": None, "time": 31},
        {"process": 3, "type": "info", "f": "read", "key": "k", "value": None, "time": 45, "error": "timeout"},
    ]
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"".join(json.dumps(e).encode() + b"\n" for e in lines))
    events, ops = load_history(path)
    result = check(ops, "register")
    assert result.verdict == "invalid"
    data = build(events, [result.to_dict()], ops).payload
    assert data["unit"] == "ns" and data["span"] == 45
    assert data["lanes"] == [["0"], ["1"], ["2"], ["3"]]
    columns = data["ops"]
    assert columns["e"][3] == 45  # the info op ends where its caller gave up
    assert columns["s"] == [0, 0, 0, 2]
    (ce,) = data["counterexamples"]
    failed = ce["failed"][0]
    assert columns["role"][failed] == 2 and columns["f"][failed] == data["tables"]["f"].index("read")
    assert all(columns["role"][i] == 1 for i in ce["prefix"])
    # the points are within each operation and never go back in time
    assert ce["points"] == sorted(ce["points"])
    for position, at in zip(ce["prefix"], ce["points"], strict=True):
        assert columns["c"][position] <= at <= columns["e"][position]


def test_linearization_points_are_earliest_possible() -> None:
    events = [
        {"process": 0, "type": "invoke", "f": "write", "value": 1, "time": 0},
        {"process": 1, "type": "invoke", "f": "write", "value": 2, "time": 2},
        {"process": 1, "type": "ok", "f": "write", "value": 2, "time": 3},
        {"process": 0, "type": "ok", "f": "write", "value": 1, "time": 9},
    ]
    from chaos.history import pair

    ops = pair([{**e, "index": i} for i, e in enumerate(events)])
    by_id = {op.id: op for op in ops}
    assert linearization_points([1, 0], by_id, {}) == [2, 2]
    assert linearization_points([0, 1], by_id, {}) == [0, 2]


def test_json_for_html_cannot_close_its_element() -> None:
    payload = {"v": ["</script><script>alert(1)</script>", "<!-- x -->", "a & b", "\u2028"]}
    text = dumps_for_html(payload)
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == payload


def test_times_that_are_positions_are_labelled_as_events() -> None:
    positional = [{"time": i, "process": 0, "type": "invoke" if i % 2 == 0 else "ok"} for i in range(4)]
    assert time_unit(positional) == "event"
    assert time_unit([{"time": 0}, {"time": 1500}]) == "ns"
