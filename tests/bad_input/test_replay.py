"""``chaos replay`` on bad replay files: missing, truncated, not JSON, fields missing or of the
wrong type, the wrong format string, an experiment inside that is itself bad, and decisions
edited so that they no longer fit the execution ("replay diverged at step N"). Each is bad
input (exit 3) naming the file and the field, and leaves no run directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .corpus import Case, Form, Outcome, check, run_all
from .experiment_files import HOSTILE_SECONDS, laughs

Document = dict[str, Any]


def stored(base: Path) -> Document:
    document: Document = json.loads((base / "explore" / "replay.json").read_text(encoding="utf-8"))
    return document


def edited(change: Callable[[Document], Any]) -> Callable[[Path], str]:
    """The stored replay file with ``change`` applied (it edits the document in place, or
    returns a replacement)."""

    def make(base: Path) -> str:
        document = stored(base)
        replaced = change(document)
        return json.dumps(document if replaced is None else replaced)

    return make


def raw(make: Callable[[str], str | bytes]) -> Callable[[Path], str | bytes]:
    """The stored replay file's text, transformed."""
    return lambda base: make((base / "explore" / "replay.json").read_text(encoding="utf-8"))


def replay(id: str, content: Any, *named: str, form: Form = "line", within: float | None = None) -> Case:
    files = {} if content is None else {"r.json": content}
    return Case(
        f"replay-{id}",
        "replay",
        ("replay", "r.json", "--out", "run"),
        files=files,
        named=named,
        form=form,
        within=within,
    )


def _set(path: str, value: Any) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        node: Any = document
        parts = [int(p) if p.isdigit() else p for p in path.split(".")]
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value

    return change


def _drop(path: str) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        node: Any = document
        parts = [int(p) if p.isdigit() else p for p in path.split(".")]
        for part in parts[:-1]:
            node = node[part]
        del node[parts[-1]]

    return change


def _experiment(old: str, new: str) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        assert old in document["experiment"]
        document["experiment"] = document["experiment"].replace(old, new)

    return change


CASES: list[Case] = [
    replay("missing", None, "r.json: cannot read: No such file or directory"),
    Case(
        "replay-a-directory",
        "replay",
        ("replay", "r.json"),
        files={"r.json/x": ""},
        form="usage",
        named=("'r.json' is a directory",),
    ),
    replay("empty", "", "r.json: not a replay file (malformed or truncated JSON"),
    replay("truncated", raw(lambda text: text[: len(text) // 2]), "r.json: not a replay file (malformed or truncated"),
    replay("not-json", "this is not JSON\n", "r.json: not a replay file (malformed or truncated JSON"),
    replay("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "r.json: not a replay file"),
    replay("utf16", raw(lambda text: text.encode("utf-16")), "r.json: not a replay file"),
    replay("a-list", "[]", "r.json: not a replay file", "Expected `object`, got `array`"),
    replay("a-string", '"replay"', "r.json: not a replay file", "Expected `object`, got `str`"),
    replay("null", "null", "r.json: not a replay file", "Expected `object`, got `null`"),
    replay("format-missing", edited(_drop("format")), "r.json: not a replay file", "`format`"),
    replay(
        "format-other-version",
        edited(_set("format", "asyncchaos-replay/2")),
        "r.json: not a replay file (format 'asyncchaos-replay/2', expected asyncchaos-replay/1)",
    ),
    replay("format-a-number", edited(_set("format", 1)), "r.json: not a replay file", "$.format"),
    replay(
        "format-of-another-tool",
        edited(_set("format", "jepsen-history")),
        "r.json: not a replay file (format 'jepsen-history'",
    ),
    replay("experiment-missing", edited(_drop("experiment")), "r.json: not a replay file", "`experiment`"),
    replay(
        "experiment-a-mapping", edited(_set("experiment", {"name": "x"})), "r.json: not a replay file", "$.experiment"
    ),
    replay(
        "experiment-not-yaml",
        edited(_set("experiment", "name: [unclosed\n")),
        "r.json#experiment: 1 problem",
        "not valid YAML",
        form="problems",
    ),
    replay(
        "experiment-bad-field",
        edited(_experiment("max_operations: 3", "max_operations: lots")),
        "r.json#experiment: 1 problem",
        "explore.max_operations: Input should be a valid integer",
        form="problems",
    ),
    replay(
        "experiment-alias-bomb",
        edited(lambda d: d.update(experiment=laughs() + d["experiment"])),
        "r.json#experiment: 1 problem",
        "expands to more than 100,000 values",
        form="problems",
        within=HOSTILE_SECONDS,
    ),
    replay(
        "experiment-duplicate-key",
        edited(lambda d: d.update(experiment=d["experiment"] + "seed: 7\n")),
        "r.json#experiment: 1 problem",
        "key 'seed' appears twice",
        form="problems",
    ),
    replay(
        "experiment-system-missing",
        edited(_experiment("name: profile-naive", "name: corpus_missing:System")),
        "r.json#experiment: 1 problem",
        "cannot import module 'corpus_missing'",
        form="problems",
    ),
    replay(
        "experiment-model-unknown",
        edited(_experiment("model: profile", "model: profiles")),
        "r.json#experiment: 1 problem",
        "checks.0.model: unknown model 'profiles'",
        form="problems",
    ),
    replay(
        "experiment-on-postgres",
        edited(
            _experiment(
                "db: {adapter: memory}", "db: {adapter: postgres, settings: {dsn: 'postgresql://u@127.0.0.1:1/x'}}"
            )
        ),
        "r.json#experiment: 1 problem",
        "mode: explore drives in-memory stores only",
        form="problems",
    ),
    replay(
        "experiment-not-explore",
        edited(_experiment("mode: explore", "mode: run\noperations: 3")),
        "r.json: not a replay file (its experiment has mode: run",
    ),
    replay("plan-missing", edited(_drop("plan")), "r.json: not a replay file", "`plan`"),
    replay("plan-a-mapping", edited(_set("plan", {"server-0": []})), "r.json: not a replay file", "$.plan"),
    replay("plan-empty", edited(_set("plan", [])), "r.json: the plan has 0 server(s), the experiment 1"),
    replay(
        "plan-two-servers",
        edited(lambda d: d["plan"].append(d["plan"][0])),
        "r.json: the plan has 2 server(s), the experiment 1",
    ),
    replay("plan-op-without-f", edited(_drop("plan.0.0.f")), "r.json: not a replay file", "`f`", "$.plan[0][0]"),
    replay("plan-op-f-a-number", edited(_set("plan.0.0.f", 7)), "r.json: not a replay file", "$.plan[0][0].f"),
    replay(
        "plan-op-unknown-field",
        edited(_set("plan.0.0.when", "now")),
        "r.json: not a replay file",
        "unknown field `when`",
    ),
    replay(
        "plan-op-not-explored",
        edited(_set("plan.0.0.f", "scan")),
        "replay diverged at step 1",
        "the plan asks for scan",
    ),
    replay("plan-op-key-a-list", edited(_set("plan.0.0.key", ["u1"])), "r.json: not a replay file", "$.plan[0][0].key"),
    replay(
        "plan-op-idle-a-word", edited(_set("plan.0.0.idle", "soon")), "r.json: not a replay file", "$.plan[0][0].idle"
    ),
    replay(
        "plan-op-idle-negative",
        edited(_set("plan.0.0.idle", -5)),
        "r.json: not a replay file",
        "Expected `float` >= 0.0 - at `$.plan[0][0].idle`",
    ),
    replay(
        "plan-value-nested-deeply",
        edited(_set("plan.0.0.value", json.loads("[" * 900 + "]" * 900))),
        "r.json: replay diverged at step 3",
    ),
    replay(
        "plan-value-nested-50000-deep",
        raw(lambda text: text.replace('"value": null', '"value": ' + "[" * 50_000 + "]" * 50_000, 1)),
        "r.json: not a replay file (nested too deeply)",
    ),
    replay("decisions-missing", edited(_drop("decisions")), "r.json: not a replay file", "`decisions`"),
    replay("decisions-a-string", edited(_set("decisions", "server-0")), "r.json: not a replay file", "$.decisions"),
    replay("decision-without-actor", edited(_drop("decisions.0.actor")), "r.json: not a replay file", "`actor`"),
    replay(
        "decision-unknown-field",
        edited(_set("decisions.0.server", 0)),
        "r.json: not a replay file",
        "unknown field `server`",
    ),
    replay(
        "decision-pause-a-word",
        edited(_set("decisions.0.pause", "long")),
        "r.json: not a replay file",
        "$.decisions[0].pause",
    ),
    replay(
        "decision-pause-negative",
        edited(_set("decisions.0.pause", -1)),
        "r.json: not a replay file",
        "Expected `float` >= 0.0 - at `$.decisions[0].pause`",
    ),
    replay(
        "decision-actor-renamed",
        edited(_set("decisions.0.actor", "server-9")),
        "r.json: replay diverged at step 2: the file says server-9",
    ),
    replay(
        "decision-fault-unknown",
        edited(_set("decisions.1.fault", "meteor")),
        "r.json: replay diverged at step 3: the file says server-0 (meteor)",
    ),
    replay(
        "decisions-truncated",
        edited(lambda d: d.update(decisions=d["decisions"][:1])),
        "r.json: replay diverged at step 3: the file's decisions end before the execution does",
    ),
    replay("decisions-empty", edited(_set("decisions", [])), "r.json: replay diverged at step 2"),
    replay(
        "decisions-extra",
        edited(lambda d: d["decisions"].append({"actor": "server-0"})),
        "r.json: replay diverged at step 9: the execution ended with 1 recorded decision(s) unused",
    ),
    replay("seed-a-word", edited(_set("seed", "lucky")), "r.json: not a replay file", "$.seed"),
    replay("seed-a-fraction", edited(_set("seed", 1.5)), "r.json: not a replay file", "$.seed"),
    replay(
        "unknown-top-level-field", edited(_set("version", 2)), "r.json: not a replay file", "unknown field `version`"
    ),
    replay("nan-seed", raw(lambda text: text.replace('"seed": 1', '"seed": NaN')), "r.json: not a replay file"),
    Case(
        "replay-out-is-a-file",
        "replay",
        ("replay", "r.json", "--out", "blocker"),
        files={"r.json": raw(lambda text: text), "blocker": "x"},
        form="usage",
        named=("'blocker' is a file",),
    ),
    Case(
        "replay-out-under-a-file",
        "replay",
        ("replay", "r.json", "--out", "blocker/run"),
        files={"r.json": raw(lambda text: text), "blocker": "x"},
        named=("cannot write the run directory blocker/run: Not a directory",),
    ),
    Case(
        "replay-out-empty",
        "replay",
        ("replay", "r.json", "--out", ""),
        files={"r.json": raw(lambda text: text)},
        form="usage",
        named=("Invalid value for '--out': an empty path",),
    ),
    Case(
        "replay-file-empty",
        "replay",
        ("replay", ""),
        form="usage",
        named=("Invalid value for 'REPLAY_FILE': an empty path",),
    ),
    Case("replay-no-file", "replay", ("replay",), form="usage", named=("Missing argument 'REPLAY_FILE'",)),
    Case(
        "replay-unknown-option",
        "replay",
        ("replay", "r.json", "--seed", "3"),
        files={"r.json": "{}"},
        form="usage",
        named=("No such option '--seed'",),
    ),
]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, base: Path) -> tuple[Path, dict[str, Outcome]]:
    root = tmp_path_factory.mktemp("replay")
    return root, run_all(CASES, root, {"base": str(base)})


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_replay_file(case: Case, outcomes: tuple[Path, dict[str, Outcome]]) -> None:
    root, found = outcomes
    check(case, found[case.id], root / case.id)
