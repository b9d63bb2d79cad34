"""Settings of one simulator instance.

Everything that changes what the simulator serves lives here, so that two instances built
from equal configs serve byte-identical data (given equal clock readings).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Scale = Literal["tiny", "forge", "universe"]
ClockMode = Literal["real", "manual"]
TokenMode = Literal[
    "valid",
    "expired",
    "bad_signature",
    "wrong_audience",
    "wrong_issuer",
    # Attacks a client must refuse: a token MACed with HS256 (with the client secret), an
    # unsigned one, one signed by a key the JWKS does not hold, a subject that is no
    # character.
    "hs256",
    "none",
    "unknown_kid",
    "bad_sub",
]
# The token endpoint failing: an HTTP status, a body that is not JSON, or an answer
# slower than `token_slow_seconds` (to trip client timeouts).
TokenFault = Literal["400", "401", "500", "503", "malformed", "slow"]
DownMode = Literal["503", "502", "connection"]

# A fixed default start keeps runs reproducible: the universe depends on the clock.
DEFAULT_START = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)

# Route names used by fault settings and statistics. "*" in a fault map means every route.
ROUTE_NAMES: tuple[str, ...] = (
    "contracts",
    "items",
    "bids",
    "regions",
    "region",
    "constellation",
    "system",
    "station",
    "type",
    "group",
    "category",
    "names",
    "ids",
    "prices",
    "status",
    "route",
)


class Latency(BaseModel):
    """Added delay for a route: uniform in [min_ms, max_ms], and with probability
    `slow_rate` a delay of `slow_ms` instead (to trip client timeouts)."""

    model_config = ConfigDict(extra="forbid")

    min_ms: float = Field(default=0.0, ge=0)
    max_ms: float = Field(default=0.0, ge=0)
    slow_rate: float = Field(default=0.0, ge=0, le=1)
    slow_ms: float = Field(default=0.0, ge=0)


class RateLimit(BaseModel):
    """ESI's newer token bucket (X-Ratelimit-* headers, 429 with Retry-After), off by
    default. A 2xx costs 2 tokens, a 3xx 1, a 4xx 5 and a 5xx none, as CCP describes it;
    the window is fixed and runs on the wall clock."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=150, ge=1)
    window_seconds: int = Field(default=900, ge=1)
    group: str = "contracts"
    routes: list[str] = Field(default_factory=lambda: ["contracts", "items", "bids"])

    @field_validator("routes")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        for route in v:
            if route not in ROUTE_NAMES:
                raise ValueError(f"unknown route {route!r}")
        return v


class ErrorBurst(BaseModel):
    """A short outage: ``length`` consecutive requests on ``route`` answer ``status``,
    starting after ``after`` requests on that route (counted since the faults were set)."""

    model_config = ConfigDict(extra="forbid")

    route: str = "items"
    after: int = Field(default=0, ge=0)
    length: int = Field(default=130, ge=1)
    status: int = Field(default=503, ge=500, le=599)

    @field_validator("route")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in ROUTE_NAMES:
            raise ValueError(f"unknown route {v!r}")
        return v


class FaultConfig(BaseModel):
    """Faults on demand. Maps are keyed by route name (see ROUTE_NAMES) or "*".

    Each decision is drawn from a generator seeded by (seed, route, request number on that
    route), so a given request sequence meets the same faults on every run.
    """

    model_config = ConfigDict(extra="forbid")

    error_rate: dict[str, float] = Field(default_factory=dict)
    error_statuses: list[int] = Field(default_factory=lambda: [500, 502, 503, 504])
    latency: dict[str, Latency] = Field(default_factory=dict)
    empty_200_rate: dict[str, float] = Field(default_factory=dict)
    truncated_json_rate: dict[str, float] = Field(default_factory=dict)
    # Region listings report an X-Pages that differs between requests of one sweep.
    flapping_pages: bool = False
    # contract_id -> number of consecutive 504s its items/bids routes answer before
    # recovering; a negative count means "until the faults are cleared".
    contract_504_streaks: dict[int, int] = Field(default_factory=dict)
    # contract_id -> number of 204 answers its items route gives although the contract is
    # still listed (ESI's view of it lagging); negative: until the faults are cleared.
    items_204: dict[int, int] = Field(default_factory=dict)
    error_burst: ErrorBurst | None = None
    # Listing pages of this many contracts instead of ESI's 1,000 (multi-page regions at
    # tiny scale).
    page_size: int | None = Field(default=None, ge=1)
    # Every listing page after the first repeats the previous page's last row.
    duplicate_rows: bool = False
    # Listing pages (by number) whose 200 answers carry no X-Pages header.
    drop_x_pages: list[int] = Field(default_factory=list)
    # Every cached answer's Expires is Date plus this (negative: already expired).
    expires_offset_seconds: float | None = None
    # Ids /universe/names/ does not know yet (a just-created character): a call holding
    # one fails whole with 404, as ESI's does.
    unknown_names: list[int] = Field(default_factory=list)
    # ESI down: every ESI route answers 503 or 502, or the connection breaks mid-response.
    down: DownMode | None = None
    rate_limit: RateLimit | None = None

    @field_validator("error_rate", "empty_200_rate", "truncated_json_rate")
    @classmethod
    def _rates_are_probabilities(cls, v: dict[str, float]) -> dict[str, float]:
        for route, rate in v.items():
            if route != "*" and route not in ROUTE_NAMES:
                raise ValueError(f"unknown route {route!r}; known: {', '.join(ROUTE_NAMES)}")
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"rate for {route!r} must be within [0, 1]")
        return v

    @field_validator("latency")
    @classmethod
    def _latency_routes_known(cls, v: dict[str, Latency]) -> dict[str, Latency]:
        for route in v:
            if route != "*" and route not in ROUTE_NAMES:
                raise ValueError(f"unknown route {route!r}")
        return v

    @field_validator("error_statuses")
    @classmethod
    def _statuses_are_5xx(cls, v: list[int]) -> list[int]:
        if not v or any(s < 500 or s > 599 for s in v):
            raise ValueError("error_statuses must be a non-empty list of 5xx codes")
        return v


class Character(BaseModel):
    model_config = ConfigDict(extra="forbid")

    character_id: int = 2112625428
    name: str = "Hangar Test Pilot"
    # EVE's owner hash is a base64 string that changes when the character is sold.
    owner: str = "nMqyu5m2sHm0QWlAOKRwTLyfEzo="


class SsoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str = "hangar-bay-test"
    client_secret: str = "hangar-bay-test-secret"  # noqa: S105 (a test fixture secret)
    # A public (PKCE) client, which authenticates with no secret.
    public_client_id: str = "hangar-bay-public"
    character: Character = Field(default_factory=Character)
    deny: bool = False
    token_mode: TokenMode = "valid"  # noqa: S105
    token_fault: TokenFault | None = None
    token_slow_seconds: float = Field(default=3.0, ge=0, le=60)
    # EVE's tokens carry this issuer; keeping it lets the app validate sim tokens unchanged.
    issuer: str = "https://login.eveonline.com"
    signing_alg: Literal["RS256", "ES256"] = "RS256"
    access_token_seconds: int = 1199
    # None: any redirect_uri is accepted (EVE checks it against the registered callback).
    allowed_redirect_uris: list[str] | None = None


class SimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scale: Scale = "tiny"
    seed: int = 1
    clock: ClockMode = "real"
    # Accelerated real time: simulated seconds per wall second.
    speed: float = Field(default=1.0, gt=0)
    start_time: datetime = DEFAULT_START
    error_limit: int = Field(default=100, ge=1)
    error_window_seconds: int = Field(default=60, ge=1)
    faults: FaultConfig = Field(default_factory=FaultConfig)
    sso: SsoConfig = Field(default_factory=SsoConfig)
    # Ship contracts are ~1.5 % of a real region; unit tests need more of them to look at.
    ship_share: float | None = Field(default=None, ge=0, le=1)

    @field_validator("start_time")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            return v.replace(tzinfo=UTC)
        return v.astimezone(UTC)

    def effective_ship_share(self) -> float:
        if self.ship_share is not None:
            return self.ship_share
        return 0.25 if self.scale == "tiny" else 0.015
