"""Fixtures for the release planning API tests, on top of the personas in tests/conftest.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from releases import services
from releases.models import (
    FreezeWindow,
    Milestone,
    Release,
    ReleaseDependency,
    ReleaseTransition,
    ScopeItem,
    Team,
)

DOMAIN = (Team, Release, ReleaseTransition, Milestone, ScopeItem, ReleaseDependency, FreezeWindow)


@pytest.fixture
def stored(db):
    """``stored()`` counts every domain table, to assert that a refused request wrote nothing."""

    def count() -> dict[str, int]:
        return {model.__name__: model.objects.count() for model in DOMAIN}

    return count


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def overrider(manager):
    """A release manager who was also granted the freeze override permission."""
    manager.user_permissions.add(
        Permission.objects.get(content_type__app_label="releases", codename="override_freeze")
    )
    # has_perm caches permissions on the instance; a fresh instance sees the new grant.
    return type(manager).objects.get(pk=manager.pk)


@pytest.fixture
def year_end_freeze(manager, soon):
    """A freeze for everyone covering the day ``soon`` falls in."""
    return services.freeze_window_create(
        actor=manager,
        name="Year-end freeze",
        start=soon - timedelta(hours=12),
        end=soon + timedelta(hours=12),
    )
