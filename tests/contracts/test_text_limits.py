"""The search box's length limit is said in characters, wherever ``q`` is read."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from hangar_bay.contracts.schemas import ContractFilters
from hangar_bay.core.database import Database

TOO_LONG = "a" * 101


def test_the_model_counts_characters() -> None:
    with pytest.raises(ValidationError) as caught:
        ContractFilters(q=TOO_LONG)
    (error,) = caught.value.errors()
    assert error["loc"] == ("q",)
    assert "at most 100 characters" in error["msg"]
    assert "items" not in error["msg"]
    # The other rules of q still hold, in their order: control characters, words.
    with pytest.raises(ValidationError, match="control characters"):
        ContractFilters(q="a\x00b")
    assert ContractFilters(q="a" * 100).q == "a" * 100
    assert ContractFilters(q="  Drake   Fitted ").q == "drake fitted"


async def test_api_page_and_feed_say_characters(
    client: httpx.AsyncClient, universe: Database
) -> None:
    api = await client.get("/api/v1/contracts", params={"q": TOO_LONG})
    assert api.status_code == 422
    (detail,) = api.json()["detail"]
    assert detail["loc"] == ["query", "q"]
    assert "characters" in detail["msg"]
    assert "items" not in detail["msg"]
    for path in ("/", "/feeds/contracts.atom"):
        response = await client.get(path, params={"q": TOO_LONG})
        assert response.status_code == 422, path
        assert "at most 100 characters" in response.text, path
        assert "items" not in response.text, path
