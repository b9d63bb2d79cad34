"""The container files, checked the way this machine can: by parsing them.

(.ci/run also lints the Dockerfile with hadolint and runs the image's install script in a
fresh virtual environment.)
"""

from pathlib import Path

import typer.main
import yaml

from hangar_bay.cli import cli
from hangar_bay.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, dict[str, dict[str, object]]]:
    data = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_compose_has_the_fleet() -> None:
    services = _compose()["services"]
    assert set(services) == {"app", "worker", "db", "cache", "migrate"}
    assert "valkey" in str(services["cache"]["image"])
    assert "postgres" in str(services["db"]["image"])


def test_compose_commands_exist_in_the_cli() -> None:
    commands = set(typer.main.get_command(cli).commands)  # type: ignore[attr-defined]
    for name in ("app", "worker", "migrate"):
        command = _compose()["services"][name]["command"]
        assert isinstance(command, list)
        assert command[0] in commands, f"{name} runs unknown command {command[0]!r}"


def test_compose_starts_in_the_right_order() -> None:
    services = _compose()["services"]
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name in ("app", "worker"):
        depends = services[name]["depends_on"]
        assert isinstance(depends, dict)
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
    for name in ("db", "cache"):
        assert "healthcheck" in services[name]


def test_compose_environment_names_are_real_settings() -> None:
    known = {f"HANGAR_{name.upper()}" for name in Settings.model_fields}
    for name in ("app", "worker", "migrate"):
        environment = _compose()["services"][name]["environment"]
        assert isinstance(environment, dict)
        unknown = set(environment) - known
        assert not unknown, f"{name} sets unknown settings {unknown}"
        assert environment["HANGAR_ENVIRONMENT"] == "production"


def test_env_example_documents_every_setting() -> None:
    documented = {
        line.split("=", 1)[0].lstrip("# ")
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and line.lstrip("# ").startswith("HANGAR_")
    }
    expected = {f"HANGAR_{name.upper()}" for name in Settings.model_fields}
    assert expected <= documented, f"undocumented: {sorted(expected - documented)}"


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    assert sum(line.startswith("FROM ") for line in lines) >= 2
    users = [line for line in lines if line.startswith("USER ")]
    assert users
    assert users[-1].split()[1].split(":")[0] not in {"root", "0"}
    assert any(line.startswith("HEALTHCHECK") for line in lines)
    assert any("docker/install-app.sh" in line for line in lines if line.startswith("RUN"))
