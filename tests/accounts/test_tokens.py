"""The ID token checks, on tokens the test provider's own key signs (so the keys come from its
real JWKS endpoint) and on tokens changed after signing: each bad token is refused, naming why."""

from __future__ import annotations

import base64
import json
import time

import pytest

from accounts import oidc as relcal_oidc

NONCE = "n-0S6_WzA2Mj"


def claims_of(token: str, nonce: str = NONCE) -> dict:
    return relcal_oidc.id_token_claims({"id_token": token, "access_token": "at"}, nonce=nonce)


def refused(token: str, nonce: str = NONCE) -> str:
    with pytest.raises(relcal_oidc.TokenRefused) as caught:
        claims_of(token, nonce)
    return str(caught.value)


def test_a_token_signed_by_the_provider_passes(sso):
    token = sso.mint_id_token(sso.id_token_claims("ada", nonce=NONCE))
    assert claims_of(token)["sub"] == "ada"


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_tampered_token_is_refused(sso):
    header, _, signature = sso.mint_id_token(sso.id_token_claims("ada", nonce=NONCE)).split(".")
    forged = ".".join([header, _b64(sso.id_token_claims("root", nonce=NONCE)), signature])
    assert "signature does not match" in refused(forged)


def test_a_token_signed_by_another_key_is_refused(sso):
    token = sso.mint_id_token(sso.id_token_claims("ada", nonce=NONCE), key=sso.foreign_key)
    assert "signature does not match" in refused(token)


def test_an_unsigned_token_is_refused(sso):
    token = ".".join(
        [_b64({"alg": "none", "typ": "JWT"}), _b64(sso.id_token_claims("ada", nonce=NONCE)), ""]
    )
    assert "refused" in refused(token)


def test_a_token_for_another_application_is_refused(sso):
    token = sso.mint_id_token(sso.id_token_claims("ada", nonce=NONCE, aud="grafana"))
    assert "issued for another application" in refused(token)


def test_several_audiences_need_relcal_as_the_authorized_party(sso):
    both = ["grafana", sso.client_id]
    token = sso.mint_id_token(sso.id_token_claims("ada", nonce=NONCE, aud=both))
    assert "refused" in refused(token)
    token = sso.mint_id_token(sso.id_token_claims("ada", nonce=NONCE, aud=both, azp=sso.client_id))
    assert claims_of(token)["sub"] == "ada"
    token = sso.mint_id_token(sso.id_token_claims("ada", nonce=NONCE, aud=both, azp="grafana"))
    assert "refused" in refused(token)


def test_an_expired_token_is_refused(sso):
    now = int(time.time())
    token = sso.mint_id_token(
        sso.id_token_claims("ada", nonce=NONCE, iat=now - 3600, exp=now - 120, auth_time=now - 3600)
    )
    assert "expired" in refused(token)


def test_a_token_from_another_issuer_is_refused(sso):
    token = sso.mint_id_token(sso.id_token_claims("ada", nonce=NONCE, iss="https://evil.example"))
    assert "refused" in refused(token)


def test_a_replayed_token_fails_the_nonce_of_this_sign_in(sso):
    token = sso.mint_id_token(sso.id_token_claims("ada", nonce="from-an-earlier-sign-in"))
    assert "nonce" in refused(token)
    token = sso.mint_id_token(sso.id_token_claims("ada"))  # no nonce at all
    assert "refused" in refused(token)


def test_a_token_without_subject_is_refused(sso):
    claims = sso.id_token_claims("ada", nonce=NONCE)
    del claims["sub"]
    token = sso.mint_id_token(claims)
    assert "refused" in refused(token)
