"""Gate policies: which readiness gates a team's releases must pass before they deploy (the
checks CI must report passed, the environment booked, how recently the rollback was rehearsed).

Changed by holders of the ``releases.*_gatepolicy`` permissions (Release managers, from
migration 0008, and superusers), each change audited like the approval policies'. The default
policy covers every team without one of its own and cannot be deleted.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from relcal import audit
from relcal.db import locked

from ..models import GatePolicy, Team, validate_check_name
from ._common import full_clean

GATE_POLICY_FIELDS = (
    "name",
    "team",
    "is_default",
    "required_checks",
    "require_booking",
    "booking_environment",
    "rollback_rehearsal_days",
    "description",
)

MAX_REQUIRED_CHECKS = 30


def _require(actor, action: str) -> None:
    if not (actor.is_authenticated and actor.has_perm(f"releases.{action}_gatepolicy")):
        verb = {"add": "create", "change": "change", "delete": "delete"}[action]
        raise PermissionDenied(f"You may not {verb} gate policies.")


def validate_required_checks(value: Any) -> None:
    """A list of at most ``MAX_REQUIRED_CHECKS`` distinct check names; the error names the
    first offending entry."""
    if not isinstance(value, list):
        raise ValidationError({"required_checks": "Give a list of check names."})
    if len(value) > MAX_REQUIRED_CHECKS:
        raise ValidationError(
            {
                "required_checks": f"Require at most {MAX_REQUIRED_CHECKS} checks "
                f"({len(value)} given)."
            }
        )
    seen = set()
    for name in value:
        if not isinstance(name, str):
            raise ValidationError({"required_checks": "Give each check name as text."})
        try:
            validate_check_name(name)
        except ValidationError as error:
            raise ValidationError(
                {"required_checks": f"“{name[:100]}” is not a check name. {error.messages[0]}"}
            ) from error
        if name in seen:
            raise ValidationError({"required_checks": f"“{name}” is listed twice."})
        seen.add(name)


def _validate(policy: GatePolicy) -> None:
    validate_required_checks(policy.required_checks)
    if policy.team_id is not None:
        other = GatePolicy.objects.filter(team_id=policy.team_id).exclude(pk=policy.pk).first()
        if other is not None:
            raise ValidationError(
                {
                    "team": f"{policy.team.name} has a gate policy already (“{other.name}”); "
                    "a team has at most one: change that one."
                }
            )
    if policy.is_default:
        other = GatePolicy.objects.filter(is_default=True).exclude(pk=policy.pk).first()
        if other is not None:
            raise ValidationError(
                {"is_default": f"“{other.name}” is the default gate policy already."}
            )
    full_clean(policy)


@transaction.atomic
def gate_policy_create(
    *,
    actor,
    name: str,
    team: Team | None = None,
    is_default: bool = False,
    required_checks: list[str] | None = None,
    require_booking: bool = False,
    booking_environment: str = "prod",
    rollback_rehearsal_days: int | None = None,
    description: str = "",
) -> GatePolicy:
    _require(actor, "add")
    policy = GatePolicy(
        name=name,
        team=team,
        is_default=is_default,
        required_checks=[] if required_checks is None else required_checks,
        require_booking=require_booking,
        booking_environment=booking_environment,
        rollback_rehearsal_days=rollback_rehearsal_days,
        description=description,
    )
    _validate(policy)
    policy.save()
    audit.record(
        actor=actor,
        action="gate_policy.create",
        obj=policy,
        after=audit.values(policy, GATE_POLICY_FIELDS),
    )
    return policy


@transaction.atomic
def gate_policy_update(*, actor, policy: GatePolicy, **changes: Any) -> GatePolicy:
    _require(actor, "change")
    stored = locked(GatePolicy, policy.pk)
    before = audit.values(stored, GATE_POLICY_FIELDS)
    for name, value in changes.items():
        if name not in GATE_POLICY_FIELDS:
            raise TypeError(f"Unknown gate policy field: {name}")
        setattr(policy, name, value)
    _validate(policy)
    was, now = audit.changes(before, audit.values(policy, GATE_POLICY_FIELDS))
    if not now:
        return policy
    policy.save()
    audit.record(actor=actor, action="gate_policy.update", obj=policy, before=was, after=now)
    return policy


@transaction.atomic
def gate_policy_delete(*, actor, policy: GatePolicy) -> None:
    _require(actor, "delete")
    stored = locked(GatePolicy, policy.pk)
    if stored.is_default:
        raise ValidationError(
            {
                "is_default": f"“{stored.name}” is the default gate policy, which covers every "
                "team without one of its own: it cannot be deleted. Untick “default” on it "
                "(and make another policy the default) first."
            }
        )
    audit.record(
        actor=actor,
        action="gate_policy.delete",
        obj=stored,
        before=audit.values(stored, GATE_POLICY_FIELDS),
    )
    policy.delete()
