"""Request ids, the error format and the access log, through a real app."""

import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from hangar_bay.app import create_app
from hangar_bay.core.cache import ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.core.errors import Conflict, NotFound
from hangar_bay.core.logging import configure_logging, get_logger
from hangar_bay.settings import Settings


@pytest.fixture
async def client(
    settings: Settings, database: Database, cache: ResilientCache
) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings, database=database, cache=cache)

    @app.get("/test/boom")
    async def boom() -> None:
        raise RuntimeError("database password is hunter2")

    @app.get("/test/missing/{thing_id}")
    async def missing(thing_id: int) -> None:
        raise NotFound(f"no thing {thing_id}")

    @app.get("/test/conflict")
    async def conflict() -> None:
        raise Conflict({"field": "name", "reason": "taken"})

    @app.get("/test/log")
    async def log_something() -> dict[str, str]:
        get_logger("hangar_bay.some_module").info("inside_handler", token="abc.def.ghi")
        logging.getLogger("third_party.lib").warning("stdlib message")
        return {"ok": "yes"}

    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_well_formed_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "req-1234abcd"})
    assert response.headers["x-request-id"] == "req-1234abcd"


@pytest.mark.parametrize("bad", ["short", "has spaces in it", "x" * 200, "inject\\nline"])
async def test_malformed_request_id_is_replaced(client: httpx.AsyncClient, bad: str) -> None:
    response = await client.get("/health", headers={"X-Request-ID": bad})
    generated = response.headers["x-request-id"]
    assert generated != bad
    assert len(generated) == 32


async def test_each_request_gets_its_own_id(client: httpx.AsyncClient) -> None:
    first = await client.get("/health")
    second = await client.get("/health")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_unexpected_error_is_a_bare_500_with_the_request_id(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/test/boom", headers={"X-Request-ID": "trace-0000boom"})
    assert response.status_code == 500
    assert response.json() == {
        "error": "internal_error",
        "detail": {"request_id": "trace-0000boom"},
    }
    assert response.headers["x-request-id"] == "trace-0000boom"
    assert "hunter2" not in response.text


async def test_typed_errors_use_the_one_format(client: httpx.AsyncClient) -> None:
    missing = await client.get("/test/missing/7")
    assert missing.status_code == 404
    assert missing.json() == {"error": "not_found", "detail": "no thing 7"}
    conflict = await client.get("/test/conflict")
    assert conflict.status_code == 409
    assert conflict.json()["error"] == "conflict"


async def test_validation_error_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.get("/test/missing/not-a-number")
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    assert body["detail"][0]["loc"] == ["path", "thing_id"]


async def test_unknown_route_is_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    response = await client.post("/health")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


async def test_log_lines_are_json_bound_to_the_request_and_free_of_secrets(
    client: httpx.AsyncClient, capfd: pytest.CaptureFixture[str]
) -> None:
    configure_logging(level="INFO", json=True)
    try:
        await client.get(
            "/test/log",
            headers={
                "X-Request-ID": "req-logs-0001",
                "Authorization": "Bearer s3cr3t",
                "Cookie": "session=cookie-value",
            },
        )
    finally:
        configure_logging(level="INFO", json=False)
    lines = [
        json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")
    ]
    by_event = {line["event"]: line for line in lines}
    assert by_event["inside_handler"]["request_id"] == "req-logs-0001"
    assert by_event["inside_handler"]["token"] == "[redacted]"
    # Standard-library loggers of any module come through the same pipeline.
    assert by_event["stdlib message"]["logger"] == "third_party.lib"
    assert by_event["stdlib message"]["request_id"] == "req-logs-0001"
    access = by_event["request"]
    assert access["method"] == "GET"
    assert access["route"] == "/test/log"
    assert access["status"] == 200
    assert access["duration_ms"] >= 0
    # Written apart from the standard-library pipeline, with the keys every line has.
    assert access["request_id"] == "req-logs-0001"
    assert access["logger"] == "hangar_bay.access"
    assert access["level"] == "info"
    assert access["timestamp"].endswith("Z")
    everything = "\n".join(json.dumps(line) for line in lines)
    assert "s3cr3t" not in everything
    assert "cookie-value" not in everything


async def test_metrics_count_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/test/missing/1")
    await client.get("/test/missing/2")
    body = (await client.get("/metrics")).text
    assert (
        'hangar_http_requests_total{method="GET",route="/test/missing/{thing_id}",status="404"} 2.0'
        in body
    )
    assert "hangar_http_request_duration_seconds_bucket" in body
