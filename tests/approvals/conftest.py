"""Approvals fixtures: approver and auditor personas, a release awaiting sign-off, a signing
helper and a counter of what the approvals tables hold.

Personas (on top of tests/conftest.py): ``priya`` (Product approvers), ``leo`` (Legal
approvers), ``sam`` (Security approvers), ``quinn`` (Auditors). The default policy from the
migration asks product, legal and security for one approval each, segregation of duties on.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User

from approvals import services as approvals
from approvals.models import DEFAULT_MEANING, AuditEvent, Decision, Meaning, SignOff
from releases import roles, services
from releases.models import Release
from tests.conftest import PASSWORD


def make_user(username: str, *groups: str, **extra) -> User:
    user = User.objects.create_user(
        username,
        f"{username}@example.com",
        PASSWORD,
        first_name=username.title(),
        last_name="Tester",
        **extra,
    )
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


@pytest.fixture
def priya(db) -> User:
    return make_user("priya", roles.PRODUCT_APPROVERS, is_staff=True)


@pytest.fixture
def leo(db) -> User:
    return make_user("leo", roles.LEGAL_APPROVERS, is_staff=True)


@pytest.fixture
def sam(db) -> User:
    return make_user("sam", roles.SECURITY_APPROVERS, is_staff=True)


@pytest.fixture
def quinn(db) -> User:
    return make_user("quinn", roles.AUDITORS, is_staff=True)


@pytest.fixture
def approvers(priya, leo, sam) -> dict[str, User]:
    return {"product": priya, "legal": leo, "security": sam}


def walk(release: Release, actor, *states: str, reason: str = "test") -> Release:
    for state in states:
        services.release_transition(actor=actor, release=release, to_state=state, reason=reason)
    release.refresh_from_db()
    return release


@pytest.fixture
def planned(make_release, manager, alice, soon, search):
    """``planned()``: a Payments release with a scope item (owned by Alice), a milestone and a
    dependency, moved to planned."""

    def make(**fields) -> Release:
        release = make_release(**fields)
        services.scope_item_create(
            actor=manager, release=release, title="Saved cards", ticket_key="PAY-1", owner=alice
        )
        services.milestone_create(
            actor=manager,
            release=release,
            kind="code_freeze",
            date=(soon - timedelta(days=3)).date(),
        )
        return walk(release, manager, "planned")

    return make


@pytest.fixture
def frozen(planned, manager):
    """``frozen()``: a release awaiting sign-off (scope frozen, requirements taken)."""

    def make(**fields) -> Release:
        release = walk(planned(**fields), manager, "scope_frozen")
        make.made.append(release)
        return release

    make.made = []
    return make


@pytest.fixture
def sign():
    """``sign(user, release, role, decision="approve", **extra)`` through the service."""

    def do(user, release, role, decision=Decision.APPROVE, **extra) -> SignOff:
        extra.setdefault(
            "meaning",
            DEFAULT_MEANING[role] if decision == Decision.APPROVE else Meaning.NOT_APPROVED,
        )
        if decision == Decision.REJECT:
            extra.setdefault("comment", "Not ready.")
        extra.setdefault("password", PASSWORD)
        return approvals.signoff_record(
            actor=user, release=release, role=role, decision=decision, **extra
        )

    return do


@pytest.fixture
def sign_all(sign, approvers):
    def do(release) -> None:
        for role, user in approvers.items():
            sign(user, release, role)

    return do


@pytest.fixture
def stored(db):
    """``stored()``: what the approvals tables hold, to assert a refusal wrote nothing."""

    def count() -> dict[str, int]:
        return {"signoffs": SignOff.objects.count(), "events": AuditEvent.objects.count()}

    return count


def last_events(count: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.order_by("-seq")[:count])[::-1]
