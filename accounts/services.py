"""Sign-in through the provider, roles from its groups claim, signing tickets, ending sessions.

Accounts are matched on the provider's stable subject (``iss`` + ``sub``, an
:class:`~accounts.models.Identity`), never on the e-mail address alone. The first sign-in
creates the user from the claims; an e-mail address already used by another Relcal account is
refused with what to do (an administrator links the accounts), never merged silently.

Roles: ``RELCAL_OIDC_ROLE_MAP`` maps the provider's group names to Relcal groups
(``group:<name>``), teams (``team:<slug>``) and admin access (``staff``: approvers sign off in
the admin). At every sign-in each group and team the map
mentions is added when a mapped provider group is in the claim and removed when none is; groups
and teams the map does not mention stay as administrators set them. The changes are recorded by
the membership observer like every other membership change (``user.groups.add`` …).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from relcal import audit
from releases.models import Team

from . import oidc
from .models import Identity, SigningTicket

log = logging.getLogger(__name__)
User = get_user_model()


class SignInRefused(Exception):
    """Sign-in refused after the provider answered; ``str()`` says why and what to do,
    ``reason`` what the audit event records."""

    reason = ""
    claims: dict[str, Any] = {}


# --- The role map -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleMap:
    """``{provider group: ["group:<Relcal group>", "team:<slug>", …]}`` read from settings."""

    targets: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @property
    def groups(self) -> set[str]:
        return {name for ts in self.targets.values() for kind, name in ts if kind == "group"}

    @property
    def teams(self) -> set[str]:
        return {name for ts in self.targets.values() for kind, name in ts if kind == "team"}

    @property
    def governs_staff(self) -> bool:
        return any(kind == "staff" for ts in self.targets.values() for kind, _ in ts)

    def wanted(self, claimed: list[str]) -> tuple[set[str], set[str], bool]:
        chosen = [t for g in claimed for t in self.targets.get(g, [])]
        return (
            {n for k, n in chosen if k == "group"},
            {n for k, n in chosen if k == "team"},
            any(k == "staff" for k, _ in chosen),
        )


def role_map(raw: str | None = None) -> RoleMap:
    """Parse ``RELCAL_OIDC_ROLE_MAP``; a malformed map is a configuration error that names the
    problem (``manage.py check`` reports it too)."""
    raw = settings.RELCAL_OIDC_ROLE_MAP if raw is None else raw
    try:
        data = json.loads(raw or "{}")
    except ValueError as exc:
        raise ImproperlyConfigured(f"RELCAL_OIDC_ROLE_MAP is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise ImproperlyConfigured("RELCAL_OIDC_ROLE_MAP must be a JSON object.")
    targets: dict[str, list[tuple[str, str]]] = {}
    for group, values in data.items():
        values = [values] if isinstance(values, str) else values
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ImproperlyConfigured(
                f"RELCAL_OIDC_ROLE_MAP[{group!r}] must be a list of 'group:<name>' or "
                "'team:<slug>'."
            )
        parsed = []
        for value in values:
            if value == "staff":
                parsed.append(("staff", ""))
                continue
            kind, _, name = value.partition(":")
            if kind not in {"group", "team"} or not name.strip():
                raise ImproperlyConfigured(
                    f"RELCAL_OIDC_ROLE_MAP[{group!r}]: {value!r} is not 'group:<name>', "
                    "'team:<slug>' or 'staff'."
                )
            parsed.append((kind, name.strip()))
        targets[str(group)] = parsed
    return RoleMap(targets)


def claimed_groups(claims: dict[str, Any], mapping: RoleMap) -> list[str] | None:
    """The provider's groups for this person; None when no map is configured (nothing to
    apply). A claim that is missing or not a list of strings is refused, because applying it
    would silently strip every role."""
    if not mapping.targets:
        return None
    name = settings.RELCAL_OIDC_GROUPS_CLAIM
    value = claims.get(name)
    if value is None:
        raise SignInRefused(
            f"{oidc.provider_name()} sent no '{name}' claim, so Relcal cannot tell your roles. "
            f"An administrator must have the provider include the '{name}' claim in the ID "
            "token (and the 'groups' scope, if it needs one)."
        )
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SignInRefused(
            f"{oidc.provider_name()}'s '{name}' claim is not a list of group names, so Relcal "
            "cannot tell your roles. An administrator must fix the provider's claim mapping."
        )
    return value


# --- Sign-in --------------------------------------------------------------------------------------


def _refuse(claims: dict[str, Any], reason: str, message: str) -> SignInRefused:
    refused = SignInRefused(message)
    refused.reason = reason
    refused.claims = claims
    return refused


def _record_refusal(refused: SignInRefused) -> None:
    """The audit event of a refused sign-in, in its own transaction: the refusal rolled back
    everything else."""
    claims = refused.claims
    with transaction.atomic():
        audit.record(
            actor=None,
            action="account.signin_refused",
            object_type="account",
            object_id=str(claims.get("sub", ""))[:100],
            object_repr=str(claims.get("email") or claims.get("sub") or "unknown")[:200],
            after={
                "issuer": oidc.config().issuer,
                "subject": claims.get("sub"),
                "email": claims.get("email"),
                "reason": refused.reason,
            },
        )


def _username(claims: dict[str, Any]) -> str:
    base = claims.get("preferred_username") or (claims.get("email") or "").split("@")[0]
    base = re.sub(r"[^\w.@+-]", "", str(base or ""))[:140] or "user"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    return candidate


def _names(claims: dict[str, Any]) -> tuple[str, str]:
    first = str(claims.get("given_name") or "")
    last = str(claims.get("family_name") or "")
    if not (first or last) and claims.get("name"):
        first, _, last = str(claims["name"]).partition(" ")
    return first[:150], last[:150]


def _apply_roles(user, claimed: list[str], mapping: RoleMap) -> dict[str, list[str]]:
    want_groups, want_teams, want_staff = mapping.wanted(claimed)
    governed_groups = {g.name: g for g in Group.objects.filter(name__in=mapping.groups)}
    governed_teams = {t.slug: t for t in Team.objects.filter(slug__in=mapping.teams)}
    for missing in (mapping.groups - governed_groups.keys()) | (
        mapping.teams - governed_teams.keys()
    ):
        log.warning("RELCAL_OIDC_ROLE_MAP names %r, which does not exist in Relcal", missing)
    has_groups = set(user.groups.filter(name__in=governed_groups).values_list("name", flat=True))
    has_teams = set(user.teams.filter(slug__in=governed_teams).values_list("slug", flat=True))
    add_g = [governed_groups[n] for n in sorted(want_groups & governed_groups.keys() - has_groups)]
    del_g = [governed_groups[n] for n in sorted(has_groups - want_groups)]
    add_t = [governed_teams[s] for s in sorted(want_teams & governed_teams.keys() - has_teams)]
    del_t = [governed_teams[s] for s in sorted(has_teams - want_teams)]
    # Each call is one audited membership change (approvals.receivers observes them).
    if add_g:
        user.groups.add(*add_g)
    if del_g:
        user.groups.remove(*del_g)
    if add_t:
        user.teams.add(*add_t)
    if del_t:
        user.teams.remove(*del_t)
    staff = []
    if mapping.governs_staff and user.is_staff != want_staff:
        user.is_staff = want_staff
        user.save(update_fields=["is_staff"])
        staff = ["staff"]
    return {
        "added": [g.name for g in add_g]
        + [f"team:{t.slug}" for t in add_t]
        + (staff if want_staff else []),
        "removed": [g.name for g in del_g]
        + [f"team:{t.slug}" for t in del_t]
        + (staff if not want_staff else []),
    }


def signin(*, claims: dict[str, Any]):
    """The user the provider's claims stand for, created on first sign-in, with roles applied.
    Raises :class:`SignInRefused` (audited) when the claims cannot be accepted."""
    try:
        return _signin(claims)
    except SignInRefused as refused:
        _record_refusal(refused)
        raise


def _signin(claims: dict[str, Any]):
    issuer = oidc.config().issuer
    subject = claims["sub"]
    mapping = role_map()
    try:
        claimed = claimed_groups(claims, mapping)
    except SignInRefused as refused:
        raise _refuse(claims, "groups claim missing or not a list", str(refused)) from None
    email = str(claims.get("email") or "").strip()
    with transaction.atomic():
        identity = (
            Identity.objects.select_for_update()
            .select_related("user")
            .filter(issuer=issuer, subject=subject)
            .first()
        )
        if identity is None:
            user = _create(claims, issuer=issuer, subject=subject, email=email)
            identity = user.identity
        else:
            user = identity.user
            if not user.is_active:
                raise _refuse(
                    claims,
                    "account deactivated",
                    "Your Relcal account is deactivated. Ask an administrator if this is wrong.",
                )
            _refresh_profile(user, claims, email)
        changes = _apply_roles(user, claimed, mapping) if claimed is not None else {}
        identity.last_signin_at = timezone.now()
        identity.save(update_fields=["last_signin_at"])
        audit.record(
            actor=user,
            action="account.signin",
            obj=user,
            after={
                "issuer": issuer,
                "subject": subject,
                "provider_groups": claimed,
                **changes,
            },
        )
    return user


def _create(claims: dict[str, Any], *, issuer: str, subject: str, email: str):
    if email:
        holder = User.objects.filter(email__iexact=email).select_related("identity").first()
        if holder is not None:
            linked = Identity.objects.filter(user=holder).first()
            if linked is not None:
                raise _refuse(
                    claims,
                    "e-mail linked to another subject",
                    f"The Relcal account that uses {email} is linked to a different identity at "
                    f"{oidc.provider_name()}. If the provider changed your identifier, an "
                    "administrator must relink the account (admin: Identities). Nothing was "
                    "changed.",
                )
            raise _refuse(
                claims,
                "e-mail used by a local account",
                f"A Relcal account with a password already uses {email}. Relcal does not merge "
                "accounts on an e-mail address: ask an administrator to link that account to "
                f"your {oidc.provider_name()} identity (admin: Identities → Add, or "
                "`manage.py link_identity`), then sign in again.",
            )
    first, last = _names(claims)
    try:
        with transaction.atomic():
            user = User(username=_username(claims), email=email, first_name=first, last_name=last)
            user.set_unusable_password()
            user.save()
            Identity.objects.create(user=user, issuer=issuer, subject=subject)
    except IntegrityError:
        # Two first sign-ins of the same person at once: the other one created it.
        identity = Identity.objects.select_related("user").get(issuer=issuer, subject=subject)
        return identity.user
    audit.record(
        actor=user,
        action="account.create",
        obj=user,
        after={"username": user.username, "email": email, "issuer": issuer, "subject": subject},
    )
    return user


def _refresh_profile(user, claims: dict[str, Any], email: str) -> None:
    before = audit.values(user, ["email", "first_name", "last_name"])
    first, last = _names(claims)
    if first or last:
        user.first_name, user.last_name = first, last
    if email and email.lower() != user.email.lower():
        if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
            log.warning("Not taking %s for %s: another account uses it", email, user)
        else:
            user.email = email
    if audit.values(user, ["email", "first_name", "last_name"]) != before:
        user.save(update_fields=["email", "first_name", "last_name"])
        audit.record_change(
            user, "account.update", user, before, ["email", "first_name", "last_name"]
        )


@transaction.atomic
def identity_link(*, actor, user, subject: str, issuer: str = "") -> Identity:
    """An administrator links a local account to the provider's subject (the way out of an
    e-mail conflict or a changed ``sub``)."""
    # actor None: an operator at the command line (manage.py link_identity).
    if actor is not None and not (actor.is_superuser or actor.has_perm("accounts.add_identity")):
        raise PermissionDenied("Only an administrator links accounts.")
    issuer = issuer or oidc.config().issuer
    if not issuer or not subject:
        raise ValidationError({"subject": "Give the provider's subject (sub) to link."})
    if Identity.objects.filter(issuer=issuer, subject=subject).exists():
        raise ValidationError({"subject": f"Subject {subject} is already linked to an account."})
    old = Identity.objects.select_for_update().filter(user=user).first()
    if old is not None:
        audit.record(actor=actor, action="identity.delete", obj=old, before=audit.values(old))
        old.delete()
    identity = Identity.objects.create(user=user, issuer=issuer, subject=subject)
    # From now on the person signs in, and signs, through the provider: a password left in
    # place would be a second way in. Superusers keep theirs (break-glass).
    password_removed = user.has_usable_password() and not user.is_superuser
    if password_removed:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    audit.record(
        actor=actor,
        action="identity.create",
        obj=identity,
        after={**audit.values(identity), "password_removed": password_removed},
    )
    return identity


@transaction.atomic
def identity_unlink(*, actor, identity: Identity) -> None:
    if not (actor.is_superuser or actor.has_perm("accounts.delete_identity")):
        raise PermissionDenied("Only an administrator unlinks accounts.")
    audit.record(actor=actor, action="identity.delete", obj=identity, before=audit.values(identity))
    identity.delete()


# --- Ending sessions ---------------------------------------------------------------------------


@transaction.atomic
def sessions_end(*, actor, user, tokens: bool = False) -> int:
    """End every session of ``user`` at once (a leaver, a role removed at the provider that
    must not wait for the session to expire). Sessions live in the database: those whose
    signed-in user is ``user`` are deleted. ``tokens`` also deletes their API token. Returns
    how many sessions ended."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    deleted = 0
    if tokens:
        deleted, _ = Token.objects.filter(user=user).delete()
    audit.record(
        actor=actor,
        action="account.sessions_end",
        obj=user,
        after={"sessions_ended": ended, "api_tokens_deleted": deleted},
    )
    return ended


# --- Signing tickets ------------------------------------------------------------------------------


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


@transaction.atomic
def ticket_issue(*, user, auth_time: datetime) -> tuple[str, SigningTicket]:
    """A fresh single-use ticket for ``user``, proving the provider re-authenticated them at
    ``auth_time``. Returns the ticket (shown once) and its row."""
    now = timezone.now()
    SigningTicket.objects.filter(user=user, expires_at__lt=now - timedelta(days=1)).delete()
    ticket = secrets.token_urlsafe(32)
    row = SigningTicket.objects.create(
        user=user,
        digest=_digest(ticket),
        auth_time=auth_time,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.RELCAL_SIGNING_TICKET_SECONDS),
    )
    audit.record(
        actor=user,
        action="account.signing_ticket",
        obj=user,
        after={
            "auth_time": auth_time.astimezone(UTC).isoformat(),
            "expires_at": row.expires_at.astimezone(UTC).isoformat(),
        },
    )
    return ticket, row


def ticket_use(*, user, ticket: str, used_for: str) -> SigningTicket:
    """Spend ``ticket`` for one signature, inside the caller's transaction (a refused signature
    rolls the spending back). Raises ValidationError on ``signing_ticket``."""
    row = SigningTicket.objects.select_for_update().filter(digest=_digest(ticket or "")).first()
    problem = None
    if row is None or row.user_id != user.pk:
        problem = "This signing ticket is not valid. Get a new one (re-authenticate)."
    elif row.used_at is not None:
        problem = "This signing ticket was already used: each signature needs a new one."
    elif row.expires_at <= timezone.now():
        problem = "This signing ticket has expired. Get a new one (re-authenticate)."
    if problem:
        raise ValidationError({"signing_ticket": problem})
    row.used_at = timezone.now()
    row.used_for = used_for[:200]
    row.save(update_fields=["used_at", "used_for"])
    return row


def signature_refused(*, user, claims: dict[str, Any], reason: str, started_at: int) -> None:
    """A re-authentication that cannot stand for a signature (another person, no fresh
    sign-in): nothing is signed, and the attempt is on the audit trail."""
    with transaction.atomic():
        audit.record(
            actor=user,
            action="account.signature_refused",
            obj=user,
            after={
                "subject": claims.get("sub"),
                "auth_time": claims.get("auth_time"),
                "started_at": started_at,
                "reason": reason,
            },
        )
