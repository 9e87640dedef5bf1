"""For tests elsewhere that walk a release past the sign-off gate: ``approve(release)`` signs it
off for every role it needs, as approvers made for the purpose.

    from tests.approvals.helpers import approve
    ...
    if target == "approved":
        approve(release)
"""

from __future__ import annotations

from django.contrib.auth.models import User

from approvals import selectors
from approvals import services as approvals
from approvals.models import DEFAULT_MEANING, Decision, Meaning, Role
from releases.models import Release
from tests.conftest import PASSWORD


def approver(role: str, number: int, group) -> User:
    user, created = User.objects.get_or_create(
        username=f"signer-{role}-{number}",
        defaults={"first_name": Role(role).label, "last_name": f"Signer {number}"},
    )
    if created:
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    user.groups.add(group)
    return user


def approve(release: Release) -> None:
    """Every required sign-off, present, approving and fresh (requirements are taken first if
    the release has none yet). A release not awaiting sign-off is left alone, so that a test of
    a refused transition still meets the refusal it expects."""
    release = selectors.with_approval_data(Release.objects.all()).get(pk=release.pk)
    if release.state not in selectors.AWAITING:
        return
    if not release.approval_requirements.all():
        approvals.requirements_snapshot(actor=None, release=release)
        release = selectors.with_approval_data(Release.objects.all()).get(pk=release.pk)
    for requirement in release.approval_requirements.all():
        for number in range(requirement.count):
            user = approver(requirement.role, number, requirement.group)
            approvals.signoff_record(
                actor=user,
                release=release,
                role=requirement.role,
                decision=Decision.APPROVE,
                meaning=DEFAULT_MEANING.get(requirement.role, Meaning.APPROVED_FOR_RELEASE),
                password=PASSWORD,
            )
