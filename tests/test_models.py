"""Built-in models one step at a time, the registry, and the documented user-model example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chaos.history import Operation
from chaos.models import ANY, MODELS, SAME, get_model


def mk(f: str, value=None, output=None, status: str = "ok", key=None) -> Operation:
    return Operation(id=0, process=0, f=f, key=key, value=value, output=output, status=status,
                     call=0, ret=1 if status != "info" else None)


def test_registry_names() -> None:
    assert set(MODELS) == {"register", "cas-register", "kv", "set", "queue", "mutex", "profile",
                           "multi-register", "counter", "bank"}
    for name, model in MODELS.items():
        assert get_model(name) is model
    assert get_model(MODELS["kv"]) is MODELS["kv"]


def test_register_steps_and_pins() -> None:
    m = get_model("cas-register")
    assert m.step(None, mk("read", output=None)) == (True, None)
    assert m.step(3, mk("read", output=4)) == (False, 3)
    assert m.step(3, mk("write", 5)) == (True, 5)
    assert m.step(3, mk("cas", [3, 4])) == (True, 4)
    assert m.step(2, mk("cas", [3, 4]))[0] is False
    assert m.pins(mk("read", output=[1, 2])) == ((1, 2), SAME)
    assert m.pins(mk("write", 5)) == (ANY, 5)
    assert m.pins(mk("cas", [3, 4])) == (3, 4)
    with pytest.raises(ValueError, match="supports"):
        m.prepare([mk("delete")])


def test_profile_pairs() -> None:
    m = get_model("profile")
    ok, state = m.step(None, mk("write", ["meta", "img"], key="u1"))
    assert ok and state == ("meta", "img")
    assert m.step(state, mk("read", output=["meta", "img"]))[0]
    assert not m.step(state, mk("read", output=None))[0]
    assert m.describe_state(state) == "metadata meta, image img"
    assert m.describe_state(None) == "empty record"


def test_queue_info_dequeue_successors() -> None:
    m = get_model("queue")
    _, s = m.step(frozenset(), mk("enqueue", 1))
    _, s = m.step(s, mk("enqueue", 2))
    after = set(m.successors(s, mk("dequeue", status="info")))
    assert after == {frozenset({(1, 1)}), frozenset({(2, 1)})}


def test_prepare_drops_unobservable_info_ops() -> None:
    m = get_model("register")
    ops = [mk("write", 1, status="info"), mk("write", 2, status="info"), mk("read", output=2),
           mk("read", status="info")]
    kept = m.prepare(ops)
    assert [o.value for o in kept if o.f == "write"] == [2]
    assert all(o.status == "ok" for o in kept if o.f == "read")


def test_docs_example_runs() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "checker.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    example = next(b for b in blocks if "counter = Model(" in b)
    exec(compile(example, "docs/checker.md", "exec"), {})
