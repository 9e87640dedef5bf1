"""Invariant 5: every committed change has exactly one audit event, written in its transaction;
a rolled-back or refused change has none. Across services, admin, API and membership changes."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from approvals import services as approvals
from approvals.models import ApprovalPolicy, AuditEvent
from relcal import audit
from releases import roles, services
from releases.models import FreezeWindow, Milestone, Release, ReleaseDependency, ScopeItem

from .conftest import last_events, walk


def new_events(call) -> list[AuditEvent]:
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    call()
    return list(AuditEvent.objects.filter(seq__gt=last).order_by("seq"))


@pytest.fixture
def world(make_release, manager, admin, soon, payments):
    """One of everything, so each service below has something to work on."""
    release = make_release()
    other = make_release()
    milestone = services.milestone_create(
        actor=manager, release=release, kind="code_freeze", date=(soon - timedelta(days=2)).date()
    )
    item = services.scope_item_create(actor=manager, release=release, title="Saved cards")
    dependency = services.dependency_create(actor=manager, release=release, depends_on=other)
    freeze = services.freeze_window_create(
        actor=manager, name="Freeze", start=soon + timedelta(days=30), end=soon + timedelta(31)
    )
    team = services.team_create(actor=admin, name="Mobile", slug="mobile")
    policy = approvals.policy_create(actor=admin, name="Mobile policy", team=team)
    requirement = approvals.requirement_create(
        actor=admin, policy=policy, role="qa", group=Group.objects.get(name=roles.AUDITORS)
    )
    return {
        "release": release,
        "other": other,
        "milestone": milestone,
        "item": item,
        "dependency": dependency,
        "freeze": freeze,
        "team": team,
        "policy": policy,
        "requirement": requirement,
        "payments": payments,
    }


# (action, call(world, manager, admin, soon)) — each one committed change.
SERVICE_CALLS = {
    "team.create": lambda w, m, a, s: services.team_create(actor=a, name="Web", slug="web"),
    "team.update": lambda w, m, a, s: services.team_update(
        actor=a, team=w["team"], contact="mobile@example.com"
    ),
    "team.members.set": lambda w, m, a, s: services.team_set_members(
        actor=a, team=w["team"], members=[m, a]
    ),
    "team.delete": lambda w, m, a, s: services.team_delete(
        actor=a, team=services.team_create(actor=a, name="Tmp", slug="tmp")
    ),
    "release.create": lambda w, m, a, s: services.release_create(
        actor=m, team=w["payments"], name="P 9", version="9", go_live=s
    ),
    "release.update": lambda w, m, a, s: services.release_update(
        actor=m, release=w["release"], rollback_plan="Revert."
    ),
    "release.transition": lambda w, m, a, s: services.release_transition(
        actor=m, release=w["release"], to_state="planned"
    ),
    "release.delete": lambda w, m, a, s: services.release_delete(
        actor=m,
        release=services.release_create(
            actor=m, team=w["payments"], name="P 8", version="8", go_live=s
        ),
    ),
    "milestone.create": lambda w, m, a, s: services.milestone_create(
        actor=m, release=w["release"], kind="go_no_go", at=s - timedelta(hours=5)
    ),
    "milestone.update": lambda w, m, a, s: services.milestone_update(
        actor=m, milestone=w["milestone"], done=True
    ),
    "milestone.delete": lambda w, m, a, s: services.milestone_delete(
        actor=m, milestone=w["milestone"]
    ),
    "scope_item.create": lambda w, m, a, s: services.scope_item_create(
        actor=m, release=w["release"], title="More"
    ),
    "scope_item.update": lambda w, m, a, s: services.scope_item_update(
        actor=m, item=w["item"], title="Renamed"
    ),
    "scope_item.delete": lambda w, m, a, s: services.scope_item_delete(actor=m, item=w["item"]),
    "dependency.create": None,  # needs a third release first: see _dependency_create
    "dependency.delete": lambda w, m, a, s: services.dependency_delete(
        actor=m, dependency=w["dependency"]
    ),
    "freeze_window.create": lambda w, m, a, s: services.freeze_window_create(
        actor=m, name="F2", start=s + timedelta(days=40), end=s + timedelta(days=41)
    ),
    "freeze_window.update": lambda w, m, a, s: services.freeze_window_update(
        actor=m, freeze=w["freeze"], reason="Peak"
    ),
    "freeze_window.delete": lambda w, m, a, s: services.freeze_window_delete(
        actor=m, freeze=w["freeze"]
    ),
    "policy.create": lambda w, m, a, s: approvals.policy_create(
        actor=a, name="Payments policy", team=w["payments"]
    ),
    "policy.update": lambda w, m, a, s: approvals.policy_update(
        actor=a, policy=w["policy"], description="Stricter"
    ),
    "policy.delete": lambda w, m, a, s: approvals.policy_delete(actor=a, policy=w["policy"]),
    "policy.requirement.create": lambda w, m, a, s: approvals.requirement_create(
        actor=a, policy=w["policy"], role="cab", group=Group.objects.get(name=roles.AUDITORS)
    ),
    "policy.requirement.update": lambda w, m, a, s: approvals.requirement_update(
        actor=a, requirement=w["requirement"], count=2
    ),
    "policy.requirement.delete": lambda w, m, a, s: approvals.requirement_delete(
        actor=a, requirement=w["requirement"]
    ),
}


def _dependency_create(w, m, s):
    third = services.release_create(actor=m, team=w["payments"], name="P 7", version="7", go_live=s)
    # Creating the third release is a change of its own; count only the dependency.
    return lambda: services.dependency_create(actor=m, release=w["other"], depends_on=third)


@pytest.mark.parametrize("action", SERVICE_CALLS)
def test_every_service_writes_exactly_one_event(action, world, manager, admin, soon):
    call = SERVICE_CALLS[action]
    if action == "dependency.create":
        call = _dependency_create(world, manager, soon)
        events = new_events(call)
    elif action in ("team.delete", "release.delete"):
        events = new_events(lambda: call(world, manager, admin, soon))
        assert next(e.action for e in events).endswith(".create")  # made to be deleted
        events = events[1:]
    else:
        events = new_events(lambda: call(world, manager, admin, soon))
    assert [e.action for e in events] == [action]
    event = events[0]
    assert event.actor_name in ("Manager", "admin")
    assert event.object_type and event.object_id


def test_an_update_that_changes_nothing_writes_no_event(world, manager):
    assert (
        new_events(
            lambda: services.release_update(
                actor=manager, release=world["release"], name=world["release"].name
            )
        )
        == []
    )


def test_an_update_event_holds_what_changed_before_and_after(world, manager):
    release = world["release"]
    [event] = new_events(
        lambda: services.release_update(actor=manager, release=release, strategy="canary")
    )
    assert (event.before, event.after) == ({"strategy": "big_bang"}, {"strategy": "canary"})
    assert (event.object_type, event.object_id, event.release_id) == (
        "releases.release",
        str(release.pk),
        release.pk,
    )


def test_a_child_event_is_filed_under_its_release(world, manager):
    [event] = new_events(
        lambda: services.scope_item_update(actor=manager, item=world["item"], kind="fix")
    )
    assert event.release_id == world["release"].pk


def test_a_refused_change_leaves_no_event(world, manager, outsider, soon):
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError):
        services.milestone_create(
            actor=manager, release=world["release"], kind="go_no_go", at=soon + timedelta(days=9)
        )
    with pytest.raises(Exception):  # noqa: B017  (PermissionDenied)
        services.release_update(actor=outsider, release=world["release"], name="Mine")
    assert AuditEvent.objects.count() == before


def test_a_rolled_back_change_leaves_no_event(world, manager):
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.release_update(actor=manager, release=world["release"], strategy="canary")
        assert AuditEvent.objects.count() == before + 1  # written in the same transaction...
        raise RuntimeError("the caller fails after the service")
    assert AuditEvent.objects.count() == before  # ...and gone with it
    assert Release.objects.get(pk=world["release"].pk).strategy == "big_bang"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_record_refuses_to_write_outside_a_transaction(manager):
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit.record(actor=manager, action="test.outside")
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_committed_change_has_its_event_after_commit(make_release, manager):
    release = make_release()
    services.release_update(actor=manager, release=release, strategy="rolling")
    assert list(
        AuditEvent.objects.filter(object_id=str(release.pk)).values_list("action", flat=True)
    ) == ["release.create", "release.update"]


def test_the_chain_links_every_event_to_the_one_before(world):
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == audit.GENESIS
    for previous, event in itertools.pairwise(events):
        assert event.prev_hash == previous.hash
        assert event.hash == audit.event_hash(event.prev_hash, event.__dict__)
        assert event.timestamp >= previous.timestamp


# --- Membership ------------------------------------------------------------------------------


def test_adding_a_user_to_a_group_writes_one_event(outsider):
    group = Group.objects.get(name=roles.LEGAL_APPROVERS)
    [event] = new_events(lambda: outsider.groups.add(group))
    assert event.action == "user.groups.add"
    assert (event.object_type, event.object_id) == ("auth.user", str(outsider.pk))
    assert (event.before, event.after) == ({"groups": []}, {"groups": ["Legal approvers"]})


def test_removing_clearing_and_the_reverse_side_each_write_one_event(outsider, alice):
    legal = Group.objects.get(name=roles.LEGAL_APPROVERS)
    product = Group.objects.get(name=roles.PRODUCT_APPROVERS)
    outsider.groups.add(legal, product)
    assert [e.action for e in new_events(lambda: outsider.groups.remove(legal))] == [
        "user.groups.remove"
    ]
    assert [e.action for e in new_events(lambda: outsider.groups.clear())] == ["user.groups.clear"]
    [event] = new_events(lambda: legal.user_set.add(outsider, alice))
    assert event.action == "group.users.add"
    assert event.after == {"users": ["alice", "outsider"]}


def test_a_membership_change_that_changes_nothing_writes_no_event(alice):
    group = Group.objects.get(name=roles.TEAM_MEMBERS)  # Alice is in it already
    assert new_events(lambda: alice.groups.add(group)) == []
    assert new_events(lambda: alice.groups.remove(Group.objects.get(name=roles.AUDITORS))) == []


def test_team_membership_is_audited_whichever_path_changes_it(payments, outsider, admin):
    [event] = new_events(lambda: payments.members.add(outsider))
    assert (event.action, event.after) == ("team.members.add", {"members": ["outsider"]})
    [event] = new_events(lambda: outsider.teams.remove(payments))
    assert event.action == "user.teams.remove"
    [event] = new_events(
        lambda: services.team_set_members(actor=admin, team=payments, members=[outsider, admin])
    )
    assert event.action == "team.members.set"  # one event for the whole set, not one per row
    assert event.after == {"members": ["admin", "outsider"]}


def test_changing_groups_in_djangos_user_admin_writes_one_event_per_change(client, admin, bob):
    client.force_login(admin)
    auditors = Group.objects.get(name=roles.AUDITORS)
    data = {
        "username": bob.username,
        "first_name": bob.first_name,
        "last_name": "",
        "email": bob.email,
        "is_active": "on",
        "groups": [auditors.pk, *bob.groups.values_list("pk", flat=True)],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": bob.date_joined.date().isoformat(),
        "date_joined_1": "00:00:00",
    }
    events = new_events(lambda: client.post(reverse("admin:auth_user_change", args=[bob.pk]), data))
    assert [e.action for e in events] == ["user.groups.add"]
    assert events[0].actor_id == admin.pk  # the signed-in admin, from the request
    assert "Auditors" in events[0].after["groups"]


# --- Admin and API paths -----------------------------------------------------------------------


def test_an_admin_change_writes_one_event(client, admin, world):
    release = world["release"]
    client.force_login(admin)
    url = reverse("admin:releases_release_change", args=[release.pk])
    page = client.get(url)
    assert page.status_code == 200
    from tests.releases.test_admin import release_post

    data = release_post(
        team=release.team, go_live=release.go_live, name="Renamed in admin", version=release.version
    )
    events = new_events(lambda: client.post(url, data))
    assert [e.action for e in events] == ["release.update"]
    assert events[0].after["name"] == "Renamed in admin"


def test_an_admin_bulk_delete_writes_one_event_per_release(client, admin, make_release):
    doomed = [make_release(), make_release()]
    client.force_login(admin)
    events = new_events(
        lambda: client.post(
            reverse("admin:releases_release_changelist"),
            {
                "action": "delete_selected",
                "post": "yes",
                "_selected_action": [r.pk for r in doomed],
            },
        )
    )
    assert sorted((e.action, e.object_id) for e in events) == sorted(
        ("release.delete", str(r.pk)) for r in doomed
    )


def test_an_api_write_writes_one_event_with_the_request_id_and_client(api, manager, world):
    client = api.as_user(manager)
    events = new_events(
        lambda: client.patch(
            f"/api/v1/releases/{world['release'].pk}/",
            {"rollback_plan": "Roll back"},
            HTTP_X_REQUEST_ID="ci-run-42",
            REMOTE_ADDR="203.0.113.9",
        )
    )
    assert [e.action for e in events] == ["release.update"]
    assert (events[0].request_id, events[0].client_address) == ("ci-run-42", "203.0.113.9")
    assert events[0].actor_id == manager.pk


def test_every_response_carries_a_request_id(api, manager):
    response = api.as_user(manager).get("/api/v1/releases/", HTTP_X_REQUEST_ID="bad id!")
    assert response["X-Request-ID"] != "bad id!"  # a client's odd value is replaced
    assert len(response["X-Request-ID"]) == 32


def test_a_page_write_writes_one_event(client, manager, world, soon):
    client.force_login(manager)
    events = new_events(
        lambda: client.post(
            reverse("releases:milestone-add", args=[world["release"].pk]),
            {"kind": "go_no_go", "title": "", "date": (soon - timedelta(days=1)).date()},
        )
    )
    assert [e.action for e in events] == ["milestone.create"]
    assert Milestone.objects.filter(release=world["release"]).count() == 2


def test_deleted_rows_keep_their_last_values_in_the_trail(world, manager):
    item = world["item"]
    services.scope_item_delete(actor=manager, item=item)
    [event] = last_events(1)
    assert event.action == "scope_item.delete"
    assert event.before["title"] == "Saved cards"
    assert not ScopeItem.objects.filter(pk=item.pk).exists()
    assert FreezeWindow.objects.exists() and ReleaseDependency.objects.exists()
    assert User.objects.filter(username="manager").exists()
    assert ApprovalPolicy.objects.filter(is_default=True).exists()


def test_a_release_transition_to_scope_frozen_also_records_the_requirements(planned, manager):
    release = planned()
    events = new_events(lambda: walk(release, manager, "scope_frozen"))
    assert [e.action for e in events] == ["release.transition", "release.requirements"]
    roles_taken = [r["role"] for r in events[1].after["requirements"]]
    assert roles_taken == ["product", "legal", "security"]
