"""The ESI client: polite, conditional, retrying HTTP calls behind one error-budget governor."""

from hangar_bay.esi.client import EsiClient, EsiResponse, build_client
from hangar_bay.esi.errors import EsiError, PermanentEsiError, TransientEsiError
from hangar_bay.esi.governor import Governor

__all__ = [
    "EsiClient",
    "EsiError",
    "EsiResponse",
    "Governor",
    "PermanentEsiError",
    "TransientEsiError",
    "build_client",
]
