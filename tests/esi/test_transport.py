"""The three transports against a scripted HTTP/1.1 server on loopback: what each must do
the same (statuses, headers, bodies, failures as TransportFailure) and what only the lean
httptools transport promises (connection reuse, resending on a dropped idle connection,
no header injection from ESI's own values)."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from hangar_bay.esi.transport import (
    AiohttpTransport,
    HttptoolsTransport,
    HttpxTransport,
    Transport,
    TransportFailure,
)

KINDS = ["httpx", "aiohttp", "httptools"]
TIMEOUT = 0.5


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    connection: int


@dataclass
class Server:
    base_url: str
    requests: list[Seen] = field(default_factory=list)
    connections: int = 0
    # Connections whose next request is met by a close without an answer.
    drop_next: set[int] = field(default_factory=set)


def _response(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    head = f"HTTP/1.1 {status} X\r\n"
    for name, value in (headers or {}).items():
        head += f"{name}: {value}\r\n"
    if status not in (204, 304) and "Transfer-Encoding" not in (headers or {}):
        head += f"Content-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


async def _answer(server: Server, seen: Seen, writer: asyncio.StreamWriter) -> bool:
    """Write the scripted answer; False when the connection must close."""
    path = seen.target.split("?")[0]
    if path == "/ok":
        body = json.dumps({"target": seen.target}).encode()
        writer.write(_response(200, body, {"ETag": '"abc"', "X-Pages": "3"}))
    elif path == "/echo":
        writer.write(_response(200, seen.body, {"Content-Type": "application/json"}))
    elif path == "/not-modified":
        writer.write(_response(304, headers={"ETag": '"abc"'}))
    elif path == "/chunked":
        chunks = [b"[1, 2", b", 3]"]
        encoded = b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks)
        writer.write(_response(200, encoded + b"0\r\n\r\n", {"Transfer-Encoding": "chunked"}))
    elif path == "/gzip":
        writer.write(_response(200, gzip.compress(b"[42]"), {"Content-Encoding": "gzip"}))
    elif path == "/close":
        writer.write(_response(200, b"[]", {"Connection": "close"}))
        return False
    elif path == "/then-drop":
        server.drop_next.add(seen.connection)
        writer.write(_response(200, b"[]"))
    elif path == "/torn":
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[1, 2")
        return False
    elif path == "/garbage":
        writer.write(b"this is not HTTP at all\r\n\r\n")
        return False
    elif path == "/hang":
        await asyncio.sleep(TIMEOUT * 4)
        return False
    else:
        writer.write(_response(404, b'{"error": "not found"}'))
    return True


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server(base_url="")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        number = state.connections
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if number in state.drop_next:
                    return
                seen = Seen(method, target, headers, body, number)
                state.requests.append(seen)
                keep = await _answer(state, seen, writer)
                await writer.drain()
                if not keep:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    state.base_url = f"http://127.0.0.1:{port}"
    async with listener:
        yield state
        listener.close()


def make(kind: str, base_url: str) -> Transport:
    headers = {"User-Agent": "hangar-bay tests", "Accept": "application/json"}
    if kind == "httpx":
        client = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=TIMEOUT)
        return HttpxTransport(client, owned=True)
    if kind == "aiohttp":
        return AiohttpTransport(base_url, headers=headers, timeout=TIMEOUT, max_connections=4)
    return HttptoolsTransport(base_url, headers=headers, timeout=TIMEOUT, max_connections=4)


@pytest.fixture(params=KINDS)
async def transport(request: pytest.FixtureRequest, server: Server) -> AsyncIterator[Transport]:
    made = make(request.param, server.base_url)
    yield made
    await made.close()


async def test_status_headers_body_and_query(transport: Transport, server: Server) -> None:
    response = await transport.send(
        "GET", "/ok", params={"page": 2}, json=None, headers={"If-None-Match": '"old"'}
    )
    assert response.status == 200
    assert json.loads(response.content) == {"target": "/ok?page=2"}
    # Case-insensitive lookups, whatever the transport.
    assert response.headers.get("etag") == '"abc"'
    assert response.headers.get("ETag") == '"abc"'
    assert response.headers.get("x-pages") == "3"
    assert response.headers.get("x-missing") is None
    seen = server.requests[-1]
    assert seen.headers["if-none-match"] == '"old"'
    assert seen.headers["user-agent"] == "hangar-bay tests"


async def test_post_sends_json(transport: Transport, server: Server) -> None:
    response = await transport.send("POST", "/echo", params=None, json=[1, 2, 3], headers=None)
    assert response.status == 200
    assert json.loads(response.content) == [1, 2, 3]
    assert server.requests[-1].method == "POST"


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [("/not-modified", 304, b""), ("/chunked", 200, b"[1, 2, 3]"), ("/gzip", 200, b"[42]")],
)
async def test_bodies(transport: Transport, path: str, status: int, body: bytes) -> None:
    response = await transport.send("GET", path, params=None, json=None, headers=None)
    assert (response.status, response.content) == (status, body)


async def test_4xx_is_an_answer_not_a_failure(transport: Transport) -> None:
    response = await transport.send("GET", "/nowhere", params=None, json=None, headers=None)
    assert response.status == 404


async def test_server_closing_after_an_answer_is_fine(transport: Transport) -> None:
    for _ in range(3):
        response = await transport.send("GET", "/close", params=None, json=None, headers=None)
        assert response.status == 200


@pytest.mark.parametrize("path", ["/torn", "/garbage"])
async def test_broken_answers_are_transport_failures(transport: Transport, path: str) -> None:
    with pytest.raises(TransportFailure) as caught:
        await transport.send("GET", path, params=None, json=None, headers=None)
    assert not caught.value.timeout
    # The transport is still usable afterwards.
    response = await transport.send("GET", "/ok", params=None, json=None, headers=None)
    assert response.status == 200


async def test_a_silent_server_times_out(transport: Transport) -> None:
    with pytest.raises(TransportFailure) as caught:
        await transport.send("GET", "/hang", params=None, json=None, headers=None)
    assert caught.value.timeout


async def test_connection_refused_is_a_transport_failure() -> None:
    # Bind a port, then free it: nothing listens there.
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    for kind in KINDS:
        made = make(kind, f"http://127.0.0.1:{port}")
        try:
            with pytest.raises(TransportFailure):
                await made.send("GET", "/ok", params=None, json=None, headers=None)
        finally:
            await made.close()


async def test_httptools_reuses_connections(server: Server) -> None:
    made = make("httptools", server.base_url)
    try:
        for _ in range(5):
            await made.send("GET", "/ok", params=None, json=None, headers=None)
        assert server.connections == 1
        await asyncio.gather(
            *(made.send("GET", "/ok", params=None, json=None, headers=None) for _ in range(4))
        )
        assert server.connections <= 4
    finally:
        await made.close()


async def test_httptools_resends_when_an_idle_connection_was_dropped(server: Server) -> None:
    made = make("httptools", server.base_url)
    try:
        await made.send("GET", "/then-drop", params=None, json=None, headers=None)
        # The kept-alive connection is closed without an answer: sent again, on a new one.
        response = await made.send("GET", "/ok", params=None, json=None, headers=None)
        assert response.status == 200
        assert server.connections == 2
        assert [r.target for r in server.requests] == ["/then-drop", "/ok"]
    finally:
        await made.close()


async def test_httptools_never_sends_a_header_value_with_line_breaks(server: Server) -> None:
    made = make("httptools", server.base_url)
    try:
        hostile = '"abc"\r\nX-Injected: yes'
        response = await made.send(
            "GET", "/ok", params=None, json=None, headers={"If-None-Match": hostile}
        )
        assert response.status == 200
        seen = server.requests[-1]
        assert "x-injected" not in seen.headers
        assert "if-none-match" not in seen.headers
    finally:
        await made.close()


def test_httptools_needs_an_http_url() -> None:
    with pytest.raises(ValueError, match="http"):
        HttptoolsTransport("ftp://esi.test", headers={}, timeout=1, max_connections=1)


def test_base_url_path_and_default_port_shape_the_request() -> None:
    made = HttptoolsTransport(
        "https://esi.example/api/", headers={"User-Agent": "x"}, timeout=1, max_connections=1
    )
    raw = made._request_bytes("GET", "/latest/status/", {"page": 1}, None, None)
    assert raw.startswith(b"GET /api/latest/status/?page=1 HTTP/1.1\r\nHost: esi.example\r\n")
    assert made.port == 443
    assert made.tls


def _self_signed(tmp_path: Path) -> tuple[Path, Path, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file, pem


async def test_httptools_speaks_tls_and_checks_the_certificate(tmp_path: Path) -> None:
    cert_file, key_file, pem = _self_signed(tmp_path)
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert_file, key_file)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(_response(200, b"[7]"))
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_side)
    port = listener.sockets[0].getsockname()[1]
    async with listener:
        trusting = HttptoolsTransport(
            f"https://localhost:{port}",
            headers={},
            timeout=2,
            max_connections=1,
            ssl_context=ssl.create_default_context(cadata=pem.decode()),
        )
        try:
            response = await trusting.send("GET", "/x", params=None, json=None, headers=None)
            assert (response.status, response.content) == (200, b"[7]")
        finally:
            await trusting.close()
        # The system's trust store does not know this certificate: refused, not ignored.
        default = HttptoolsTransport(
            f"https://localhost:{port}", headers={}, timeout=2, max_connections=1
        )
        try:
            with pytest.raises(TransportFailure):
                await default.send("GET", "/x", params=None, json=None, headers=None)
        finally:
            await default.close()
        listener.close()


async def test_httptools_never_reuses_a_connection_whose_request_was_cancelled(
    server: Server,
) -> None:
    made = make("httptools", server.base_url)
    try:
        await made.send("GET", "/ok", params=None, json=None, headers=None)
        pending = asyncio.create_task(
            made.send("GET", "/hang", params=None, json=None, headers=None)
        )
        await asyncio.sleep(0.05)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        # The half-answered connection is gone, so the hung answer cannot be read as this
        # request's.
        response = await made.send("GET", "/ok", params=None, json=None, headers=None)
        assert response.status == 200
        assert server.connections == 2
    finally:
        await made.close()
