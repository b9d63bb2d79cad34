"""Request and response bodies of the accounts API."""

from __future__ import annotations

from pydantic import BaseModel


class Me(BaseModel):
    character_id: int
    character_name: str
    csrf_token: str
