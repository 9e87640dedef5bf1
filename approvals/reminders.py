"""Sign-off reminders: to each approver of a required role while a release awaits their
sign-off, when it is requested (the requirements are taken as the scope freezes) and then
daily. Who is still asked is ``selectors.pending_for``'s answer, so the reminder and the
"waiting for you" list never disagree. Delivery is ``relcal.notify``'s business."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model

from relcal import notify
from releases.models import Release

from . import selectors

SIGNOFF_PENDING = "signoff.pending"
DAY = timedelta(days=1)


def _latest_due(requested: datetime, now: datetime) -> datetime:
    """The newest of requested, requested + 1 day, + 2 days… that is not after ``now``."""
    return requested + DAY * ((now - requested) // DAY)


def pending_signoffs(now: datetime, since: datetime) -> Iterator[notify.Reminder]:
    # Releases awaiting sign-off are few at any time; their data comes in a fixed number of
    # queries, and the approvers of their groups in one more.
    releases = list(
        selectors.awaiting_releases().prefetch_related("approval_requirements__group__user_set")
    )
    approvers: dict[int, object] = {}
    groups_of: dict[int, set[int]] = {}
    for release in releases:
        for requirement in release.approval_requirements.all():
            if requirement.group is None:
                continue
            for user in requirement.group.user_set.all():
                approvers.setdefault(user.pk, user)
                groups_of.setdefault(user.pk, set()).add(requirement.group_id)
    for pk, user in approvers.items():
        if not user.is_active or not user.email:
            continue
        # pending_for only compares these with the releases' requirement groups.
        user._relcal_signing_groups = groups_of[pk]
        asked = {
            pending.release.pk: pending.release for pending in selectors.pending_for(user, releases)
        }
        for release in asked.values():
            requested = min(r.taken_at for r in release.approval_requirements.all())
            if requested > now:
                continue
            due = _latest_due(requested, now)
            if due > since:
                yield notify.Reminder(SIGNOFF_PENDING, release, user, due)


def _pending_roles(release: Release, user) -> list[str]:
    fresh = selectors.with_approval_data(Release.objects.filter(pk=release.pk))
    return [pending.role.label for pending in selectors.pending_for(user, fresh)]


def _message(release: Release, delivery) -> notify.Message:
    roles = _pending_roles(release, delivery.recipient) or ["sign-off"]
    return notify.Message(
        subject=f"Sign-off needed: {release.name} ({', '.join(roles)})",
        lines=[
            f"{release.name} ({release.team.name}, version {release.version}) awaits your "
            f"sign-off as {', '.join(roles)}.",
            f"Go-live: {release.go_live:%a %d %b %Y %H:%M} UTC.",
        ],
        link=release.get_absolute_url(),
        action="Review and sign off",
    )


def _still_due(release: Release, delivery) -> bool:
    user = get_user_model().objects.get(pk=delivery.recipient_id)
    return bool(_pending_roles(release, user))


notify.register(
    SIGNOFF_PENDING, model=Release, rule=pending_signoffs, message=_message, still_due=_still_due
)
