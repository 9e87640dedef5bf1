"""Company sign-in against a real OpenID provider: the code flow with PKCE, accounts matched on
the subject, roles from the groups claim at every sign-in, and every bad answer a clear page."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from accounts.models import Identity
from approvals.models import AuditEvent
from releases import roles
from tests.conftest import PASSWORD
from tests.oidc_provider import MISSING

from .conftest import identity_of


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_the_login_page_offers_the_provider_and_passwords(client, sso):
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Acme SSO" in page
    assert 'name="password"' in page  # RELCAL_PASSWORD_LOGIN=all: the demo and break-glass


def test_without_a_provider_the_login_page_is_passwords_only(client, db):
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with" not in page
    assert 'name="password"' in page


def test_the_authorization_request_uses_pkce_s256_and_a_nonce(client, sso):
    start = client.post("/accounts/oidc/login/")
    query = parse_qs(urlsplit(start["Location"]).query)
    assert start["Location"].startswith(sso.issuer + "/")
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert query["nonce"][0] and query["state"][0]
    assert query["response_type"] == ["code"]
    assert set(query["scope"][0].split()) == {"openid", "email", "profile", "groups"}


def test_starting_sign_in_needs_a_post_with_the_csrf_token(sso):
    csrf_client = Client(enforce_csrf_checks=True)
    assert csrf_client.get("/accounts/oidc/login/").status_code == 405
    assert csrf_client.post("/accounts/oidc/login/").status_code == 403


def test_first_sign_in_creates_the_user_from_the_claims_with_mapped_roles(person, payments):
    ada = person(
        "ada-sub-1",
        name="Ada Lovelace",
        email="ada@acme.example",
        preferred_username="ada",
        groups=["relcal-release-managers", "payments-devs", "unrelated"],
    )
    response = ada.sign_in(next_url="/calendar/")
    assert response.status_code == 302 and response["Location"] == "/calendar/"
    user = identity_of("ada-sub-1").user
    assert (user.username, user.email, user.get_full_name()) == (
        "ada",
        "ada@acme.example",
        "Ada Lovelace",
    )
    assert not user.has_usable_password()
    assert set(user.groups.values_list("name", flat=True)) == {roles.RELEASE_MANAGERS}
    assert list(user.teams.all()) == [payments]
    assert user.is_staff
    assert ada.client.get("/releases/").status_code == 200
    (signin,) = events("account.signin")
    assert signin.actor_id == user.pk
    assert signin.after["provider_groups"] == [
        "relcal-release-managers",
        "payments-devs",
        "unrelated",
    ]
    assert events("account.create")[0].after["subject"] == "ada-sub-1"
    # Membership changes are audited like any other.
    assert events("user.groups.add")[0].after == {"groups": [roles.RELEASE_MANAGERS]}


def test_roles_follow_the_provider_at_every_sign_in(person, sso, payments):
    ada = person("ada", groups=["relcal-release-managers", "payments-devs"])
    ada.sign_in()
    user = identity_of("ada").user
    # A role granted by hand, which the map does not govern, stays.
    user.groups.add(Group.objects.get(name=roles.AUDITORS))

    sso.set_account("ada", password=ada.password, groups=["relcal-product"])
    ada.client.logout()
    ada.sign_in()
    user.refresh_from_db()
    assert set(user.groups.values_list("name", flat=True)) == {
        roles.PRODUCT_APPROVERS,
        roles.AUDITORS,
    }
    assert not user.teams.exists()
    last = events("account.signin")[-1].after
    assert last["added"] == [roles.PRODUCT_APPROVERS]
    assert last["removed"] == [roles.RELEASE_MANAGERS, "team:payments"]
    removal = events("user.groups.remove")[-1]
    assert roles.RELEASE_MANAGERS in removal.before["groups"]
    assert roles.RELEASE_MANAGERS not in removal.after["groups"]

    sso.set_account("ada", password=ada.password, groups=[])
    ada.client.logout()
    ada.sign_in()
    user.refresh_from_db()
    assert set(user.groups.values_list("name", flat=True)) == {roles.AUDITORS}
    assert not user.is_staff


def test_a_person_in_no_mapped_group_gets_no_role_and_no_admin(person, frozen):
    nobody = person("nobody", groups=["marketing"])
    nobody.sign_in()
    user = identity_of("nobody").user
    assert not user.groups.exists() and not user.is_staff and not user.teams.exists()
    admin = nobody.client.get("/admin/", follow=True)
    assert admin.redirect_chain[-1][0].startswith("/accounts/login/?next=/admin/")
    assert "Your account cannot open that page" in admin.content.decode()
    release = frozen()
    sign = nobody.client.get(f"/admin/approvals/signoff/sign/{release.pk}/")
    assert sign.status_code == 302
    assert nobody.client.get("/accounts/signing-ticket/").status_code == 200


def test_the_admin_login_page_leads_to_the_one_login_page(client, sso):
    response = client.get("/admin/login/?next=/admin/approvals/signoff/pending/")
    assert response.status_code == 302
    assert response["Location"] == ("/accounts/login/?next=/admin/approvals/signoff/pending/")


def test_the_same_subject_is_the_same_account_even_with_a_new_email(person, sso):
    ada = person("ada", email="ada@old.example")
    ada.sign_in()
    sso.set_account("ada", password=ada.password, email="ada@new.example")
    ada.client.logout()
    ada.sign_in()
    assert User.objects.filter(identity__subject="ada").count() == 1
    assert identity_of("ada").user.email == "ada@new.example"


@pytest.mark.parametrize(
    "groups", [MISSING, "relcal-release-managers", ["ok", 3]], ids=["missing", "string", "mixed"]
)
def test_a_groups_claim_missing_or_not_a_list_is_refused_and_audited(person, groups):
    ada = person("ada", groups=groups)
    response = ada.sign_in()
    page = response.content.decode()
    assert response.status_code == 403
    assert "Sign-in did not work" in page
    assert "groups" in page and "administrator" in page
    assert not Identity.objects.exists()
    assert "_auth_user_id" not in ada.client.session
    (refused,) = events("account.signin_refused")
    assert refused.after["reason"] == "groups claim missing or not a list"


def test_an_email_of_a_local_account_is_never_merged(person, db):
    local = User.objects.create_user("ada.local", "ada@acme.example", PASSWORD)
    ada = person("ada-sub", email="ada@acme.example")
    response = ada.sign_in()
    page = response.content.decode()
    assert response.status_code == 403
    assert "already uses ada@acme.example" in page
    assert "link" in page and "manage.py link_identity" in page
    assert not Identity.objects.exists()
    assert events("account.signin_refused")[0].after["reason"] == "e-mail used by a local account"

    # What the page says to do works: the administrator links the account, then sign-in
    # lands in it (and its password no longer opens it).
    from django.core.management import call_command

    call_command("link_identity", "ada.local", "ada-sub")
    ada.sign_in()
    assert ada.client.session["_auth_user_id"] == str(local.pk)
    local.refresh_from_db()
    assert not local.has_usable_password()


def test_a_changed_subject_is_refused_with_how_to_relink(person, sso):
    ada = person("ada-old", email="ada@acme.example")
    ada.sign_in()
    ada.client.logout()
    moved = person("ada-new", email="ada@acme.example")
    response = moved.sign_in()
    assert response.status_code == 403
    assert "linked to a different identity" in response.content.decode()
    assert Identity.objects.get().subject == "ada-old"
    refused = events("account.signin_refused")[-1]
    assert refused.after["reason"] == "e-mail linked to another subject"


def test_a_deactivated_account_cannot_sign_in(person):
    ada = person("ada")
    ada.sign_in()
    User.objects.filter(identity__subject="ada").update(is_active=False)
    ada.client.logout()
    response = ada.sign_in()
    assert response.status_code == 403
    assert "deactivated" in response.content.decode()


def test_a_replayed_callback_is_refused(person):
    ada = person("ada")
    start = ada.client.post("/accounts/oidc/login/")
    back = ada.provider.sign_in(start["Location"], login="ada", password=ada.password)
    callback = "/accounts/oidc/callback/?" + urlsplit(back.url).query
    assert ada.client.get(callback).status_code == 302
    ada.client.logout()
    again = ada.client.get(callback)
    assert again.status_code == 400
    assert "already used or has expired" in again.content.decode()
    assert "_auth_user_id" not in ada.client.session


def test_a_callback_from_another_browser_is_refused(person, sso):
    ada = person("ada")
    start = ada.client.post("/accounts/oidc/login/")
    back = sso.sign_in(start["Location"], login="ada", password=ada.password)
    # An attacker's browser (no state in its session) opening the victim's callback.
    response = Client().get("/accounts/oidc/callback/?" + urlsplit(back.url).query)
    assert response.status_code == 400


def test_an_answer_naming_another_issuer_is_refused(person):
    ada = person("ada")
    start = ada.client.post("/accounts/oidc/login/")
    back = ada.provider.sign_in(start["Location"], login="ada", password=ada.password)
    assert back.params["iss"] == ada.provider.issuer  # the provider names itself (RFC 9207)
    query = urlsplit(back.url).query.replace("iss=", "iss=https%3A%2F%2Fevil.example&x=")
    response = ada.client.get("/accounts/oidc/callback/?" + query)
    assert response.status_code == 400
    assert "another identity provider" in response.content.decode()


def test_an_error_from_the_provider_is_shown(person, client):
    start = client.post("/accounts/oidc/login/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    response = client.get(
        f"/accounts/oidc/callback/?state={state}&error=access_denied"
        "&error_description=The+user+cancelled"
    )
    assert response.status_code == 400
    assert "Acme SSO refused: The user cancelled" in response.content.decode()


def test_a_wrong_password_at_the_provider_signs_nothing_in(person, sso):
    from tests.oidc_provider import SignInRefused

    ada = person("ada")
    start = ada.client.post("/accounts/oidc/login/")
    with pytest.raises(SignInRefused):
        sso.sign_in(start["Location"], login="ada", password="wrong")
    assert not User.objects.filter(identity__subject="ada").exists()


# --- The provider down, slow or broken ------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_provider_down_is_a_clear_page_and_passwords_still_work(client, sso, settings, manager):
    settings.RELCAL_OIDC_ISSUER = f"http://127.0.0.1:{_closed_port()}"
    response = client.post("/accounts/oidc/login/")
    page = response.content.decode()
    assert response.status_code == 503
    assert "Acme SSO could not be reached" in page
    assert "log in with a Relcal password" in page
    assert (
        client.post(
            "/accounts/login/", {"username": manager.username, "password": PASSWORD}
        ).status_code
        == 302
    )
    assert client.session["_auth_user_id"] == str(manager.pk)


def test_provider_slow_is_a_clear_page_within_the_timeout(client, sso, settings):
    settings.RELCAL_OIDC_TIMEOUT = 1
    sso.set(delay_ms=3000)
    began = time.monotonic()
    response = client.post("/accounts/oidc/login/")
    took = time.monotonic() - began
    assert response.status_code == 503
    assert "did not answer in time" in response.content.decode()
    assert took < 2.5


class _BadDiscovery(BaseHTTPRequestHandler):
    body = b"{}"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(
    ("document", "says"),
    [
        (b"<html>not json</html>", "not JSON"),
        (b'{"issuer": "https://evil.example"}', "its issuer"),
        (b'{"issuer": "ISSUER"}', "authorization_endpoint is missing"),
        (
            b'{"issuer": "ISSUER", "authorization_endpoint": "http://x/a", "token_endpoint": '
            b'"http://x/t", "jwks_uri": "http://x/k", "code_challenge_methods_supported": '
            b'["plain"]}',
            "PKCE with S256",
        ),
    ],
    ids=["not-json", "other-issuer", "no-endpoints", "no-s256"],
)
def test_an_invalid_discovery_document_is_a_clear_page(client, sso, settings, document, says):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BadDiscovery)
    issuer = f"http://127.0.0.1:{server.server_address[1]}"
    handler = type(
        "Handler", (_BadDiscovery,), {"body": document.replace(b"ISSUER", issuer.encode())}
    )
    server.RequestHandlerClass = handler
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.RELCAL_OIDC_ISSUER = issuer
        response = client.post("/accounts/oidc/login/")
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 503
    assert says in response.content.decode()


# --- Logout -------------------------------------------------------------------------------------


def test_logout_ends_the_relcal_session_and_the_providers(person, sso):
    ada = person("ada")
    ada.sign_in()
    id_token = ada.client.session["relcal_oidc_id_token"]
    response = ada.client.post("/accounts/logout/")
    assert "_auth_user_id" not in ada.client.session
    target = urlsplit(response["Location"])
    assert response["Location"].startswith(sso.discovery()["end_session_endpoint"])
    query = parse_qs(target.query)
    assert query["id_token_hint"] == [id_token]
    assert query["post_logout_redirect_uri"] == ["http://testserver/accounts/login/"]
    # The provider's own session ends: the next sign-in asks for the password again.
    after = sso.sign_out(response["Location"], session=ada.browser)
    assert after.startswith("http://testserver/accounts/login/")
    start = ada.client.post("/accounts/oidc/login/")
    from tests.oidc_provider import SignInRefused

    with pytest.raises(SignInRefused):  # the form is shown, and no login is given
        sso.sign_in(start["Location"], session=ada.browser)


def test_logout_of_a_password_user_stays_local(client, sso, manager):
    client.force_login(manager)
    response = client.post("/accounts/logout/")
    assert response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


# --- Passwords switched off -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "manager_in", "admin_in"),
    [("all", True, True), ("superusers", False, True), ("off", False, False)],
)
def test_password_login_follows_the_setting(
    client, sso, settings, manager, admin, mode, manager_in, admin_in
):
    settings.RELCAL_PASSWORD_LOGIN = mode
    for user, allowed in ((manager, manager_in), (admin, admin_in)):
        client.logout()
        client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
        assert ("_auth_user_id" in client.session) is allowed, (mode, user)
        client.logout()
        client.post("/admin/login/", {"username": user.username, "password": PASSWORD})
        assert ("_auth_user_id" in client.session) is (allowed and user.is_staff), (mode, user)
    page = client.get("/accounts/login/").content.decode()
    assert ('name="password"' in page) is (mode != "off")


def test_the_role_map_is_checked_at_start(settings):
    from django.core import checks

    settings.RELCAL_OIDC_ROLE_MAP = json.dumps({"x": ["role:nope"]})
    errors = [e for e in checks.run_checks() if e.id == "accounts.E001"]
    assert errors and "'role:nope' is not 'group:<name>'" in errors[0].msg
    settings.RELCAL_OIDC_ROLE_MAP = "{not json"
    assert [e for e in checks.run_checks() if e.id == "accounts.E001"]
