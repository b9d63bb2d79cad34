"""How bytes reach ESI. The client logic (retries, governor, validators) is the same over
either transport:

* :class:`HttpxTransport` — the app's shared ``httpx.AsyncClient`` (the default);
* :class:`AiohttpTransport` — aiohttp, an order of magnitude cheaper per request in CPU
  (httpcore's pool bookkeeping dominates at hundreds of requests a second). Used when
  ``HANGAR_ESI_HTTP_CLIENT=aiohttp`` and aiohttp is installed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    # Case-insensitive on both transports.
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
