"""Discord webhook URLs: accepted only on an allowlisted origin with Discord's path shape.

The server posts to these URLs on a pilot's behalf, so an unchecked URL would let
anyone make it reach any host. A URL is accepted only when its origin (scheme, host
and port, normalised) is one of ``HANGAR_DISCORD_WEBHOOK_ORIGINS`` and its path is
exactly ``/api/webhooks/{id}/{token}``; userinfo, a query, a fragment, backslashes,
percent-escapes and anything else are refused. What is stored and posted to is the
URL rebuilt from the parsed parts, never the text as given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 300
_PATH = re.compile(r"/api/webhooks/([0-9]{1,20})/([A-Za-z0-9_-]{1,100})")
_HOST = re.compile(r"[a-z0-9.-]{1,253}")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class WebhookUrlError(ValueError):
    """Why a webhook URL was refused (safe to show: it never repeats the token)."""


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        if _DEFAULT_PORTS[self.scheme] == self.port:
            return f"{self.scheme}://{self.host}"
        return f"{self.scheme}://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class WebhookUrl:
    origin: Origin
    webhook_id: str
    token: str

    @property
    def url(self) -> str:
        return f"{self.origin}/api/webhooks/{self.webhook_id}/{self.token}"

    @property
    def masked(self) -> str:
        """The URL with its token hidden, for display and logs."""
        return f"{self.origin}/api/webhooks/{self.webhook_id}/****"


def _origin(scheme: str, netloc: str) -> Origin:
    scheme = scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise WebhookUrlError("scheme must be https (or http for a listed local origin)")
    if "@" in netloc:
        raise WebhookUrlError("credentials in the URL are not allowed")
    host, sep, port_text = netloc.rpartition(":") if netloc.count(":") == 1 else (netloc, "", "")
    if not sep:
        host = netloc
    host = host.lower().rstrip(".")
    if not _HOST.fullmatch(host):
        raise WebhookUrlError("host is not a plain host name or IPv4 address")
    if sep:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise WebhookUrlError("port is invalid")
        port = int(port_text)
    else:
        port = _DEFAULT_PORTS[scheme]
    return Origin(scheme, host, port)


def parse_origins(origins: Iterable[str]) -> frozenset[Origin]:
    """``scheme://host[:port]`` strings as normalised origins; raises on a bad one."""
    parsed = set()
    for text in origins:
        parts = urlsplit(text.strip())
        if parts.path not in {"", "/"} or parts.query or parts.fragment:
            raise WebhookUrlError(f"origin {text!r} must be scheme://host[:port]")
        parsed.add(_origin(parts.scheme, parts.netloc))
    return frozenset(parsed)


def validate_webhook_url(url: str, allowed: Iterable[str]) -> WebhookUrl:
    """The webhook URL, normalised, if it may be posted to; else :class:`WebhookUrlError`."""
    if len(url) > MAX_URL_LENGTH:
        raise WebhookUrlError(f"at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) > 126 for ch in url):
        raise WebhookUrlError("the URL contains spaces or characters outside ASCII")
    if "\\" in url or "%" in url or "?" in url or "#" in url:
        raise WebhookUrlError("the URL must not carry a query, fragment or escapes")
    parts = urlsplit(url)
    origin = _origin(parts.scheme, parts.netloc)
    if origin not in parse_origins(allowed):
        raise WebhookUrlError(f"webhooks may only point at {', '.join(sorted(allowed))}")
    match = _PATH.fullmatch(parts.path)
    if match is None:
        raise WebhookUrlError("the path must be /api/webhooks/{id}/{token}")
    return WebhookUrl(origin, match.group(1), match.group(2))
