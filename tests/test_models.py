"""Built-in models one step at a time, the registry, and the documented user-model example."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.history import Operation
from chaos.models import ANY, MODELS, SAME, get_model


def mk(f: str, value=None, output=None, status: str = "ok", key=None) -> Operation:
    return Operation(
        id=0,
        process=0,
        f=f,
        key=key,
        value=value,
        output=output,
        status=status,
        call=0,
        ret=1 if status != "info" else None,
    )


def test_registry_names() -> None:
    assert set(MODELS) == {
        "register",
        "cas-register",
        "kv",
        "set",
        "queue",
        "mutex",
        "profile",
        "multi-register",
        "counter",
        "bank",
    }
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
    ops = [
        mk("write", 1, status="info"),
        mk("write", 2, status="info"),
        mk("read", output=2),
        mk("read", status="info"),
    ]
    kept = m.prepare(ops)
    assert [o.value for o in kept if o.f == "write"] == [2]
    assert all(o.status == "ok" for o in kept if o.f == "read")


def test_docs_example_runs() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "checker.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    example = next(b for b in blocks if "counter = Model(" in b)
    exec(compile(example, "docs/checker.md", "exec"), {})


# ---------------------------------------------------------------- kv: Porcupine's names and append


def test_kv_get_put_append_steps() -> None:
    m = get_model("kv")
    assert m.step(None, mk("get", output="")) == (True, None)  # a missing key reads as ""
    assert m.step(None, mk("read", output=None)) == (True, None)
    assert m.step(None, mk("append", "x")) == (True, "x")
    assert m.step("x", mk("append", "y")) == (True, "xy")
    assert m.step("xy", mk("get", output="xy")) == (True, "xy")
    assert m.step(None, mk("put", "")) == (True, None)
    assert m.step(5, mk("append", "y"))[0] is False  # appending to a number
    assert m.pins(mk("append", "y")) is None  # its next state depends on the state
    assert m.pins(mk("put", "v")) == (ANY, "v")
    assert m.pins(mk("get", output="")) == (None, SAME)
    assert m.operations is not None and {"get", "put", "append", "read", "write", "cas"} <= m.operations


def _kv(*ops: tuple[str, object, object, int, int | None]) -> list[Operation]:
    out = []
    for i, (f, value, output, call, ret) in enumerate(ops):
        status = "ok" if ret is not None else "info"
        out.append(
            Operation(id=i, process=i, f=f, key="k", value=value, output=output, status=status, call=call, ret=ret)
        )
    return out


def test_kv_append_histories() -> None:
    from chaos.checker import check

    concurrent = _kv(("append", "a", "a", 0, 10), ("append", "b", "b", 1, 10), ("get", None, "ba", 11, 12))
    assert check(concurrent, "kv").verdict == "valid"
    sequential = _kv(("append", "a", "a", 0, 1), ("append", "b", "b", 2, 3), ("get", None, "ba", 4, 5))
    assert check(sequential, "kv").verdict == "invalid"
    # an info put followed by an append: the put must not be dropped as unobserved
    put_then_append = _kv(("put", "x", None, 0, None), ("append", "y", "y", 5, 6), ("get", None, "xy", 7, 8))
    assert check(put_then_append, "kv").verdict == "valid"
    assert check(_kv(("get", None, "", 0, 1), ("put", "v", "v", 2, 3), ("get", None, "v", 4, 5)), "kv").valid


def test_init_states() -> None:
    from chaos.checker import check

    read_zero = _kv(("read", None, 0, 0, 1))
    assert check(read_zero, "cas-register").verdict == "invalid"
    assert check(read_zero, "cas-register", init=0).verdict == "valid"
    assert check(read_zero, "kv", init={"k": 0}).verdict == "valid"
    assert check(read_zero, "kv", init={"other": 0}).verdict == "invalid"
    from chaos.errors import BadInput

    with pytest.raises(BadInput, match="init"):
        check([mk("txn", [["r", "x", None]], [["r", "x", 0]])], "multi-register", init=5)


# ---------------------------------------------------------------- user models by name, and their bugs


MODEL_SOURCE = """
from chaos.models import Model


def step(state, op):
    if op.f == "add":
        return True, state + op.value
    if op.f == "boom":
        raise ZeroDivisionError("a bug in the user model")
    return op.status != "ok" or op.output == state, state


counter = Model(name="counter", init=lambda: 0, step=step, operations=frozenset({"add", "read", "boom"}))
not_a_model = 42
"""


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    import sys

    path = tmp_path / "myapp_models.py"
    path.write_text(MODEL_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("myapp_models", None)  # another test's copy, from another directory
    yield path
    sys.modules.pop("myapp_models", None)


def test_user_model_by_name(user_module: Path) -> None:
    from chaos.checker import check

    model = get_model("myapp_models:counter")
    assert model.name == "counter"
    ops = _kv(("add", 2, None, 0, 1), ("read", None, 2, 2, 3))
    assert check(ops, "myapp_models:counter").verdict == "valid"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("myapp_models:nope", "has no attribute 'nope'"),
        ("myapp_models:not_a_model", "is a int, not a chaos.models.Model"),
        ("no_such_module_here:counter", "no module 'no_such_module_here'"),
        ("myapp_models:", "module:attribute"),
    ],
)
def test_user_model_load_errors_are_bad_input(user_module: Path, spec: str, message: str) -> None:
    from chaos.models import ModelLoadError

    with pytest.raises(ModelLoadError, match=message) as info:
        get_model(spec)
    assert "\n" not in str(info.value)


def test_user_model_that_raises_names_model_op_and_line(user_module: Path) -> None:
    from chaos.checker import check
    from chaos.errors import UserCodeError
    from chaos.models import ModelError

    ops = _kv(("add", 1, None, 0, 1), ("boom", None, None, 2, 3))
    with pytest.raises(ModelError) as info:
        check(ops, "myapp_models:counter")
    message = str(info.value)
    assert isinstance(info.value, UserCodeError)
    assert "model 'counter'" in message and "operation #1" in message and "ZeroDivisionError" in message
    line = MODEL_SOURCE.splitlines().index('        raise ZeroDivisionError("a bug in the user model")') + 1
    assert f"{user_module}:{line}" in message


def test_unsupported_operation_is_bad_input_naming_op_and_model(user_module: Path) -> None:
    from chaos.checker import check
    from chaos.errors import BadInput
    from chaos.models import UnsupportedOperation

    with pytest.raises(UnsupportedOperation, match="model 'counter' has no operation 'frob'") as info:
        check(_kv(("frob", None, None, 0, 1)), "myapp_models:counter")
    assert isinstance(info.value, BadInput)
    with pytest.raises(BadInput, match="model 'cas-register' has no operation 'append'"):
        check(_kv(("append", "x", "x", 0, 1)), "cas-register")


def test_cli_checks_with_a_user_model(user_module: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from chaos.cli import main

    history = tmp_path / "h.jsonl"
    events = [
        {"process": 0, "type": "invoke", "f": "add", "value": 3},
        {"process": 0, "type": "ok", "f": "add", "value": 3},
        {"process": 0, "type": "invoke", "f": "read", "value": None},
        {"process": 0, "type": "ok", "f": "read", "value": 3},
    ]
    history.write_text("".join(json.dumps(e) + "\n" for e in events))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", str(history), "--model", "myapp_models:counter"])
    assert result.exit_code == 0, result.output
    events[1]["f"] = events[0]["f"] = "boom"
    history.write_text("".join(json.dumps(e) + "\n" for e in events))
    result = CliRunner().invoke(main, ["check", str(history), "--model", "myapp_models:counter"])
    assert result.exit_code == 3
    assert len(result.output.strip().splitlines()) == 1 and "myapp_models.py:" in result.output
