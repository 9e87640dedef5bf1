"""Who may do what with environments and bookings: one place, used by the services (and so by
the admin, the API and the pages).

Release managers (anyone with ``releases.change_release``, which superusers have implicitly)
may act for every team. Otherwise what counts is team membership: your own team's bookings, and
the environments your team owns.
"""

from __future__ import annotations

from releases.models import Team
from releases.permissions import is_team_member
from releases.permissions import require as require

from .models import Booking, Environment, WaitlistEntry


def is_release_manager(user) -> bool:
    return user.is_authenticated and user.has_perm("releases.change_release")


def is_owner(user, environment: Environment) -> bool:
    team = environment.owner_team
    return team is not None and is_team_member(user, team)


def can_book_for(user, team: Team) -> bool:
    return is_release_manager(user) or is_team_member(user, team)


def can_change_booking(user, booking: Booking) -> bool:
    """Extend, release or cancel: the booking's team, the environment's owners, managers."""
    return (
        is_release_manager(user)
        or is_team_member(user, booking.team)
        or is_owner(user, booking.environment)
    )


def can_manage_environment(user, environment: Environment) -> bool:
    """Booking rules and maintenance windows: the owning team and release managers."""
    return is_release_manager(user) or is_owner(user, environment)


def can_create_environment(user) -> bool:
    """Adding or removing an environment changes the inventory: release managers only."""
    return is_release_manager(user)


def can_report_deployment(user, environment: Environment) -> bool:
    """Any engineer: CI tokens belong to engineers, and any team may deploy to shared stages."""
    if is_release_manager(user):
        return True
    return user.is_authenticated and user.teams.exists()


def can_withdraw_waitlist(user, entry: WaitlistEntry) -> bool:
    if not user.is_authenticated:
        return False
    return (
        entry.requested_by_id == user.pk
        or is_release_manager(user)
        or is_team_member(user, entry.team)
    )
