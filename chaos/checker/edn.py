"""A small EDN reader, enough for Jepsen and Knossos histories, linear in its input.

Supports nil/true/false, integers (``-3``, ``42N``), floats (``1.5``, ``-2e3``, ``1.5M``),
ratios (``1/2``, read as a float), strings with escapes, characters (``\\a``, ``\\newline``,
``\\u0041``), keywords (``:f``, ``:jepsen/op``), symbols, lists, vectors, maps, sets ``#{}``,
tagged literals (``#inst "..."``: the tag is dropped and the value kept), discard ``#_``,
``;`` comments and commas as whitespace.

Python shapes: vectors and lists become lists, maps dicts, sets frozensets (with lists inside
made tuples so they hash), keywords :class:`Keyword` (a ``str`` without the colon), symbols
:class:`Symbol`. Errors are :class:`EdnError` carrying the line number.

How it stays fast and safe on large or hostile files: one regular expression finds each token
(skipping the whitespace before it) and an explicit stack builds the collections, so there is
no recursion (100,000 nested vectors are read, not a ``RecursionError``), line numbers are
counted incrementally (never from the start of the file again), and atoms that repeat
(``:type``, ``:invoke``, ``nil``, small numbers) are converted once.

A hand-written reader rather than the ``edn_format`` package: line numbers in errors, no
recursion limit, and several times faster on histories; tests/test_checker_edn.py reads the
same files with both and compares.
"""

from __future__ import annotations

import re
from typing import Any


class EdnError(ValueError):
    """Unreadable EDN; ``line`` is the 1-based line where the problem is."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


class Keyword(str):
    """An EDN keyword, ``:write`` read as ``Keyword("write")``: a ``str`` that knows it was one."""

    __slots__ = ()

    def __repr__(self) -> str:
        return ":" + str.__str__(self)


class Symbol(str):
    """An EDN symbol (``foo``), kept as a ``str`` subclass."""

    __slots__ = ()


_DELIM = r"\s,()\[\]{}\";"
_TOKEN = re.compile(
    rf"""(?:[\s,]+|;[^\n]*)*+(?:
      (?P<s>"(?:[^"\\]|\\.)*")
    | (?P<o>[(\[{{]|\#\{{)
    | (?P<c>[)\]}}])
    | (?P<d>\#_)
    | (?P<t>\#[^{_DELIM}#_][^{_DELIM}]*)
    | (?P<h>\\(?:u[0-9a-fA-F]{{4}}|newline|space|tab|return|backspace|formfeed|[^\s]))
    | (?P<a>[^{_DELIM}\\\#][^{_DELIM}]*)
    | (?P<bad>.)
    )""",
    re.VERBOSE | re.DOTALL,
)
_TRAILING = re.compile(r"(?:[\s,]+|;[^\n]*)*\Z")
_INT = re.compile(r"[+-]?\d+N?")
_FLOAT = re.compile(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?M?")
_RATIO = re.compile(r"[+-]?\d+/\d+")
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/"}
_CHARS = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r", "backspace": "\b", "formfeed": "\f"}
_CLOSERS = {"(": ")", "[": "]", "{": "}", "#{": "}"}
_DISCARD = object()
_LIST, _MAP, _SET = 0, 1, 2
_KIND = {"(": _LIST, "[": _LIST, "{": _MAP, "#{": _SET}


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple((_hashable(k), _hashable(v)) for k, v in value.items())
    return value


class _Lines:
    """Line numbers of increasing positions, counted incrementally."""

    __slots__ = ("line", "pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1

    def at(self, pos: int) -> int:
        if pos < self.pos:
            return self.text.count("\n", 0, pos) + 1
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def _atom(token: str, line: int) -> Any:
    if token.isdigit():
        return int(token)
    if token == "nil":
        return None
    if token == "true":
        return True
    if token == "false":
        return False
    first = token[0]
    if first == ":":
        if len(token) == 1:
            raise EdnError("empty keyword", line)
        return Keyword(token[1:])
    if first.isdigit() or (first in "+-" and len(token) > 1 and token[1].isdigit()):
        if _INT.fullmatch(token):
            return int(token.rstrip("N"))
        if _FLOAT.fullmatch(token):
            return float(token.rstrip("M"))
        if _RATIO.fullmatch(token):
            num, den = token.split("/")
            if int(den) == 0:
                raise EdnError(f"bad number {token!r}", line)
            return int(num) / int(den)
        raise EdnError(f"bad number {token!r}", line)
    return Symbol(token)


def _unescape(body: str, line: int) -> str:
    def one(m: re.Match[str]) -> str:
        esc = m.group(1)
        if len(esc) == 5:
            return chr(int(esc[1:], 16))
        if esc in _ESCAPES:
            return _ESCAPES[esc]
        if esc == "u":
            raise EdnError("bad unicode escape in string", line)
        raise EdnError(f"unknown escape \\{esc} in string", line)

    return _ESCAPE.sub(one, body)


def _char(token: str, line: int) -> str:
    name = token[1:]
    if len(name) == 1:
        return name
    if name in _CHARS:
        return _CHARS[name]
    if name.startswith("u") and len(name) == 5:
        return chr(int(name[1:], 16))
    raise EdnError(f"unknown character literal {token}", line)


def read_forms(text: str, *, unwrap: bool = False) -> list[tuple[int, Any]]:
    """Every top-level form of ``text``, each with the line it starts on.

    ``unwrap``: when the text is one list or vector (a whole history in one form), its
    elements are returned instead, each with its own line.
    """
    lines = _Lines(text)
    match = _TOKEN.match
    cache: dict[str, Any] = {}
    out: list[tuple[int, Any]] = []
    # stack entries: [kind, items, start position, closer, discards pending]
    stack: list[list[Any]] = []
    discards = 0  # top-level discards pending
    pos = 0
    n = len(text)
    unwrapped = False
    after = -1
    while pos < n:
        m = match(text, pos)
        if m is None or m.lastgroup is None:  # only whitespace left
            break
        kind = m.lastgroup
        start = m.start(kind)
        pos = m.end()
        depth = len(stack)
        if after >= 0 and depth == 0:
            raise EdnError("more than one form after the history vector", lines.at(start))
        if kind == "o":
            token = m.group("o")
            stack.append([_KIND[token], [], lines.at(start), _CLOSERS[token], 0])
            if unwrap and depth == 0 and token in ("[", "(") and not out:
                unwrapped = True
            continue
        if kind == "c":
            closer = m.group("c")
            if not stack:
                raise EdnError(f"unmatched {closer!r}", lines.at(start))
            top = stack.pop()
            if top[3] != closer:
                raise EdnError(f"expected {top[3]!r} to close the collection, found {closer!r}", lines.at(start))
            if top[4]:
                raise EdnError("#_ with nothing to discard", lines.at(start))
            items = top[1]
            if top[0] == _LIST:
                value: Any = items
            elif top[0] == _MAP:
                if len(items) % 2:
                    raise EdnError("map literal with an odd number of forms", top[2])
                value = {_hashable(items[i]): items[i + 1] for i in range(0, len(items), 2)}
            else:
                value = frozenset(_hashable(v) for v in items)
            if unwrapped and depth == 1:
                after = pos
                continue
            line = top[2]
        elif kind == "a":
            token = m.group("a")
            value = cache.get(token, _DISCARD)
            line = -1
            if value is _DISCARD:
                line = lines.at(start)
                value = _atom(token, line)
                if len(cache) < 4096:
                    cache[token] = value
        elif kind == "s":
            body = m.group("s")[1:-1]
            line = -1
            value = _unescape(body, lines.at(start)) if "\\" in body else body
        elif kind == "d":
            if stack:
                stack[-1][4] += 1
            else:
                discards += 1
            continue
        elif kind == "t":
            continue  # a tagged literal: the tag is dropped, the value kept
        elif kind == "h":
            line = lines.at(start)
            value = _char(m.group("h"), line)
        else:
            bad = m.group("bad")
            if bad == '"':
                raise EdnError("unterminated string", lines.at(start))
            if bad == "\\":
                raise EdnError("character literal at end of input", lines.at(start))
            raise EdnError(f"unexpected character {bad!r}", lines.at(start))
        # a complete form: discard it, add it to its collection, or emit it
        if stack:
            top = stack[-1]
            if top[4]:
                top[4] -= 1
            elif unwrapped and len(stack) == 1:
                out.append((line if line >= 0 else lines.at(start), value))
            else:
                top[1].append(value)
        elif discards:
            discards -= 1
        else:
            out.append((line if line >= 0 else lines.at(start), value))
    if stack:
        top = stack[-1]
        raise EdnError(f"unclosed collection (expected {top[3]!r})", top[2])
    if discards:
        raise EdnError("#_ with nothing to discard", lines.at(n))
    if pos < n and not _TRAILING.match(text, pos):  # pragma: no cover - the token pattern matches anything
        raise EdnError("unreadable input", lines.at(pos))
    return out


_A = r"[^\s,()\[\]{}\";\\#][^\s,()\[\]{}\";]*"
_VAL = rf"(?:\"(?:[^\"\\]|\\.)*\"|\[[^\[\]{{}}()\"#;\\]*\]|\#\{{[^\[\]{{}}()\"#;\\]*\}}|{_A})"
_PAIR = re.compile(rf"[\s,]*:([^\s,()\[\]{{}}\";]+)[\s,]+({_VAL})")
_FLAT = re.compile(rf"\s*\{{(?:[\s,]*:[^\s,()\[\]{{}}\";]+[\s,]+{_VAL})*[\s,]*\}}\s*")
_ATOMS = re.compile(_A)


def read_flat_maps(text: str) -> list[tuple[int, dict[str, Any]]] | None:
    """The fast path for the common layout of Jepsen histories: one flat map per line
    (keyword keys; values atoms, strings, or vectors and sets of atoms), optionally all inside
    one vector. Each map with its line; None when the text has any other shape, which
    :func:`read_forms` then reads. A line is matched and split by two regular expressions, so
    most of the work happens in C."""
    body = text.lstrip()
    if body.startswith("["):
        start = text.index("[")
        end = text.rstrip().rfind("]")
        if end <= start:
            return None
        text = text[:start] + " " + text[start + 1 : end] + " " + text[end + 1 :]
    cache: dict[str, Any] = {}
    out: list[tuple[int, dict[str, Any]]] = []
    flat = _FLAT.fullmatch
    pairs = _PAIR.findall
    for number, line in enumerate(text.split("\n"), 1):
        if not line or line.isspace():
            continue
        if flat(line) is None:
            return None
        event: dict[str, Any] = {}
        for key, token in pairs(line):
            value = cache.get(token, _DISCARD)
            if value is _DISCARD:
                value = _fast_value(token, number)
                if len(cache) < 4096 and token[0] not in "[#":
                    cache[token] = value
            event[key] = value
        out.append((number, event))
    return out


def _fast_value(token: str, line: int) -> Any:
    first = token[0]
    if first == '"':
        body = token[1:-1]
        return _unescape(body, line) if "\\" in body else body
    if first == "[":
        return [_atom(a, line) for a in _ATOMS.findall(token[1:-1])]
    if first == "#":
        return frozenset(_atom(a, line) for a in _ATOMS.findall(token[2:-1]))
    return _atom(token, line)


def loads(text: str) -> Any:
    """Read exactly one EDN form."""
    forms = read_forms(text)
    if len(forms) != 1:
        raise EdnError(f"expected one form, found {len(forms)}", forms[1][0] if len(forms) > 1 else 1)
    return forms[0][1]


def loads_all(text: str) -> list[tuple[int, Any]]:
    """Read every top-level form, each with the line it starts on."""
    return read_forms(text)


def plain(value: Any) -> Any:
    """EDN data as plain JSON-like Python: keywords and symbols become ``str``, sets sorted
    lists (a Jepsen set read), tuples lists. Iterative, so deep nesting is no problem."""
    kind = type(value)
    if kind is Keyword or kind is Symbol:
        return str.__str__(value)
    if kind is int or kind is str or value is None or kind is float or kind is bool:
        return value
    root: list[Any] = [None]
    work: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while work:
        item, parent, slot = work.pop()
        kind = type(item)
        if kind is Keyword or kind is Symbol:
            parent[slot] = str.__str__(item)
        elif kind is list or kind is tuple:
            out = [None] * len(item)
            parent[slot] = out
            work.extend((v, out, i) for i, v in enumerate(item))
        elif kind is frozenset or kind is set:
            items = [plain(v) for v in item]
            try:
                parent[slot] = sorted(items)
            except TypeError:
                parent[slot] = sorted(items, key=repr)
        elif kind is dict:
            d: dict[Any, Any] = {}
            parent[slot] = d
            for k, v in item.items():
                key = k if isinstance(k, tuple) else plain(k)
                d[key] = None
                work.append((v, d, key))
        else:
            parent[slot] = item
    return root[0]
