"""What the rest of the framework reads from a transactional check: the result's verdict,
summary line, terminal text and JSON, the check specs of ``checks:``, bad input, and Jepsen
histories in EDN."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.checker import load_history
from chaos.elle import ElleResult, TxnHistoryError, check, parse_spec, run_check
from chaos.encoding import dumps, loads
from chaos.errors import BadInput
from chaos.history import Operation

from .notation import history

# Write skew (ops 0, 1), an intermediate read (3 of 2, also a G-single), read skew (6 of 5).
WRITE_SKEW_AND_READ_SKEW = history("ax1ry", "ay1rx", "az1az2", "rz1", "rt", "au1at1", "ru1rt")


def test_summary_names_each_class_with_its_count() -> None:
    result = check(WRITE_SKEW_AND_READ_SKEW, "serializable")
    assert result.summary == "anomalies: G1b x1, G-single x2, G2-item x1"
    assert check(history("ax1", "rx1")).summary == "anomalies: none"
    allowed = check(history("ax1ry", "ay1rx"), "snapshot-isolation")
    assert allowed.summary == "anomalies: G2-item x1 (allowed)"
    assert allowed.verdict == "valid"
    assert allowed.reason == "snapshot-isolation allows the anomalies found (G2-item)"


def test_the_result_offers_what_a_check_result_offers() -> None:
    result = check(WRITE_SKEW_AND_READ_SKEW, "snapshot-isolation")
    assert isinstance(result, ElleResult)
    assert (result.verdict, result.valid, result.model) == ("invalid", False, "elle snapshot-isolation")
    assert result.operations == 7
    assert result.partitions == 5
    assert result.elapsed > 0
    # The worst forbidden anomaly, shaped as the report and JUnit read a counterexample.
    counterexample = result.counterexample
    assert counterexample is not None
    assert counterexample.reason.startswith("G1b: ")
    assert counterexample.failed == [3, 2]
    assert [op["id"] for op in counterexample.operations] == [3, 2]


def test_to_dict_is_json_with_every_case_and_the_counterexample() -> None:
    result = check(WRITE_SKEW_AND_READ_SKEW, "serializable")
    data = loads(dumps(result.to_dict()))
    assert data["verdict"] == "invalid"
    assert data["summary"] == result.summary
    assert data["counts"] == {"G1b": 1, "G-single": 2, "G2-item": 1}
    assert data["not"] == ["read-committed", "snapshot-isolation", "repeatable-read", "serializable"]
    g2 = next(a for a in data["anomalies"] if a["kind"] == "G2-item")
    assert [s["kind"] for s in g2["steps"]] == ["rw", "rw"]
    assert g2["forbidden"] is True
    assert data["counterexample"]["failed"] == [3, 2]


def test_describe_spells_out_the_cycles() -> None:
    text = check(WRITE_SKEW_AND_READ_SKEW, "serializable").describe()
    lines = text.splitlines()
    assert lines[0].startswith("INVALID: elle serializable, 7 transactions (7 ok, 0 info, 0 fail) over 5 keys")
    assert "  anomalies: G1b x1, G-single x2, G2-item x1" in lines
    assert "  not: read-committed, snapshot-isolation, repeatable-read, serializable" in lines
    assert "      T1 = op 6 (process 6, ok): r 'u' [1], r 't' []" in lines
    assert (
        "      - T1 < T2 (rw), because T1 observed the initial (empty) state of key 't', which T2 created by "
        "appending 1." in lines
    )
    assert "      - However, T2 < T1 (wr), because T1 observed T2's append of 1 to key 'u': a contradiction!" in lines
    assert "a contradiction!" in text


def test_malformed_transactions_are_bad_input_naming_the_operation() -> None:
    bad = Operation(
        id=4, process=2, f="txn", key=None, value=[["w", "x", 1]], output=[["w", "x", 1]], status="ok", call=0, ret=1
    )
    with pytest.raises(TxnHistoryError, match=r"operation 4 \(process 2\): micro-op 0 is \['w', 'x', 1\]"):
        check([bad])
    unread = Operation(
        id=5, process=2, f="txn", key=None, value=[["r", "x", None]], output=None, status="ok", call=0, ret=1
    )
    with pytest.raises(BadInput, match="operation 5"):
        check([unread])
    with pytest.raises(BadInput, match="consistency: unknown level 'linearizable'"):
        check([], "linearizable")


def test_check_specs() -> None:
    spec = parse_spec({"type": "elle", "consistency": "SI", "time_limit": "2s"})
    assert (spec.consistency, spec.time_limit) == ("snapshot-isolation", 2.0)
    assert parse_spec({"type": "bank", "total": 100}).total == 100
    with pytest.raises(BadInput, match=r"checks\.0\.consistency: unknown consistency level 'strong'"):
        parse_spec({"type": "elle", "consistency": "strong"}, "checks.0")
    with pytest.raises(BadInput, match=r"checks\.consistncy: unknown key"):
        parse_spec({"type": "elle", "consistncy": "serializable"})
    with pytest.raises(BadInput, match="not a transactional check"):
        parse_spec({"type": "linearizability", "model": "register"})
    assert run_check({"type": "elle"}, history("ax1ry", "ay1rx")).verdict == "invalid"


JEPSEN_EDN = """\
{:type :invoke, :f :txn, :value [[:append 1 1] [:r 2 nil]], :process 0, :time 1000, :index 0}
{:type :invoke, :f :txn, :value [[:append 2 1] [:r 1 nil]], :process 1, :time 1100, :index 1}
{:type :info, :f :start-partition, :value nil, :process :nemesis, :time 1150, :index 2}
{:type :ok, :f :txn, :value [[:append 1 1] [:r 2 nil]], :process 0, :time 1200, :index 3}
{:type :ok, :f :txn, :value [[:append 2 1] [:r 1 []]], :process 1, :time 1300, :index 4}
{:type :invoke, :f :txn, :value [[:r 1 nil] [:r 2 nil]], :process 0, :time 1400, :index 5}
{:type :ok, :f :txn, :value [[:r 1 [1]] [:r 2 [1]]], :process 0, :time 1500, :index 6}
{:type :invoke, :f :txn, :value [[:append 3 1] [:append 3 2]], :process 2, :time 1600, :index 7}
{:type :ok, :f :txn, :value [[:append 3 1] [:append 3 2]], :process 2, :time 1700, :index 8}
{:type :invoke, :f :txn, :value [[:r 3 nil]], :process 1, :time 1800, :index 9}
{:type :ok, :f :txn, :value [[:r 3 [1]]], :process 1, :time 1900, :index 10}
{:type :invoke, :f :txn, :value [[:append 4 9]], :process 3, :time 2000, :index 11}
{:type :fail, :f :txn, :value [[:append 4 9]], :process 3, :time 2100, :index 12, :error :conflict}
{:type :invoke, :f :txn, :value [[:r 4 nil]], :process 3, :time 2200, :index 13}
{:type :ok, :f :txn, :value [[:r 4 [9]]], :process 3, :time 2300, :index 14}
"""


def test_a_jepsen_edn_history(tmp_path: Path) -> None:
    """``chaos check FILE --format edn --checker elle``: read with the EDN reader, then checked."""
    path = tmp_path / "history.edn"
    path.write_text(JEPSEN_EDN)
    _events, operations = load_history(path, "edn")
    result = check(operations, "serializable")
    # Write skew between processes 0 and 1 (keys 1 and 2), an intermediate read of key 3 and
    # an aborted read of key 4.
    assert result.counts == {"G1a": 1, "G1b": 1, "G-single": 1, "G2-item": 1}
    assert result.stats["fail"] == 1
    assert check(operations, "read-committed").verdict == "invalid"
    g2 = next(a for a in result.anomalies if a.kind == "G2-item")
    assert sorted(g2.ops) == [0, 1]
    assert "key 2" in g2.explanation[-1] or "key 1" in g2.explanation[-1]


def test_the_checker_imports_no_adapter() -> None:
    import ast

    for path in Path("chaos/elle").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("adapters") or node.module == "adapters.units", path
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("adapters") for a in node.names), path


def test_an_elle_result_has_everything_a_check_result_has() -> None:
    """The summary, junit.xml, results.json and the report read a check result's public
    fields and methods: a transactional result has them all, so it can stand beside one."""
    import dataclasses
    import inspect

    from chaos.checker import CheckResult

    public = {f.name for f in dataclasses.fields(CheckResult)} | {
        name for name, _ in inspect.getmembers(CheckResult) if not name.startswith("_")
    }
    result = check(WRITE_SKEW_AND_READ_SKEW, "serializable")
    missing = {name for name in public if not hasattr(result, name)}
    # linearization, explored: the certificate and effort of a linearizability search, which a
    # dependency-graph check has no counterpart of.
    assert missing <= {"linearization", "explored"}, missing
    assert isinstance(result.to_dict()["counterexample"]["failed"], list)
