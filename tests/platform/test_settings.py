"""Settings: defaults, environment parsing and the refusals operators see."""

import subprocess
import sys

import pytest

from hangar_bay.settings import Settings, SettingsError, get_settings


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory) -> None:
    # A developer's .env or HANGAR_* variables must not leak into these tests.
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    for name in list(__import__("os").environ):
        if name.startswith("HANGAR_"):
            monkeypatch.delenv(name)


def test_defaults_are_the_embedded_setup() -> None:
    settings = get_settings()
    assert settings.database_url == "sqlite+aiosqlite:///./hangar-bay.db"
    assert settings.cache_url == ""
    assert settings.is_sqlite
    assert settings.uses_real_esi
    assert settings.regions == []


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANGAR_DATABASE_URL", "postgresql+asyncpg://u:p@db:5432/hangar")
    monkeypatch.setenv("HANGAR_CACHE_URL", "redis://cache:6379/0")
    monkeypatch.setenv("HANGAR_REGIONS", "10000002, 10000043 10000032")
    settings = get_settings()
    assert not settings.is_sqlite
    assert settings.cache_url == "redis://cache:6379/0"
    assert settings.regions == [10000002, 10000043, 10000032]


def test_dotenv_file_is_read(tmp_path: pytest.TempPathFactory) -> None:
    (tmp_path / ".env").write_text("HANGAR_PORT=9123\n")  # type: ignore[operator]
    assert get_settings().port == 9123


def test_secrets_do_not_show_in_repr() -> None:
    settings = get_settings(secret_key="x" * 40, sso_client_secret="very-secret")
    assert "very-secret" not in repr(settings)
    assert "x" * 40 not in repr(settings)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"database_url": "not a url"}, "HANGAR_DATABASE_URL"),
        ({"database_url": "mysql://localhost/db"}, "unsupported database driver"),
        ({"cache_url": "http://cache"}, "HANGAR_CACHE_URL"),
        ({"port": 0}, "HANGAR_PORT"),
        ({"esi_compatibility_date": "yesterday"}, "HANGAR_ESI_COMPATIBILITY_DATE"),
        ({"environment": "production"}, "HANGAR_SECRET_KEY must be set"),
        ({"environment": "production", "secret_key": "short"}, "at least 32"),
    ],
)
def test_bad_settings_give_one_clear_line(overrides: dict[str, object], expected: str) -> None:
    with pytest.raises(SettingsError) as raised:
        get_settings(**overrides)
    message = str(raised.value)
    assert expected in message
    assert "\n" not in message


def test_production_accepts_a_real_secret() -> None:
    settings = get_settings(environment="production", secret_key="k" * 48)
    assert settings.json_logs is True


def test_real_esi_needs_a_user_agent_contact() -> None:
    with pytest.raises(SettingsError, match="HANGAR_ESI_USER_AGENT"):
        get_settings().check_for_real_esi()
    get_settings(esi_user_agent="ops@example.org").check_for_real_esi()
    # A simulator or proxy needs no contact.
    get_settings(esi_base_url="http://127.0.0.1:8088").check_for_real_esi()


def test_user_agent_names_app_version_and_contact() -> None:
    agent = Settings(esi_user_agent="ops@example.org").user_agent
    assert agent.startswith("HangarBay/")
    assert "ops@example.org" in agent


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_cli_refuses_bad_settings_without_a_traceback(
    command: str, tmp_path: pytest.TempPathFactory
) -> None:
    env = {"HANGAR_ENVIRONMENT": "production", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "hangar_bay.cli", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert "HANGAR_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
