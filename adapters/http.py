"""HTTP adapter (aiohttp): a user's own service, reached through request templates.

The adapter knows nothing of the service's API; the experiment describes each operation as a
template (method, path with ``{key}``, query, headers, a JSON or raw body with ``{value}``,
which statuses mean what, and how to decode the answer). One ``aiohttp.ClientSession`` is
shared by every call of a run.

It is two things at once:

* an :class:`~adapters.protocol.Endpoint`: ``request(operation, key, value)`` runs the
  template named ``operation`` and returns its decoded result, for systems that are remote
  services;
* a :class:`~adapters.protocol.Store`, when the settings give templates named ``get``,
  ``put``, ``delete``, ``cas`` and ``list`` (those a system uses; ``list`` also lets ``open``
  refuse a namespace that holds data and ``close`` clean it up). The register system, and
  anything else written against stores, then runs unchanged against an HTTP key-value service.

Example (the key-value service the tests start)::

    adapter: http
    settings:
      base_url: http://127.0.0.1:8080
      headers: {Authorization: "Bearer ${KV_TOKEN}"}   # never logged
      timeout: 5s
      value_encoding: base64          # how bytes go into text and JSON: utf-8 | base64
      operations:
        get:    {method: GET, path: "/kv/{key}", missing: [404], result: body}
        put:    {method: PUT, path: "/kv/{key}", body: "{value}"}
        delete: {method: DELETE, path: "/kv/{key}", missing: [404]}
        cas:    {method: POST, path: "/cas/{key}", json: {expected: "{expected}", new: "{new}"},
                 mismatch: [409, 412]}
        list:   {method: GET, path: /keys, query: {prefix: "{prefix}"}, result: "json:keys"}

Placeholders: ``{key}`` (the key inside the run's namespace: ``key_prefix`` + key, by default
``<namespace>/<key>``), ``{raw_key}`` (the key as given), ``{value}``, ``{expected}``,
``{new}``, ``{prefix}`` (for ``list``, namespaced too) and ``{namespace}``. In a path they are
URL-quoted. In a JSON body a string that is exactly one placeholder becomes that value itself
(``null`` for a missing ``expected``); elsewhere placeholders are replaced by text. A ``body``
that is exactly ``"{value}"`` sends the value's bytes as they are.

Status codes (lists of codes or patterns such as ``"4xx"``), checked in this order:
``ok`` (default ``2xx``) gives the decoded result; ``missing`` gives ``None`` (a ``cas``:
``False``); ``mismatch`` makes a ``cas`` answer ``False``; ``unknown`` is an
:class:`~adapters.errors.IndefiniteError`; ``fail`` (default ``4xx``) a
:class:`~adapters.errors.Rejected`. Any other status (5xx, redirects) is unknown: the service
may have acted before it failed. A ``cas`` with an ``ok`` status answers ``True`` unless its
decoded result is JSON ``false``.

``result``: ``body`` (bytes), ``text``, ``json``, ``json:<field.path>`` or ``none``.

aiohttp's own habit of resending a PUT or DELETE once when a reused connection fails is
switched off: the first attempt may have been applied, and resending would hide that.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import re
import socket
from collections.abc import Iterable
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

import aiohttp
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from yarl import URL

from .errors import (
    ConnectionLost,
    IndefiniteError,
    NamespaceNotEmpty,
    Rejected,
    Timeout,
    Unavailable,
    Unsupported,
    open_within,
)
from .retry import Retrying, transient
from .settings import CommonSettings, validate_settings
from .units import Duration, Integer

PLACEHOLDERS = frozenset({"key", "raw_key", "value", "expected", "new", "prefix", "namespace"})
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_STATUS_PATTERN = re.compile(r"^([1-5])xx$")
STORE_OPERATIONS = ("get", "put", "delete", "cas", "list")
DEFAULT_POOL_SIZE = 10
MAX_DEFAULT_POOL_SIZE = 100
CLEANUP_CONCURRENCY = 8
_CONNECT_TIMEOUT: Any = getattr(aiohttp, "ConnectionTimeoutError", ())
"""aiohttp's timeout while connecting (nothing sent yet), where the installed aiohttp has one."""


def _statuses(values: Iterable[int | str]) -> frozenset[int]:
    """Status codes from a list of codes and ``"4xx"``-style patterns."""
    found: set[int] = set()
    for value in values:
        if isinstance(value, int) and 100 <= value <= 599:
            found.add(value)
        elif isinstance(value, str) and (match := _STATUS_PATTERN.match(value.strip().lower())):
            base = int(match[1]) * 100
            found.update(range(base, base + 100))
        elif isinstance(value, str) and value.strip().isdigit() and 100 <= int(value) <= 599:
            found.add(int(value))
        else:
            raise ValueError(f"not a status code or pattern like 4xx: {value!r}")
    return frozenset(found)


def _placeholders(template: Any) -> set[str]:
    if isinstance(template, str):
        return set(_PLACEHOLDER.findall(template))
    if isinstance(template, dict):
        return set().union(*(_placeholders(v) for v in template.values()), *(_placeholders(k) for k in template))
    if isinstance(template, list):
        return set().union(*(_placeholders(v) for v in template))
    return set()


StatusList = list[int | str]

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
"""An HTTP header name (RFC 9110's token)."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _header_names(headers: dict[str, str]) -> dict[str, str]:
    for name in headers:
        if not _TOKEN.match(name):
            raise ValueError(f"{name!r} is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)")
    return headers


def _header_value(value: str) -> str:
    """Refused here, with the header's name in the path, rather than by aiohttp at the first
    request with a bare ``ValueError``: a line break in a value would start another header."""
    if _CONTROL.search(value.replace("\t", "")):
        raise ValueError("a header value cannot contain a line break or another control character")
    return value


Headers = Annotated[dict[str, Annotated[str, AfterValidator(_header_value)]], AfterValidator(_header_names)]


class Template(BaseModel):
    """How one operation becomes one HTTP request, and how its answer is read."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    method: str = "GET"
    path: str = "/"
    query: dict[str, str] = Field(default_factory=dict)
    headers: Headers = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    body: str | None = None
    ok: StatusList = Field(default_factory=lambda: list[int | str](["2xx"]))
    missing: StatusList = Field(default_factory=list)
    mismatch: StatusList = Field(default_factory=list)
    unknown: StatusList = Field(default_factory=list)
    fail: StatusList = Field(default_factory=lambda: list[int | str](["4xx"]))
    result: str = "body"
    idempotent: bool | None = None
    """Whether repeating the request is harmless (default: GET and HEAD are); only such
    requests are retried after an unknown outcome."""
    timeout: Duration | None = Field(default=None, gt=0)

    @field_validator("method")
    @classmethod
    def _method(cls, method: str) -> str:
        if not re.fullmatch(r"[A-Za-z]+", method):
            raise ValueError("expected an HTTP method such as GET or PUT")
        return method.upper()

    @field_validator("path")
    @classmethod
    def _path(cls, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError("a path starts with /")
        if _CONTROL.search(path) or " " in path:
            raise ValueError("a path cannot contain spaces or control characters (percent-encode them)")
        return path

    @field_validator("result")
    @classmethod
    def _result(cls, result: str) -> str:
        if result not in ("body", "text", "json", "none") and not re.fullmatch(r"json:[^\s]+", result):
            raise ValueError("expected body, text, json, json:<field.path> or none")
        return result

    @field_validator("ok", "missing", "mismatch", "unknown", "fail")
    @classmethod
    def _status_list(cls, values: StatusList) -> StatusList:
        _statuses(values)
        return values

    @model_validator(mode="after")
    def _check(self) -> Template:
        if self.json_body is not None and self.body is not None:
            raise ValueError("give json or body, not both")
        parts = [self.path, self.query, self.headers, self.json_body, self.body]
        unknown = set().union(*(_placeholders(p) for p in parts)) - PLACEHOLDERS
        if unknown:
            raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; known: {sorted(PLACEHOLDERS)}")
        return self


class HttpSettings(CommonSettings):
    """The ``settings:`` of an http adapter."""

    base_url: str
    headers: Headers = Field(default_factory=dict)
    """Sent with every request; values may be secrets and never appear in a message."""
    timeout: Duration = Field(default=10.0, gt=0)
    """Seconds a request may take, answer included (per-operation ``timeout`` overrides)."""
    operations: dict[str, Template] = Field(default_factory=dict)
    health: Template | None = None
    """Request that ``open()`` sends to check the service; by default ``GET /`` (any answer at
    all proves it is reachable), or ``list`` when the operations include one."""
    key_prefix: str | None = None
    """Prepended to every key; default ``<namespace>/``."""
    value_encoding: Literal["utf-8", "base64"] = "utf-8"
    """How byte values are written into text and JSON (raw bodies carry the bytes as they are)."""
    pool_size: Integer | None = Field(default=None, ge=1, le=10_000)

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or _CONTROL.search(url) or " " in url:
            raise ValueError("expected http(s)://host[:port][/path]")
        try:
            port = parts.port
        except ValueError:
            port = 0
        if port == 0:  # 0, above 65535, or not a number at all
            raise ValueError("the port must be a number from 1 to 65535")
        return url.rstrip("/")


class _Garbage(Exception):
    """The answer could not be decoded as the template says."""


class HttpStore(Retrying):
    """Requests built from templates, as an Endpoint and (given the templates) a Store."""

    kind = "http"

    def __init__(self, settings: dict[str, Any] | None = None, namespace: str = "", *, concurrency: int | None = None):
        self.settings = validate_settings(HttpSettings, settings, "http")
        self.namespace = namespace
        parts = urlsplit(self.settings.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self.address = f"{parts.hostname}:{port}"
        self.base = URL(self.settings.base_url)
        prefix = self.settings.key_prefix
        self.key_prefix = prefix if prefix is not None else (f"{namespace}/" if namespace else "")
        self.pool_size = self.settings.pool_size or min(concurrency or DEFAULT_POOL_SIZE, MAX_DEFAULT_POOL_SIZE)
        self.templates = dict(self.settings.operations)
        self._classes = {name: self._classify_table(t) for name, t in self.templates.items()}
        self._session: aiohttp.ClientSession | None = None
        self._owned = False
        self.use_retry_policy(self.settings.retry, primitives=())

    def _where(self) -> str:
        return f"http at {self.address}"

    @staticmethod
    def _classify_table(template: Template) -> dict[int, str]:
        """Status -> outcome, with the precedence the module docstring states."""
        table: dict[int, str] = {}
        for outcome, codes in (
            ("fail", template.fail),
            ("unknown", template.unknown),
            ("mismatch", template.mismatch),
            ("missing", template.missing),
            ("ok", template.ok),
        ):
            for code in _statuses(codes):
                table[code] = outcome
        return table

    # ------------------------------------------------------------------ life cycle

    async def open(self) -> None:
        """Start the shared session, check that the service answers, and that the run's
        namespace is empty when the service can list keys."""
        timeout = self.settings.connect_timeout
        connector = aiohttp.TCPConnector(limit=self.pool_size)
        session = aiohttp.ClientSession(
            headers=self.settings.headers,
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.settings.timeout, sock_connect=timeout),
        )
        # aiohttp resends PUT/DELETE once on a failed reused connection; see the module docstring.
        session._retry_connection = False
        self._session = session
        await open_within(
            self._check_service(), timeout=timeout, where=self._where(), kind=self.kind, abandon=self._abandon
        )
        self._owned = True

    async def _check_service(self) -> None:
        if self.settings.health is not None:
            await self._send("health", self.settings.health, self._classify_table(self.settings.health), {})
        if "list" in self.templates:
            keys = await self._list_keys("")
            if keys and not self.settings.reuse:
                raise NamespaceNotEmpty(
                    f"{self._where()}: the service already holds keys under {self.key_prefix!r} "
                    "(set reuse: true to use them anyway)",
                    store=self.kind,
                )
        elif self.settings.health is None:
            probe = Template(method="GET", path="/", ok=["1xx", "2xx", "3xx", "4xx", "5xx"], result="none")
            await self._send("health", probe, self._classify_table(probe), {})

    async def _abandon(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(Exception):
                await session.close()

    async def close(self) -> None:
        """Delete the run's keys (unless ``keep``; needs ``list`` and ``delete`` templates) and
        close the session."""
        if self._session is None:
            return
        try:
            if self._owned and not self.settings.keep and {"list", "delete"} <= self.templates.keys():
                async with asyncio.timeout(max(self.settings.timeout, self.settings.connect_timeout) * 3):
                    keys = await self._list_keys("")
                    gate = asyncio.Semaphore(CLEANUP_CONCURRENCY)

                    async def remove(key: str) -> None:
                        async with gate:
                            await self._delete(key)

                    await asyncio.gather(*(remove(k) for k in keys))
        finally:
            self._owned = False
            await self._abandon()

    # ------------------------------------------------------------------ requests

    def _text(self, value: Any) -> str:
        """A value as text, for paths, queries, headers and text bodies."""
        if value is None:
            return ""
        if isinstance(value, bytes | bytearray | memoryview):
            return self._encode_bytes(bytes(value))
        if isinstance(value, str):
            return value
        return json.dumps(value, separators=(",", ":"))

    def _encode_bytes(self, value: bytes) -> str:
        if self.settings.value_encoding == "base64":
            return base64.b64encode(value).decode("ascii")
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise Rejected(
                f"{self._where()}: value is not UTF-8 text; set value_encoding: base64", store=self.kind
            ) from None

    def _decode_bytes(self, value: Any) -> bytes | None:
        """A decoded result as the byte value a Store returns."""
        if value is None or isinstance(value, bytes):
            return value
        if isinstance(value, str):
            if self.settings.value_encoding == "base64":
                try:
                    return base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    raise _Garbage("value is not base64") from None
            return value.encode("utf-8")
        return json.dumps(value, separators=(",", ":")).encode()

    def _json_value(self, value: Any) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            return self._encode_bytes(bytes(value))
        return value

    def _fill_text(self, template: str, fields: dict[str, Any], *, url: bool = False) -> str:
        def one(match: re.Match[str]) -> str:
            text = self._text(fields.get(match[1]))
            return quote(text, safe="") if url else text

        return _PLACEHOLDER.sub(one, template)

    def _fill_json(self, template: Any, fields: dict[str, Any]) -> Any:
        if isinstance(template, str):
            match = _PLACEHOLDER.fullmatch(template)
            if match:
                return self._json_value(fields.get(match[1]))
            return self._fill_text(template, fields)
        if isinstance(template, dict):
            return {self._fill_text(k, fields): self._fill_json(v, fields) for k, v in template.items()}
        if isinstance(template, list):
            return [self._fill_json(v, fields) for v in template]
        return template

    def _build(self, template: Template, fields: dict[str, Any]) -> dict[str, Any]:
        path = self._fill_text(template.path, fields, url=True)
        url = URL(str(self.base) + path, encoded=True)
        request: dict[str, Any] = {"method": template.method, "url": url}
        if template.query:
            request["params"] = {k: self._fill_text(v, fields) for k, v in template.query.items()}
        if template.headers:
            request["headers"] = {k: self._fill_text(v, fields) for k, v in template.headers.items()}
        if template.json_body is not None:
            request["json"] = self._fill_json(template.json_body, fields)
        elif template.body is not None:
            match = _PLACEHOLDER.fullmatch(template.body)
            if match and isinstance(fields.get(match[1]), bytes | bytearray | memoryview):
                request["data"] = bytes(fields[match[1]])
            else:
                request["data"] = self._fill_text(template.body, fields).encode()
        if template.timeout is not None:
            request["timeout"] = aiohttp.ClientTimeout(
                total=template.timeout, sock_connect=self.settings.connect_timeout
            )
        return request

    def _decode(self, template: Template, body: bytes, content_type: str) -> Any:
        kind = template.result
        if kind == "none":
            return None
        if kind == "body":
            return body
        if kind == "text":
            try:
                return body.decode("utf-8")
            except UnicodeDecodeError:
                raise _Garbage("the answer is not UTF-8 text") from None
        try:
            decoded = json.loads(body)
        except ValueError:
            raise _Garbage(f"the answer is not JSON ({content_type or 'no content type'}, {len(body)} bytes)") from None
        if kind == "json":
            return decoded
        for part in kind.removeprefix("json:").split("."):
            if isinstance(decoded, dict) and part in decoded:
                decoded = decoded[part]
            elif isinstance(decoded, list) and part.lstrip("-").isdigit() and -len(decoded) <= int(part) < len(decoded):
                decoded = decoded[int(part)]
            else:
                raise _Garbage(f"the answer has no field {kind.removeprefix('json:')!r}")
        return decoded

    async def _send(
        self, name: str, template: Template, table: dict[int, str], fields: dict[str, Any]
    ) -> tuple[str, Any]:
        """One request: ``(outcome, decoded result)`` where outcome is ok, missing or mismatch;
        other outcomes raise, mapped by what they prove."""
        session = self._session
        if session is None:
            raise Unavailable(f"{self._where()}: not open", store=self.kind)
        what = f"{self._where()}: {name} {template.method} {template.path}"
        request = self._build(template, fields)
        try:
            async with session.request(**request) as response:
                status = response.status
                outcome = table.get(status, "unknown")
                if outcome == "fail":
                    error = Rejected(f"{what}: HTTP {status}", store=self.kind)
                    raise transient(error) if status == 429 else error
                if outcome == "unknown":
                    raise IndefiniteError(f"{what}: HTTP {status}", store=self.kind)
                if outcome in ("missing", "mismatch"):
                    return outcome, None
                body = await response.read()
                return outcome, self._decode(template, body, response.content_type)
        except aiohttp.ClientConnectorError as exc:
            reason = "connection refused" if isinstance(exc.os_error, ConnectionRefusedError) else "cannot connect"
            if isinstance(exc.os_error, socket.gaierror):
                reason = "unknown host"
            raise transient(Unavailable(f"{what}: {reason}", store=self.kind)) from None
        except _Garbage as exc:
            raise IndefiniteError(f"{what}: {exc}", store=self.kind) from None
        except aiohttp.ClientResponseError as exc:
            raise IndefiniteError(f"{what}: not a valid HTTP answer ({type(exc).__name__})", store=self.kind) from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError) as exc:
            raise ConnectionLost(f"{what}: connection lost ({type(exc).__name__})", store=self.kind) from None
        except _CONNECT_TIMEOUT:
            raise transient(Unavailable(f"{what}: connect timeout", store=self.kind)) from None
        except TimeoutError:
            limit = template.timeout or self.settings.timeout
            raise Timeout(f"{what}: no answer within {limit:g}s", store=self.kind) from None
        except aiohttp.ClientError as exc:
            raise IndefiniteError(f"{what}: {type(exc).__name__}", store=self.kind) from None

    async def _call(self, name: str, fields: dict[str, Any], idempotent: bool | None = None) -> tuple[str, Any]:
        template = self.templates.get(name)
        if template is None:
            raise Unsupported(f"{self._where()}: no template for operation {name!r}", store=self.kind)
        table = self._classes[name]
        if self.retrier is None:
            return await self._send(name, template, table, fields)
        repeatable = template.idempotent
        if repeatable is None:
            repeatable = template.method in ("GET", "HEAD") if idempotent is None else idempotent
        return await self.retrier.call(repeatable, self._send, name, template, table, fields)

    def _fields(self, key: str | None, **extra: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {"namespace": self.namespace, **extra}
        if key is not None:
            fields["key"] = self.key_prefix + key
            fields["raw_key"] = key
        return fields

    # ------------------------------------------------------------------ Endpoint

    async def request(self, operation: str, key: str | None = None, value: Any = None) -> Any:
        """Run the template named ``operation``; its decoded result (``None`` for a ``missing``
        status). A ``mismatch`` status is a definite failure here."""
        outcome, result = await self._call(operation, self._fields(key, value=value))
        if outcome == "mismatch":
            raise Rejected(f"{self._where()}: {operation}: the service refused the request", store=self.kind)
        return result

    # ------------------------------------------------------------------ Store

    async def get(self, key: str) -> bytes | None:
        _, result = await self._call("get", self._fields(key), idempotent=True)
        try:
            return self._decode_bytes(result)
        except _Garbage as exc:
            raise IndefiniteError(f"{self._where()}: get: {exc}", store=self.kind) from None

    async def put(self, key: str, value: bytes) -> None:
        await self._call("put", self._fields(key, value=value), idempotent=False)

    async def _delete(self, key: str) -> None:
        await self._call("delete", self._fields(key), idempotent=False)

    async def delete(self, key: str) -> None:
        await self._delete(key)

    async def cas(self, key: str, expected: bytes | None, new: bytes) -> bool:
        outcome, result = await self._call(
            "cas", self._fields(key, value=new, expected=expected, new=new), idempotent=False
        )
        return outcome == "ok" and result is not False

    async def _list_keys(self, prefix: str) -> list[str]:
        _, result = await self._call("list", {"namespace": self.namespace, "prefix": self.key_prefix + prefix})
        if result is None:
            return []
        if not isinstance(result, list) or not all(isinstance(k, str) for k in result):
            raise IndefiniteError(f"{self._where()}: list: the answer is not a list of keys", store=self.kind)
        start = self.key_prefix + prefix
        cut = len(self.key_prefix)
        return sorted(k[cut:] for k in result if k.startswith(start))

    async def list(self, prefix: str = "") -> list[str]:
        return await self._list_keys(prefix)


HttpEndpoint = HttpStore
"""The same class, named for its use as an :class:`~adapters.protocol.Endpoint`."""
