"""The ASGI application: ESI at `/`, EVE SSO on the same base, admin under `/_sim/`."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from esi_sim.config import Character, FaultConfig, SimConfig, TokenFault, TokenMode
from esi_sim.esi import EsiApp
from esi_sim.sim import Simulator
from esi_sim.sso import SsoState, build_router

# Paths handled by FastAPI; everything else is ESI. ESI never uses these prefixes.
_OWN_PREFIXES = ("/_sim", "/v2/oauth/", "/oauth/", "/.well-known/", "/docs", "/openapi.json")


class _Dispatch:
    """Raw ASGI middleware: ESI requests skip FastAPI's routing and validation entirely."""

    def __init__(self, app: Any, esi: EsiApp) -> None:
        self.app = app
        self.esi = esi

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(_OWN_PREFIXES):
            await self.esi(scope, receive, send)
            return
        await self.app(scope, receive, send)


class AdvanceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: float = Field(ge=0)


class SsoSwitches(BaseModel):
    model_config = ConfigDict(extra="forbid")
    deny: bool | None = None
    token_mode: TokenMode | None = None
    character: Character | None = None
    signing_alg: str | None = None
    # "ok" clears a token endpoint fault.
    token_fault: TokenFault | Literal["ok"] | None = None
    token_slow_seconds: float | None = Field(default=None, ge=0, le=60)


def _admin_router(sim: Simulator) -> APIRouter:
    router = APIRouter(prefix="/_sim", tags=["simulator"])

    @router.get("/ground-truth")
    async def ground_truth(
        live_only: bool = False, region_id: list[int] | None = Query(default=None)
    ) -> StreamingResponse:
        # A sync iterator runs in the threadpool, so the event loop keeps serving ESI.
        chunks = sim.iter_ground_truth_json(live_only=live_only, region_ids=region_id)
        return StreamingResponse(chunks, media_type="application/json")

    @router.get("/clock")
    async def clock() -> dict[str, Any]:
        return _clock_state(sim)

    @router.post("/clock/advance")
    async def advance(body: AdvanceBody) -> dict[str, Any]:
        sim.clock.advance(body.seconds)
        sim.now()
        return _clock_state(sim)

    @router.get("/faults")
    async def get_faults() -> dict[str, Any]:
        return sim.faults.model_dump(mode="json")

    @router.post("/faults")
    async def set_faults(body: FaultConfig) -> dict[str, Any]:
        return sim.set_faults(body).model_dump(mode="json")

    @router.delete("/faults")
    async def clear_faults() -> dict[str, Any]:
        sim.clear_faults()
        return sim.faults.model_dump(mode="json")

    @router.get("/stats")
    async def stats() -> dict[str, Any]:
        remain, reset = sim.budget()
        with sim.lock:
            out = sim.stats.as_dict()
        out["error_limit_remain"] = remain
        out["error_limit_reset"] = reset
        return out

    @router.delete("/stats")
    async def reset_stats() -> dict[str, Any]:
        sim.reset_stats()
        return sim.stats.as_dict()

    @router.post("/error-budget/reset")
    async def reset_budget() -> dict[str, Any]:
        sim.reset_error_budget()
        remain, reset = sim.budget()
        return {"error_limit_remain": remain, "error_limit_reset": reset}

    @router.get("/sso")
    async def get_sso() -> dict[str, Any]:
        return _sso_state(sim)

    @router.post("/sso")
    async def set_sso(body: SsoSwitches) -> dict[str, Any]:
        changes = body.model_dump(exclude_none=True)
        if "character" in changes:
            changes["character"] = body.character
        if changes.get("token_fault") == "ok":
            changes["token_fault"] = None
        if changes.get("signing_alg") not in (None, "RS256", "ES256"):
            raise HTTPException(422, "signing_alg must be RS256 or ES256")
        sim.sso.update(**changes)
        return _sso_state(sim)

    @router.get("/info")
    async def info(request: Request) -> dict[str, Any]:
        cfg = sim.config
        return {
            "scale": cfg.scale,
            "seed": cfg.seed,
            "live_contracts": sim.market.live_count(),
            "regions_with_contracts": sum(1 for r in sim.market.regions.values() if r.live),
            "base_url": str(request.base_url).rstrip("/"),
        }

    return router


def _clock_state(sim: Simulator) -> dict[str, Any]:
    now = sim.now()
    return {
        "time": sim.clock.now_dt().isoformat().replace("+00:00", "Z"),
        "epoch": now,
        "mode": sim.clock.mode,
        "speed": sim.clock.speed,
    }


def _sso_state(sim: Simulator) -> dict[str, Any]:
    cfg = sim.sso.config
    return {
        "deny": cfg.deny,
        "token_mode": cfg.token_mode,
        "signing_alg": cfg.signing_alg,
        "token_fault": cfg.token_fault,
        "token_slow_seconds": cfg.token_slow_seconds,
        "character": cfg.character.model_dump(),
        "client_id": cfg.client_id,
        "public_client_id": cfg.public_client_id,
        "issuer": cfg.issuer,
    }


def create_app(config: SimConfig | None = None, sim: Simulator | None = None) -> FastAPI:
    """Build the simulator app. Pass `sim` to serve an existing simulator state."""
    if sim is None:
        sim = Simulator(config or SimConfig())
    if sim.sso is None:
        sim.sso = SsoState(sim.config.sso)
    app = FastAPI(title="ESI + EVE SSO simulator", docs_url="/docs", redoc_url=None)
    app.state.sim = sim
    app.include_router(build_router(sim.sso))
    app.include_router(_admin_router(sim))
    app.add_middleware(_Dispatch, esi=EsiApp(sim))
    return app
