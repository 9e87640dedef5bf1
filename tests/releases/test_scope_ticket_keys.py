"""A ticket key appears once in a release's scope: the service refuses a second one, so the API,
the release page and the admin all say so, and nothing is stored."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from releases import services
from releases.models import ScopeItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def release(make_release, manager):
    release = make_release()
    services.scope_item_create(
        actor=manager, release=release, title="Saved cards", ticket_key="PAY-12"
    )
    return release


def test_it_refuses_a_ticket_key_already_in_the_scope(manager, release):
    with pytest.raises(ValidationError) as refused:
        services.scope_item_create(
            actor=manager, release=release, title="Saved cards again", ticket_key="PAY-12"
        )
    assert "PAY-12" in refused.value.message_dict["ticket_key"][0]
    assert release.scope_items.count() == 1


def test_it_compares_ticket_keys_ignoring_case_and_spaces(manager, release):
    with pytest.raises(ValidationError):
        services.scope_item_create(actor=manager, release=release, title="x", ticket_key="pay-12 ")


def test_it_allows_the_same_key_in_another_release(manager, make_release, release):
    other = make_release()
    services.scope_item_create(actor=manager, release=other, title="x", ticket_key="PAY-12")
    assert ScopeItem.objects.filter(ticket_key="PAY-12").count() == 2


def test_it_allows_many_items_without_a_key(manager, release):
    for title in ("One", "Two"):
        services.scope_item_create(actor=manager, release=release, title=title)
    assert release.scope_items.filter(ticket_key="").count() == 2


def test_it_refuses_renaming_an_item_to_a_key_in_use(manager, release):
    item = services.scope_item_create(
        actor=manager, release=release, title="Refunds", ticket_key="PAY-13"
    )
    with pytest.raises(ValidationError) as refused:
        services.scope_item_update(actor=manager, item=item, ticket_key="PAY-12")
    assert "ticket_key" in refused.value.message_dict
    assert ScopeItem.objects.get(pk=item.pk).ticket_key == "PAY-13"


def test_an_item_keeps_its_own_key_when_updated(manager, release):
    item = release.scope_items.get()
    services.scope_item_update(actor=manager, item=item, title="Saved cards, v2")
    assert ScopeItem.objects.get(pk=item.pk).title == "Saved cards, v2"


def test_the_api_answers_400_naming_ticket_key(api, manager, release):
    response = api.as_user(manager).post(
        "/api/v1/scope-items/",
        {"release": release.pk, "title": "Again", "kind": "feature", "ticket_key": "PAY-12"},
    )
    assert response.status_code == 400, response.data
    assert "PAY-12" in str(response.data["ticket_key"])
    assert release.scope_items.count() == 1


def test_the_release_page_shows_it_as_a_form_error(client, manager, release):
    client.force_login(manager)
    response = client.post(
        reverse("releases:scope-add", args=[release.pk]),
        {"title": "Again", "kind": "feature", "ticket_key": "PAY-12"},
        follow=True,
    )
    form = response.context["scope_form"]
    assert "PAY-12" in form.errors["ticket_key"][0]
    assert release.scope_items.count() == 1


def test_the_admin_shows_it_as_a_form_error(client, manager, release):
    manager.is_staff = True
    manager.save(update_fields=["is_staff"])
    client.force_login(manager)
    response = client.post(
        reverse("admin:releases_scopeitem_add"),
        {"release": release.pk, "title": "Again", "kind": "feature", "ticket_key": "PAY-12"},
    )
    assert response.status_code == 200
    assert "PAY-12" in response.context["adminform"].form.errors["ticket_key"][0]
    assert release.scope_items.count() == 1
