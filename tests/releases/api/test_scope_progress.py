"""Scope progress from CI by ticket key: POST /api/v1/releases/{id}/scope-progress/ sets done and
blocker on every scope item of the release with that key, also once the scope is frozen."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from approvals.models import AuditEvent
from releases import services
from releases.models import Release, ScopeItem, Team


def progress_url(release: Release) -> str:
    return f"/api/v1/releases/{release.pk}/scope-progress/"


@pytest.fixture
def release(make_release, manager):
    """A Payments release with two items under PAY-12 and one under PAY-13, scope frozen.

    The services now refuse a key twice in one release; the second PAY-12 item stands for
    one stored before that, which progress reports must still reach."""
    release = make_release()
    for title, key in (("Saved cards", "PAY-12"), ("3DS", "PAY-13")):
        services.scope_item_create(actor=manager, release=release, title=title, ticket_key=key)
    ScopeItem.objects.create(release=release, title="Saved cards UI", ticket_key="PAY-12")
    for state in ("planned", "scope_frozen"):
        services.release_transition(actor=manager, release=release, to_state=state)
    return release


@pytest.fixture
def progress(db):
    """Every scope item's progress and the audit trail's length: unchanged after a refusal."""

    def snapshot():
        items = list(ScopeItem.objects.order_by("pk").values_list("pk", "done", "blocker"))
        return items, AuditEvent.objects.count()

    return snapshot


def test_a_team_member_marks_a_ticket_done_on_a_frozen_release(api, alice, release):
    response = api.as_user(alice).post(
        progress_url(release), {"ticket_key": "PAY-12", "done": True}, format="json"
    )
    assert response.status_code == 200, response.data
    assert [(row["ticket_key"], row["done"], row["blocker"]) for row in response.data] == [
        ("PAY-12", True, False),
        ("PAY-12", True, False),
    ]
    assert set(response.data[0]) == {"id", "ticket_key", "title", "done", "blocker"}
    assert list(release.scope_items.values_list("ticket_key", "done").order_by("pk")) == [
        ("PAY-12", True),
        ("PAY-13", False),
        ("PAY-12", True),
    ]


def test_a_team_member_marks_a_ticket_as_a_blocker(api, alice, release):
    response = api.as_user(alice).post(
        progress_url(release), {"ticket_key": "PAY-13", "blocker": True}, format="json"
    )
    assert response.status_code == 200, response.data
    item = release.scope_items.get(ticket_key="PAY-13")
    assert (item.done, item.blocker) == (False, True)


def test_each_changed_item_records_one_progress_event(api, alice, release):
    api.as_user(alice).post(
        progress_url(release), {"ticket_key": "PAY-12", "done": True}, format="json"
    )
    events = AuditEvent.objects.filter(action="scope_item.progress").order_by("seq")
    assert [(e.actor_id, e.release_id, e.before, e.after) for e in events] == [
        (alice.pk, release.pk, {"done": False}, {"done": True}),
        (alice.pk, release.pk, {"done": False}, {"done": True}),
    ]


def test_reporting_the_same_progress_again_records_nothing(api, alice, release):
    client = api.as_user(alice)
    client.post(progress_url(release), {"ticket_key": "PAY-12", "done": True}, format="json")
    again = client.post(
        progress_url(release), {"ticket_key": "PAY-12", "done": True}, format="json"
    )
    assert again.status_code == 200
    assert AuditEvent.objects.filter(action="scope_item.progress").count() == 2


def test_the_scope_item_api_shows_progress_read_only(api, alice, release):
    item = release.scope_items.get(ticket_key="PAY-13")
    services.scope_item_set_progress(actor=alice, release=release, ticket_key="PAY-13", done=True)
    shown = api.as_user(alice).get(f"/api/v1/scope-items/{item.pk}/").data
    assert (shown["done"], shown["blocker"]) == (True, False)


def test_it_refuses_an_outsider_with_403(api, outsider, release, progress):
    before = progress()
    response = api.as_user(outsider).post(
        progress_url(release), {"ticket_key": "PAY-12", "done": True}, format="json"
    )
    assert response.status_code == 403
    assert progress() == before


def test_it_refuses_a_member_of_another_team_with_403(api, bob, release, progress):
    before = progress()
    response = api.as_user(bob).post(
        progress_url(release), {"ticket_key": "PAY-12", "done": True}, format="json"
    )
    assert response.status_code == 403
    assert progress() == before


def test_it_answers_404_for_a_release_the_user_cannot_see(api, outsider, release, progress):
    Team.objects.filter(pk=release.team_id).update(is_private=True)
    before = progress()
    response = api.as_user(outsider).post(
        progress_url(release), {"ticket_key": "PAY-12", "done": True}, format="json"
    )
    assert response.status_code == 404
    assert progress() == before


def test_it_answers_400_naming_an_unknown_ticket(api, alice, release, progress):
    before = progress()
    response = api.as_user(alice).post(
        progress_url(release), {"ticket_key": "PAY-99", "done": True}, format="json"
    )
    assert response.status_code == 400
    assert "PAY-99" in response.data["ticket_key"][0]
    assert progress() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"ticket_key": "PAY-12"}, "done", id="neither-done-nor-blocker"),
        pytest.param({"ticket_key": "PAY-12", "done": None, "blocker": None}, "done", id="nulls"),
        pytest.param({"done": True}, "ticket_key", id="no-ticket-key"),
        pytest.param({"ticket_key": "", "done": True}, "ticket_key", id="blank-ticket-key"),
        pytest.param({"ticket_key": "PAY-12", "done": "maybe"}, "done", id="not-a-boolean"),
        pytest.param({"ticket_key": "P\x00Y-12", "done": True}, "ticket_key", id="nul"),
        pytest.param({"ticket_key": "P" * 51, "done": True}, "ticket_key", id="too-long"),
    ],
)
def test_it_answers_400_for_bad_input(api, alice, release, progress, body, field):
    before = progress()
    response = api.as_user(alice).post(progress_url(release), body, format="json")
    assert response.status_code == 400
    assert field in response.data
    assert progress() == before


def test_it_answers_400_once_the_release_is_cancelled(api, alice, manager, release, progress):
    services.release_transition(
        actor=manager, release=release, to_state="cancelled", reason="Superseded"
    )
    before = progress()
    response = api.as_user(alice).post(
        progress_url(release), {"ticket_key": "PAY-12", "done": True}, format="json"
    )
    assert response.status_code == 400
    assert "Cancelled" in response.data["release"][0]
    assert progress() == before


def test_it_answers_400_once_the_release_is_released(api, alice, release, progress):
    # Reaching Released takes sign-offs and a GO verdict; the state alone is what counts here.
    Release.objects.filter(pk=release.pk).update(state="released")
    before = progress()
    response = api.as_user(alice).post(
        progress_url(release), {"ticket_key": "PAY-12", "done": True}, format="json"
    )
    assert response.status_code == 400
    assert "is Released" in response.data["release"][0]
    assert "final" in response.data["release"][0]
    assert progress() == before


def test_the_service_refuses_a_blank_ticket_key(alice, release, progress):
    before = progress()
    with pytest.raises(ValidationError) as refused:
        services.scope_item_set_progress(actor=alice, release=release, ticket_key=" ", done=True)
    assert "ticket_key" in refused.value.message_dict
    assert progress() == before


def test_the_release_manager_may_report_progress_too(api, manager, release):
    response = api.as_user(manager).post(
        progress_url(release),
        {"ticket_key": "PAY-13", "done": True, "blocker": True},
        format="json",
    )
    assert response.status_code == 200
    assert [(row["done"], row["blocker"]) for row in response.data] == [(True, True)]


def test_the_schema_lists_the_scope_progress_action(api, outsider):
    paths = api.as_user(outsider).get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    post = paths["paths"]["/api/v1/releases/{id}/scope-progress/"]["post"]
    assert post["requestBody"]["content"]["application/json"]["examples"]
