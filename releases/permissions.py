"""Who may do what with releases: one place, used by services (and so by admin, API, pages).

Roles are Django groups created by a data migration (``releases.roles``); what a role may do is
the set of model permissions the migration grants it, so an operator can adjust it in the admin.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from .models import Release, Team


def is_team_member(user, team: Team) -> bool:
    if not user.is_authenticated:
        return False
    return team.members.filter(pk=user.pk).exists()


def can_plan_release(user, team: Team | None = None) -> bool:
    return user.is_authenticated and user.has_perm("releases.add_release")


def can_edit_release(user, release: Release) -> bool:
    if not user.is_authenticated:
        return False
    return user.has_perm("releases.change_release") or release.manager_id == user.pk


def can_move_release_to(user, team: Team) -> bool:
    """Moving a release into ``team`` (possibly private) needs that team's membership or the
    release managers' permission: editing the release is not enough."""
    if not user.is_authenticated:
        return False
    return user.has_perm("releases.change_release") or is_team_member(user, team)


def can_delete_release(user, release: Release) -> bool:
    return user.is_authenticated and user.has_perm("releases.delete_release")


def can_transition_release(user, release: Release) -> bool:
    if not user.is_authenticated:
        return False
    return user.has_perm("releases.transition_release") or release.manager_id == user.pk


def can_record_rehearsal(user, release: Release) -> bool:
    """A rollback rehearsal is a fact a pipeline reports (a rollback deployment outside
    production): release managers, the release's manager and engineers of any team, as for
    reporting deployments. Callers check that the user may see the release."""
    if not user.is_authenticated:
        return False
    return (
        user.has_perm("releases.change_release")
        or release.manager_id == user.pk
        or user.teams.exists()
    )


def can_edit_scope(user, release: Release) -> bool:
    """Release managers, and the owning team's engineers, who know the tickets best."""
    return can_edit_release(user, release) or is_team_member(user, release.team)


def can_override_freeze(user) -> bool:
    return user.is_authenticated and user.has_perm("releases.override_freeze")


def can_manage_freezes(user) -> bool:
    return user.is_authenticated and user.has_perm("releases.add_freezewindow")


def can_manage_teams(user) -> bool:
    return user.is_authenticated and user.has_perm("releases.change_team")


def require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)
