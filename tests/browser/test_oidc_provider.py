"""Chromium completes the test OpenID provider's pages over plain http on 127.0.0.1: its cookies
stick, the sign-in form and the sign-out confirmation work by clicking, and the browser lands
back on the client's registered URIs (here pages of the live server)."""

from __future__ import annotations

import re
import secrets

import pytest

from tests.oidc_provider import pkce_pair

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_chromium_signs_in_and_out_at_the_provider(oidc, open_page, live_server):
    callback = live_server.url + "/oidc-harness/callback/"
    signed_out = live_server.url + "/oidc-harness/signed-out/"
    oidc.add_redirect_uri(callback)
    oidc.add_post_logout_redirect_uri(signed_out)
    oidc.set_account("ada", password="lovelace", groups=["payments"])
    verifier, challenge = pkce_pair()
    nonce = secrets.token_urlsafe(16)
    page = open_page()

    page.goto(oidc.authorize_url(callback, code_challenge=challenge, nonce=nonce))
    page.get_by_label("Login").fill("ada")
    page.get_by_label("Password").fill("lovelace")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(callback) + r"\?code="))
    code = re.search(r"[?&]code=([^&]+)", page.url).group(1)
    tokens = oidc.exchange_code(code, redirect_uri=callback, code_verifier=verifier)
    assert oidc.verify_id_token(tokens["id_token"], nonce=nonce)["groups"] == ["payments"]

    # The provider's session cookie stuck: signed in again without the form.
    page.goto(oidc.authorize_url(callback, code_challenge=challenge))
    page.wait_for_url(re.compile(re.escape(callback) + r"\?code="))

    page.goto(
        oidc.discovery()["end_session_endpoint"]
        + f"?id_token_hint={tokens['id_token']}&post_logout_redirect_uri={signed_out}"
    )
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(signed_out)

    page.goto(oidc.authorize_url(callback, code_challenge=challenge))
    assert page.get_by_label("Password").is_visible()
