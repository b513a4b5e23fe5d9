"""The shape of the code: data flows one way, and each module imports only what it may.

The imports of every module of ``chaos`` and ``adapters`` are read from the source (inside
functions too: a lazy import is still a dependency; ``if TYPE_CHECKING:`` blocks excepted, they
name types, not dependencies) and checked against docs/architecture.md:

* no cycle;
* adapters never import the engine;
* the checkers (chaos.checker, chaos.models, chaos.elle) import no adapter but the units;
* the execution stages (the runner, the explorer) know nothing of checking, junit, reports,
  summaries or exit codes; the check stage knows nothing of the artifacts.

The package root, ``chaos/__init__.py``, is the public façade over everything and is left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("chaos", "adapters")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(path: Path, known: set[str]) -> set[str]:
    """The project modules ``path`` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", 0) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
            # ``from pkg import submodule`` depends on the submodule; anything else on ``pkg``
            targets = submodules if len(submodules) == len(node.names) else [*submodules, base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    files = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    known = {module_name(p) for p in files}
    edges = {module_name(p): imports(p, known) for p in files}
    edges.pop("chaos", None)
    return {name: {t for t in targets if t != "chaos"} for name, targets in edges.items()}


def test_no_import_cycle() -> None:
    edges = graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def _reach(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in edges.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_adapters_never_import_the_engine() -> None:
    for name, targets in graph().items():
        if name.startswith("adapters"):
            assert not any(t.startswith("chaos") for t in targets), (name, targets)


def test_checkers_import_no_adapter_but_the_units() -> None:
    for name, targets in graph().items():
        if name.startswith(("chaos.checker", "chaos.models", "chaos.elle")):
            wrong = {t for t in targets if t.startswith("adapters") and t != "adapters.units"}
            assert not wrong, (name, wrong)


def test_stages_import_only_the_stages_before_them() -> None:
    edges = graph()
    later_than_execution = {
        "chaos.analysis",
        "chaos.result",
        "chaos.health",
        "chaos.artifacts",
        "chaos.junit",
        "chaos.summary",
        "chaos.pipeline",
        "chaos.cli",
    }
    for stage in ("chaos.runner", "chaos.exploration.stage", "chaos.exploration.explorer", "chaos.exploration.driver"):
        reached = _reach(stage, edges)
        wrong = {m for m in reached if m in later_than_execution or m.startswith("chaos.report")}
        assert not wrong, (stage, wrong)
    for stage in ("chaos.analysis",):
        reached = _reach(stage, edges)
        wrong = {
            m
            for m in reached
            if m in {"chaos.artifacts", "chaos.junit", "chaos.summary", "chaos.pipeline", "chaos.cli"}
            or m.startswith("chaos.report")
        }
        assert not wrong, (stage, wrong)


def test_the_api_names_stay_functions_once_the_stages_are_imported() -> None:
    """``chaos.explore`` is a function of the public API: no module of the package may share a
    public name, or importing it would put the module where the function was."""
    import importlib

    import chaos

    for name in chaos.__all__:
        assert not (ROOT / "chaos" / name).is_dir() and not (ROOT / "chaos" / f"{name}.py").exists(), name
    importlib.import_module("chaos.exploration")
    assert callable(chaos.explore) and callable(chaos.run) and callable(chaos.check)
