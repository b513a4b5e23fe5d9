"""Hostile history files: ``chaos check`` answers each with exit 3 and one line naming the file,
the line and (where there is one) the field, never a traceback.

Each case is a file's bytes, its name (the extension matters for format detection), extra
command-line arguments, and what the one line must contain.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from chaos.cli import main


def _jsonl(*events: object) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


INVOKE = {"index": 0, "time": 1, "process": 0, "type": "invoke", "f": "write", "key": "k", "value": 1}
OK = {"index": 1, "time": 2, "process": 0, "type": "ok", "f": "write", "key": "k", "value": 1}


def _with(**fields: object) -> dict[str, object]:
    event = dict(INVOKE)
    event.update(fields)
    return event


def _without(name: str) -> dict[str, object]:
    return {k: v for k, v in INVOKE.items() if k != name}


NESTED = b'{"process": 0, "type": "invoke", "f": "write", "value": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
DEEP_VALUE = b'{"process": 0, "type": "invoke", "f": "write", "value": ' + b"[" * 200 + b"]" * 200 + b"}\n"
EDN_NESTED = b"{:process 0 :type :invoke :f :write :value " + b"[" * 100_000 + b"]" * 100_000 + b"}\n"

CASES: list[tuple[str, bytes, str, list[str], str]] = [
    # (id, content, file name, extra args, expected text in the message)
    ("time-string", _jsonl(_with(time="soon"), OK), "h.jsonl", [], ":1: field 'time'"),
    ("time-null", _jsonl(_with(time=None), OK), "h.jsonl", [], ":1: field 'time'"),
    ("time-bool", _jsonl(_with(time=True), OK), "h.jsonl", [], ":1: field 'time'"),
    ("time-list", _jsonl(INVOKE, {**OK, "time": [2]}), "h.jsonl", [], ":2: field 'time'"),
    ("process-list", _jsonl(_with(process=[1, 2]), OK), "h.jsonl", [], ":1: field 'process'"),
    ("process-object", _jsonl(_with(process={"id": 1}), OK), "h.jsonl", [], ":1: field 'process'"),
    ("process-null", _jsonl(_with(process=None), OK), "h.jsonl", [], ":1: field 'process'"),
    ("process-float", _jsonl(_with(process=1.5), OK), "h.jsonl", [], ":1: field 'process'"),
    ("process-missing", _jsonl(_without("process"), OK), "h.jsonl", [], ":1: event has no 'process'"),
    ("type-missing", _jsonl(_without("type"), OK), "h.jsonl", [], ":1: event has no 'type'"),
    ("type-unknown", _jsonl(_with(type="done"), OK), "h.jsonl", [], ":1: field 'type'"),
    ("type-number", _jsonl(_with(type=3), OK), "h.jsonl", [], ":1: field 'type'"),
    ("type-null", _jsonl(_with(type=None), OK), "h.jsonl", [], ":1: field 'type'"),
    ("key-object", _jsonl(_with(key={"a": 1}), OK), "h.jsonl", [], ":1: field 'key'"),
    ("key-list-of-objects", _jsonl(_with(key=[{"a": 1}]), OK), "h.jsonl", [], ":1: field 'key'"),
    ("f-number", _jsonl(_with(f=7), OK), "h.jsonl", [], ":1: field 'f'"),
    ("f-list", _jsonl(_with(f=["write"]), OK), "h.jsonl", [], ":1: field 'f'"),
    ("index-string", _jsonl(_with(index="0"), OK), "h.jsonl", [], ":1: field 'index'"),
    ("nested-100k", NESTED + _jsonl(OK), "h.jsonl", [], ":1: nested deeper"),
    ("value-too-deep", DEEP_VALUE + _jsonl(OK), "h.jsonl", [], ":1: field 'value': nested deeper"),
    ("not-json-middle", _jsonl(INVOKE) + b"not json\n" + _jsonl(OK), "h.jsonl", [], ":2: not a JSON object"),
    (
        "array-line",
        _jsonl(INVOKE) + b"[1, 2]\n" + _jsonl(OK),
        "h.jsonl",
        [],
        ":2: expected a JSON object, got an array",
    ),
    ("number-line", _jsonl(INVOKE) + b"42\n" + _jsonl(OK), "h.jsonl", [], ":2: expected a JSON object"),
    ("truncated-middle", _jsonl(INVOKE) + b'{"process": 1, "ty\n' + _jsonl(OK), "h.jsonl", [], ":2: not a JSON object"),
    ("binary-garbage", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "h.jsonl", [], "not UTF-8"),
    ("binary-last-line", _jsonl(INVOKE, OK) + b"\xff\xfe\x00garbage", "h.jsonl", [], ":3: not a JSON object"),
    ("double-invoke", _jsonl(INVOKE, {**INVOKE, "index": 1}), "h.jsonl", [], ":2: process 0 invoked while"),
    ("orphan-completion", _jsonl(OK), "h.jsonl", [], ":1: ok for process 0 with no open invoke"),
    ("completion-before-invoke", _jsonl(INVOKE, {**OK, "time": 0}), "h.jsonl", [], ":2: field 'time'"),
    (
        "cas-not-a-pair",
        _jsonl(_with(f="cas", value=5), {**OK, "f": "cas", "value": 5}),
        "h.jsonl",
        ["--model", "cas-register"],
        "cas #0",
    ),
    (
        "unsupported-op",
        _jsonl(_with(f="frobnicate"), {**OK, "f": "frobnicate"}),
        "h.jsonl",
        [],
        "has no operation 'frobnicate'",
    ),
    # EDN
    ("edn-process-vector", b"{:process [1 2] :type :invoke :f :write :value 1}\n", "h.edn", [], ":1: field :process"),
    ("edn-process-map", b"{:process {:a 1} :type :invoke :f :write :value 1}\n", "h.edn", [], ":1: field :process"),
    ("edn-type-string-unknown", b'{:process 0 :type "go" :f :write :value 1}\n', "h.edn", [], ":1: field :type"),
    ("edn-time-string", b'{:process 0 :type :invoke :f :write :value 1 :time "x"}\n', "h.edn", [], ":1: field :time"),
    ("edn-type-vector", b"{:process 0 :type [1] :f :write :value 1}\n", "h.edn", [], ":1: field :type"),
    ("edn-type-map-multiline", b"{:process 0\n :type {:a 1} :f :write}\n", "h.edn", [], ":1: field :type"),
    ("edn-f-vector", b"{:process 0 :type :invoke :f [1] :value 1}\n", "h.edn", [], ":1: field :f"),
    ("edn-unclosed", b"{:process 0 :type :invoke\n :f :write :value [1 2\n", "h.edn", [], ":2: bad EDN: unclosed"),
    ("edn-unterminated-string", b'{:process 0 :type :invoke :f :write}\n{:value "abc\n', "h.edn", [], ":2: bad EDN"),
    ("edn-odd-map", b"{:process 0 :type}\n", "h.edn", [], ":1: bad EDN: map literal"),
    ("edn-nested-100k", EDN_NESTED, "h.edn", [], ":1: field :value: nested deeper"),
    ("edn-not-a-map", b"{:process 0 :type :invoke :f :read}\n[1 2]\n", "h.edn", [], ":2: expected an event map"),
    ("edn-bad-number", b"{:process 0 :type :invoke :f :write :value 12abc}\n", "h.edn", [], ":1: bad EDN: bad number"),
    ("edn-unmatched-close", b"{:process 0 :type :invoke :f :write :value 1}}\n", "h.edn", [], ":1: bad EDN: unmatched"),
    ("edn-binary", b"{:process 0 \xff\xfe :type :invoke}\n", "h.edn", [], ":1: not UTF-8"),
    (
        "edn-double-invoke",
        b"{:process 0 :type :invoke :f :read}\n{:process 0 :type :invoke :f :read}\n",
        "h.edn",
        [],
        ":2: process 0 invoked while",
    ),
    ("edn-missing-type", b"{:process 0 :f :read}\n", "h.edn", [], ":1: event has no :type"),
    # formats and flags
    ("edn-as-jsonl", b"{:process 0 :type :invoke :f :read}\n", "h.txt", ["--format", "jsonl"], "looks like EDN"),
    ("jsonl-as-edn", _jsonl(INVOKE, OK), "h.txt", ["--format", "edn"], "looks like JSON Lines"),
    (
        "independent-not-a-pair",
        b"{:process 0 :type :invoke :f :write :value 3}\n",
        "h.edn",
        ["--independent"],
        ":1: field 'value': --independent needs a [key value] pair",
    ),
    (
        "log-bad-line",
        b"INFO  jepsen.util - 0\t:invoke\t:read\tnil\nthis is not a log line\n",
        "h.log",
        [],
        ":2: not a Jepsen log line",
    ),
    ("log-bad-process", b"INFO  jepsen.util - [1]\t:invoke\t:read\tnil\n", "h.log", [], ":1: field 'process'"),
    ("bad-init", _jsonl(INVOKE, OK), "h.jsonl", ["--init", "{nope"], "--init"),
    ("bad-memory-limit", _jsonl(INVOKE, OK), "h.jsonl", ["--memory-limit", "lots"], "--memory-limit"),
    ("unknown-model", _jsonl(INVOKE, OK), "h.jsonl", ["--model", "no-such-model"], "unknown model"),
    (
        "user-model-missing-module",
        _jsonl(INVOKE, OK),
        "h.jsonl",
        ["--model", "no_such_module_x:model"],
        "no module 'no_such_module_x'",
    ),
]


@pytest.mark.parametrize(("content", "name", "args", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_history_is_one_line_exit_3(
    tmp_path: Path, content: bytes, name: str, args: list[str], expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    if "--model" not in args:
        args = [*args, "--model", "kv"]
    result = CliRunner().invoke(main, ["check", str(path), *args])
    output = result.output.strip()
    assert result.exit_code == 3, f"exit {result.exit_code}: {output!r} {result.exception!r}"
    assert "Traceback" not in output
    assert len(output.splitlines()) == 1, output
    assert output.startswith("error: ")
    assert expected in output, output
    if expected.startswith(":"):  # names the file too
        assert f"{name}{expected.split(' ')[0]}" in output


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
