"""The OpenID Connect relying party: one provider, through Authlib's Django client.

Authlib does discovery, the authorization code flow with PKCE (S256), the nonce, the state kept
in the session (used once: a replayed ``state`` finds nothing), the token exchange and the ID
token's signature against the provider's published keys (fetched again when a new key id
appears). On top of it this module:

- bounds every call to the provider by ``RELCAL_OIDC_TIMEOUT`` and turns every failure (down,
  slow, an invalid discovery document, an error answer) into :class:`ProviderError`, whose
  message a page can show as it is;
- trusts discovery and keys for ``RELCAL_OIDC_METADATA_SECONDS``, then fetches them again;
- checks the ID token itself, beyond Authlib: the issuer is the configured one, the audience
  holds our client id (with ``azp`` when there are several), ``exp``/``iat`` within
  ``RELCAL_OIDC_LEEWAY_SECONDS``, the nonce, and ``sub`` present; any failure is
  :class:`TokenRefused`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.django_client import OAuth
from django.conf import settings
from django.http import HttpRequest
from joserfc.errors import JoseError

log = logging.getLogger(__name__)

NAME = "company"
SESSION_ID_TOKEN = "relcal_oidc_id_token"


class ProviderError(Exception):
    """The provider could not be used; ``str()`` is a sentence for the person signing in."""


class TokenRefused(Exception):
    """The provider's answer failed a check; ``str()`` says which, for the page and the log."""


@dataclass(frozen=True)
class Config:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    timeout: int
    name: str

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


def config() -> Config:
    return Config(
        issuer=settings.RELCAL_OIDC_ISSUER.rstrip("/"),
        client_id=settings.RELCAL_OIDC_CLIENT_ID,
        client_secret=settings.RELCAL_OIDC_CLIENT_SECRET,
        scopes=settings.RELCAL_OIDC_SCOPES,
        timeout=settings.RELCAL_OIDC_TIMEOUT,
        name=settings.RELCAL_OIDC_PROVIDER_NAME,
    )


def enabled() -> bool:
    return bool(settings.RELCAL_OIDC_ISSUER and settings.RELCAL_OIDC_CLIENT_ID)


def provider_name() -> str:
    return settings.RELCAL_OIDC_PROVIDER_NAME


# --- The Authlib client, rebuilt when the configuration changes or the metadata is old ----------

_lock = threading.Lock()
_cached: dict[str, Any] = {}


def client():
    """The registered Authlib app for the configured provider, with fresh enough metadata."""
    cfg = config()
    with _lock:
        app = _cached.get("app")
        loaded = _cached.get("loaded", 0.0)
        if (
            app is None
            or _cached.get("config") != cfg
            or time.monotonic() - loaded > settings.RELCAL_OIDC_METADATA_SECONDS
        ):
            oauth = OAuth()
            app = oauth.register(
                name=NAME,
                server_metadata_url=cfg.discovery_url,
                client_id=cfg.client_id,
                client_secret=cfg.client_secret,
                client_kwargs={
                    "scope": cfg.scopes,
                    "code_challenge_method": "S256",
                    "default_timeout": cfg.timeout,
                },
            )
            _cached.update(app=app, config=cfg, loaded=time.monotonic())
    return app


def forget_metadata() -> None:
    """Fetch discovery and keys again at the next use (tests; an operator's key rotation)."""
    with _lock:
        _cached.clear()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, requests.Timeout):
        return "did not answer in time"
    if isinstance(exc, requests.ConnectionError):
        return "could not be reached"
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"answered HTTP {exc.response.status_code}"
    if isinstance(exc, ValueError):
        return "answered something that is not JSON"
    return "could not be used"


def metadata() -> dict[str, Any]:
    """The provider's discovery document, checked: it must name our issuer and the endpoints
    the code flow needs, and allow S256 when it lists PKCE methods."""
    app = client()
    try:
        data = app.load_server_metadata()
    except (requests.RequestException, ValueError, AuthlibBaseError) as exc:
        forget_metadata()
        log.warning("OIDC discovery at %s failed: %r", config().discovery_url, exc)
        raise ProviderError(
            f"{provider_name()} {_describe(exc)}, so company sign-in is not available right "
            "now. Try again in a minute."
        ) from exc
    problems = []
    if not isinstance(data, dict):
        problems.append("it is not a JSON object")
    else:
        if data.get("issuer", "").rstrip("/") != config().issuer:
            problems.append(f"its issuer {data.get('issuer')!r} is not {config().issuer!r}")
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(data.get(key), str) or not data[key].startswith(("https:", "http:")):
                problems.append(f"{key} is missing")
        methods = data.get("code_challenge_methods_supported")
        if methods is not None and "S256" not in methods:
            problems.append("it does not support PKCE with S256")
    if problems:
        forget_metadata()
        log.error("OIDC discovery document at %s refused: %s", config().discovery_url, problems)
        raise ProviderError(
            f"{provider_name()}'s discovery document is not usable ({'; '.join(problems)}). "
            "An administrator must fix RELCAL_OIDC_ISSUER or the provider."
        )
    return data


# --- The round trip -------------------------------------------------------------------------------


def authorization_redirect(
    request: HttpRequest, redirect_uri: str, *, extra: dict[str, Any], **params: Any
) -> str:
    """The provider's authorization URL for this request; the state, nonce and PKCE verifier go
    into the session with ``extra`` (what to do on return)."""
    metadata()
    app = client()
    try:
        rv = app.create_authorization_url(redirect_uri, **params)
    except (requests.RequestException, AuthlibBaseError, RuntimeError) as exc:
        raise ProviderError(f"{provider_name()} {_describe(exc)}.") from exc
    app.framework.set_state_data(
        request.session,
        rv["state"],
        {
            **extra,
            "redirect_uri": redirect_uri,
            "nonce": rv["nonce"],
            "code_verifier": rv["code_verifier"],
        },
    )
    return rv["url"]


@dataclass(frozen=True)
class Returned:
    claims: dict[str, Any]
    id_token: str
    extra: dict[str, Any]


def complete(request: HttpRequest) -> Returned:
    """The provider sent the browser back: use the state once, exchange the code (with the PKCE
    verifier) and check the ID token. Raises :class:`TokenRefused` or :class:`ProviderError`."""
    app = client()
    state = request.GET.get("state") or ""
    data = app.framework.get_state_data(request.session, state) if state else None
    if state:
        app.framework.clear_state_data(request.session, state)
    if not data:
        raise TokenRefused(
            "This sign-in link was already used or has expired (unknown state). Start again."
        )
    returned_issuer = request.GET.get("iss")
    if returned_issuer and returned_issuer.rstrip("/") != config().issuer:
        # RFC 9207: the answer names the provider that sent it (a mix-up attack otherwise).
        raise TokenRefused("This answer comes from another identity provider (iss). Start again.")
    if request.GET.get("error"):
        error = request.GET.get("error_description") or request.GET["error"]
        raise TokenRefused(f"{provider_name()} refused: {error[:200]}")
    code = request.GET.get("code")
    if not code:
        raise TokenRefused(f"{provider_name()} sent no authorization code.")
    metadata()
    try:
        token = app.fetch_access_token(
            code=code, code_verifier=data["code_verifier"], redirect_uri=data["redirect_uri"]
        )
    except (requests.RequestException, ValueError) as exc:
        log.warning("OIDC token exchange failed: %r", exc)
        raise ProviderError(
            f"{provider_name()} {_describe(exc)} when Relcal asked for the token."
        ) from exc
    except AuthlibBaseError as exc:
        log.warning("OIDC token exchange refused: %r", exc)
        raise TokenRefused(f"{provider_name()} refused the sign-in code ({exc}).") from exc
    if not isinstance(token, dict) or not isinstance(token.get("id_token"), str):
        raise TokenRefused(f"{provider_name()} sent no ID token.")
    extra = {k: v for k, v in data.items() if k not in {"nonce", "code_verifier", "redirect_uri"}}
    claims = id_token_claims(token, nonce=data["nonce"])
    return Returned(claims=claims, id_token=token["id_token"], extra=extra)


def id_token_claims(token: dict[str, Any], *, nonce: str) -> dict[str, Any]:
    """The ID token's claims once every check passed: signature by the provider's key,
    issuer, audience, expiry and issue time, nonce, subject."""
    cfg = config()
    app = client()
    try:
        claims = dict(
            app.parse_id_token(
                token,
                nonce=nonce,
                claims_options={"iss": {"essential": True, "value": cfg.issuer}},
                leeway=settings.RELCAL_OIDC_LEEWAY_SECONDS,
            )
        )
    except (requests.RequestException, ValueError) as exc:
        raise ProviderError(f"{provider_name()}'s signing keys {_describe(exc)}.") from exc
    except (JoseError, AuthlibBaseError) as exc:
        log.warning("ID token refused: %r", exc)
        raise TokenRefused(
            f"The ID token from {provider_name()} was refused: {_reason(exc)}."
        ) from exc
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if cfg.client_id not in audiences:
        raise TokenRefused(
            f"The ID token from {provider_name()} was refused: it was issued for another "
            "application (audience)."
        )
    if len(audiences) > 1 and claims.get("azp") != cfg.client_id:
        raise TokenRefused(
            f"The ID token from {provider_name()} was refused: several audiences and no "
            "authorized party naming Relcal."
        )
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise TokenRefused(f"The ID token from {provider_name()} names no subject.")
    return claims


def _reason(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc) or name
    if "Signature" in name or "signature" in text:
        return "its signature does not match the provider's keys"
    if "Expired" in name or "expired" in text:
        return "it has expired"
    if "'aud'" in text or "'azp'" in text:
        return "it was issued for another application (audience)"
    if "nonce" in text:
        return "its nonce does not match this sign-in (a replayed token)"
    if "Key" in name:
        return "it is signed by a key the provider does not publish"
    return text[:200]


def logout_url(id_token: str, post_logout_redirect_uri: str) -> str | None:
    """Where to send the browser to end the provider's session too (RP-initiated logout), or
    None when the provider offers no end_session_endpoint or cannot be reached."""
    try:
        data = metadata()
    except ProviderError:
        return None
    if not data.get("end_session_endpoint"):
        return None
    rv = client().create_logout_url(
        post_logout_redirect_uri=post_logout_redirect_uri,
        id_token_hint=id_token,
        client_id=config().client_id,
    )
    return rv["url"]
