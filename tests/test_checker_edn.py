"""The EDN reader on tricky input, and load_history on JSONL and Jepsen EDN files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaos.checker import check, load_history
from chaos.checker.edn import EdnError, Keyword, Symbol, loads, loads_all, plain
from chaos.history import HistoryError


def test_scalars() -> None:
    assert loads("nil") is None
    assert loads("true") is True and loads("false") is False
    assert loads("-3") == -3 and loads("+4") == 4 and loads("42N") == 42
    assert loads("1.5") == 1.5 and loads("-2e3") == -2000.0 and loads("1.25M") == 1.25
    assert loads("1/4") == 0.25
    assert loads(":write") == Keyword("write") and isinstance(loads(":write"), Keyword)
    assert loads(":jepsen/op") == "jepsen/op"
    assert isinstance(loads("foo"), Symbol) and loads("-") == "-"
    assert loads(r"\a") == "a" and loads(r"\newline") == "\n" and loads(r"\u0041") == "A"


def test_strings_with_escapes() -> None:
    assert loads(r'"a \"quoted\" \\ back\nslash\t\u00e9"') == 'a "quoted" \\ back\nslash\té'
    assert loads('"semi ; colon, comma"') == "semi ; colon, comma"
    assert loads('"multi\nline"') == "multi\nline"


def test_collections() -> None:
    assert loads("[1 [2 [3]] (4 5)]") == [1, [2, [3]], [4, 5]]
    assert loads("{:a 1, :b {:c [nil true]}}") == {"a": 1, "b": {"c": [None, True]}}
    assert loads("#{1 2 [3 4]}") == frozenset({1, 2, (3, 4)})
    assert loads("{[1 2] :x}") == {(1, 2): "x"}
    assert loads("[]") == [] and loads("{}") == {} and loads("#{}") == frozenset()


def test_comments_commas_tags_discard() -> None:
    text = """
    ; a comment line
    [1, 2 ,3 ; trailing comment
     #inst "2024-01-02T03:04:05.000-00:00" #uuid "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
     #_ discarded 4 #_[ignored vector]]
    """
    assert loads(text) == [1, 2, 3, "2024-01-02T03:04:05.000-00:00", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", 4]


def test_many_forms_with_lines() -> None:
    forms = loads_all("{:a 1}\n\n{:b\n 2}\n")
    assert forms == [(1, {"a": 1}), (3, {"b": 2})]


@pytest.mark.parametrize(
    ("text", "line"),
    [("[1 2", 1), ('\n"abc', 2), ("{:a}", 1), ("\n\n)", 3), ('"\\q"', 1), ("[1 2x3]", 1)],
)
def test_errors_name_the_line(text: str, line: int) -> None:
    with pytest.raises(EdnError) as info:
        loads_all(text)
    assert info.value.line == line


def test_plain() -> None:
    assert plain(loads("{:f :read :value #{3 1 2}}")) == {"f": "read", "value": [1, 2, 3]}


JEPSEN = """\
{:process 0, :type :invoke, :f :write, :value 3, :time 100}
{:process 1, :type :invoke, :f :read, :value nil, :time 110}
{:process :nemesis, :type :info, :f :start, :value "partition \\"majority\\"", :time 115}
{:process 0, :type :ok, :f :write, :value 3, :time 120}
{:process 1, :type :ok, :f :read, :value 3, :time 130}
{:process 2, :type :invoke, :f :cas, :value [3 4], :time 140}
{:process 2, :type :fail, :f :cas, :value [3 4], :time 150, :error :timeout}
{:process 3, :type :invoke, :f :cas, :value [3 5], :time 160}
{:process 3, :type :info, :f :cas, :value [3 5], :time 170}
"""


def test_load_jepsen_edn(tmp_path: Path) -> None:
    path = tmp_path / "history.edn"
    path.write_text(JEPSEN)
    events, ops = load_history(path, "edn")
    assert len(events) == 9
    assert events[2]["process"] == "nemesis" and events[2]["value"] == 'partition "majority"'
    assert events[0] == {"index": 0, "time": 100, "process": 0, "type": "invoke", "f": "write", "value": 3}
    assert [(o.f, o.status, o.value, o.output) for o in ops] == [
        ("write", "ok", 3, 3), ("read", "ok", None, 3), ("cas", "fail", [3, 4], [3, 4]),
        ("cas", "info", [3, 5], None)]
    assert ops[2].error == "timeout"
    assert check(ops, "cas-register").verdict == "valid"


def test_load_jepsen_edn_vector_without_times(tmp_path: Path) -> None:
    path = tmp_path / "history.edn"
    path.write_text("[{:process 0 :type :invoke :f :acquire :value nil}\n"
                    " {:process 0 :type :ok :f :acquire :value nil}\n"
                    " {:process 1 :type :invoke :f :acquire :value nil}\n"
                    " {:process 1 :type :ok :f :acquire :value nil}]\n")
    events, ops = load_history(path, "edn")
    assert [e["time"] for e in events] == [0, 1, 2, 3]
    assert check(ops, "mutex").verdict == "invalid"


def test_load_knossos_set_history(tmp_path: Path) -> None:
    path = tmp_path / "set.edn"
    path.write_text("{:process 0 :type :invoke :f :add :value 1}\n{:process 0 :type :ok :f :add :value 1}\n"
                    "{:process 1 :type :invoke :f :read :value nil}\n"
                    "{:process 1 :type :ok :f :read :value #{1}}\n")
    _, ops = load_history(path, "edn")
    assert ops[1].output == [1]
    assert check(ops, "set").verdict == "valid"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{:process 0 :type :invoke :f :read}\n{:process 0 :type :invoke :f :read}\n", ":2:"),
        ("{:process 0 :type :ok :f :read}\n", ":1:"),
        ("{:process 0 :type :invoke :f :read}\n{:type :ok}\n", ":2: event has no :process"),
        ("{:process 0 :type :invoke :f :read}\n{:process 0 :type :done}\n", ":2: field :type: expected :invoke"),
        ("{:process 0 :type :invoke\n :f \"unterminated}\n", ":2: bad EDN"),
        ("[1 2]\n", ":1: expected an event map"),
    ],
)
def test_bad_edn_history_names_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.edn"
    path.write_text(text)
    with pytest.raises(HistoryError, match=message):
        load_history(path, "edn")


def test_load_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    events = [
        {"index": 0, "time": 10, "process": 3, "type": "invoke", "f": "write", "key": "k1", "value": 7},
        {"index": 1, "time": 20, "process": 3, "type": "ok", "f": "write", "key": "k1", "value": 7},
        {"index": 2, "time": 30, "process": 4, "type": "invoke", "f": "read", "key": "k1", "value": None},
        {"index": 3, "time": 40, "process": 4, "type": "ok", "f": "read", "key": "k1", "value": 7},
    ]
    path.write_bytes(b"".join(json.dumps(e).encode() + b"\n" for e in events))
    raw, ops = load_history(path)
    assert raw == events
    assert check(ops, "kv").linearization == {"k1": [0, 1]}
    path.write_bytes(b'{"process": 1, "type": "invoke"}\nnot json\n{"process": 1, "type": "ok"}\n')
    with pytest.raises(HistoryError, match=":2:"):
        load_history(path)
    with pytest.raises(HistoryError, match="format"):
        load_history(path, "xml")  # type: ignore[arg-type]
