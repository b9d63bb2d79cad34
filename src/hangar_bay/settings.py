"""Application settings: one pydantic-settings class, built on demand.

Settings are never read at import time. The CLI and the app factory call
:func:`get_settings` (or receive a ``Settings`` built by a test), so every test can
construct exactly the configuration it needs.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from hangar_bay import __version__

REAL_ESI_BASE_URL = "https://esi.evetech.net"
REAL_SSO_BASE_URL = "https://login.eveonline.com"
DEFAULT_SECRET_KEY = "change-me"  # noqa: S105 - the sentinel production refuses


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TEST = "test"


class SettingsError(Exception):
    """Configuration that cannot work; the message is one line meant for an operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HANGAR_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    environment: Environment = Environment.DEVELOPMENT
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)

    database_url: str = "sqlite+aiosqlite:///./hangar-bay.db"
    database_echo: bool = False
    database_pool_size: int = Field(default=10, ge=1, le=200)

    # Empty means the in-process memory cache (the embedded default).
    cache_url: str = ""
    cache_prefix: str = "hb:"

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"
    # None means: JSON lines in production, a readable console otherwise.
    log_json: bool | None = None

    ready_timeout_seconds: float = Field(default=1.0, gt=0, le=30)

    esi_base_url: str = REAL_ESI_BASE_URL
    esi_user_agent: str = ""
    esi_compatibility_date: str = "2025-08-26"
    esi_timeout_seconds: float = Field(default=20.0, gt=0)
    esi_max_concurrency: int = Field(default=8, ge=1, le=64)
    esi_max_requests_per_second: float = Field(default=40.0, gt=0)
    esi_max_retries: int = Field(default=4, ge=0, le=20)
    # Stop calling ESI while this many errors or fewer remain in the window.
    esi_error_budget_floor: int = Field(default=20, ge=1, le=99)

    # Empty means every region ESI lists.
    regions: Annotated[list[int], NoDecode] = Field(default_factory=list)
    ingest_in_process: bool = True
    ingest_retention_days: int = Field(default=90, ge=1)
    # httpx (default), aiohttp or httptools: the last two cost much less CPU per request
    # (see docs/benchmarks.md); ingestion processes should use httptools.
    esi_http_client: Literal["httpx", "aiohttp", "httptools"] = "httpx"
    # Retry delays grow from this base (exponential, with jitter).
    esi_backoff_base_seconds: float = Field(default=0.5, ge=0)
    # Regions swept at the same time by one process.
    ingest_region_concurrency: int = Field(default=2, ge=1, le=32)
    # Contracts whose items are fetched and written per transaction.
    ingest_items_batch: int = Field(default=250, ge=1, le=5000)
    # Attempts at a listing whose pages disagree (Last-Modified, X-Pages) before giving up.
    ingest_sweep_attempts: int = Field(default=3, ge=1, le=10)
    # Re-read auction bids (conditionally) when their cached copy has expired.
    ingest_refresh_bids: bool = True
    # How long a failed region waits before it is due again, in seconds.
    ingest_retry_failed_seconds: float = Field(default=300.0, gt=0)
    # First delay before asking again about a contract whose items ESI said were not
    # available (204/403/404) or kept failing, and about an id /universe/names/ refused;
    # it doubles per attempt up to ingest_recheck_max_seconds.
    ingest_recheck_seconds: float = Field(default=300.0, ge=0)
    ingest_recheck_max_seconds: float = Field(default=3600.0, ge=0)
    # Item and bid fetches that failed transiently are retried within the same sweep:
    # up to this many rounds, the first after ingest_items_retry_seconds, then doubling.
    ingest_items_retry_rounds: int = Field(default=4, ge=0, le=10)
    ingest_items_retry_seconds: float = Field(default=5.0, ge=0)
    # Floor on the re-poll interval of every cached ESI route, whatever Expires says
    # (Expires at or before Date happens); up to 10 % jitter is added.
    esi_min_poll_seconds: float = Field(default=60.0, ge=0)
    # A region's sweep lock lives this long unless its holder extends it (a killed
    # process blocks the region at most this long).
    ingest_lock_seconds: float = Field(default=30.0, ge=1)
    # Worker mode: a queued or running task not finished within this time is handed to
    # another worker (killed workers), and a due region is queued again.
    ingest_requeue_seconds: float = Field(default=600.0, ge=1)

    # --- the edge (see docs/operations.md) ---
    # Proxies (addresses or CIDR networks) whose X-Forwarded-For is believed; empty means
    # the peer address is the client.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    rate_limit_enabled: bool = True
    # Token buckets per client: a steady rate (requests a second) and a burst. The
    # defaults are far above what a person clicking through pages reaches.
    rate_limit_read_per_second: float = Field(default=20.0, gt=0)
    rate_limit_read_burst: float = Field(default=400.0, ge=1)
    rate_limit_query_per_second: float = Field(default=2.0, gt=0)
    rate_limit_query_burst: float = Field(default=120.0, ge=1)
    rate_limit_auth_per_second: float = Field(default=0.5, gt=0)
    rate_limit_auth_burst: float = Field(default=30.0, ge=1)
    rate_limit_write_per_second: float = Field(default=1.0, gt=0)
    rate_limit_write_burst: float = Field(default=60.0, ge=1)
    # /metrics answers clients from these networks, or any client with this bearer token.
    metrics_allowed_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "127.0.0.0/8",
            "::1/128",
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "fc00::/7",
        ]
    )
    metrics_token: SecretStr = SecretStr("")
    # /docs (Swagger UI, packaged assets) and /openapi.json; None: on except in production.
    docs_enabled: bool | None = None
    # Requests whose path and query together are longer are refused with 414.
    max_url_length: int = Field(default=8192, ge=256, le=1_000_000)

    sso_base_url: str = REAL_SSO_BASE_URL
    sso_client_id: str = ""
    sso_client_secret: SecretStr = SecretStr("")
    sso_callback_url: str = "http://127.0.0.1:8000/auth/callback"
    # Seconds for the SSO metadata/token calls; a slower SSO gets a friendly 502.
    sso_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # A session unused for this long ends (server-side).
    session_idle_days: float = Field(default=30.0, gt=0, le=3650)
    # None: Secure cookies in production only (a laptop serves plain http).
    session_cookie_secure: bool | None = None

    # Absolute links in feeds and alerts (no trailing slash needed).
    public_url: str = "http://127.0.0.1:8000"
    # Where alert webhooks may point: comma-separated scheme://host[:port] origins.
    discord_webhook_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "https://discord.com",
            "https://discordapp.com",
            "https://ptb.discord.com",
            "https://canary.discord.com",
        ]
    )
    # Posts of one Discord message before its notifications are marked failed.
    alerts_max_attempts: int = Field(default=6, ge=1, le=50)
    # A message still undelivered this long after it was written is failed at its next
    # unsuccessful post (hours). The only bound on 429s, which use up no attempt.
    alerts_max_age_hours: float = Field(default=24.0, gt=0)
    # First retry delay after a 5xx or timeout, doubling per attempt (seconds).
    alerts_backoff_seconds: float = Field(default=2.0, ge=0)
    alerts_webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Notifications older than this are pruned.
    alerts_retention_days: int = Field(default=30, ge=1)

    @field_validator("discord_webhook_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("regions", mode="before")
    @classmethod
    def _split_regions(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [int(part) for part in value.replace(",", " ").split()]
        return value

    @field_validator("log_json", "docs_enabled", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # `HANGAR_DOCS_ENABLED=` (as .env.example writes it) means "the default".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("trusted_proxies", "metrics_allowed_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]
        return value

    @field_validator("trusted_proxies", "metrics_allowed_networks")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for part in value:
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"not an address or network: {part!r}") from None
        return value

    @field_validator("esi_compatibility_date")
    @classmethod
    def _check_compat_date(cls, value: str) -> str:
        dt.date.fromisoformat(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"cannot parse database URL: {exc}") from None
        if url.drivername not in {"sqlite+aiosqlite", "postgresql+asyncpg"}:
            raise ValueError(
                f"unsupported database driver {url.drivername!r}; "
                "use sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        return value

    @field_validator("cache_url")
    @classmethod
    def _check_cache_url(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://", "memory://")):
            raise ValueError(
                "cache URL must be empty (in-process), memory://, redis:// or rediss://"
            )
        return "" if value == "memory://" else value

    @model_validator(mode="after")
    def _production_rules(self) -> Settings:
        if self.environment is Environment.PRODUCTION:
            key = self.secret_key.get_secret_value()
            if key == DEFAULT_SECRET_KEY or len(key) < 32:
                raise ValueError(
                    "HANGAR_SECRET_KEY must be set to a random value of at least 32 characters "
                    "in production"
                )
        return self

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @cached_property
    def uses_real_esi(self) -> bool:
        return self.esi_base_url.rstrip("/") == REAL_ESI_BASE_URL

    @cached_property
    def json_logs(self) -> bool:
        if self.log_json is not None:
            return self.log_json
        return self.environment is Environment.PRODUCTION

    @cached_property
    def secure_cookies(self) -> bool:
        if self.session_cookie_secure is not None:
            return self.session_cookie_secure
        return self.environment is Environment.PRODUCTION

    @cached_property
    def docs_on(self) -> bool:
        if self.docs_enabled is not None:
            return self.docs_enabled
        return self.environment is not Environment.PRODUCTION

    @cached_property
    def user_agent(self) -> str:
        contact = self.esi_user_agent or "no contact configured"
        return f"HangarBay/{__version__} ({contact})"

    def check_for_real_esi(self) -> None:
        """ESI asks every client to name an operator contact; refuse to talk without one."""
        if self.uses_real_esi and not self.esi_user_agent.strip():
            raise SettingsError(
                "HANGAR_ESI_USER_AGENT must name an operator contact (e-mail or character) "
                "before talking to the real ESI"
            )


def get_settings(**overrides: Any) -> Settings:
    """Build settings from the environment (and ``.env``), turning errors into one line."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(_describe(err) for err in exc.errors())
        raise SettingsError(f"invalid settings: {problems}") from None


def _describe(err: Any) -> str:
    message = str(err["msg"]).removeprefix("Value error, ")
    if not err["loc"]:
        return message
    return f"HANGAR_{str(err['loc'][0]).upper()}: {message}"


def generate_secret_key() -> str:
    return secrets.token_urlsafe(48)
