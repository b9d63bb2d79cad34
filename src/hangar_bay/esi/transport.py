"""How bytes reach ESI. The client logic (retries, governor, validators) is the same over
either transport:

* :class:`HttpxTransport` — the app's shared ``httpx.AsyncClient`` (the default);
* :class:`AiohttpTransport` — aiohttp, an order of magnitude cheaper per request in CPU
  (httpcore's pool bookkeeping dominates at hundreds of requests a second). Used when
  ``HANGAR_ESI_HTTP_CLIENT=aiohttp`` and aiohttp is installed;
* :class:`HttptoolsTransport` — keep-alive HTTP/1.1 on asyncio protocols with
  httptools' parser, about a third of aiohttp's CPU per request
  (``HANGAR_ESI_HTTP_CLIENT=httptools``).
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

import httpx
import orjson


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    # Case-insensitive on every transport.
    headers: Mapping[str, str]
    content: bytes


class TransportFailure(Exception):
    """No HTTP answer: a timeout or a broken connection."""

    def __init__(self, message: str, *, timeout: bool) -> None:
        super().__init__(message)
        self.timeout = timeout


class Transport(Protocol):
    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> RawResponse: ...

    async def close(self) -> None: ...


class HttpxTransport:
    def __init__(self, client: httpx.AsyncClient, *, owned: bool = False) -> None:
        self.client = client
        self.owned = owned

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> RawResponse:
        try:
            response = await self.client.request(
                method, url, params=params, json=json, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise TransportFailure(f"{type(exc).__name__}", timeout=True) from exc
        except httpx.TransportError as exc:
            raise TransportFailure(f"{type(exc).__name__}: {exc}", timeout=False) from exc
        return RawResponse(response.status_code, response.headers, response.content)

    async def close(self) -> None:
        if self.owned:
            await self.client.aclose()


class AiohttpTransport:
    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str],
        timeout: float,
        max_connections: int,
    ) -> None:
        import aiohttp

        self._aiohttp = aiohttp
        self.base_url = base_url.rstrip("/")
        self.session = aiohttp.ClientSession(
            headers=dict(headers),
            timeout=aiohttp.ClientTimeout(total=timeout, connect=5.0),
            connector=aiohttp.TCPConnector(limit=max_connections, ttl_dns_cache=300),
        )

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> RawResponse:
        aiohttp = self._aiohttp
        query = {k: str(v) for k, v in params.items()} if params else None
        try:
            async with self.session.request(
                method, self.base_url + url, params=query, json=json, headers=headers
            ) as response:
                content = await response.read()
                return RawResponse(response.status, response.headers, content)
        except TimeoutError as exc:
            raise TransportFailure("timeout", timeout=True) from exc
        except (aiohttp.ClientError, asyncio.IncompleteReadError, OSError) as exc:
            raise TransportFailure(f"{type(exc).__name__}: {exc}", timeout=False) from exc

    async def close(self) -> None:
        await self.session.close()


class _Headers(dict[str, str]):
    """Response headers with lower-cased names; lookups are case-insensitive."""

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; answers one request at a time."""

    def __init__(self) -> None:
        import httptools

        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.waiter: asyncio.Future[RawResponse] | None = None
        self.received = False
        self._headers: _Headers = _Headers()
        self._body: list[bytes] = []
        self._complete = False
        self._keep_alive = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except Exception as exc:  # httptools.HttpParserError and its subclasses
            self._fail(TransportFailure(f"unreadable HTTP response: {exc}", timeout=False))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self._complete:
            what = "connection closed before the response" if not self.received else "torn body"
            self._fail(_Stale(what) if not self.received else TransportFailure(what, timeout=False))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        # llhttp answers this reliably only while the message is being parsed.
        self._keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._complete = True
        body = b"".join(self._body)
        if self._headers.get("content-encoding") == "gzip":
            try:
                body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
            except zlib.error as exc:
                self._fail(TransportFailure(f"bad gzip body: {exc}", timeout=False))
                return
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(RawResponse(self.parser.get_status_code(), self._headers, body))

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    def start(self, request: bytes) -> asyncio.Future[RawResponse]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.received = False
        self._complete = False
        self._keep_alive = False
        self._headers = _Headers()
        self._body = []
        self.transport.write(request)
        return self.waiter

    @property
    def reusable(self) -> bool:
        return not self.closed and self._complete and self._keep_alive

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class _Stale(TransportFailure):
    """A kept-alive connection closed by the server before answering: safe to resend."""

    def __init__(self, message: str) -> None:
        super().__init__(message, timeout=False)


class HttptoolsTransport:
    """HTTP/1.1 with keep-alive, straight on asyncio protocols with httptools' parser (the
    one uvicorn uses). Ingestion sends one request per contract, about a hundred thousand
    per universe pass, and the client's own bookkeeping dominated its CPU: this costs
    about a third of aiohttp's CPU per request (docs/benchmarks.md). It does only what
    ESI needs: GET and POST with a JSON body, gzip, chunked bodies, TLS, timeouts."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str],
        timeout: float,
        max_connections: int,
        connect_timeout: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = parts.hostname
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        self.path_prefix = parts.path.rstrip("/")
        default_port = self.port == (443 if self.tls else 80)
        authority = self.host if default_port else f"{self.host}:{self.port}"
        fixed = {"Host": authority, "Accept-Encoding": "gzip", **headers}
        self._fixed = "".join(f"{k}: {_clean(v)}\r\n" for k, v in fixed.items() if _clean(v))
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(max_connections)
        self._ssl = ssl_context

    def _request_bytes(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> bytes:
        target = self.path_prefix + url
        if params:
            target += ("&" if "?" in target else "?") + urlencode(params)
        head = f"{method} {target} HTTP/1.1\r\n{self._fixed}"
        for name, value in (headers or {}).items():
            # Header values come from ESI's own answers (ETags): never let one inject lines.
            if cleaned := _clean(value):
                head += f"{name}: {cleaned}\r\n"
        body = b""
        if json is not None:
            body = orjson.dumps(json)
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        elif method not in ("GET", "HEAD"):
            head += "Content-Length: 0\r\n"
        return (head + "\r\n").encode("latin-1") + body

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        if self.tls and self._ssl is None:
            self._ssl = ssl.create_default_context()
        async with asyncio.timeout(self.connect_timeout):
            _, connection = await loop.create_connection(
                _Connection,
                self.host,
                self.port,
                ssl=self._ssl if self.tls else None,
                server_hostname=self.host if self.tls else None,
            )
        return connection

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> RawResponse:
        request = self._request_bytes(method, url, params, json, headers)
        async with self._slots:
            for _ in range(2):
                connection = self._take_idle()
                reused = connection is not None
                answered = False
                try:
                    async with asyncio.timeout(self.timeout):
                        if connection is None:
                            connection = await self._connect()
                        response = await connection.start(request)
                    answered = True
                except _Stale as exc:
                    if reused:
                        continue  # the server dropped an idle connection: a fresh one
                    raise TransportFailure(str(exc), timeout=False) from exc
                except TimeoutError as exc:
                    raise TransportFailure("timeout", timeout=True) from exc
                except (OSError, ssl.SSLError) as exc:
                    if reused and isinstance(exc, ConnectionError):
                        continue
                    raise TransportFailure(f"{type(exc).__name__}: {exc}", timeout=False) from exc
                finally:
                    # Whatever interrupted it (a failure, a timeout, a cancelled task), a
                    # connection that did not finish its answer is never reused.
                    if not answered and connection is not None:
                        connection.close()
                if connection.reusable:
                    self._idle.append(connection)
                else:
                    connection.close()
                return response
            raise TransportFailure("connection closed before the response", timeout=False)

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
        return None

    async def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


def _clean(value: str) -> str | None:
    text = str(value)
    return None if "\r" in text or "\n" in text else text
