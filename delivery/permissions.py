"""Who may do what with incidents and incident sources: one place, used by the services (and so
by the admin, the API and the webhooks) and by the selectors that decide what a reader sees.

- Open, change and resolve an incident: members of the team of a service it names, release
  managers (``releases.change_release``, which superusers have) and the SRE group (who run
  every team's on-call).
- Name its cause (a production deployment or a release): members of the cause's team (the
  release's; for a deployment without a release, the environment's owner team), release
  managers and SRE. Naming another team's change as the cause marks that team's change as
  failed, so the team (or someone above every team) decides.
- Delete an incident: release managers (an incident is a fact of the record; a wrong one is
  corrected, not removed, by everyone else).
- Incident sources and their signing secrets: release managers and SRE.
- Reading: an incident is visible to whoever may see every service it names (a private team's
  service only to its members, release managers, auditors, superusers and SRE); the release
  it names as the cause follows the releases' own visibility (``delivery.selectors``).
"""

from __future__ import annotations

from collections.abc import Iterable

from environments.models import Deployment
from releases.models import Release, Team
from releases.permissions import require as require
from reliability.models import Service
from reliability.permissions import is_release_manager, is_sre


def _authenticated(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def oversees_incidents(user) -> bool:
    """Release managers and SRE act on every team's incidents."""
    return _authenticated(user) and (is_release_manager(user) or is_sre(user))


def _member_of_any(user, team_ids: Iterable[int]) -> bool:
    ids = {pk for pk in team_ids if pk is not None}
    return bool(ids) and user.teams.filter(pk__in=ids).exists()


def can_report_incident(user, services: Iterable[Service]) -> bool:
    """Open an incident on ``services``: a member of one of their teams, release managers, SRE."""
    if not _authenticated(user):
        return False
    return oversees_incidents(user) or _member_of_any(user, (s.team_id for s in services))


def can_report_some_incident(user) -> bool:
    """Whether ``user`` may open an incident on at least one service (admin menus)."""
    if not _authenticated(user):
        return False
    return oversees_incidents(user) or user.teams.exists()


def can_change_incident(user, services: Iterable[Service]) -> bool:
    """Change or resolve an incident naming ``services`` (its services as stored)."""
    return can_report_incident(user, services)


def cause_team(*, deployment: Deployment | None = None, release: Release | None = None):
    """The team whose change a cause is: the release's, else the deployment's release's, else
    the deployment's environment's owner team (None: no team)."""
    if release is not None:
        return release.team
    if deployment is None:
        return None
    if deployment.release_id is not None:
        return deployment.release.team
    return deployment.environment.owner_team


def can_name_cause(
    user, *, deployment: Deployment | None = None, release: Release | None = None
) -> bool:
    """Name ``deployment`` or ``release`` as what caused an incident."""
    if not _authenticated(user):
        return False
    if oversees_incidents(user):
        return True
    teams: list[Team | None] = []
    if release is not None:
        teams.append(release.team)
    if deployment is not None:
        teams.append(cause_team(deployment=deployment))
    return all(team is not None and _member_of_any(user, [team.pk]) for team in teams)


def can_delete_incident(user) -> bool:
    return _authenticated(user) and is_release_manager(user)


def can_manage_sources(user) -> bool:
    """Add, change and remove incident sources (and so set their signing secrets)."""
    return oversees_incidents(user)
