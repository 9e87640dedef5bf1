"""Readiness fixtures: a team gate policy, builds and check reports reported as CI would, and a
change advisory board member. Approvers, ``frozen`` and ``sign_all`` come from the approvals
fixtures."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth.models import Group, User

from approvals.readiness import services as readiness
from releases import roles
from releases.models import GatePolicy
from tests.approvals.conftest import (  # noqa: F401  (fixtures shared with approvals)
    approvers,
    frozen,
    leo,
    planned,
    priya,
    sam,
    sign,
    sign_all,
    walk,
)
from tests.conftest import PASSWORD

_builds = itertools.count(1)


@pytest.fixture
def policy(payments) -> GatePolicy:
    """Payments' gate policy: unit-tests and integration-tests required."""
    return GatePolicy.objects.create(
        name="Payments", team=payments, required_checks=["unit-tests", "integration-tests"]
    )


@pytest.fixture
def candidate(alice):
    """``candidate(release, version=None, actor=alice)``: a build reported by CI."""

    def report(release, version=None, actor=None, **fields):
        number = next(_builds)
        fields.setdefault("commit_sha", f"{number:07x}abcdef")
        fields.setdefault("artifact_digest", "sha256:" + f"{number:064x}")
        return readiness.candidate_report(
            actor=actor or alice,
            release=release,
            version=version or f"{release.version}-rc.{number}",
            **fields,
        )

    return report


@pytest.fixture
def check(alice):
    """``check(candidate, name, status="passed")``: a check result reported by CI."""

    def report(candidate, name, status="passed", actor=None, **fields):
        return readiness.check_report(
            actor=actor or alice, candidate=candidate, name=name, status=status, **fields
        )

    return report


@pytest.fixture
def green(check):
    """``green(candidate)``: both required checks passed."""

    def report(candidate):
        check(candidate, "unit-tests")
        check(candidate, "integration-tests")

    return report


@pytest.fixture
def ready(frozen, manager, candidate, green, sign_all, policy):  # noqa: F811
    """``ready()``: a Payments release in testing with a green current candidate and every
    sign-off fresh: GO."""

    def make(**fields):
        release = frozen(**fields)
        build = candidate(release)
        green(build)
        walk(release, manager, "testing")
        sign_all(release)
        release.refresh_from_db()
        return release

    return make


@pytest.fixture
def carol(db) -> User:
    """A member of the change advisory board."""
    user = User.objects.create_user(
        "carol", "carol@example.com", PASSWORD, first_name="Carol", last_name="Cab"
    )
    user.groups.add(Group.objects.get(name=roles.CHANGE_ADVISORY_BOARD))
    return user
