"""docker-compose.yml: every service's command names a real entry point of this project."""

from __future__ import annotations

import importlib
import shlex
from pathlib import Path

import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]


def load_compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def commands_of(service: dict) -> list[list[str]]:
    command = service.get("command")
    if command is None:
        return []
    if isinstance(command, list) and command[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in command[2].split("&&")]
    return [command if isinstance(command, list) else shlex.split(command)]


def check_entry_point(argv: list[str]) -> None:
    program = argv[0]
    if program == "python" and argv[1] == "manage.py":
        assert argv[2] in get_commands(), f"unknown management command {argv[2]}"
    elif program == "gunicorn":
        module, attribute = argv[1].split(":")
        assert callable(getattr(importlib.import_module(module), attribute))
    elif program == "celery":
        assert argv[1] == "-A"
        app = importlib.import_module(argv[2]).celery_app
        assert app.main == "cd8pet"
        assert argv[3] in {"worker", "beat"}
    else:
        raise AssertionError(f"unexpected entry point {argv}")


def test_the_stack_has_the_five_services_sharing_one_image_and_environment():
    compose = load_compose()
    assert set(compose["services"]) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    app_services = [compose["services"][name] for name in ("web", "worker", "beat")]
    assert len({s["image"] for s in app_services}) == 1
    assert all(s["environment"] == app_services[0]["environment"] for s in app_services)
    assert app_services[0]["environment"]["REDIS_URL"].startswith("redis://redis")


def test_every_service_command_names_a_real_entry_point():
    checked = 0
    for name in ("migrate", "web", "worker", "beat"):
        for argv in commands_of(load_compose()["services"][name]):
            check_entry_point(argv)
            checked += 1
    assert checked == 5


def test_migrations_run_as_the_owner_and_the_app_as_the_granted_role():
    services = load_compose()["services"]
    app_url = services["web"]["environment"]["DATABASE_URL"]
    owner_url = services["migrate"]["environment"]["DATABASE_URL"]
    assert app_url.startswith("postgres://cd8pet_app:") and owner_url.startswith("postgres://cd8pet:")
    migrate, grant = commands_of(services["migrate"])
    assert migrate[:3] == ["python", "manage.py", "migrate"]
    assert (
        grant[:3] == ["python", "manage.py", "grant_app_role"]
        and grant[grant.index("--app-url") + 1] == app_url
    )
    assert all(
        services[n]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        for n in ("web", "worker", "beat")
    )


def test_a_wrong_command_would_be_caught():
    import pytest

    with pytest.raises(AssertionError):
        check_entry_point(["python", "manage.py", "no_such_command"])
    with pytest.raises((AssertionError, AttributeError, ModuleNotFoundError)):
        check_entry_point(["gunicorn", "config.wsgi:missing"])
