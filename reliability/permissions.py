"""Who may do what with services, SLOs and measurements: one place, used by the services (and
so by the admin, the API and the pages) and by the selectors that decide what a reader sees.

- Services and SLOs of a team: its members, release managers (``releases.change_release``,
  which superusers have) and the SRE group, for any team.
- Pushed measurements: the same people; CI and monitoring tokens belong to engineers.
- Error-budget policies: release managers and SRE only (a team does not relax its own policy).
- The services a release touches: whoever may edit the release's scope (its team, its manager,
  release managers).
- Reading: like releases. A public team's services are visible to everyone signed in; a private
  team's only to its members, release managers, auditors, superusers and SRE (who run every
  team's SLOs).
"""

from __future__ import annotations

from releases.models import Release, Team
from releases.permissions import can_edit_scope, is_team_member
from releases.permissions import require as require
from releases.selectors import sees_every_team

# The group created by reliability/migrations/0002_sre_role.py.
SRE = "SRE"


def is_release_manager(user) -> bool:
    return user.is_authenticated and user.has_perm("releases.change_release")


def is_sre(user) -> bool:
    """Whether ``user`` is in the SRE group (cached on the user object, like the release
    selectors' ``sees_every_team``: a page asks several times)."""
    if not getattr(user, "is_authenticated", False):
        return False
    cached = getattr(user, "_relcal_is_sre", None)
    if cached is None:
        cached = user.groups.filter(name=SRE).exists()
        user._relcal_is_sre = cached
    return cached


def sees_every_service(user) -> bool:
    """Private teams' services too: those who see every team's releases, and SRE."""
    return sees_every_team(user) or is_sre(user)


def can_manage_services(user, team: Team) -> bool:
    """Create, change or delete the services and SLOs of ``team``."""
    if not getattr(user, "is_authenticated", False):
        return False
    return is_release_manager(user) or is_sre(user) or is_team_member(user, team)


def can_manage_some_services(user) -> bool:
    """Whether ``user`` may manage the services of at least one team (admin menus)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return is_release_manager(user) or is_sre(user) or user.teams.exists()


def can_push_measurements(user, team: Team) -> bool:
    """Push good/total counts for an SLO of ``team``'s service."""
    return can_manage_services(user, team)


def can_manage_budget_policies(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return is_release_manager(user) or is_sre(user)


def can_set_release_services(user, release: Release) -> bool:
    return can_edit_scope(user, release)
