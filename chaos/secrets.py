"""Secrets never reach a log, report or history.

Two nets catch them. The experiment loader registers the value of every ``${ENV_VAR}`` whose
name says it is a secret (:func:`is_secret_name`: ``PASSWORD``, ``TOKEN``, ``SECRET``, ``KEY``...);
everything that writes text a person or a file will see (history error texts, the terminal,
results.json, reports, JUnit) passes through :meth:`Secrets.redact`. And passwords inside
connection strings (``scheme://[user]:password@host``, libpq's ``password=...``) are masked
wherever they appear, whatever variable they came from (:func:`redact_urls`). The stored
experiment keeps the ``${VAR}`` references themselves, never their values.

Masking every interpolated value instead would also mask ``true``, ``us-east-1`` or a bucket
name wherever they appear, and break the JSON of results.json; so variables holding secrets
must be named like secrets, or listed in the experiment's ``secrets:``. Values shorter than
:data:`MIN_LENGTH` characters are not masked: "1" or "on" would mask half of every message
and hide nothing.

A value equal to a secret is masked wherever it appears, whatever its source: a service that
echoes a bearer token back as a value has it masked in the history too
(:meth:`Secrets.mask_line`, on the encoded line, only when the run has secrets at all).
"""

from __future__ import annotations

import re

MASK = "***"
MIN_LENGTH = 4
"""Shorter values are never masked."""

_SECRET_NAME = re.compile(r"PASS|SECRET|TOKEN|KEY|CRED|AUTH|PRIVATE|SESSION|CERT|SIGNATURE|COOKIE", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says its value is a secret."""
    return bool(_SECRET_NAME.search(name))


class Secrets:
    """The set of strings to mask, longest first so that one secret containing another is
    masked whole."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._encoded: list[bytes] | None = None

    def add(self, value: str) -> None:
        if len(value) >= MIN_LENGTH and value not in self._values:
            self._values.add(value)
            self._pattern = None
            self._encoded = None

    def encoded(self) -> list[bytes]:
        """Each secret as it appears inside a JSON string (escapes included), longest first."""
        if self._encoded is None:
            from .encoding import dumps

            self._encoded = sorted((dumps(v)[1:-1] for v in self._values), key=len, reverse=True)
        return self._encoded

    def mask_line(self, buffer: bytearray, start: int) -> None:
        """Mask every secret in the encoded history line(s) at ``buffer[start:]``, in place."""
        line = bytes(buffer[start:])
        masked = line
        for secret in self.encoded():
            if secret in masked:
                masked = masked.replace(secret, MASK.encode())
        if masked is not line:
            del buffer[start:]
            buffer += masked

    def __bool__(self) -> bool:
        return bool(self._values)

    def clean(self, text: str) -> str:
        """``text`` as a person may see it: these secrets and any connection-string password masked."""
        return self.redact(redact_urls(text))

    def redact(self, text: str) -> str:
        if not self._values:
            return text
        if self._pattern is None:
            alternatives = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in alternatives))
        return self._pattern.sub(MASK, text)


_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*):[^@\s]+@")
"""``scheme://user:password@``; the user may be empty (``redis://:password@host``, Redis's usual
form)."""
_KEYWORD_PASSWORD = re.compile(r"\b(?P<key>password\s*=\s*)(?:'(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact_urls(text: str) -> str:
    """Mask the password of any ``scheme://user:password@host`` or libpq ``password=...`` in
    ``text``: drivers like to quote DSNs in their error messages."""
    if "://" not in text and "=" not in text:  # neither pattern can match: the common case, and
        return text  # the runner cleans every failed operation's message
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('scheme')}:{MASK}@", text)
    return _KEYWORD_PASSWORD.sub(lambda m: f"{m.group('key')}{MASK}", text)
