"""Administrators link accounts to the provider's subject and end sessions at once; nobody
else can. Everything is on the audit trail."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.models import Identity
from approvals.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_an_administrator_links_an_account_in_the_admin(client, admin, alice, settings):
    settings.RELCAL_OIDC_ISSUER = "https://sso.example.com/realms/acme"
    client.force_login(admin)
    response = client.post(
        "/admin/accounts/identity/add/", {"user": alice.pk, "issuer": "", "subject": "alice-sub"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    identity = Identity.objects.get()
    assert (identity.user, identity.issuer, identity.subject) == (
        alice,
        "https://sso.example.com/realms/acme",
        "alice-sub",
    )
    alice.refresh_from_db()
    assert not alice.has_usable_password()  # one way in: the provider
    event = AuditEvent.objects.get(action="identity.create")
    assert event.actor_id == admin.pk and event.after["password_removed"] is True


def test_a_subject_links_to_one_account_only(admin, alice, bob):
    Identity.objects.create(user=alice, issuer="https://sso.example.com", subject="same")
    with pytest.raises(CommandError, match="already linked"):
        call_command("link_identity", bob.username, "same", "--issuer", "https://sso.example.com")
    assert Identity.objects.count() == 1


def test_a_superuser_keeps_the_break_glass_password_when_linked(admin):
    call_command("link_identity", admin.username, "root-sub", "--issuer", "https://sso.example.com")
    admin.refresh_from_db()
    assert admin.check_password(PASSWORD)


@pytest.mark.parametrize("persona", ["manager", "outsider"])
def test_others_cannot_see_or_change_identities(client, request, persona, alice):
    user = request.getfixturevalue(persona)
    user.is_staff = True
    user.save()
    client.force_login(user)
    assert client.get("/admin/accounts/identity/").status_code == 403
    response = client.post(
        "/admin/accounts/identity/add/", {"user": alice.pk, "subject": "alice-sub"}
    )
    assert response.status_code == 403
    assert not Identity.objects.exists()


def test_end_sessions_signs_a_person_out_everywhere(manager, alice):
    browsers = [Client(), Client()]
    for browser in browsers:
        browser.force_login(alice)
    bystander = Client()
    bystander.force_login(manager)
    Token.objects.create(user=alice)

    call_command("end_sessions", alice.username, "--tokens")

    for browser in browsers:
        assert browser.get("/releases/").status_code == 302  # back to the login page
    assert bystander.get("/releases/").status_code == 200
    assert not Token.objects.filter(user=alice).exists()
    event = AuditEvent.objects.get(action="account.sessions_end")
    assert event.after == {"sessions_ended": 2, "api_tokens_deleted": 1}


def test_end_sessions_names_an_unknown_user():
    with pytest.raises(CommandError, match="No user 'nobody'"):
        call_command("end_sessions", "nobody")


def test_the_admin_action_ends_sessions(client, admin, alice):
    browser = Client()
    browser.force_login(alice)
    client.force_login(admin)
    response = client.post(
        "/admin/auth/user/",
        {"action": "end_sessions", "_selected_action": [alice.pk]},
        follow=True,
    )
    assert "Ended 1 session(s) of 1 user(s)." in response.content.decode()
    assert browser.get("/releases/").status_code == 302
    assert User.objects.get(pk=admin.pk)  # the administrator's own session is untouched
    assert client.get("/admin/").status_code == 200
