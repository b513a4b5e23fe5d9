"""A small EDN reader, enough for Jepsen and Knossos histories.

Supports nil/true/false, integers (``-3``, ``42N``), floats (``1.5``, ``-2e3``, ``1.5M``),
ratios (``1/2``, read as a float), strings with escapes, characters (``\\a``, ``\\newline``,
``\\u0041``), keywords (``:f``, ``:jepsen/op``), symbols, lists, vectors, maps, sets ``#{}``,
tagged literals (``#inst "..."``: the tag is dropped and the value kept), discard ``#_``,
``;`` comments and commas as whitespace.

Python shapes: vectors and lists become lists, maps dicts, sets frozensets (with lists inside
made tuples so they hash), keywords :class:`Keyword` (a ``str`` without the colon), symbols
:class:`Symbol`. Errors are :class:`EdnError` carrying the line number.

A hand-written reader rather than the ``edn_format`` package: one dependency fewer, line
numbers in errors, and it never builds immutable wrapper types the checker would unwrap.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
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


_DELIMS = set("()[]{}\"; \t\r\n,")
_WS = re.compile(r"(?:[\s,]+|;[^\n]*)+")
_TOKEN = re.compile(r"[^\s,()\[\]{}\";]+")
_INT = re.compile(r"^[+-]?\d+N?$")
_FLOAT = re.compile(r"^[+-]?\d+(\.\d*)?([eE][+-]?\d+)?M?$")
_RATIO = re.compile(r"^[+-]?\d+/\d+$")
_CHARS = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r", "backspace": "\b", "formfeed": "\f"}
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/"}
_CLOSERS = {"(": ")", "[": "]", "{": "}"}


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple((_hashable(k), _hashable(v)) for k, v in value.items())
    return value


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.n = len(text)

    def line(self, pos: int | None = None) -> int:
        return self.text.count("\n", 0, self.pos if pos is None else pos) + 1

    def skip(self) -> None:
        m = _WS.match(self.text, self.pos)
        if m:
            self.pos = m.end()

    def error(self, message: str, pos: int | None = None) -> EdnError:
        return EdnError(message, self.line(pos))

    def forms(self) -> Iterator[tuple[int, Any]]:
        """Top-level forms with the line each starts on."""
        while True:
            self.skip()
            if self.pos >= self.n:
                return
            start = self.pos
            value = self.read()
            if value is _DISCARDED:
                continue
            yield self.line(start), value

    def read(self) -> Any:
        self.skip()
        if self.pos >= self.n:
            raise self.error("unexpected end of input")
        c = self.text[self.pos]
        if c in "([{":
            start = self.pos
            self.pos += 1
            items = self.read_until(_CLOSERS[c], start)
            if c == "{":
                if len(items) % 2:
                    raise self.error("map literal with an odd number of forms", start)
                return {_hashable(items[i]): items[i + 1] for i in range(0, len(items), 2)}
            return items
        if c in ")]}":
            raise self.error(f"unmatched {c!r}")
        if c == '"':
            return self.read_string()
        if c == "\\":
            return self.read_char()
        if c == "#":
            return self.read_dispatch()
        m = _TOKEN.match(self.text, self.pos)
        if not m:
            raise self.error(f"unexpected character {c!r}")
        self.pos = m.end()
        return self.atom(m.group(), m.start())

    def read_until(self, closer: str, start: int) -> list[Any]:
        items: list[Any] = []
        while True:
            self.skip()
            if self.pos >= self.n:
                raise self.error(f"unclosed collection (expected {closer!r})", start)
            if self.text[self.pos] == closer:
                self.pos += 1
                return items
            value = self.read()
            if value is not _DISCARDED:
                items.append(value)

    def read_string(self) -> str:
        start = self.pos
        self.pos += 1
        out: list[str] = []
        text = self.text
        while True:
            end = text.find('"', self.pos)
            bs = text.find("\\", self.pos)
            if end < 0:
                raise self.error("unterminated string", start)
            if bs < 0 or end < bs:
                out.append(text[self.pos:end])
                self.pos = end + 1
                return "".join(out)
            out.append(text[self.pos:bs])
            esc = text[bs + 1:bs + 2]
            if esc in _ESCAPES:
                out.append(_ESCAPES[esc])
                self.pos = bs + 2
            elif esc == "u":
                digits = text[bs + 2:bs + 6]
                if not re.fullmatch(r"[0-9a-fA-F]{4}", digits):
                    raise self.error(f"bad unicode escape \\u{digits}", bs)
                out.append(chr(int(digits, 16)))
                self.pos = bs + 6
            else:
                raise self.error(f"unknown escape \\{esc} in string", bs)

    def read_char(self) -> str:
        start = self.pos
        self.pos += 1
        m = _TOKEN.match(self.text, self.pos)
        if not m:  # a delimiter character such as \( or \space-less \"
            if self.pos >= self.n:
                raise self.error("character literal at end of input", start)
            self.pos += 1
            return self.text[self.pos - 1]
        token = m.group()
        self.pos = m.end()
        if len(token) == 1:
            return token
        if token in _CHARS:
            return _CHARS[token]
        if token.startswith("u") and len(token) == 5:
            return chr(int(token[1:], 16))
        raise self.error(f"unknown character literal \\{token}", start)

    def read_dispatch(self) -> Any:
        start = self.pos
        nxt = self.text[self.pos + 1:self.pos + 2]
        if nxt == "{":
            self.pos += 2
            return frozenset(_hashable(v) for v in self.read_until("}", start))
        if nxt == "_":
            self.pos += 2
            self.read()
            return _DISCARDED
        m = _TOKEN.match(self.text, self.pos + 1)
        if not m:
            raise self.error("bad dispatch '#'", start)
        self.pos = m.end()
        return self.read()  # tagged literal: keep the value, drop the tag

    def atom(self, token: str, start: int) -> Any:
        if token == "nil":
            return None
        if token == "true":
            return True
        if token == "false":
            return False
        if token.startswith(":"):
            if len(token) == 1:
                raise self.error("empty keyword", start)
            return Keyword(token[1:])
        first = token[0]
        if first.isdigit() or (first in "+-" and len(token) > 1 and token[1].isdigit()):
            if _INT.match(token):
                return int(token.rstrip("N"))
            if _FLOAT.match(token):
                return float(token.rstrip("M"))
            if _RATIO.match(token):
                num, den = token.split("/")
                return int(num) / int(den)
            raise self.error(f"bad number {token!r}", start)
        return Symbol(token)


_DISCARDED = object()


def loads(text: str) -> Any:
    """Read exactly one EDN form."""
    forms = list(_Reader(text).forms())
    if len(forms) != 1:
        raise EdnError(f"expected one form, found {len(forms)}", forms[1][0] if len(forms) > 1 else 1)
    return forms[0][1]


def loads_all(text: str) -> list[tuple[int, Any]]:
    """Read every top-level form, each with the line it starts on."""
    return list(_Reader(text).forms())


def plain(value: Any) -> Any:
    """EDN data as plain JSON-like Python: keywords and symbols become ``str``, sets sorted
    lists (a Jepsen set read), tuples lists."""
    if isinstance(value, Keyword | Symbol):
        return str.__str__(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, frozenset | set):
        items = [plain(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(value, dict):
        return {plain(k) if not isinstance(k, tuple) else k: plain(v) for k, v in value.items()}
    return value
