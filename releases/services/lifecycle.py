"""Releases: plan, change, delete, and move through the lifecycle (``TRANSITIONS``), with the
freeze and milestone rules that guard the go-live."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from relcal import audit
from relcal.db import locked
from relcal.times import fmt, fmt_in_zone, require_aware

from .. import gates, signals
from .. import permissions as perms
from ..models import (
    Release,
    ReleaseTransition,
    Team,
)
from ..selectors import visible_release_q
from ._common import S, full_clean, milestone_after_go_live, snapshot, state_label
from .freezes import freeze_windows_hit

# state -> states it may move to next. Order matters: it is the order shown to users.
TRANSITIONS: dict[str, list[str]] = {
    S.DRAFT: [S.PLANNED, S.CANCELLED],
    S.PLANNED: [S.SCOPE_FROZEN, S.DRAFT, S.CANCELLED],
    S.SCOPE_FROZEN: [S.TESTING, S.PLANNED, S.CANCELLED],
    S.TESTING: [S.APPROVED, S.SCOPE_FROZEN, S.PLANNED, S.CANCELLED],
    S.APPROVED: [S.DEPLOYING, S.TESTING, S.PLANNED, S.CANCELLED],
    S.DEPLOYING: [S.RELEASED, S.ROLLED_BACK],
    S.RELEASED: [S.ROLLED_BACK],
    S.ROLLED_BACK: [S.PLANNED, S.CANCELLED],
    S.CANCELLED: [],
}


_FORWARD_ORDER = [S.DRAFT, S.PLANNED, S.SCOPE_FROZEN, S.TESTING, S.APPROVED, S.DEPLOYING]


def transition_needs_reason(from_state: str, to_state: str) -> bool:
    """Going back (which reopens scope or testing), rolling back and cancelling need a reason."""
    if to_state in (S.ROLLED_BACK, S.CANCELLED):
        return True
    if from_state in _FORWARD_ORDER and to_state in _FORWARD_ORDER:
        return _FORWARD_ORDER.index(to_state) < _FORWARD_ORDER.index(from_state)
    return False


RELEASE_FIELDS = (
    "name",
    "version",
    "team",
    "description",
    "manager",
    "go_live",
    "window_end",
    "strategy",
    "rollback_plan",
    "rollback_rehearsed_on",
    "freeze_override_reason",
)


# The stored values of those fields (ids for relations: comparing them costs no query).
_RELEASE_STORED = tuple(f"{f}_id" if f in ("team", "manager") else f for f in RELEASE_FIELDS)


# What a calendar subscriber sees of a release (its feed events' summary, times and status).
RELEASE_FEED_FIELDS = ("name", "version", "team_id", "go_live", "window_end", "state")


def _check_freeze(actor, release: Release) -> None:
    start, end = release.window
    hits = freeze_windows_hit(release.team, start, end)
    if not hits:
        release.freeze_override_reason = ""
        return
    freeze = hits[0]
    # A team that plans in its own zone reads its freeze in it too ("until 00:00 Pacific").
    team_zone = fmt_in_zone(freeze.end, freeze.team.time_zone) if freeze.team else ""
    where = (
        f"The go-live {fmt(release.go_live)} falls in the freeze window "
        f"“{freeze.name}” ({fmt(freeze.start)} – {fmt(freeze.end)}"
        f"{f', until {team_zone}' if team_zone else ''}, {freeze.scope_label})."
    )
    if not perms.can_override_freeze(actor):
        raise ValidationError({"go_live": f"{where} Pick a time outside it."})
    if not release.freeze_override_reason.strip():
        raise ValidationError(
            {"freeze_override_reason": f"{where} Give a reason to override the freeze."}
        )


def _check_milestones_before_go_live(release: Release) -> None:
    if release.pk is None:
        return
    for milestone in release.milestones.all():
        if milestone_after_go_live(milestone, release.go_live):
            raise ValidationError(
                {
                    "go_live": f"The milestone “{milestone.label}” "
                    f"({fmt(milestone.at or milestone.date)}) would fall after the go-live. "
                    "Move the milestone first."
                }
            )


def _validate_release(actor, release: Release, *, timing_changed: bool = True) -> None:
    require_aware(go_live=release.go_live, window_end=release.window_end)
    if release.window_end and release.go_live and release.window_end <= release.go_live:
        raise ValidationError({"window_end": "The deployment window must end after the go-live."})
    full_clean(release)
    _check_milestones_before_go_live(release)
    if timing_changed:
        # Only a new or moved window meets the freeze rules: editing the description of a
        # release that was let into a freeze (with a reason) must not need the override again.
        _check_freeze(actor, release)


@transaction.atomic
def release_create(*, actor, team: Team, name: str, version: str, go_live: datetime, **fields):
    perms.require(perms.can_plan_release(actor, team), "Only release managers can plan releases.")
    unknown = set(fields) - set(RELEASE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown release fields: {', '.join(sorted(unknown))}")
    release = Release(team=team, name=name, version=version, go_live=go_live, **fields)
    if release.manager_id is None and "manager" not in fields:
        release.manager = actor
    _validate_release(actor, release)
    release.save()
    release.transitions.create(
        from_state=S.DRAFT, to_state=release.state, actor=actor, reason="Created"
    )
    audit.record(
        actor=actor,
        action="release.create",
        obj=release,
        after=audit.values(release, (*RELEASE_FIELDS, "state")),
    )
    return release


@transaction.atomic
def release_update(*, actor, release: Release, **changes: Any) -> Release:
    release = locked(Release, release.pk)
    perms.require(
        perms.can_edit_release(actor, release),
        "Only release managers and this release's manager can change it.",
    )
    unknown = set(changes) - set(RELEASE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown release fields: {', '.join(sorted(unknown))}")
    target = changes.get("team")
    if target is not None and target.pk != release.team_id:
        perms.require(
            perms.can_move_release_to(actor, target),
            "Only release managers and members of the target team can move a release into it.",
        )
    audit_before = audit.values(release, RELEASE_FIELDS)
    before = (release.go_live, release.window_end, release.team_id)
    stored = snapshot(release, _RELEASE_STORED)
    seen = snapshot(release, RELEASE_FEED_FIELDS)
    for field, value in changes.items():
        setattr(release, field, value)
    timing_changed = before != (release.go_live, release.window_end, release.team_id)
    _validate_release(actor, release, timing_changed=timing_changed)
    if snapshot(release, _RELEASE_STORED) == stored:
        # A save that changes nothing must not look like a change to calendars (updated_at
        # feeds LAST-MODIFIED and the feed's ETag).
        return release
    if snapshot(release, RELEASE_FEED_FIELDS) != seen:
        release.sequence += 1
    release.save()
    audit.record_change(actor, "release.update", release, audit_before, RELEASE_FIELDS)
    return release


@transaction.atomic
def release_delete(*, actor, release: Release) -> None:
    release = locked(Release, release.pk)
    perms.require(
        perms.can_delete_release(actor, release), "Only release managers can delete releases."
    )
    if release.state not in (S.DRAFT, S.CANCELLED):
        raise ValidationError(
            {"state": "Only draft or cancelled releases can be deleted; cancel it first."}
        )
    try:
        # Its milestones, scope items, … go with it, and bookings, deployments and incidents
        # forget it: those rows are locked before the audit chain (relcal.db).
        audit.delete_and_record(
            actor=actor, action="release.delete", obj=release, before=audit.values(release)
        )
    except ProtectedError as error:
        kept = sorted({str(obj._meta.verbose_name_plural) for obj in error.protected_objects})
        raise ValidationError(
            {
                "state": f"{release.name} cannot be deleted: its {', '.join(kept)} are kept as "
                "evidence. Leave it cancelled."
            }
        ) from error


def allowed_transitions(release: Release) -> list[str]:
    return list(TRANSITIONS[release.state])


@transaction.atomic
def release_transition(
    *, actor, release: Release, to_state: str, reason: str = ""
) -> ReleaseTransition:
    release = locked(Release, release.pk)
    perms.require(
        perms.can_transition_release(actor, release),
        "Only release managers and this release's manager can move it through its lifecycle.",
    )
    if to_state not in S.values:
        raise ValidationError({"to_state": f"Unknown state “{to_state}”."})
    allowed = TRANSITIONS[release.state]
    if to_state not in allowed:
        names = ", ".join(state_label(s) for s in allowed) or "none (it is final)"
        raise ValidationError(
            {
                "to_state": f"A release in state {state_label(release.state)} cannot move to "
                f"{state_label(to_state)}. Allowed next states: {names}."
            }
        )
    reason = reason.strip()
    if transition_needs_reason(release.state, to_state) and not reason:
        raise ValidationError(
            {
                "reason": f"Moving from {state_label(release.state)} to "
                f"{state_label(to_state)} needs a reason."
            }
        )
    step = ReleaseTransition(
        release=release, from_state=release.state, to_state=to_state, actor=actor, reason=reason
    )
    full_clean(step, exclude=["release", "actor"])
    # Other apps may refuse the step here, or prepare for the gates (approvals takes the
    # sign-off requirements of a release frozen before it had a policy).
    signals.transition_requested.send(
        sender=Release, release=release, from_state=release.state, to_state=to_state, actor=actor
    )
    # Approved needs every gate but those about the deployment; deploying needs GO.
    gates.require_for_transition(release, to_state, actor=actor)
    release.state = to_state
    release.sequence += 1  # the state is the event's STATUS and description in calendars
    release.save(update_fields=["state", "sequence", "updated_at"])
    step.save()
    audit.record(
        actor=actor,
        action="release.transition",
        obj=release,
        before={"state": step.from_state},
        after={"state": to_state, "reason": reason},
    )
    signals.transitioned.send(
        sender=Release,
        release=release,
        from_state=step.from_state,
        to_state=to_state,
        actor=actor,
        step=step,
    )
    return step


@transaction.atomic
def release_rollback_rehearsed(*, actor, release: Release, on: date, evidence: str = "") -> Release:
    """Record that the rollback of ``release`` was rehearsed on ``on`` (a day), e.g. by a
    rollback deployment outside production; ``evidence`` says which (kept in the audit event).

    The readiness gate "Rollback rehearsed" reads the date. An older rehearsal reported late
    never moves it back: the release keeps its latest rehearsal.
    """
    release = locked(Release, release.pk)
    # The same answer as for a release that does not exist: its existence is private.
    if not Release.objects.filter(visible_release_q(actor), pk=release.pk).exists():
        raise ValidationError({"release": f'Invalid pk "{release.pk}" - object does not exist.'})
    perms.require(
        perms.can_record_rehearsal(actor, release),
        "Only release managers, this release's manager and team members can report a "
        "rollback rehearsal.",
    )
    if not isinstance(on, date) or isinstance(on, datetime):
        raise ValidationError({"on": "Give the day of the rehearsal."})
    if on > timezone.localdate():
        raise ValidationError({"on": f"The rehearsal day {on} is in the future."})
    before = release.rollback_rehearsed_on
    if before is not None and before >= on:
        return release
    release.rollback_rehearsed_on = on
    release.save(update_fields=["rollback_rehearsed_on", "updated_at"])
    audit.record(
        actor=actor,
        action="release.rollback_rehearsed",
        obj=release,
        before={"rollback_rehearsed_on": audit.jsonable(before)},
        after={"rollback_rehearsed_on": on.isoformat(), "evidence": evidence[:500]},
    )
    return release
