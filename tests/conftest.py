"""Shared fixtures: personas (manager, team member, outsider, superuser) and small factories.

Every permission test uses the same personas: ``manager`` (Release managers group), ``alice``
(Payments engineer), ``bob`` (Search engineer), ``outsider`` (a logged-in user with no team or
role) and ``admin`` (superuser).
"""

from __future__ import annotations

import itertools
import os
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from rest_framework.test import APIClient

from releases import roles, services
from releases.models import Team
from tests.oidc_provider import oidc, oidc_provider  # noqa: F401  (fixtures for every folder)

PASSWORD = "correct-horse-battery"
_versions = itertools.count(1)

# The least-privilege run (``.ci/least-privilege``) runs the audit tests against a database its
# owner created and migrated beforehand (RELCAL_TEST_EXISTING_DB=1), first as the owner, then
# as the application role of docs/least-privilege.sql (RELCAL_TEST_APP_ROLE=1 as well).
EXISTING_DB = os.environ.get("RELCAL_TEST_EXISTING_DB") == "1"
APP_ROLE = EXISTING_DB and os.environ.get("RELCAL_TEST_APP_ROLE") == "1"

if EXISTING_DB:

    @pytest.fixture(scope="session")
    def django_db_setup():
        """Use the database ``DATABASE_URL`` names as it is, made by the real migrations: the
        application role may not create a test database, migrate or flush. Each test still runs
        in a transaction that is rolled back; tests that need more are skipped (``skipped``)."""


def _user(username: str, *groups: str, **extra) -> User:
    user = User.objects.create_user(
        username, f"{username}@example.com", PASSWORD, first_name=username.title(), **extra
    )
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # PBKDF2's deliberate slowness would dominate the suite's run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin(db) -> User:
    return User.objects.create_superuser("admin", "admin@example.com", PASSWORD)


@pytest.fixture
def manager(db) -> User:
    return _user("manager", roles.RELEASE_MANAGERS)


@pytest.fixture
def payments(db) -> Team:
    return Team.objects.create(name="Payments", slug="payments", color="#d9480f")


@pytest.fixture
def search(db) -> Team:
    return Team.objects.create(name="Search", slug="search", color="#2b8a3e")


@pytest.fixture
def alice(payments) -> User:
    user = _user("alice", roles.TEAM_MEMBERS)
    payments.members.add(user)
    return user


@pytest.fixture
def bob(search) -> User:
    user = _user("bob", roles.TEAM_MEMBERS)
    search.members.add(user)
    return user


@pytest.fixture
def outsider(db) -> User:
    return _user("outsider")


@pytest.fixture
def soon():
    """A moment three weeks ahead, on the hour, timezone-aware."""
    return (timezone.now() + timedelta(days=21)).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def make_release(manager, payments, soon):
    """Create a release through the service, as the manager, with sensible defaults."""

    def make(**fields):
        number = next(_versions)
        fields.setdefault("team", payments)
        fields.setdefault("name", f"{fields['team'].name} {number}.0")
        fields.setdefault("version", f"{number}.0")
        fields.setdefault("go_live", soon)
        actor = fields.pop("actor", manager)
        return services.release_create(actor=actor, **fields)

    return make


@pytest.fixture
def api():
    """An API client; ``api.as_user(user)`` logs in with a token, as a CI pipeline would."""

    client = APIClient()

    def as_user(user):
        client.force_authenticate(user)
        return client

    client.as_user = as_user
    return client


CHROMIUM = "/usr/bin/chromium"


def pytest_collection_modifyitems(config, items):
    """Browser tests need Debian's Chromium. Without it they skip on a developer's machine,
    but CI sets RELCAL_REQUIRE_BROWSER=1 so that a missing browser fails instead of hiding.
    PostgreSQL tests (locking, constraints) run on CI's PostgreSQL leg."""
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    have_browser = os.path.exists(CHROMIUM) or os.environ.get("RELCAL_REQUIRE_BROWSER") == "1"
    no_browser = pytest.mark.skip(reason=f"{CHROMIUM} not installed (apt-get install chromium)")
    no_postgres = pytest.mark.skip(reason="PostgreSQL only: set DATABASE_URL=postgres://...")
    for item in items:
        if "browser" in item.keywords and not have_browser:
            item.add_marker(no_browser)
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(no_postgres)
        reason = skipped(item)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def skipped(item) -> str:
    """Why the least-privilege run skips a test: a transactional test ends with a flush, which
    only a test database allows; a test marked ``owner`` drops or disables the triggers."""
    marker = item.get_closest_marker("django_db")
    transactional = marker is not None and bool(
        marker.kwargs.get("transaction") or (marker.args and marker.args[0])
    )
    flushing = {"transactional_db", "live_server", "django_db_serialized_rollback"}
    if EXISTING_DB and (transactional or flushing & set(item.fixturenames)):
        return "flushes the database: not on an existing database"
    if APP_ROLE and "owner" in item.keywords:
        return "needs the tables' owner: not as the application role"
    return ""
