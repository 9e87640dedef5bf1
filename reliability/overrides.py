"""The SRE override: someone in the "SRE" group (``reliability.override_error_budget``;
superusers too) lets one release pass a failing error-budget gate, with a written reason and
their password again. An electronic signature like a waiver: the printed name and time are
kept, and the audit trail records it under the release ("budget_override.create").

The override does not lapse: it is for that release, whatever its builds. The gate then reads
WAIVED, "overridden by <name> on <time>: <reason>" (``reliability.readiness.overrides``).
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import signatures
from approvals.services import printed_name
from relcal import audit, lockout
from relcal.db import locked
from relcal.errors import Conflict
from releases import gates
from releases.models import Release, ReleaseState

from .models import BudgetOverride
from .readiness import GATE

log = logging.getLogger(__name__)

PERMISSION = "reliability.override_error_budget"
MAX_REASON = 2_000


def can_override(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_perm(PERMISSION)


@lockout.password_reentry  # outside the transaction: a wrong password is counted
@transaction.atomic
def budget_override(
    *, actor, release: Release, reason: str, password: str = "", signing_ticket: str = ""
) -> BudgetOverride:
    """Let ``release`` pass its failing error-budget gate: an SRE's signature (the password
    again, a reason), audited with the printed name and time."""
    if not can_override(actor):
        raise PermissionDenied("Only SREs override the error-budget gate.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": "Say why the release may ship anyway: an override needs a reason."}
        )
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": "Keep the reason under 2,000 characters."})
    try:
        signature = signatures.verify(
            actor,
            password=password,
            signing_ticket=signing_ticket,
            used_for=f"error-budget override of release {release.pk}",
        )
    except lockout.WrongPassword:
        log.warning(
            "Budget override refused: wrong password for %s on release %s", actor, release.pk
        )
        raise
    # The lock release_transition takes: an override and a transition never interleave.
    release = locked(Release.objects.select_related("team"), release.pk)
    if release.state not in gates.UPCOMING:
        state = ReleaseState(release.state).label.lower()
        raise Conflict(f"{release.name} is {state}: there is no gate left to override.")
    row = gates.readiness(release, user=actor).row(GATE)
    if row is None or row.result.state != gates.GateState.FAIL:
        state = row.state.label.lower() if row is not None else "not evaluated"
        raise ValidationError(
            {
                "release": f"The error-budget gate of {release.name} is {state}: only a "
                "failing gate is overridden."
            }
        )
    if row.waiver:
        raise Conflict(f"The error-budget gate of {release.name} was {row.waiver}.")
    override = BudgetOverride.objects.create(
        release=release,
        reason=reason,
        signer=actor,
        signer_name=printed_name(actor),
        signed_at=timezone.now(),
    )
    audit.record(
        actor=actor,
        action="budget_override.create",
        obj=override,
        after={
            "gate": GATE,
            "reason": reason,
            "signer": override.signer_name,
            "signed_at": override.signed_at,
            "failing": row.result.reason,
            "authentication": signature.as_audit(),
        },
    )
    return override
