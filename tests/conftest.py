"""Fixture people: Carla coordinates NL01, Ivan investigates there, Rita reads scans, Paula scores biopsies,
Mona monitors, Dana manages data for all sites, Sam is the sponsor, and Olga coordinates BE01 (another site)."""

from __future__ import annotations

import os

import pytest

from tests import db_roles, factories
from trial.models import Role

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_configure(config: pytest.Config) -> None:
    """The fixture people's passwords hashed cheaply: Django's PBKDF2 (1,000,000 iterations) costs up to a second
    per user on a busy machine, paid for every user of every test. The application keeps Django's default
    (tests/test_deploy_profile.py)."""
    from django.conf import settings
    from django.contrib.auth import hashers

    settings.PASSWORD_HASHERS = FAST_HASHERS
    hashers.get_hashers.cache_clear()
    hashers.get_hashers_by_algorithm.cache_clear()


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Migration-loaded reference data is flushed by transactional tests; put it back where a test uses the DB."""
    if request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames):
        request.getfixturevalue(
            "db" if "transactional_db" not in request.fixturenames else "transactional_db"
        )
        from trial.reference_data import ensure_loaded

        ensure_loaded()


@pytest.fixture
def site_nl(db):
    return factories.make_site("NL01", "Amsterdam UMC", "NL", "Europe/Amsterdam")


@pytest.fixture
def site_be(db):
    return factories.make_site("BE01", "UZ Leuven", "BE", "Europe/Brussels")


@pytest.fixture
def coordinator(site_nl):
    return factories.make_user("carla", (site_nl, Role.SITE_COORDINATOR))


@pytest.fixture
def investigator(site_nl):
    return factories.make_user("ivan", (site_nl, Role.INVESTIGATOR))


@pytest.fixture
def radiologist(site_nl):
    return factories.make_user("rita", (site_nl, Role.RADIOLOGIST))


@pytest.fixture
def pathologist(site_nl):
    return factories.make_user("paula", (site_nl, Role.PATHOLOGIST))


@pytest.fixture
def monitor(site_nl):
    return factories.make_user("mona", (site_nl, Role.MONITOR))


@pytest.fixture
def data_manager(site_nl):
    return factories.make_user("dana", (site_nl, Role.DATA_MANAGER))


@pytest.fixture
def sponsor(site_nl):
    return factories.make_user("sam", (site_nl, Role.SPONSOR))


@pytest.fixture
def other_coordinator(site_be):
    return factories.make_user("olga", (site_be, Role.SITE_COORDINATOR))


@pytest.fixture
def participant(coordinator, site_nl):
    return factories.enrol(coordinator, site_nl)


@pytest.fixture
def client_for(client):
    """Log a fixture user in on Django's test client."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture(autouse=True)
def _celery_eager_by_default():
    """Tests run tasks in-process unless they start a real worker (tests/worker.py)."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def celery_worker_process(transactional_db):
    from tests.worker import running_worker

    with running_worker() as proc:
        yield proc


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """With MIGRATE_DATABASE_URL set (`make test`), create and migrate the test database as the owner."""
    if db_roles.owner_url():
        db_roles.log_in_as_owner()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Let pytest-django's flush TRUNCATE the audit table in the test database only (trial migration 0005);
    then, with MIGRATE_DATABASE_URL set, grant the app role and run the whole suite as that role."""
    from django.db import connection, connections

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            name = connection.ops.quote_name(connection.settings_dict["NAME"])
            cursor.execute(f"ALTER DATABASE {name} SET cd8pet.allow_audit_truncate = 'on'")
        connections.close_all()
    if db_roles.owner_url():
        with django_db_blocker.unblock():
            db_roles.grant_suite_role()
        db_roles.log_in_as_app()
    yield
    if db_roles.owner_url():
        db_roles.log_in_as_owner()  # pytest-django drops the test database, which only its owner may


@pytest.fixture
def feed_reads_this_transaction(monkeypatch):
    """For a test that reads the change feed inside its own open transaction (django_db without transaction=True):
    the feed reads only entries below the horizon, and this transaction's own entries are seen or not depending
    on other databases' commits (another xdist worker). Put the horizon past them. The horizon itself is tested
    with committed transactions in tests/exports/test_changes.py and test_odm_increment.py."""
    from exports import changes

    monkeypatch.setattr(changes, "horizon", lambda: 2**62)
