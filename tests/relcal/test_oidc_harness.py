"""The OpenID provider the sign-in tests run against (tests/oidc_provider.py) behaves like a
company provider: discovery, authorization code with PKCE, a password that is checked,
prompt=login, RP-initiated logout, and tokens minted here that its JWKS vouches for."""

from __future__ import annotations

import secrets
import time

import pytest
import requests
from joserfc.errors import BadSignatureError

from tests.oidc_provider import MISSING, SignInRefused, pkce_pair

CALLBACK = "http://127.0.0.1:9/oidc/callback/"
SIGNED_OUT = "http://127.0.0.1:9/signed-out/"


@pytest.fixture
def ada(oidc):
    oidc.add_redirect_uri(CALLBACK)
    return oidc.set_account(
        "ada", password="lovelace", name="Ada Lovelace", groups=["release-managers", "payments"]
    )


def sign_in(oidc, *, nonce="", password="lovelace", session=None, **extra):
    verifier, challenge = pkce_pair()
    url = oidc.authorize_url(CALLBACK, code_challenge=challenge, nonce=nonce, **extra)
    back = oidc.sign_in(url, login="ada", password=password, session=session)
    return back, verifier


def id_token(oidc, back, verifier):
    tokens = oidc.exchange_code(back.params["code"], redirect_uri=CALLBACK, code_verifier=verifier)
    return oidc.verify_id_token(tokens["id_token"])


def test_discovery_names_the_issuer_s256_and_the_end_session_endpoint(oidc):
    discovery = oidc.discovery()

    assert discovery["issuer"] == oidc.issuer
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    assert discovery["end_session_endpoint"] == oidc.issuer + "/session/end"
    assert {"openid", "email", "profile", "groups"} <= set(discovery["scopes_supported"])


def test_a_code_flow_with_pkce_gives_a_signed_id_token_with_the_accounts_claims(oidc, ada):
    nonce = secrets.token_urlsafe(16)
    before = int(time.time())

    back, verifier = sign_in(oidc, nonce=nonce, state="xyz")
    assert back.url.startswith(CALLBACK)
    assert back.form_shown
    assert back.params["state"] == "xyz"
    tokens = oidc.exchange_code(back.params["code"], redirect_uri=CALLBACK, code_verifier=verifier)
    claims = oidc.verify_id_token(tokens["id_token"], nonce=nonce)

    assert claims["sub"] == "ada"
    assert claims["groups"] == ["release-managers", "payments"]
    assert claims["email"] == "ada@example.com"
    assert claims["given_name"] == "Ada"
    assert before - 1 <= claims["auth_time"] <= time.time() + 1


def test_the_code_is_refused_without_the_pkce_verifier(oidc, ada):
    back, _ = sign_in(oidc)

    with pytest.raises(requests.HTTPError):
        oidc.exchange_code(back.params["code"], redirect_uri=CALLBACK, code_verifier="x" * 43)


def test_groups_can_be_a_string_or_missing(oidc, ada):
    oidc.set_account("ada", password="lovelace", groups="release-managers")
    assert id_token(oidc, *sign_in(oidc))["groups"] == "release-managers"

    oidc.set_account("ada", password="lovelace", groups=MISSING)
    assert "groups" not in id_token(oidc, *sign_in(oidc))


def test_a_wrong_password_is_refused(oidc, ada):
    with pytest.raises(SignInRefused, match="Wrong login or password"):
        sign_in(oidc, password="babbage")


@pytest.mark.parametrize("ask", [{"prompt": "login"}, {"max_age": "0"}], ids=["prompt", "max_age"])
def test_re_authentication_shows_the_form_again_despite_the_providers_session(oidc, ada, ask):
    session = requests.Session()
    first = id_token(oidc, *sign_in(oidc, session=session))
    silent, _ = sign_in(oidc, session=session)
    time.sleep(1)  # auth_time counts in seconds

    forced, verifier = sign_in(oidc, session=session, **ask)

    assert not silent.form_shown
    assert forced.form_shown
    assert id_token(oidc, forced, verifier)["auth_time"] > first["auth_time"]


def test_the_id_token_lifetime_comes_from_the_configuration(oidc, ada):
    oidc.set(id_token_ttl=5)
    claims = id_token(oidc, *sign_in(oidc))

    assert claims["exp"] - claims["iat"] == 5


def test_sign_out_confirms_by_form_and_returns_to_the_registered_uri(oidc, ada):
    oidc.add_post_logout_redirect_uri(SIGNED_OUT)
    session = requests.Session()
    back, verifier = sign_in(oidc, session=session)
    tokens = oidc.exchange_code(back.params["code"], redirect_uri=CALLBACK, code_verifier=verifier)
    end_session = oidc.discovery()["end_session_endpoint"]
    query = f"?id_token_hint={tokens['id_token']}&post_logout_redirect_uri={SIGNED_OUT}&state=s1"

    assert oidc.sign_out(end_session + query, session=session) == SIGNED_OUT + "?state=s1"
    assert sign_in(oidc, session=session)[0].form_shown


def test_a_minted_token_verifies_with_the_published_keys(oidc):
    token = oidc.mint_id_token(oidc.id_token_claims("ada", nonce="n1"))

    assert oidc.verify_id_token(token, nonce="n1")["sub"] == "ada"


def test_a_token_minted_with_the_foreign_key_does_not_verify(oidc):
    token = oidc.mint_id_token(oidc.id_token_claims("ada"), key=oidc.foreign_key)

    with pytest.raises(BadSignatureError):
        oidc.verify_id_token(token)


def test_delay_ms_slows_every_response(oidc):
    oidc.set(delay_ms=300)
    started = time.monotonic()
    oidc.discovery()

    assert time.monotonic() - started >= 0.3
