"""S3 store (aiobotocore): one key prefix per run in one bucket, every primitive one request.

Objects live under ``<prefix>/`` (``prefix`` defaults to the run's namespace), so two runs
sharing a bucket never see each other's keys; at close every object under the prefix is
deleted unless ``keep: true``. The bucket itself is never deleted.

Compare-and-set uses S3 conditional writes, because S3 has no other atomic primitive:

* ``cas(k, None, new)``: ``PUT`` with ``If-None-Match: *``. The server creates the object only
  if none exists, atomically; ``412 Precondition Failed`` means one did, so the swap did not
  happen (``False``).
* ``cas(k, old, new)``: ``GET`` the object, compare its bytes with ``old`` (different or
  missing: ``False``), then ``PUT`` with ``If-Match: <the ETag that GET returned>``. The ETag
  guard is what makes this check-then-put atomic: the server applies the ``PUT`` only if the
  object is still the one we compared, so no other write can slip in between. If the guard
  fails (``412``, or ``404`` because the object was deleted meanwhile), the object changed after
  our ``GET``; since an ETag names a version rather than a value (an object rewritten with the
  same bytes may get a new one), the adapter does not answer ``False`` on the guard alone: it
  reads again and answers ``False`` only when it has *seen* a different value, retrying the
  guarded ``PUT`` otherwise (``cas_rounds`` times at most, then a definite, transient error).
  Every ``False`` is thus backed by a read inside the call, and every ``True`` by a ``PUT`` the
  server applied to exactly the expected bytes.

A server that ignores conditional headers would silently turn both into plain overwrites, so
``open()`` probes it once (``conditional_writes: auto``): a second ``If-None-Match: *`` write
of a probe object next to the prefix must fail. Where it does not, or the server answers
``501``, ``cas`` raises :class:`~adapters.errors.Unsupported`; everything else still works.

botocore's own retries are switched off: a retried conditional ``PUT`` after a lost response
would answer ``412`` to our own write. Retries, if wanted, are the adapter's ``retry:`` policy,
which knows what is safe to repeat.

Settings (besides ``keep``, ``reuse``, ``connect_timeout``, ``retry``)::

    bucket: my-bucket            # required
    endpoint_url: http://127.0.0.1:9000   # omit for AWS itself
    region: eu-west-1            # default: the standard AWS configuration, else us-east-1
    prefix: team-a/run-7         # default: the run's namespace
    aws_access_key_id: ...       # default: the standard AWS chain (env, profile, role)
    aws_secret_access_key: ...
    aws_session_token: ...
    create_bucket: false         # create a missing bucket (for tests against a fresh server)
    pool_size: 16                # HTTP connections; default the experiment's concurrency, at most 64
    read_timeout: 30s            # no answer in time: unknown outcome
    conditional_writes: auto     # auto (probe) | true | false
    cas_rounds: 8
    addressing_style: path       # path (default with endpoint_url) | virtual | auto
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.httpsession import AIOHTTPSession
from aiobotocore.session import get_session
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)
from pydantic import Field, field_validator

from .errors import (
    AdapterError,
    ConfigError,
    ConnectError,
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

DEFAULT_POOL_SIZE = 10
MAX_DEFAULT_POOL_SIZE = 64
DELETE_BATCH = 1000
"""Most keys one ``DeleteObjects`` request may name."""


class S3Settings(CommonSettings):
    """The ``settings:`` of an s3 store."""

    bucket: str = Field(min_length=3, max_length=63)
    endpoint_url: str | None = None
    region: str | None = None
    """Default: the standard AWS configuration (``AWS_DEFAULT_REGION``, profile), else us-east-1."""
    prefix: str | None = Field(default=None, min_length=1)
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    create_bucket: bool = False
    pool_size: Integer | None = Field(default=None, ge=1, le=1000)
    read_timeout: Duration = Field(default=30.0, gt=0)
    conditional_writes: Literal["auto"] | bool = "auto"

    @field_validator("conditional_writes", mode="before")
    @classmethod
    def _auto_or_bool(cls, value: Any) -> Any:
        """One message for the union (pydantic names each branch: ``literal['auto']``, ``bool``)."""
        if value != "auto" and not isinstance(value, bool):
            raise ValueError("expected auto, true or false")
        return value

    cas_rounds: Integer = Field(default=8, ge=1, le=1000)
    addressing_style: Literal["path", "virtual", "auto"] | None = None


class _NoResendSession(AIOHTTPSession):  # type: ignore[misc]
    """aiobotocore's HTTP session, except that aiohttp may not resend a request by itself.

    aiohttp silently sends a PUT or DELETE a second time when a reused keep-alive connection
    fails under the first attempt; the first may have been applied, so a conditional PUT
    could then be refused because of our own write, and a cas would answer ``False`` for a
    swap that happened. Losing the connection must surface as ``ConnectionLost`` instead."""

    async def _get_session(self, proxy_url: str | None) -> aiohttp.ClientSession:
        session: aiohttp.ClientSession = await super()._get_session(proxy_url)
        session._retry_connection = False
        return session


class S3Rejected(Rejected):
    """S3 answered with an error status: the request was not applied."""

    def __init__(self, message: str, *, status: int, code: str, store: str | None = None) -> None:
        super().__init__(message, store=store)
        self.status = status
        self.code = code


def _endpoint_address(endpoint_url: str | None, region: str) -> str:
    """``host:port`` of the endpoint, for messages (never credentials or query strings)."""
    if endpoint_url is None:
        return f"s3.{region}.amazonaws.com"
    try:
        parts = urlsplit(endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError
    except ValueError:
        raise ConfigError("s3 settings: endpoint_url: expected http(s)://host[:port]") from None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 0
    if port == 0:
        raise ConfigError("s3 settings: endpoint_url: the port must be a number from 1 to 65535")
    return f"{parts.hostname}:{port}"


def _connect_reason(cause: BaseException | None) -> str:
    """Why a connection could not be made, in a few words (no URL: it names the bucket/key)."""
    os_error = getattr(cause, "os_error", cause)
    if isinstance(os_error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(os_error, socket.gaierror):
        return "unknown host"
    if isinstance(os_error, OSError) and os_error.strerror:
        return f"cannot connect ({os_error.strerror})"
    return "cannot connect"


def _status(exc: ClientError) -> tuple[int, str]:
    response = exc.response or {}
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    code = str(response.get("Error", {}).get("Code") or status)
    return status, code


class S3Store(Retrying):
    """The :class:`~adapters.protocol.Store` protocol over the objects under one prefix."""

    kind = "s3"
    list_page = 1000
    """Keys asked for per ``ListObjectsV2`` page (S3's maximum)."""

    def __init__(self, settings: dict[str, Any] | None = None, namespace: str = "", *, concurrency: int | None = None):
        self.settings = validate_settings(S3Settings, settings, "s3")
        self.namespace = namespace
        self.bucket = self.settings.bucket
        self.region: str = self.settings.region or get_session().get_config_variable("region") or "us-east-1"
        self.address = _endpoint_address(self.settings.endpoint_url, self.region)
        root = (self.settings.prefix or namespace or "chaos").strip("/")
        self.prefix = f"{root}/"
        """Every object of the store lives under this key prefix."""
        self.pool_size = self.settings.pool_size or min(concurrency or DEFAULT_POOL_SIZE, MAX_DEFAULT_POOL_SIZE)
        self.conditional_writes: bool | None = (
            None if self.settings.conditional_writes == "auto" else bool(self.settings.conditional_writes)
        )
        """Whether the server honours If-None-Match / If-Match (``None`` until probed)."""
        self._client: Any = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._owned = False
        self.use_retry_policy(self.settings.retry)

    def _where(self) -> str:
        return f"s3 at {self.address}"

    # ------------------------------------------------------------------ life cycle

    def _config(self) -> AioConfig:
        style = self.settings.addressing_style or ("path" if self.settings.endpoint_url else "auto")
        options: dict[str, Any] = {
            "region_name": self.region,
            "connect_timeout": self.settings.connect_timeout,
            "read_timeout": self.settings.read_timeout,
            "max_pool_connections": self.pool_size,
            "retries": {"mode": "standard", "total_max_attempts": 1},
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
            "s3": {"addressing_style": style},
        }
        try:
            return AioConfig(http_session_cls=_NoResendSession, **options)
        except TypeError:  # an aiobotocore without pluggable HTTP sessions
            return AioConfig(**options)

    async def open(self) -> None:
        """Connect, check the bucket, refuse a prefix that holds objects, probe cas support."""
        timeout = self.settings.connect_timeout
        s = self.settings
        self._stack = stack = contextlib.AsyncExitStack()

        async def steps() -> None:
            self._client = await stack.enter_async_context(
                get_session().create_client(
                    "s3",
                    endpoint_url=s.endpoint_url,
                    region_name=self.region,
                    aws_access_key_id=s.aws_access_key_id,
                    aws_secret_access_key=s.aws_secret_access_key,
                    aws_session_token=s.aws_session_token,
                    config=self._config(),
                )
            )
            await self._check_bucket()
            page = await self._request("list_objects_v2", Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)
            if page.get("Name") != self.bucket:  # any server answers 200; only S3 names the bucket listed
                raise ConnectError(
                    f"{self._where()}: the server does not answer as S3 does (its listing of bucket "
                    f"{self.bucket!r} is not a ListBucketResult): is endpoint_url an S3 endpoint?",
                    store=self.kind,
                )
            if page.get("KeyCount", len(page.get("Contents", []))) and not s.reuse:
                raise NamespaceNotEmpty(
                    f"{self._where()}: bucket {self.bucket!r} already holds objects under {self.prefix!r} "
                    "(set reuse: true to use them anyway)",
                    store=self.kind,
                )
            if self.conditional_writes is None:
                self.conditional_writes = await self._probe_conditional_writes()

        await open_within(
            steps(),
            timeout=timeout,
            where=self._where(),
            kind=self.kind,
            abandon=self._abandon,
            silence="no connection",
        )
        self._owned = True

    async def _check_bucket(self) -> None:
        try:
            await self._request("head_bucket", Bucket=self.bucket)
            return
        except S3Rejected as exc:
            if exc.status in (401, 403):
                raise ConnectError(
                    f"{self._where()}: access to bucket {self.bucket!r} denied (check the credentials)",
                    store=self.kind,
                ) from None
            if exc.status != 404:
                raise ConnectError(f"{self._where()}: bucket {self.bucket!r}: {exc.code}", store=self.kind) from None
        if not self.settings.create_bucket:
            raise ConnectError(
                f"{self._where()}: bucket {self.bucket!r} does not exist (create it, or set create_bucket: true)",
                store=self.kind,
            )
        params: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            await self._request("create_bucket", **params)
        except S3Rejected as exc:
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise ConnectError(
                    f"{self._where()}: cannot create bucket {self.bucket!r}: {exc.code}", store=self.kind
                ) from None

    async def _probe_conditional_writes(self) -> bool:
        """Whether a second ``If-None-Match: *`` write of one object is refused, as it must be.

        The probe object sits next to the prefix (``<prefix>.probe``), not under it, so that
        even an interrupted probe never shows up in the store's keys."""
        probe = self.prefix.rstrip("/") + ".probe"
        try:
            await self._request("delete_object", Bucket=self.bucket, Key=probe)
            await self._request("put_object", Bucket=self.bucket, Key=probe, Body=b"", IfNoneMatch="*")
            try:
                await self._request("put_object", Bucket=self.bucket, Key=probe, Body=b"", IfNoneMatch="*")
            except S3Rejected as exc:
                if exc.status in (409, 412):
                    return True
                raise
            return False
        except Unsupported:
            return False
        finally:
            with contextlib.suppress(AdapterError):
                await self._request("delete_object", Bucket=self.bucket, Key=probe)

    async def _abandon(self) -> None:
        """Close the client after a failed open, without touching any object."""
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            with contextlib.suppress(Exception):
                await stack.aclose()

    async def close(self) -> None:
        """Delete the run's objects (unless ``keep``) and close the client."""
        if self._stack is None:
            return
        try:
            if self._owned and not self.settings.keep:
                async with asyncio.timeout(max(self.settings.connect_timeout, self.settings.read_timeout)):
                    await self._delete_everything()
        finally:
            self._owned = False
            await self._abandon()

    async def _delete_everything(self) -> None:
        keys = [self.prefix + key for key in await self._list_raw("")]
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            await self._request(
                "delete_objects",
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
            )

    # ------------------------------------------------------------------ requests

    async def _request(self, name: str, **params: Any) -> Any:
        """One S3 request, its errors mapped by what they prove."""
        client = self._client
        if client is None:
            raise Unavailable(f"{self._where()}: store is not open", store=self.kind)
        try:
            return await getattr(client, name)(**params)
        except ClientError as exc:
            raise self._client_error(exc) from None
        except EndpointConnectionError as exc:
            cause = exc.kwargs.get("error")
            if cause is None or isinstance(cause, aiohttp.ClientConnectorError | socket.gaierror):
                raise transient(Unavailable(f"{self._where()}: {_connect_reason(cause)}", store=self.kind)) from None
            raise ConnectionLost(
                f"{self._where()}: connection lost ({type(cause).__name__})", store=self.kind
            ) from None
        except ConnectTimeoutError:
            raise transient(Unavailable(f"{self._where()}: connect timeout", store=self.kind)) from None
        except ReadTimeoutError:
            raise Timeout(
                f"{self._where()}: no answer within {self.settings.read_timeout:g}s", store=self.kind
            ) from None
        except ConnectionClosedError:
            raise ConnectionLost(f"{self._where()}: connection closed by the server", store=self.kind) from None
        except NoCredentialsError:
            raise ConfigError(
                f"{self._where()}: no AWS credentials (set aws_access_key_id / aws_secret_access_key, "
                "or configure the standard AWS chain)",
                store=self.kind,
            ) from None
        except ParamValidationError as exc:
            raise Rejected(f"{self._where()}: invalid request: {str(exc).splitlines()[0]}", store=self.kind) from None
        except BotoCoreError as exc:
            raise IndefiniteError(f"{self._where()}: {type(exc).__name__}", store=self.kind) from None

    def _client_error(self, exc: ClientError) -> AdapterError:
        status, code = _status(exc)
        where = self._where()
        if status == 501:
            return Unsupported(f"{where}: the server does not implement this request ({code})", store=self.kind)
        if status == 503 or code in ("SlowDown", "TooManyRequests") or status == 429:
            return transient(S3Rejected(f"{where}: throttled ({code})", status=status, code=code, store=self.kind))
        if status >= 500 or status == 0:
            return IndefiniteError(f"{where}: server error {status} ({code})", store=self.kind)
        return S3Rejected(f"{where}: {code} (HTTP {status})", status=status, code=code, store=self.kind)

    async def _read(self, key: str) -> tuple[bytes | None, str | None]:
        """The object's bytes and ETag, or ``(None, None)`` when it does not exist."""
        try:
            response = await self._request("get_object", Bucket=self.bucket, Key=key)
        except S3Rejected as exc:
            if exc.status == 404:
                return None, None
            raise
        try:
            async with response["Body"] as stream:
                data = await stream.read()
        except (OSError, BotoCoreError, asyncio.IncompleteReadError) as exc:
            raise ConnectionLost(f"{self._where()}: connection lost reading an object ({type(exc).__name__})") from None
        return data, response.get("ETag")

    async def _list_raw(self, prefix: str) -> list[str]:
        cut = len(self.prefix)
        keys: list[str] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.prefix + prefix, "MaxKeys": self.list_page}
            if token:
                params["ContinuationToken"] = token
            page = await self._request("list_objects_v2", **params)
            keys.extend(item["Key"][cut:] for item in page.get("Contents", ()))
            if not page.get("IsTruncated"):
                break
            token = page.get("NextContinuationToken")
        keys.sort()
        return keys

    # ------------------------------------------------------------------ primitives

    async def get(self, key: str) -> bytes | None:
        return (await self._read(self.prefix + key))[0]

    async def put(self, key: str, value: bytes) -> None:
        await self._request("put_object", Bucket=self.bucket, Key=self.prefix + key, Body=bytes(value))

    async def delete(self, key: str) -> None:
        await self._request("delete_object", Bucket=self.bucket, Key=self.prefix + key)

    async def cas(self, key: str, expected: bytes | None, new: bytes) -> bool:
        if not self.conditional_writes:
            raise Unsupported(
                f"{self._where()}: cas needs conditional writes (If-None-Match / If-Match), "
                "which this server does not honour",
                store=self.kind,
            )
        full = self.prefix + key
        body = bytes(new)
        for _ in range(self.settings.cas_rounds):
            guard: dict[str, str]
            if expected is None:
                guard = {"IfNoneMatch": "*"}
            else:
                current, etag = await self._read(full)
                if current != expected:
                    return False
                if etag is None:
                    raise Unsupported(f"{self._where()}: the server sent no ETag, so cas cannot be guarded")
                guard = {"IfMatch": etag}
            try:
                await self._request("put_object", Bucket=self.bucket, Key=full, Body=body, **guard)
                return True
            except S3Rejected as exc:
                if exc.status == 412 and expected is None:
                    return False  # an object existed when the server evaluated the write
                if exc.status not in (404, 409, 412):
                    raise
                # The object changed after our read (or a concurrent conditional write
                # conflicted): read again rather than trust the guard alone.
        raise transient(Rejected(f"{self._where()}: cas on {key!r} kept losing to concurrent writes", store=self.kind))

    async def list(self, prefix: str = "") -> list[str]:
        return await self._list_raw(prefix)
