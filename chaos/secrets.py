"""Secrets: values that came from ``${ENV_VAR}`` interpolation never reach a log, report or history.

The experiment loader registers every interpolated value here; everything that writes text a
person or a file will see (history error texts, the terminal, results.json, the stored
experiment) passes through :func:`redact`. The stored experiment keeps the ``${VAR}``
references themselves, never their values.
"""

from __future__ import annotations

import re

MASK = "***"


class Secrets:
    """The set of strings to mask, longest first so that one secret containing another is
    masked whole."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        # Very short values ("1", "on") would mask half of every message and hide nothing.
        if len(value) >= 4 and value not in self._values:
            self._values.add(value)
            self._pattern = None

    def __bool__(self) -> bool:
        return bool(self._values)

    def redact(self, text: str) -> str:
        if not self._values:
            return text
        if self._pattern is None:
            alternatives = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in alternatives))
        return self._pattern.sub(MASK, text)


_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+):[^@\s]+@")


def redact_urls(text: str) -> str:
    """Mask the password of any ``scheme://user:password@host`` in ``text``: drivers like to
    quote DSNs in their error messages."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group('scheme')}:{MASK}@", text)
