"""YAML for experiment files, read defensively: a hostile file is a list of problems, in well
under a second, never an exhausted machine.

PyYAML's safe loader is safe from code execution, not from size: an alias bomb ("billion
laughs") expands nine aliases into a billion nodes for whatever walks the data next; 20,000
nested brackets exhaust the composer's recursion; and a key written twice silently keeps the
last value (``operations: 10`` ... ``operations: 1000000000``). So before anything walks the
document:

* the file is at most :data:`MAX_BYTES`;
* its events are scanned (PyYAML's parser is a state machine, not recursive) for nesting
  deeper than :data:`MAX_DEPTH` and more than :data:`MAX_ALIASES` aliases;
* the composed node graph, aliases expanded, has at most :data:`MAX_NODES` nodes, and no
  alias refers to a node that contains it (``&a [*a]`` is a list that holds itself: every walk
  of it recurses without end);
* no mapping has a key twice;
* a scalar that names a value Python cannot make (an integer of 5,000 digits, the date
  ``2024-13-45``) is a problem at its line, not a ``ValueError``.

Each refusal names its line. The result is the data and the line of every path in it. libyaml
(PyYAML's C extension) does the parsing where it is installed, which makes the largest file
allowed a fraction of a second's work instead of seconds.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 256 << 10
"""An experiment is a page of YAML; 256 KiB is already two hundred pages."""
MAX_DEPTH = 64
MAX_ALIASES = 1000
MAX_NODES = 100_000

Path = tuple[Any, ...]

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc]
    """PyYAML's safe loader (libyaml's where installed) whose scalars that Python cannot turn
    into values become errors at their line."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            reason = str(exc)
            if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":int"):
                reason = f"an integer written with {len(node.value):,} characters"
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read this value ({reason})", node.start_mark
            ) from None


class YamlProblem(Exception):
    """The document cannot be read; ``line`` is 1-based (``None``: the whole file)."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _line(node_or_event: Any) -> int:
    return int(node_or_event.start_mark.line) + 1


def _scan(text: str) -> None:
    """Depth and alias count from the event stream, before anything recursive runs."""
    depth = 0
    aliases = 0
    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlProblem(_line(event), f"nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise YamlProblem(_line(event), f"more than {MAX_ALIASES} aliases (*name)")


def _check_nodes(root: yaml.Node) -> None:
    """Expanded size (aliases counted each time they are used), cycles and duplicate keys."""
    sizes: dict[int, int] = {}
    order: list[yaml.Node] = []
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_: set[int] = set()
    """Nodes whose subtree is being walked: meeting one again means it contains itself."""
    seen: set[int] = set()
    while stack:  # post-order, iteratively: children's sizes before their parent's
        node, done = stack.pop()
        if done:
            open_.discard(id(node))
            order.append(node)
            continue
        if id(node) in open_:
            raise YamlProblem(_line(node), "an alias refers to a node that contains it (the value would hold itself)")
        if id(node) in seen:
            continue
        seen.add(id(node))
        open_.add(id(node))
        stack.append((node, True))
        for child in _children(node):
            stack.append((child, False))
    for node in order:
        total = 1 + sum(sizes.get(id(child), 1) for child in _children(node))
        if total > MAX_NODES:
            raise YamlProblem(_line(node), f"expands to more than {MAX_NODES:,} values (aliases included)")
        sizes[id(node)] = total
        if isinstance(node, yaml.MappingNode):
            keys: dict[Any, int] = {}
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    key = (key_node.tag, key_node.value)
                    if key in keys:
                        raise YamlProblem(
                            _line(key_node),
                            f"key {key_node.value!r} appears twice in one mapping (first on line {keys[key]})",
                        )
                    keys[key] = _line(key_node)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _lines(root: yaml.Node) -> dict[Path, int]:
    """The 1-based line of every path (keys and indices), iteratively; a key's path maps to
    the key's own line, which is where an editor should point."""
    lines: dict[Path, int] = {}
    stack: list[tuple[yaml.Node, Path]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        lines.setdefault(path, _line(node))
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = key_node.value
                lines[(*path, key)] = _line(key_node)
                stack.append((value_node, (*path, key)))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                stack.append((item, (*path, index)))
    return lines


def load_yaml(text: str) -> tuple[Any, dict[Path, int]]:
    """The document's data and its lines; :class:`YamlProblem` when it is malformed or
    hostile."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise YamlProblem(None, f"larger than {MAX_BYTES // 1024} KiB: not an experiment file")
    try:
        _scan(text)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, {}
            _check_nodes(node)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlProblem(line, f"not valid YAML: {exc.problem or exc.context or exc}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow: at its position
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise YamlProblem(line, f"not valid YAML: {exc.reason} (character #x{code:04x})") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(None, f"not valid YAML: {exc}") from None
    except RecursionError:  # a shape the scan let through that still recursed too deep
        raise YamlProblem(None, "nested too deeply") from None
    return data, _lines(node)


__all__ = ["MAX_ALIASES", "MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "YamlProblem", "load_yaml"]
