"""Notifications and alert settings: ``/api/v1/me/notifications*``, ``/api/v1/me/settings*``
and the ``/notifications`` page (with the Discord settings form).

Every route needs a session (401 otherwise, a redirect to the login on pages); every
unsafe one the session's CSRF token (403 ``{"error": "csrf"}``). A pilot only ever sees
and changes their own notifications: another pilot's ids are silently ignored by the
API's mark-read, and opening one on the page is a 404 page, as for a missing one.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from hangar_bay.accounts.auth import csrf_refused
from hangar_bay.accounts.deps import (
    Auth,
    AuthDep,
    CurrentUser,
    csrf_matches,
    csrf_token_sent,
    require_csrf,
)
from hangar_bay.accounts.fragments import personalise
from hangar_bay.accounts.schemas import SAFE_PATTERN, SAFE_TEXT
from hangar_bay.alerts import discord, service
from hangar_bay.alerts.service import MAX_PAGE_SIZE, NotificationPage, SettingsOut
from hangar_bay.alerts.webhooks import WebhookUrlError, validate_webhook_url
from hangar_bay.core.bodies import BodyRoute
from hangar_bay.core.errors import BadRequest
from hangar_bay.core.openapi import ME_RESPONSES
from hangar_bay.core.params import OneValueEach, repeated_problems
from hangar_bay.core.state import SessionDep, SettingsDep
from hangar_bay.core.text import CONTROL_MESSAGE, has_control_characters
from hangar_bay.models import AlertSettings, Notification, utcnow
from hangar_bay.web import format as fmt
from hangar_bay.web.error_pages import bad_path_id, path_id
from hangar_bay.web.router import HTML, error_page, render_bytes, templates

router = APIRouter(prefix="/api/v1/me", tags=["me"], responses=ME_RESPONSES, route_class=BodyRoute)
pages = APIRouter(tags=["web"], include_in_schema=False, route_class=BodyRoute)


class ReadRequest(BaseModel):
    # Strict, as every /api/v1/me body (accounts/schemas.py): ids are JSON integers and
    # "all" a JSON boolean; "1" or 1 is not true.
    model_config = ConfigDict(strict=True)

    ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(
        default_factory=list, max_length=500
    )
    all: bool = False

    @model_validator(mode="after")
    def _something(self) -> ReadRequest:
        if not self.ids and not self.all:
            raise ValueError('give "ids" or "all": true')
        return self


class ReadResult(BaseModel):
    marked: int
    unread: int


class UnreadCount(BaseModel):
    unread: int


WebhookText = Annotated[str, StringConstraints(max_length=500), SAFE_TEXT, SAFE_PATTERN]


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    discord_webhook_url: WebhookText | None = Field(
        description="A Discord webhook URL (https://discord.com/api/webhooks/{id}/{token}), "
        "or null to turn Discord alerts off.",
    )


class TestResult(BaseModel):
    outcome: str = Field(
        description="sent, rate_limited, retry (Discord failed), failed, or gone (Discord "
        "no longer knows the webhook: delivery is turned off and you get a notice)"
    )


def _webhook_or_422(url: str, allowed: list[str]) -> Any:
    try:
        return validate_webhook_url(url, allowed)
    except WebhookUrlError as exc:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "discord_webhook_url"),
                    "msg": str(exc),
                    "type": "value_error",
                    "input": None,
                }
            ]
        ) from None


@router.get(
    "/notifications",
    response_model=NotificationPage,
    summary="Your notifications, newest first",
    description="Contracts that matched your watchlist or saved searches (each once), and "
    "notices from Hangar Bay. Notifications older than 30 days are pruned. Each "
    "parameter takes one value: given twice it is a 422 naming it.",
)
async def list_notifications(
    user: CurrentUser,
    session: SessionDep,
    # After the session: a visitor gets the 401 before any 422, as for a bad value.
    _one_value: OneValueEach,
    unread: Annotated[bool, Query(description="Only unread ones.")] = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> NotificationPage:
    return await service.list_notifications(session, user.id, unread=unread, page=page, size=size)


@router.get("/notifications/unread", response_model=UnreadCount, summary="Unread count")
async def unread_count(user: CurrentUser, session: SessionDep) -> UnreadCount:
    """The number the bell in the page header shows."""
    return UnreadCount(unread=await service.unread_count(session, user.id))


@router.post(
    "/notifications/read",
    response_model=ReadResult,
    dependencies=[Depends(require_csrf)],
    summary="Mark notifications read",
    description='`{"ids": [1, 2]}` or `{"all": true}`. Ids of other pilots are ignored.',
)
async def read_notifications(
    body: ReadRequest, user: CurrentUser, session: SessionDep
) -> ReadResult:
    marked = await service.mark_read(session, user.id, ids=body.ids, everything=body.all)
    return ReadResult(marked=marked, unread=await service.unread_count(session, user.id))


@router.get("/settings", response_model=SettingsOut, summary="Your alert settings")
async def get_settings(
    user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> SettingsOut:
    """The Discord webhook (token masked), whether delivery is on, and failed deliveries."""
    return await service.get_settings(session, user.id, settings.discord_webhook_origins)


@router.put(
    "/settings",
    response_model=SettingsOut,
    dependencies=[Depends(require_csrf)],
    summary="Set or remove your Discord webhook",
    responses={422: {"description": "The URL is not a Discord webhook on an allowed origin."}},
)
async def put_settings(
    body: SettingsIn, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> SettingsOut:
    """Only ``HANGAR_DISCORD_WEBHOOK_ORIGINS`` and the path ``/api/webhooks/{id}/{token}``
    are accepted; anything else is 422 (the server never posts anywhere else)."""
    allowed = settings.discord_webhook_origins
    webhook = (
        _webhook_or_422(body.discord_webhook_url, allowed) if body.discord_webhook_url else None
    )
    await service.set_webhook(session, user.id, webhook)
    return await service.get_settings(session, user.id, allowed)


@router.post(
    "/settings/test",
    response_model=TestResult,
    dependencies=[Depends(require_csrf)],
    summary="Send a test message to your Discord webhook",
)
async def test_webhook(user: CurrentUser, session: SessionDep, settings: SettingsDep) -> TestResult:
    """When Discord answers 401/404 (``gone``), delivery is turned off as the sender
    would, with an in-app notice."""
    row = await session.get(AlertSettings, user.id)
    if row is None or not row.discord_webhook_url:
        raise BadRequest("Set a Discord webhook first.")
    async with discord.build_client(settings) as http:
        try:
            outcome = await discord.test_and_apply(
                session, http, settings, user.id, row.discord_webhook_url
            )
        except WebhookUrlError as exc:
            raise BadRequest(str(exc)) from None
    return TestResult(outcome=outcome)


# --- pages ------------------------------------------------------------------------------


# The status line of /notifications: only these fixed texts, chosen by key, so a link
# cannot make a real page display words of the sender's choosing.
NOTICES = {
    "webhook-first": "Set a webhook first.",
    "alerts-on": "Discord alerts on.",
    "alerts-off": "Discord alerts off.",
    "test-sent": "Test message: sent.",
    "test-rate_limited": "Test message: Discord is rate limiting; try again in a minute.",
    "test-retry": "Test message: Discord did not answer; try again later.",
    "test-gone": "Test message: Discord no longer knows this webhook; Discord alerts were "
    "turned off. Set a new webhook.",
    "test-failed": "Test message: Discord refused it.",
    "test-not-allowed": "Test message: that webhook URL is not allowed.",
}


def _login(next_path: str) -> Response:
    return RedirectResponse(f"/auth/login?next={quote(next_path)}", status_code=303)


def _noticed(key: str) -> Response:
    return RedirectResponse(f"/notifications?notice={key}", status_code=303)


async def _form_refused(request: Request, auth: Auth | None) -> Response | None:
    """The answer refusing a page form (no session: login; bad CSRF token: the "form
    has expired" page), or ``None`` when it may go ahead."""
    if auth is None:
        return _login("/notifications")
    if not csrf_matches(await csrf_token_sent(request), auth):
        return csrf_refused(request)
    return None


@pages.get("/notifications")
async def notifications_page(
    request: Request,
    auth: AuthDep,
    session: SessionDep,
    settings: SettingsDep,
    page: int = 1,
) -> Response:
    """The pilot's notifications and the Discord settings form."""
    if auth is None:
        return _login("/notifications")
    repeated = repeated_problems(request.query_params, "page", "notice")
    if repeated:
        return error_page(request, 422, "These parameters are not valid", repeated)
    page = min(max(page, 1), 10_000)
    listing = await service.list_notifications(session, auth.user.id, page=page, size=50)
    current = await service.get_settings(session, auth.user.id, settings.discord_webhook_origins)
    now = utcnow()
    context = {
        "listing": listing,
        "settings": current,
        "csrf_token": auth.csrf_token,
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        "ago": lambda moment: fmt.ago(moment, now),
    }
    html = render_bytes(request, "notifications.html", context)
    # The header's account block, as on every page (the pilot's name, log out).
    body, _ = personalise(templates, request, auth, html, '""')
    response = Response(body, media_type=HTML)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Vary"] = "Cookie"
    return response


@pages.post("/notifications/{notification_id}/open")
async def open_notification(
    request: Request, notification_id: str, auth: AuthDep, session: SessionDep
) -> Response:
    """Mark it read and go to its contract (or back to the list for a notice); a 422
    page naming ``notification_id`` when it is not a number, a 404 page when it is not
    one of the pilot's notifications (after the session and CSRF checks, as on every
    form)."""
    if (refused := await _form_refused(request, auth)) is not None:
        return refused
    assert auth is not None
    row_id = path_id(notification_id)
    if row_id is None:
        return bad_path_id(
            request,
            "notification_id",
            notification_id,
            "That is not a notification number",
            "/notifications",
        )
    row = await session.get(Notification, row_id)
    if row is None or row.user_id != auth.user.id:
        # Another pilot's is indistinguishable from a missing one, as on the /me forms.
        return error_page(
            request,
            404,
            "No such notification",
            ["It may have been pruned (after 30 days)."],
            "/notifications",
        )
    await service.mark_read(session, auth.user.id, ids=[row.id])
    target = f"/contracts/{row.contract_id}" if row.contract_id else "/notifications"
    return RedirectResponse(target, status_code=303)


@pages.post("/notifications/read-all")
async def read_all_page(request: Request, auth: AuthDep, session: SessionDep) -> Response:
    """Mark every notification read."""
    if (refused := await _form_refused(request, auth)) is not None:
        return refused
    assert auth is not None
    await service.mark_read(session, auth.user.id, everything=True)
    return RedirectResponse("/notifications", status_code=303)


@pages.post("/notifications/settings")
async def settings_form(
    request: Request, auth: AuthDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """The settings form (on /notifications and /me): save, remove or test the webhook."""
    if (refused := await _form_refused(request, auth)) is not None:
        return refused
    assert auth is not None
    user = auth.user
    form = await request.form()
    back = "/me" if str(form.get("back", "")) == "/me" else "/notifications"
    # A field sent twice: which copy was meant is a guess, so the form is refused.
    if problems := repeated_problems(form, "action", "back", "discord_webhook_url"):
        return error_page(request, 422, "These settings could not be saved", problems, back)
    action = str(form.get("action", "save"))
    if action not in ("save", "remove", "test"):
        problem = f"action: expected save, remove or test, got {action[:40]!r}"
        return error_page(request, 422, "These settings could not be saved", [problem], back)
    if action == "test":
        row = await session.get(AlertSettings, user.id)
        if row is None or not row.discord_webhook_url:
            return _noticed("webhook-first")
        async with discord.build_client(settings) as http:
            try:
                outcome = await discord.test_and_apply(
                    session, http, settings, user.id, row.discord_webhook_url
                )
            except WebhookUrlError:
                outcome = "not-allowed"
        # The outcome is shown on /notifications (its notice line), wherever the form was.
        return _noticed(f"test-{outcome}")
    url = "" if action == "remove" else str(form.get("discord_webhook_url", "")).strip()
    webhook = None
    if has_control_characters(url):
        problem = f"discord_webhook_url: {CONTROL_MESSAGE}"
        return error_page(request, 422, "That webhook URL cannot be used", [problem], back)
    if url:
        try:
            webhook = validate_webhook_url(url, settings.discord_webhook_origins)
        except WebhookUrlError as exc:
            return error_page(request, 422, "That webhook URL cannot be used", [str(exc)], back)
    await service.set_webhook(session, user.id, webhook)
    if back == "/me":
        return RedirectResponse("/me", status_code=303)
    return _noticed("alerts-on" if webhook else "alerts-off")
