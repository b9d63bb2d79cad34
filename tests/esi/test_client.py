"""The ESI client and the error-budget governor, against scripted transports."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from hangar_bay.app import build_esi_client
from hangar_bay.core.cache import MemoryCache, ResilientCache
from hangar_bay.core.database import Database
from hangar_bay.esi.client import EsiClient
from hangar_bay.esi.errors import PermanentEsiError, TransientEsiError
from hangar_bay.esi.governor import PAUSE_KEY, Governor
from hangar_bay.ingest.universe import Universe
from hangar_bay.settings import Settings, SettingsError


class FakeTime:
    """A clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


Handler = Callable[[httpx.Request], httpx.Response]


def make_client(
    handler: Handler, cache: Any = None, *, floor: int = 20, retries: int = 3
) -> tuple[EsiClient, Governor, FakeTime, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    fake = FakeTime()
    governor = Governor(
        cache or ResilientCache(MemoryCache()), floor=floor, clock=fake, sleep=fake.sleep
    )
    http = httpx.AsyncClient(transport=httpx.MockTransport(record), base_url="http://esi.test")
    client = EsiClient(http, governor, max_retries=retries, backoff_base=0.5, sleep=fake.sleep)
    return client, governor, fake, seen


def ok(body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(body).encode(), headers=headers)


async def test_retries_server_errors_then_succeeds() -> None:
    answers = iter([httpx.Response(503), httpx.Response(502), ok([1, 2])])
    client, _, fake, seen = make_client(lambda _: next(answers))
    response = await client.get("/universe/regions/", route="regions")
    assert response.data == [1, 2]
    assert len(seen) == 3
    assert client.stats.retries == 2
    # Backoff grows: the second wait is drawn from a doubled base.
    assert len(fake.slept) == 2
    assert fake.slept[1] > 0.5 * 0.5


async def test_not_found_is_permanent_and_not_retried() -> None:
    client, _, _, seen = make_client(lambda _: httpx.Response(404, json={"error": "nope"}))
    with pytest.raises(PermanentEsiError) as info:
        await client.get("/universe/types/1/", route="type")
    assert info.value.status == 404
    assert len(seen) == 1


async def test_empty_200_is_retried() -> None:
    answers = iter([httpx.Response(200, content=b""), ok({"a": 1})])
    client, _, _, seen = make_client(lambda _: next(answers))
    assert (await client.get("/x/", route="x")).data == {"a": 1}
    assert len(seen) == 2


async def test_gives_up_with_a_transient_error() -> None:
    client, _, _, seen = make_client(lambda _: httpx.Response(500), retries=2)
    with pytest.raises(TransientEsiError):
        await client.get("/x/", route="x")
    assert len(seen) == 3


async def test_timeouts_are_transient() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    client, _, _, seen = make_client(boom, retries=1)
    with pytest.raises(TransientEsiError):
        await client.get("/x/", route="x")
    assert len(seen) == 2


async def test_conditional_request_sends_etag_and_returns_304() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-none-match") == '"abc"':
            return httpx.Response(304, headers={"etag": '"abc"'})
        return ok([1], etag='"abc"')

    client, _, _, seen = make_client(handler)
    first = await client.get("/contracts/public/1/", route="contracts")
    assert first.etag == '"abc"'
    second = await client.get("/contracts/public/1/", route="contracts", etag=first.etag)
    assert second.status == 304
    assert client.stats.not_modified == 1
    assert seen[0].url.path == "/latest/contracts/public/1/"


async def test_budget_at_floor_pauses_every_client_sharing_the_cache() -> None:
    shared = ResilientCache(MemoryCache())
    low = {"x-esi-error-limit-remain": "20", "x-esi-error-limit-reset": "37"}
    first, _governor, fake, _ = make_client(lambda _: ok([], **low), shared)
    await first.get("/x/", route="x")
    raw = await shared.get(PAUSE_KEY)
    assert raw is not None
    assert float(raw) >= fake.now + 37
    # A second process (another governor on the same cache) waits for the reset too.
    other, _, other_time, seen = make_client(lambda _: ok([]), shared)
    other_time.now = fake.now
    await other.get("/y/", route="y")
    assert sum(other_time.slept) >= 36.99
    assert len(seen) == 1


async def test_budget_above_floor_does_not_pause() -> None:
    fine = {"x-esi-error-limit-remain": "21", "x-esi-error-limit-reset": "37"}
    client, governor, fake, _ = make_client(lambda _: ok([], **fine))
    await client.get("/x/", route="x")
    await client.get("/x/", route="x")
    assert fake.slept == []
    assert governor.remaining == 21


async def test_420_pauses_until_the_reset_then_retries() -> None:
    answers = iter(
        [
            httpx.Response(
                420, headers={"x-esi-error-limit-remain": "0", "x-esi-error-limit-reset": "12"}
            ),
            ok(["done"]),
        ]
    )
    client, governor, fake, _ = make_client(lambda _: next(answers))
    assert (await client.get("/x/", route="x")).data == ["done"]
    assert sum(fake.slept) >= 11.99
    assert governor.pauses >= 1


async def test_429_obeys_retry_after() -> None:
    answers = iter([httpx.Response(429, headers={"retry-after": "7"}), ok([])])
    client, _, fake, _ = make_client(lambda _: next(answers))
    await client.get("/x/", route="x")
    assert sum(fake.slept) >= 6.99


async def test_ratelimit_tokens_spent_pauses_before_refusal() -> None:
    headers = {"x-ratelimit-remaining": "1", "x-ratelimit-limit": "150/15m", "retry-after": "3"}
    client, _, fake, _ = make_client(lambda _: ok([], **headers))
    await client.get("/x/", route="x")
    await client.get("/x/", route="x")
    assert sum(fake.slept) >= 2.99


async def test_timeouts_lower_the_estimated_budget() -> None:
    answers = iter([ok([], **{"x-esi-error-limit-remain": "22", "x-esi-error-limit-reset": "30"})])

    def handler(request: httpx.Request) -> httpx.Response:
        try:
            return next(answers)
        except StopIteration:
            raise httpx.ConnectTimeout("down", request=request) from None

    client, governor, _fake, _ = make_client(handler, retries=3)
    await client.get("/x/", route="x")
    with pytest.raises(TransientEsiError):
        await client.get("/x/", route="x")
    # Two unreported errors took the estimate to the floor, which paused everyone.
    assert governor.remaining is not None
    assert governor.remaining <= 20
    assert governor.pauses >= 1


def test_real_esi_needs_a_user_agent_contact() -> None:
    settings = Settings(_env_file=None, esi_user_agent="")  # type: ignore[call-arg]
    with pytest.raises(SettingsError):
        settings.check_for_real_esi()
    named = Settings(_env_file=None, esi_user_agent="ops@example.org")  # type: ignore[call-arg]
    named.check_for_real_esi()
    http = build_esi_client(named)
    assert "ops@example.org" in http.headers["user-agent"]
    assert http.headers["x-compatibility-date"] == named.esi_compatibility_date


async def test_names_are_resolved_in_batches_bisecting_bad_ids() -> None:
    bad = {13, 977}
    batches: list[list[int]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)
        batches.append(ids)
        assert len(ids) <= 1000
        if bad & set(ids):
            return httpx.Response(404, json={"error": "Ensure all IDs are valid"})
        return ok([{"id": i, "name": f"n{i}", "category": "character"} for i in ids])

    client, _, _, _ = make_client(handler)
    universe = Universe(Database.from_url("sqlite+aiosqlite://"), client)
    rows, refused = await universe._names_batch(list(range(1, 1001)))
    assert {r.id for r in rows} == set(range(1, 1001)) - bad
    assert sorted(refused) == [13, 977]
    # Bisection asks about the bad ids alone and never sends more than 1,000 ids.
    assert [13] in batches
    assert [977] in batches
