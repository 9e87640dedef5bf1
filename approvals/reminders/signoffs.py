"""Sign-off reminders.

- Pending: to each approver of a required role while a release awaits their sign-off, when it is
  requested (the requirements are taken as the scope freezes) and then daily. Who is still asked
  is ``selectors.pending_for``'s answer, so the reminder and the "waiting for you" list never
  disagree.
- Asked again: when a release changes after an approver signed it (their approval is stale),
  once, to them, with what changed, within a minute of the scan seeing it.
- Escalation: when the sign-off deadline (the go/no-go milestone, else an hour before go-live,
  as in the calendar feeds) is near and a required sign-off is still missing, rejected or
  stale, to the release manager and every member of the missing roles' groups.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from releases.models import Release
from reminders import registry

from .. import fingerprint, selectors
from ..calendar import deadline
from ..models import Decision, SignOff

SIGNOFF_PENDING = "signoff.pending"


SIGNOFF_ESCALATION = "signoff.escalation"


SIGNOFF_STALE = "signoff.stale"


DAY = timedelta(days=1)


FORMAT = "%a %d %b %Y %H:%M %Z"


def escalate_before() -> timedelta:
    """How long before the sign-off deadline a missing sign-off is escalated (hours)."""
    return timedelta(hours=getattr(settings, "RELCAL_SIGNOFF_ESCALATION_HOURS", 24))


def _latest_due(requested: datetime, now: datetime) -> datetime:
    """The newest of requested, requested + 1 day, + 2 days… that is not after ``now``."""
    return requested + DAY * ((now - requested) // DAY)


def _awaiting():
    # Unordered: SQLite, lacking row statistics per state, would otherwise read every release
    # in go-live order instead of the few awaiting ones through the state index.
    return (
        selectors.awaiting_releases()
        .order_by()
        .prefetch_related("approval_requirements__group__user_set", "milestones")
    )


def pending_signoffs(now: datetime, since: datetime) -> Iterator[registry.Reminder]:
    # Releases awaiting sign-off are few at any time; their data comes in a fixed number of
    # queries, the approvers of their groups in one more.
    releases = list(_awaiting())
    approvers: dict[int, object] = {}
    groups_of: dict[int, set[int]] = {}
    for release in releases:
        for requirement in release.approval_requirements.all():
            if requirement.group is None:
                continue
            for user in requirement.group.user_set.all():
                approvers.setdefault(user.pk, user)
                groups_of.setdefault(user.pk, set()).add(requirement.group_id)
    asked: dict[int, list] = {}
    for pk, user in approvers.items():
        # pending_for only compares these with the releases' requirement groups.
        user._relcal_signing_groups = groups_of[pk]
        for pending in selectors.pending_for(user, releases):
            asked.setdefault(pending.release.pk, []).append(user)
    for release in releases:
        if release.pk not in asked:
            continue
        requested = min(r.taken_at for r in release.approval_requirements.all())
        if requested > now:
            continue
        due = _latest_due(requested, now)
        if due > since:
            yield registry.Reminder(
                SIGNOFF_PENDING, release, due, registry.reachable(asked[release.pk])
            )


def _stale_approvals(release: Release) -> list[SignOff]:
    """Each signer's newest decision per required role, where it is an approval of an earlier
    version of ``release``."""
    status = selectors.approval_status(release)
    required = {role.role for role in status.roles}
    return [
        signoff
        for (role, _), signoff in selectors.latest_decisions(status.signoffs).items()
        if role in required and signoff.decision == Decision.APPROVE and signoff.stale
    ]


def stale_signoffs(now: datetime, since: datetime) -> Iterator[registry.Reminder]:
    # One reminder per stale approval (its key is the sign-off itself), due when found.
    stale = [signoff for release in _awaiting() for signoff in _stale_approvals(release)]
    signers = get_user_model().objects.in_bulk({signoff.signer_id for signoff in stale})
    for signoff in stale:
        signer = signers.get(signoff.signer_id)
        yield registry.Reminder(
            SIGNOFF_STALE, signoff, signoff.signed_at, registry.reachable([signer])
        )


def _moment(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return timezone.make_aware(datetime.combine(value, time.min))  # an all-day go/no-go


def escalations(now: datetime, since: datetime) -> Iterator[registry.Reminder]:
    before = escalate_before()
    for release in _awaiting():
        _, start, _ = deadline(release)
        due = _moment(start) - before
        if not since < due <= now:
            continue
        status = selectors.approval_status(release)
        groups = [
            role.requirement.group
            for role in status.roles
            if not role.satisfied and role.requirement.group is not None
        ]
        if status.complete:
            continue
        people = [release.manager, *(u for group in groups for u in group.user_set.all())]
        yield registry.Reminder(SIGNOFF_ESCALATION, release, due, registry.reachable(people))


def _roles(release: Release, user) -> list[str]:
    """The roles still waiting: for ``user``'s sign-off, or (``None``) for anyone's."""
    fresh = selectors.with_approval_data(Release.objects.filter(pk=release.pk))
    if user is None:
        status = selectors.approval_status(fresh.get())
        return [role.label for role in status.roles if not role.satisfied]
    return [pending.role.label for pending in selectors.pending_for(user, fresh)]


def _sign_url(release: Release) -> str:
    return reverse("admin:approvals_signoff_sign", args=[release.pk])


def _message(release: Release, delivery) -> registry.Message:
    roles = ", ".join(_roles(release, delivery.recipient) or ["sign-off"])
    whose = "your" if delivery.recipient else "a"
    return registry.Message(
        subject=f"Sign-off needed: {release.name} ({roles})",
        lines=[
            f"{release.name} ({release.team.name}, version {release.version}) awaits {whose} "
            f"sign-off as {roles}.",
            f"Go-live: {timezone.localtime(release.go_live).strftime(FORMAT)}.",
        ],
        link=_sign_url(release),
        action="Review and sign off",
    )


def _still_due(release: Release, delivery) -> bool:
    return bool(_roles(release, delivery.recipient))


def _escalation_message(release: Release, delivery) -> registry.Message:
    release = selectors.with_approval_data(Release.objects.filter(pk=release.pk)).get()
    status = selectors.approval_status(release)
    gate, start, _ = deadline(release)
    when = (
        timezone.localtime(start).strftime(FORMAT)
        if isinstance(start, datetime)
        else start.strftime("%a %d %b %Y")
    )
    what = "the go/no-go" if gate is not None else "go-live"
    return registry.Message(
        subject=f"Sign-offs still missing for {release.name} before {what} on {when}",
        lines=[
            f"{release.name} ({release.team.name}, version {release.version}) cannot be "
            f"approved yet:",
            *status.problems(),
            f"Go-live: {timezone.localtime(release.go_live).strftime(FORMAT)}.",
        ],
        link=_sign_url(release),
        action="Review and sign off",
    )


def _escalation_still_due(release: Release, delivery) -> bool:
    if not _roles(release, None):
        return False  # signed off in the meantime
    _, start, _ = deadline(Release.objects.prefetch_related("milestones").get(pk=release.pk))
    return _moment(start) - escalate_before() == delivery.due  # moved: it has its own


def _stale_message(signoff: SignOff, delivery) -> registry.Message:
    release = selectors.with_approval_data(Release.objects.filter(pk=signoff.release_id)).get()
    snapshot, _ = fingerprint.current(release)
    names = selectors.dependency_names(signoff.signer, release)
    changes = fingerprint.diff(signoff.snapshot, snapshot, names=names)
    shown = changes[:8] + ([f"… and {len(changes) - 8} more changes."] if len(changes) > 8 else [])
    return registry.Message(
        subject=f"Sign again: {release.name} changed since your {signoff.get_role_display()} "
        f"approval",
        lines=[
            f"You approved {release.name} ({release.team.name}) as "
            f"{signoff.get_role_display()} on "
            f"{timezone.localtime(signoff.signed_at).strftime(FORMAT)}. It has changed since, "
            f"so that approval no longer counts:",
            *shown,
        ],
        link=_sign_url(release),
        action="Review the changes and sign again",
    )


def _stale_still_due(signoff: SignOff, delivery) -> bool:
    release = selectors.with_approval_data(Release.objects.filter(pk=signoff.release_id))
    release = release.filter(state__in=selectors.AWAITING).first()
    return release is not None and signoff.pk in {s.pk for s in _stale_approvals(release)}


def team_ids(release: Release) -> list[int]:
    return [release.team_id]


registry.register(
    SIGNOFF_PENDING,
    label="A release awaits my sign-off",
    model=Release,
    rule=pending_signoffs,
    message=_message,
    still_due=_still_due,
    teams=team_ids,
)
registry.register(
    SIGNOFF_STALE,
    label="A release I approved changed: sign again",
    model=SignOff,
    rule=stale_signoffs,
    message=_stale_message,
    still_due=_stale_still_due,
    due_when_found=True,  # personal: no team webhook hears it
)
registry.register(
    SIGNOFF_ESCALATION,
    label="Sign-offs are still missing close to the go/no-go",
    model=Release,
    rule=escalations,
    message=_escalation_message,
    still_due=_escalation_still_due,
    teams=team_ids,
)
