"""Webhook URLs: only allowlisted origins with Discord's path shape; everything else refused."""

from __future__ import annotations

import pytest

from hangar_bay.alerts.webhooks import WebhookUrlError, validate_webhook_url
from hangar_bay.settings import Settings

DEFAULT = Settings(_env_file=None).discord_webhook_origins  # type: ignore[call-arg]
LOCAL = [*DEFAULT, "http://127.0.0.1:8765"]


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        (
            "https://discord.com/api/webhooks/123456/abcDEF_-9",
            "https://discord.com/api/webhooks/123456/abcDEF_-9",
        ),
        (
            "HTTPS://Discord.COM:443/api/webhooks/1/t",
            "https://discord.com/api/webhooks/1/t",
        ),
        ("https://canary.discord.com/api/webhooks/1/t", None),
        ("https://ptb.discord.com/api/webhooks/1/t", None),
        ("https://discordapp.com/api/webhooks/1/t", None),
    ],
)
def test_discord_urls_are_accepted(url: str, normalised: str | None) -> None:
    webhook = validate_webhook_url(url, DEFAULT)
    assert webhook.url == (normalised or url)
    assert webhook.masked.endswith("/****")
    assert webhook.masked == webhook.url.rsplit("/", 1)[0] + "/****"


@pytest.mark.parametrize(
    "url",
    [
        "http://discord.com/api/webhooks/1/t",  # another scheme is another origin
        "https://discord.com:8443/api/webhooks/1/t",  # another port
        "https://evil.example/api/webhooks/1/t",
        "https://discord.com.evil.example/api/webhooks/1/t",
        "https://evildiscord.com/api/webhooks/1/t",
        "http://127.0.0.1:8765/api/webhooks/1/t",  # local, not allowlisted here
        "http://localhost/api/webhooks/1/t",
        "https://discord.com@evil.example/api/webhooks/1/t",  # userinfo tricks
        "https://user:pass@discord.com/api/webhooks/1/t",
        "https://evil.example#@discord.com/api/webhooks/1/t",
        "https://evil.example?@discord.com/api/webhooks/1/t",
        "https://evil.example\\@discord.com/api/webhooks/1/t",
        "https://discord.com/api/webhooks/1/t?wait=true",
        "https://discord.com/api/webhooks/1/t#x",
        "https://discord.com/api/webhooks/1/t/slack",
        "https://discord.com/api/webhooks/x/t",
        "https://discord.com/api/webhooks/1/../../oauth2",
        "https://discord.com/api/webhooks/1/%2e%2e",
        "https://discord.com/redirect?to=http://10.0.0.1/api/webhooks/1/t",
        "https://discord.com/api/v10/webhooks/1/t",
        "https://discord.com./api/webhooks/1/t\n",
        "https://[::1]/api/webhooks/1/t",
        "https://discord.com:0/api/webhooks/1/t",
        "ftp://discord.com/api/webhooks/1/t",
        "javascript:alert(1)",
        "",
        "https://discord.com/api/webhooks/1/" + "t" * 400,
    ],
)
def test_everything_else_is_refused(url: str) -> None:
    with pytest.raises(WebhookUrlError):
        validate_webhook_url(url, DEFAULT)


def test_a_listed_local_origin_is_accepted() -> None:
    webhook = validate_webhook_url("http://127.0.0.1:8765/api/webhooks/9/tok", LOCAL)
    assert webhook.url == "http://127.0.0.1:8765/api/webhooks/9/tok"
    with pytest.raises(WebhookUrlError):
        validate_webhook_url("http://127.0.0.1:8766/api/webhooks/9/tok", LOCAL)


def test_origins_setting_is_comma_separated() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        discord_webhook_origins="https://discord.com, http://127.0.0.1:9000",
    )
    assert settings.discord_webhook_origins == ["https://discord.com", "http://127.0.0.1:9000"]
