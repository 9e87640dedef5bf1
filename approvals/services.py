"""Every approvals write: policies, a release's requirements, sign-offs; and the transition gate.

Like ``releases.services``: keyword-only arguments with ``actor=`` first, atomic, a
``ValidationError`` keyed by field (or ``PermissionDenied``) on refusal with nothing written,
and exactly one audit event per committed change.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import signatures
from relcal import audit, lockout
from relcal.db import locked
from releases.models import Release, ReleaseState, Team

from . import selectors
from .models import (
    APPROVE_MEANINGS,
    REJECT_MEANINGS,
    ApprovalPolicy,
    ApprovalRequirement,
    Decision,
    Meaning,
    ReleaseRequirement,
    Role,
    SignOff,
)

log = logging.getLogger("relcal.security")

POLICY_FIELDS = ("name", "team", "is_default", "description")
REQUIREMENT_FIELDS = ("role", "group", "count", "segregation_of_duties")
REQUIREMENT_VALUES = ("role", "group_name", "count", "segregation_of_duties", "policy_name")
SIGNOFF_VALUES = (
    "release",
    "role",
    "signer",
    "signer_name",
    "decision",
    "meaning",
    "comment",
    "signed_at",
    "fingerprint",
    "snapshot",
)
# Moving to these states needs every required sign-off present, approving and fresh.
GATED = (ReleaseState.APPROVED, ReleaseState.DEPLOYING)


def _full_clean(obj, exclude: list[str] | None = None) -> None:
    obj.full_clean(exclude=exclude, validate_unique=True, validate_constraints=True)


# --- Policies -----------------------------------------------------------------------------------


def can_manage_policies(user) -> bool:
    return user.is_authenticated and user.has_perm("approvals.change_approvalpolicy")


def _require_policy_manager(actor) -> None:
    if not can_manage_policies(actor):
        raise PermissionDenied("Only administrators can change approval policies.")


@transaction.atomic
def policy_create(
    *,
    actor,
    name: str,
    team: Team | None = None,
    is_default: bool = False,
    description: str = "",
) -> ApprovalPolicy:
    _require_policy_manager(actor)
    policy = ApprovalPolicy(name=name, team=team, is_default=is_default, description=description)
    _full_clean(policy)
    policy.save()
    audit.record(actor=actor, action="policy.create", obj=policy, after=audit.values(policy))
    return policy


@transaction.atomic
def policy_update(*, actor, policy: ApprovalPolicy, **changes: Any) -> ApprovalPolicy:
    _require_policy_manager(actor)
    before = audit.values(locked(ApprovalPolicy, policy.pk), POLICY_FIELDS)
    for name, value in changes.items():
        if name not in POLICY_FIELDS:
            raise TypeError(f"Unknown policy field: {name}")
        setattr(policy, name, value)
    _full_clean(policy)
    was, now = audit.changes(before, audit.values(policy, POLICY_FIELDS))
    if not now:
        return policy
    policy.save()
    audit.record(actor=actor, action="policy.update", obj=policy, before=was, after=now)
    return policy


@transaction.atomic
def policy_delete(*, actor, policy: ApprovalPolicy) -> None:
    _require_policy_manager(actor)
    policy = locked(ApprovalPolicy, policy.pk)
    if policy.is_default:
        raise ValidationError(
            {"is_default": "The default policy covers every team without one; keep it."}
        )
    audit.delete_and_record(
        actor=actor,
        action="policy.delete",
        obj=policy,
        before={**audit.values(policy), "requirements": _requirement_rows(policy)},
    )


def _requirement_rows(policy: ApprovalPolicy) -> list[dict]:
    return [audit.values(r, REQUIREMENT_FIELDS) for r in policy.requirements.order_by("role", "pk")]


def _lock_requirement(requirement: ApprovalRequirement) -> ApprovalRequirement:
    """The requirement, re-read under its policy's lock (the parent first, see ``relcal.db``):
    a policy deleted meanwhile takes its requirements with it, which is a 404, not a 500."""
    locked(ApprovalPolicy, requirement.policy_id)
    return locked(ApprovalRequirement, requirement.pk)


@transaction.atomic
def requirement_create(*, actor, policy: ApprovalPolicy, **fields: Any) -> ApprovalRequirement:
    _require_policy_manager(actor)
    unknown = set(fields) - set(REQUIREMENT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown requirement fields: {', '.join(sorted(unknown))}")
    policy = locked(ApprovalPolicy, policy.pk)  # still there, and not deleted until we commit
    requirement = ApprovalRequirement(policy=policy, **fields)
    _full_clean(requirement)
    requirement.save()
    audit.record(
        actor=actor,
        action="policy.requirement.create",
        obj=requirement,
        after=audit.values(requirement),
    )
    return requirement


@transaction.atomic
def requirement_update(
    *, actor, requirement: ApprovalRequirement, **changes: Any
) -> ApprovalRequirement:
    _require_policy_manager(actor)
    before = audit.values(_lock_requirement(requirement), REQUIREMENT_FIELDS)
    for name, value in changes.items():
        if name not in REQUIREMENT_FIELDS:
            raise TypeError(f"Unknown requirement field: {name}")
        setattr(requirement, name, value)
    _full_clean(requirement)
    was, now = audit.changes(before, audit.values(requirement, REQUIREMENT_FIELDS))
    if not now:
        return requirement
    requirement.save()
    audit.record(
        actor=actor, action="policy.requirement.update", obj=requirement, before=was, after=now
    )
    return requirement


@transaction.atomic
def requirement_delete(*, actor, requirement: ApprovalRequirement) -> None:
    _require_policy_manager(actor)
    requirement = _lock_requirement(requirement)
    audit.record(
        actor=actor,
        action="policy.requirement.delete",
        obj=requirement,
        before=audit.values(requirement),
    )
    requirement.delete()


def policy_for(team: Team) -> ApprovalPolicy | None:
    return (
        ApprovalPolicy.objects.filter(team=team).first()
        or ApprovalPolicy.objects.filter(is_default=True).first()
    )


# --- A release's requirements, taken when its scope freezes --------------------------------------


def requirements_snapshot(*, actor, release: Release) -> list[ReleaseRequirement]:
    """Copy the policy's requirements onto ``release`` (replacing an earlier copy).

    Runs inside the transition's transaction (see ``receivers``), so it is not atomic itself.
    """
    before = [
        audit.values(r, REQUIREMENT_VALUES) for r in release.approval_requirements.order_by("pk")
    ]
    release.approval_requirements.all().delete()
    policy = policy_for(release.team)
    rows = []
    if policy is not None:
        now = timezone.now()
        for requirement in policy.requirements.select_related("group").order_by("pk"):
            rows.append(
                ReleaseRequirement(
                    release=release,
                    role=requirement.role,
                    group=requirement.group,
                    group_name=requirement.group.name,
                    count=requirement.count,
                    segregation_of_duties=requirement.segregation_of_duties,
                    policy_name=policy.name,
                    taken_at=now,
                )
            )
        ReleaseRequirement.objects.bulk_create(rows)
    audit.record(
        actor=actor,
        action="release.requirements",
        obj=release,
        before={"requirements": before},
        after={"requirements": [audit.values(r, REQUIREMENT_VALUES) for r in rows]},
    )
    return rows


# --- Sign-offs ------------------------------------------------------------------------------------


def printed_name(user) -> str:
    return (user.get_full_name() or user.get_username()).strip()


def _check_input(role: str, decision: str, meaning: str, comment: str) -> None:
    errors = {}
    if role not in Role.values:
        errors["role"] = f"Unknown role “{role}”; choose one of {', '.join(Role.values)}."
    if decision not in Decision.values:
        errors["decision"] = "Choose approve or reject."
    if meaning not in Meaning.values:
        errors["meaning"] = "Choose what your signature means from the list."
    elif decision == Decision.APPROVE and meaning not in APPROVE_MEANINGS:
        errors["meaning"] = (
            f"“{Meaning(meaning).label}” is what a reject means; choose what your approval means."
        )
    elif decision == Decision.REJECT and meaning not in REJECT_MEANINGS:
        errors["meaning"] = f"A reject means “{Meaning.NOT_APPROVED.label}”."
    if decision == Decision.REJECT and not comment:
        errors["comment"] = "Say why you reject it: a reject needs a comment."
    elif len(comment) > 2_000:
        errors["comment"] = "Keep the comment under 2,000 characters."
    if errors:
        raise ValidationError(errors)


def _check_signer(actor, release: Release, requirement: ReleaseRequirement, decision: str):
    label = Role(requirement.role).label
    if requirement.group_id is None or not actor.groups.filter(pk=requirement.group_id).exists():
        raise PermissionDenied(
            f"Only members of “{requirement.group_name}” sign for {label}; you are not one."
        )
    if (
        decision == Decision.APPROVE
        and requirement.segregation_of_duties
        and actor.pk in selectors.conflicted_ids(release)
    ):
        why = (
            "you are its release manager"
            if actor.pk == release.manager_id
            else "you own some of its scope items"
        )
        raise PermissionDenied(
            f"You cannot approve {release.name} as {label}: {why} (segregation of duties)."
        )


@lockout.password_reentry  # outside the transaction: a wrong password is counted
@transaction.atomic
def signoff_record(
    *,
    actor,
    release: Release,
    role: str,
    decision: str,
    meaning: str,
    password: str = "",
    signing_ticket: str = "",
    comment: str = "",
    fingerprint: str = "",
) -> SignOff:
    """Sign ``release`` off (or reject it) for ``role``, re-entering the password.

    ``fingerprint``, when given, is the version the signer was shown: if the release changed
    since, the signature is refused rather than applied to something they did not read.
    """
    comment = (comment or "").strip()
    _check_input(role, decision, meaning, comment)
    # One signer at a time per release, so that "once per role" holds under concurrency.
    locked(Release, release.pk)
    release = selectors.with_approval_data(Release.objects.all()).get(pk=release.pk)
    if release.state not in selectors.AWAITING:
        raise ValidationError(
            {
                "release": f"{release.name} is not awaiting sign-off: it is "
                f"{release.get_state_display()}. Sign-offs are taken while it is Scope frozen "
                "or Testing."
            }
        )
    requirement = next((r for r in release.approval_requirements.all() if r.role == role), None)
    if requirement is None:
        raise ValidationError({"role": f"{release.name} needs no {Role(role).label} sign-off."})
    _check_signer(actor, release, requirement, decision)
    # The signature after the rules on who may sign: someone who may not sign gets 403 without
    # a password being tried (or counted towards a lockout).
    try:
        signature = signatures.verify(
            actor,
            password=password,
            signing_ticket=signing_ticket,
            used_for=f"sign-off of release {release.pk}",
        )
    except lockout.WrongPassword:
        log.warning("Sign-off refused: wrong password for %s on release %s", actor, release.pk)
        raise
    status = selectors.approval_status(release)
    if fingerprint and fingerprint != status.fingerprint:
        raise ValidationError(
            {
                "fingerprint": f"{release.name} changed since you opened it; review what "
                "changed and sign again."
            }
        )
    mine = selectors.latest_decisions(status.signoffs).get((role, actor.pk))
    if mine and mine.decision == decision and mine.fingerprint == status.fingerprint:
        verb = "approved" if decision == Decision.APPROVE else "rejected"
        when = mine.signed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise ValidationError(
            {
                "decision": f"You already {verb} this version of {release.name} as "
                f"{Role(role).label} on {when}."
            }
        )
    signoff = SignOff(
        release=release,
        role=role,
        signer=actor,
        signer_name=printed_name(actor),
        decision=decision,
        meaning=meaning,
        comment=comment,
        signed_at=timezone.now(),
        fingerprint=status.fingerprint,
        snapshot=status.snapshot,
    )
    _full_clean(signoff, exclude=["release", "signer"])
    signoff.save()
    audit.record(
        actor=actor,
        action="signoff.create",
        obj=signoff,
        after={**audit.values(signoff, SIGNOFF_VALUES), "authentication": signature.as_audit()},
    )
    return signoff


# --- The gate in front of approved (and deploying) ------------------------------------------------


def ensure_requirements(*, actor, release: Release, to_state: str) -> None:
    """Before ``approved`` or ``deploying``: a release without requirements (frozen before
    approvals existed, or before its policy named roles) takes them from its policy now, so
    that the sign-off gate (``approvals.readiness.gates``) judges it like any other."""
    if to_state in GATED and not release.approval_requirements.exists():
        requirements_snapshot(actor=actor, release=release)
