"""Scope progress in the admin: done and blocker are listed, and stay editable on a scope item's
page once the scope is frozen (through the progress service), while the rest is read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.models import AuditEvent
from releases import services
from releases.models import Release, ScopeItem


def url(view: str, *args) -> str:
    return reverse(f"admin:releases_scopeitem_{view}", args=args)


def staff(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def item_form(item: ScopeItem, **fields) -> dict:
    return {
        "release": item.release_id,
        "title": item.title,
        "kind": item.kind,
        "ticket_key": item.ticket_key,
        "ticket_url": item.ticket_url,
        "owner": "",
        **fields,
    }


@pytest.fixture
def item(make_release, manager) -> ScopeItem:
    release = make_release()
    return services.scope_item_create(
        actor=manager, release=release, title="Saved cards", ticket_key="PAY-12"
    )


@pytest.fixture
def frozen_item(item, manager) -> ScopeItem:
    for state in ("planned", "scope_frozen"):
        services.release_transition(actor=manager, release=item.release, to_state=state)
    return ScopeItem.objects.get(pk=item.pk)


def progress_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="scope_item.progress").order_by("seq"))


def test_the_change_list_shows_done_and_blocker(client, manager, item):
    services.scope_item_update_progress(actor=manager, item=item, blocker=True)
    client.force_login(staff(manager))
    page = client.get(url("changelist"))
    assert page.status_code == 200
    assert {"done", "blocker"} <= set(page.context["cl"].list_display)


@pytest.mark.parametrize("persona", ["manager", "alice"])
def test_progress_stays_editable_after_the_scope_froze(client, request, persona, frozen_item):
    user = staff(request.getfixturevalue(persona))
    client.force_login(user)
    data = {"done": "on", "blocker": "on"}
    response = client.post(url("change", frozen_item.pk), data)
    assert response.status_code == 302
    frozen_item.refresh_from_db()
    assert (frozen_item.done, frozen_item.blocker) == (True, True)
    [event] = progress_events()
    assert (event.actor_id, event.after) == (user.pk, {"done": True, "blocker": True})


def test_the_rest_of_a_frozen_item_is_read_only(client, manager, frozen_item):
    client.force_login(staff(manager))
    page = client.get(url("change", frozen_item.pk))
    form = page.context["adminform"].form
    assert set(form.fields) == {"done", "blocker"}


def test_an_open_item_changes_its_plan_and_progress_in_one_save(client, manager, item):
    client.force_login(staff(manager))
    response = client.post(
        url("change", item.pk), item_form(item, title="Saved cards v2", done="on")
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.title, item.done) == ("Saved cards v2", True)
    actions = list(
        AuditEvent.objects.filter(object_id=str(item.pk), action__startswith="scope_item.")
        .order_by("seq")
        .values_list("action", "after")
    )
    assert actions[-2:] == [
        ("scope_item.progress", {"done": True}),
        ("scope_item.update", {"title": "Saved cards v2"}),
    ]


def test_progress_of_a_released_release_is_refused_and_nothing_stored(client, manager, frozen_item):
    # Reaching Released takes sign-offs and a GO verdict; the state alone is what counts here.
    Release.objects.filter(pk=frozen_item.release_id).update(state="released")
    client.force_login(staff(manager))
    events = AuditEvent.objects.count()
    response = client.post(url("change", frozen_item.pk), {"done": "on"})
    assert response.status_code == 200
    assert "final" in str(response.context["adminform"].form.errors)
    frozen_item.refresh_from_db()
    assert frozen_item.done is False
    assert AuditEvent.objects.count() == events


def test_an_outsider_may_not_change_progress(client, outsider, frozen_item):
    client.force_login(staff(outsider))
    response = client.post(url("change", frozen_item.pk), {"done": "on"})
    assert response.status_code == 403
    frozen_item.refresh_from_db()
    assert frozen_item.done is False
    assert progress_events() == []
