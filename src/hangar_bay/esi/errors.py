"""ESI failures as types: callers decide by type, never by parsing messages."""

from __future__ import annotations


class EsiError(Exception):
    """A call to ESI did not produce a usable answer."""

    def __init__(self, message: str, *, status: int | None = None, url: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class TransientEsiError(EsiError):
    """Worth trying again later: 5xx, timeouts, broken connections, empty or torn bodies,
    420/429 after the retries ran out. Raised only once the client's own retries are spent."""


class PermanentEsiError(EsiError):
    """Asking again will not help: 400, 403, 404 and other 4xx answers."""
