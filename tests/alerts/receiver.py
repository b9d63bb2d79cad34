"""A local stand-in for Discord's webhook endpoint: records posts, answers as scripted."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from esi_sim.testing import bind_socket


@dataclass
class Answer:
    status: int = 204
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Receiver:
    base_url: str = ""
    posts: list[dict[str, Any]] = field(default_factory=list)
    # Answers given in order; once used up, every post gets `then`.
    script: list[Answer] = field(default_factory=list)
    then: Answer = field(default_factory=Answer)
    paths: list[str] = field(default_factory=list)

    def webhook(self, webhook_id: int = 123, token: str = "tok-en_1") -> str:  # noqa: S107 - a test token
        return f"{self.base_url}/api/webhooks/{webhook_id}/{token}"

    async def handle(self, request: Request) -> Response:
        answer = self.script.pop(0) if self.script else self.then
        self.paths.append(request.url.path)
        if 200 <= answer.status < 300:
            self.posts.append(orjson.loads(await request.body()))
        return Response(answer.body, status_code=answer.status, headers=answer.headers)


@contextlib.contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    app = Starlette(
        routes=[Route("/api/webhooks/{wid}/{token}", receiver.handle, methods=["POST"])]
    )
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="receiver", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("receiver did not start")
        time.sleep(0.01)
    receiver.base_url = f"http://127.0.0.1:{port}"
    try:
        yield receiver
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
