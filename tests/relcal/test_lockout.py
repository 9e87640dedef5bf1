"""Password guessing stopped: wrong passwords count per account and per client address across
the login form, the admin login and the password re-entered to sign; past the limit, a lockout
(429, with Retry-After from the API), audited, which an administrator can lift."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, User

from approvals.models import AuditEvent, SignOff
from relcal import lockout
from releases import roles
from reliability import overrides
from tests.approvals.conftest import frozen, planned  # noqa: F401  (fixtures)
from tests.conftest import PASSWORD

LIMIT = 3
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
SIGNOFFS = "/api/v1/signoffs/"


@pytest.fixture(autouse=True)
def _small_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT


def wrong_logins(client, url=LOGIN, username="alice", times=LIMIT, **extra):
    return [
        client.post(url, {"username": username, "password": "not-it"}, **extra)
        for _ in range(times)
    ]


def signoff(release, password="not-it") -> dict:
    return {
        "release": release.pk,
        "role": "product",
        "decision": "approve",
        "meaning": "approved_for_release",
        "password": password,
    }


def lock_events():
    return list(AuditEvent.objects.filter(action="account.lock").order_by("seq"))


def test_the_login_form_locks_an_account_after_too_many_wrong_passwords(client, alice):
    answers = wrong_logins(client)
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert "locked until about" in answers[-1].content.decode()


def test_the_right_password_is_refused_while_locked(client, alice):
    wrong_logins(client)
    answer = client.post(LOGIN, {"username": "alice", "password": PASSWORD})
    assert answer.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_login_page_says_until_when_and_for_how_long(client, alice):
    answer = wrong_logins(client)[-1]
    assert "Account locked" in answer.content.decode()
    assert 14 * 60 <= int(answer["Retry-After"]) <= 15 * 60


def test_failures_count_per_client_address_across_accounts(client, alice, bob, manager):
    for name in ("bob", "manager", "nobody"):
        client.post(LOGIN, {"username": name, "password": "not-it"})
    assert client.post(LOGIN, {"username": "alice", "password": PASSWORD}).status_code == 429
    elsewhere = client.post(
        LOGIN, {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.0.0.9"
    )
    assert elsewhere.status_code == 302


def test_a_forwarded_header_is_ignored_unless_a_setting_names_it(client, alice, bob):
    for n in range(LIMIT):
        client.post(LOGIN, {"username": "bob", "password": "x"}, HTTP_X_FORWARDED_FOR=f"10.1.0.{n}")
    answer = client.post(
        LOGIN, {"username": "alice", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="10.2.0.1"
    )
    assert answer.status_code == 429


def test_behind_a_named_proxy_header_each_client_counts_apart(client, alice, bob, settings):
    settings.AUDIT_CLIENT_ADDRESS_HEADER = "X-Forwarded-For"
    for _ in range(LIMIT):
        client.post(LOGIN, {"username": "nobody", "password": "x"}, HTTP_X_FORWARDED_FOR="10.1.0.1")
    answer = client.post(
        LOGIN, {"username": "alice", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="10.2.0.1"
    )
    assert answer.status_code == 302


def test_the_admin_login_locks_too(client, admin):
    answers = wrong_logins(client, ADMIN_LOGIN, username="admin")
    assert answers[-1].status_code == 429
    assert client.post(ADMIN_LOGIN, {"username": "admin", "password": PASSWORD}).status_code == 429


@pytest.fixture
def pat(db) -> User:
    """A product approver (password PASSWORD) who may sign the release ``awaiting``."""
    user = User.objects.create_user("pat", "pat@example.com", PASSWORD)
    user.groups.add(Group.objects.get(name=roles.PRODUCT_APPROVERS))
    return user


@pytest.fixture
def awaiting(request):
    """A release awaiting sign-off (the approvals fixture ``frozen``)."""
    return request.getfixturevalue("frozen")()


def test_the_api_answers_429_with_retry_after_for_sign_off_guessing(api, pat, awaiting):
    release = awaiting
    client = api.as_user(pat)
    answers = [client.post(SIGNOFFS, signoff(release)) for _ in range(LIMIT)]
    assert [a.status_code for a in answers] == [400, 400, 429]
    assert answers[0].data["password"]
    assert "locked until about" in answers[-1].data["detail"]
    assert 14 * 60 <= int(answers[-1]["Retry-After"]) <= 15 * 60


def test_the_right_sign_off_password_is_refused_while_locked(api, pat, awaiting):
    release = awaiting
    client = api.as_user(pat)
    for _ in range(LIMIT):
        client.post(SIGNOFFS, signoff(release))
    answer = client.post(SIGNOFFS, signoff(release, password=PASSWORD))
    assert answer.status_code == 429
    assert "Retry-After" in answer
    assert not SignOff.objects.exists()


def test_login_and_signing_failures_share_one_counter(client, api, pat, awaiting):
    release = awaiting
    wrong_logins(client, username="pat", times=LIMIT - 1)
    answer = api.as_user(pat).post(SIGNOFFS, signoff(release))
    assert answer.status_code == 429


def test_who_may_not_sign_is_refused_before_any_password_is_tried(api, alice, awaiting):
    """Alice is no product approver: 403, and nothing counts towards her lockout."""
    client = api.as_user(alice)
    answers = [client.post(SIGNOFFS, signoff(awaiting)) for _ in range(LIMIT + 1)]
    assert [a.status_code for a in answers] == [403] * (LIMIT + 1)
    assert not AccessAttempt.objects.exists()


def test_an_sre_override_counts_wrong_passwords_outside_a_request(make_release, manager):
    sre = User.objects.create_user("sre", password=PASSWORD)
    sre.groups.add(Group.objects.get(name="SRE"))
    release = make_release()
    attempt = {"actor": sre, "release": release, "reason": "ship it", "password": "not-it"}
    for _ in range(LIMIT - 1):
        with pytest.raises(lockout.WrongPassword):
            overrides.budget_override(**attempt)
    with pytest.raises(lockout.Locked):
        overrides.budget_override(**attempt)
    with pytest.raises(lockout.Locked):
        overrides.budget_override(**{**attempt, "password": PASSWORD})


def test_a_lockout_is_audited_once(client, alice):
    wrong_logins(client, times=LIMIT + 2)
    [event] = lock_events()
    assert event.object_id == "alice"
    assert event.after == {"username": "alice", "ip_address": "127.0.0.1"}
    assert event.client_address == "127.0.0.1"


def test_an_administrator_unlocks_through_the_admin_and_it_is_audited(client, alice, admin):
    wrong_logins(client)
    client.force_login(admin)
    answer = client.post(
        "/admin/axes/accessattempt/",
        {
            "action": "unlock",
            "_selected_action": list(AccessAttempt.objects.values_list("pk", flat=True)),
        },
    )
    assert answer.status_code == 302
    assert not AccessAttempt.objects.exists()
    [event] = AuditEvent.objects.filter(action="account.unlock")
    assert event.actor_id == admin.pk
    assert event.before["username"] == "alice"
    client.logout()
    assert client.post(LOGIN, {"username": "alice", "password": PASSWORD}).status_code == 302


def test_staff_without_the_permission_cannot_unlock(client, alice, manager):
    wrong_logins(client)
    staff = User.objects.create_user("staffer", password=PASSWORD, is_staff=True)
    client.force_login(staff)
    client.post(
        "/admin/axes/accessattempt/",
        {
            "action": "unlock",
            "_selected_action": list(AccessAttempt.objects.values_list("pk", flat=True)),
        },
    )
    assert AccessAttempt.objects.exists()
    assert not AuditEvent.objects.filter(action="account.unlock").exists()


def test_the_admin_offers_no_unaudited_delete(client, alice, admin):
    wrong_logins(client)
    client.force_login(admin)
    page = client.get("/admin/axes/accessattempt/")
    assert page.status_code == 200
    assert 'value="delete_selected"' not in page.content.decode()
    assert 'value="unlock"' in page.content.decode()


@pytest.mark.parametrize("path", ["/api/v1/signoffs/", "/api/v1/waivers/"])
def test_the_schema_declares_the_lockout_answer(api, admin, path):
    schema = api.as_user(admin).get("/api/v1/schema/", {"format": "json"}).json()
    assert "429" in schema["paths"][path]["post"]["responses"]
