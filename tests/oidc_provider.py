"""A real OpenID Connect provider for the tests: node's ``oidc-provider`` (tests/oidc/provider.mjs,
installed from tests/oidc/package-lock.json by ``make test``) on a free port, signing with an RSA
key made here so a test can also mint tokens the provider's JWKS vouches for.

    def test_it_signs_in(oidc):
        oidc.add_redirect_uri("http://testserver/oidc/callback/")
        oidc.set_account("ada", password="pw", groups=["release-managers"])
        back = oidc.sign_in(authorize_url, login="ada", password="pw")
        back.params["code"]

The provider re-reads its configuration file on every lookup, so clients, accounts, the ID
token lifetime and a response delay change without a restart; the ``oidc`` fixture restores the
defaults before each test. Tests skip when Node.js or tests/oidc/node_modules is missing, unless
``RELCAL_REQUIRE_OIDC=1`` (CI), where they fail instead.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from tests.prometheus import free_port

FOLDER = Path(__file__).resolve().parent / "oidc"
NODE = shutil.which("node")
INSTALLED = (FOLDER / "node_modules" / "oidc-provider").is_dir()

CLIENT_ID = "relcal"
CLIENT_SECRET = "relcal-test-client-secret"
ID_TOKEN_TTL = 3600
SCOPE = "openid email profile groups"


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""A claim (or setting) given as ``MISSING`` is left out of the configuration altogether."""


class SignInRefused(AssertionError):
    """The provider showed its sign-in form again: wrong login or password."""


@dataclass(frozen=True)
class Redirect:
    """Where the provider sent the browser back: the client's redirect URI with its query."""

    url: str
    form_shown: bool

    @property
    def params(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(urlsplit(self.url).query).items()}


def pkce_pair() -> tuple[str, str]:
    """A PKCE ``code_verifier`` and its S256 ``code_challenge``."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class _Form(HTMLParser):
    """The first form of a page: its action and its named inputs (stdlib only, as a browser
    would submit it)."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attributes.get("action") or ""
            self._inside = True
        elif tag == "input" and self._inside and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


def _form(html: str) -> _Form:
    parser = _Form()
    parser.feed(html)
    return parser


class OIDCProvider:
    def __init__(self) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.discovery_url = self.issuer + "/.well-known/openid-configuration"
        self.client_id = CLIENT_ID
        self.client_secret = CLIENT_SECRET
        self.folder = Path(tempfile.mkdtemp(prefix="relcal-oidc-"))
        self.config_path = self.folder / "config.json"
        kid = secrets.token_hex(8)
        parameters = {"kid": kid, "use": "sig", "alg": "RS256"}
        self.key = RSAKey.generate_key(2048, parameters=parameters, private=True)
        self.private_jwk: dict = self.key.as_dict(private=True)
        self.process: subprocess.Popen | None = None
        self.config: dict = {}
        self.reset()

    @functools.cached_property
    def foreign_key(self) -> RSAKey:
        """Another RSA key under the provider's own kid: a token signed with it names the right
        key and must still fail its signature check."""
        parameters = {"kid": self.key.kid, "use": "sig", "alg": "RS256"}
        return RSAKey.generate_key(2048, parameters=parameters, private=True)

    # Configuration, re-read by the provider on every lookup.

    def _defaults(self) -> dict:
        return {
            "port": self.port,
            "issuer": self.issuer,
            "jwks": {"keys": [self.private_jwk]},
            "clients": [
                {
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "redirect_uris": [],
                    "post_logout_redirect_uris": [],
                    "token_endpoint_auth_method": "client_secret_basic",
                }
            ],
            "accounts": {},
            "id_token_ttl": ID_TOKEN_TTL,
            "delay_ms": 0,
        }

    def _write(self) -> None:
        # Replaced in one step so the provider never reads half a file.
        partial = self.config_path.with_suffix(".partial")
        partial.write_text(json.dumps(self.config, indent=1))
        os.replace(partial, self.config_path)

    def reset(self) -> None:
        """Back to one client without redirect URIs, no accounts, no delay."""
        self.config = self._defaults()
        self._write()

    @property
    def client(self) -> dict:
        return self.config["clients"][0]

    def add_redirect_uri(self, uri: str) -> None:
        if uri not in self.client["redirect_uris"]:
            self.client["redirect_uris"].append(uri)
            self._write()

    def add_post_logout_redirect_uri(self, uri: str) -> None:
        if uri not in self.client["post_logout_redirect_uris"]:
            self.client["post_logout_redirect_uris"].append(uri)
            self._write()

    def update_client(self, **metadata: Any) -> None:
        """Change the client's registered metadata, e.g.
        ``token_endpoint_auth_method="client_secret_post"``; ``MISSING`` removes a field."""
        self._merge(self.client, metadata)
        self._write()

    def set_account(
        self,
        sub: str,
        *,
        password: str,
        email: Any = None,
        name: Any = None,
        groups: Any = (),
        **claims: Any,
    ) -> str:
        """Create or replace the account ``sub`` (its sign-in login). ``groups`` may be any JSON
        value (a list, a string, null) or ``MISSING`` to leave the claim out; so may any other
        claim. ``given_name`` and ``family_name`` default to the two parts of a ``name`` that has
        a space."""
        email = f"{sub}@example.com" if email is None else email
        name = sub.title() if name is None else name
        account = {
            "password": password,
            "email": email,
            "email_verified": True,
            "name": name,
            "groups": list(groups) if isinstance(groups, tuple) else groups,
        }
        if isinstance(name, str) and " " in name:
            account["given_name"], account["family_name"] = name.split(" ", 1)
        self._merge(account, claims)
        self.config["accounts"][sub] = {k: v for k, v in account.items() if v is not MISSING}
        self._write()
        return sub

    def set(self, **settings: Any) -> None:
        """Top-level settings: ``delay_ms`` (every response waits that long), ``id_token_ttl``
        (seconds), ``clients``, ``accounts``; ``MISSING`` removes a key."""
        self._merge(self.config, settings)
        self._write()

    @staticmethod
    def _merge(target: dict, changes: dict) -> None:
        for key, value in changes.items():
            if value is MISSING:
                target.pop(key, None)
            else:
                target[key] = copy.deepcopy(value)

    # The process.

    def start(self) -> OIDCProvider:
        if not NODE:
            raise RuntimeError("Node.js is not installed")
        started = time.monotonic()
        self.process = subprocess.Popen(
            [NODE, str(FOLDER / "provider.mjs"), str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=open(self.folder / "provider.log", "wb"),  # noqa: SIM115 (closed with the process)
            env={**os.environ, "NODE_ENV": "test"},
        )
        deadline = started + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the OpenID provider exited: {self.log()}")
            try:
                if requests.get(self.discovery_url, timeout=1).status_code == 200:
                    self.startup_seconds = time.monotonic() - started
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the OpenID provider did not answer: {self.log()}")

    def log(self) -> str:
        path = self.folder / "provider.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> OIDCProvider:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # The protocol, as a client and a browser would speak it.

    def discovery(self) -> dict:
        answer = requests.get(self.discovery_url, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def jwks(self) -> dict:
        """The public keys the provider publishes at its jwks_uri."""
        answer = requests.get(self.discovery()["jwks_uri"], timeout=10)
        answer.raise_for_status()
        return answer.json()

    def authorize_url(
        self,
        redirect_uri: str,
        *,
        code_challenge: str,
        nonce: str = "",
        state: str = "",
        scope: str = SCOPE,
        **extra: str,
    ) -> str:
        params = {
            "client_id": self.client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": scope,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
            "nonce": nonce or secrets.token_urlsafe(16),
            "state": state or secrets.token_urlsafe(16),
            **extra,
        }
        return self.issuer + "/auth?" + urlencode(params)

    def sign_in(
        self,
        authorize_url: str,
        *,
        login: str | None = None,
        password: str | None = None,
        session: requests.Session | None = None,
    ) -> Redirect:
        """Follow the provider's pages from an authorization URL as a browser would, filling the
        sign-in form when it is shown, up to the redirect back to the client (not followed).
        Pass the same ``session`` to keep the provider's session cookie (single sign-on).
        Raises ``SignInRefused`` when the form comes back, or when it is shown and no login
        was given."""
        session = session or requests.Session()
        url, form_shown = authorize_url, False
        for _ in range(10):
            answer = session.get(url, allow_redirects=False, timeout=10)
            if answer.is_redirect:
                location = urljoin(url, answer.headers["Location"])
                if not location.startswith(self.issuer + "/"):
                    return Redirect(location, form_shown)
                url = location
                continue
            form = _form(answer.text)
            if answer.status_code == 200 and form.fields.get("logout") == "yes":
                # Another account signs in over an existing provider session: the provider
                # first ends that session with a form the browser submits by itself.
                answer = session.post(
                    urljoin(url, form.action), data=form.fields, allow_redirects=False, timeout=10
                )
                if not answer.is_redirect:
                    raise AssertionError(f"sign-out before sign-in failed: {answer.text}")
                url = urljoin(url, answer.headers["Location"])
                continue
            if answer.status_code != 200 or "password" not in form.fields:
                raise AssertionError(
                    f"unexpected page at {url}: {answer.status_code} {answer.text}"
                )
            if login is None or form_shown:
                raise SignInRefused(answer.text)
            form_shown = True
            form.fields.update(login=login, password=password or "")
            answer = session.post(
                urljoin(url, form.action), data=form.fields, allow_redirects=False, timeout=10
            )
            if not answer.is_redirect:
                raise SignInRefused(answer.text)
            url = urljoin(url, answer.headers["Location"])
        raise AssertionError(f"too many redirects from {authorize_url}")

    def sign_out(self, end_session_url: str, *, session: requests.Session | None = None) -> str:
        """Open the provider's end-session URL, confirm with its form's "Yes, sign me out" and
        return where the provider sends the browser next (not followed)."""
        session = session or requests.Session()
        page = session.get(end_session_url, timeout=10)
        page.raise_for_status()
        form = _form(page.text)
        answer = session.post(
            urljoin(page.url, form.action),
            data={**form.fields, "logout": "yes"},
            allow_redirects=False,
            timeout=10,
        )
        if not answer.is_redirect:
            raise AssertionError(f"sign-out did not redirect: {answer.status_code} {answer.text}")
        return urljoin(page.url, answer.headers["Location"])

    def exchange_code(self, code: str, *, redirect_uri: str, code_verifier: str) -> dict:
        """The token request a confidential client makes (client_secret_basic)."""
        answer = requests.post(
            self.discovery()["token_endpoint"],
            auth=(self.client_id, self.client_secret),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            },
            timeout=10,
        )
        answer.raise_for_status()
        return answer.json()

    def verify_id_token(self, id_token: str, *, nonce: str | None = None) -> dict:
        """The claims of ``id_token`` after checking its signature against the published JWKS
        and its iss, aud, exp (and nonce when given); raises joserfc's errors otherwise."""
        token = jwt.decode(id_token, KeySet.import_key_set(self.jwks()), algorithms=["RS256"])
        expected = {"iss": {"essential": True, "value": self.issuer}}
        expected["aud"] = {"essential": True, "value": self.client_id}
        if nonce is not None:
            expected["nonce"] = {"essential": True, "value": nonce}
        jwt.JWTClaimsRegistry(**expected).validate(token.claims)
        return token.claims

    # Tokens made here, signed like the provider's (or not), for the negative tests.

    def id_token_claims(self, sub: str, **overrides: Any) -> dict:
        """A valid ID token's claims for ``sub`` issued now; ``MISSING`` removes a claim."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": sub,
            "iat": now,
            "exp": now + ID_TOKEN_TTL,
            "auth_time": now,
        }
        self._merge(claims, overrides)
        return claims

    def mint_id_token(self, claims: dict, *, key: RSAKey | dict | None = None) -> str:
        """An RS256 JWT of ``claims`` signed with the provider's own key (its kid in the
        header), or with ``key`` (e.g. ``oidc.foreign_key``, which carries the same kid)."""
        if isinstance(key, dict):
            key = RSAKey.import_key(key)
        key = key or self.key
        header = {"alg": "RS256", "typ": "JWT", "kid": key.kid or self.key.kid}
        return jwt.encode(header, claims, key, algorithms=["RS256"])


def _require_oidc() -> None:
    missing = []
    if not NODE:
        missing.append("Node.js (apt-get install nodejs npm)")
    if not INSTALLED:
        missing.append("tests/oidc/node_modules (make test runs npm ci there)")
    if not missing:
        return
    message = "the OpenID provider needs " + " and ".join(missing)
    if os.environ.get("RELCAL_REQUIRE_OIDC") == "1":
        pytest.fail(message + ", and RELCAL_REQUIRE_OIDC=1")
    pytest.skip(message)


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OIDCProvider]:
    """One OpenID provider for the session; prefer the ``oidc`` fixture, which resets it."""
    _require_oidc()
    with OIDCProvider() as provider:
        yield provider


@pytest.fixture
def oidc(oidc_provider: OIDCProvider) -> OIDCProvider:
    """The session's OpenID provider with its default configuration."""
    oidc_provider.reset()
    return oidc_provider
