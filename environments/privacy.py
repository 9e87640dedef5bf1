"""What a private team's bookings show to people outside the team.

Environments are shared, so that a slot is taken stays visible to everyone (else nobody could
plan around it): the times, the state and the environment. Who holds it, why, for which release
and who booked it are the team's business: to readers who may not see the team (see
``releases.selectors.visible_team_q``), the team reads "A private team", the purpose "Booked",
and the release and the booker are left out. Members, release managers, auditors and
superusers see everything.

``conceal`` rewrites the rows a page, an API answer or a feed is about to show; it costs one
query per request (cached on the user), whatever the number of rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from releases.models import Team
from releases.selectors import sees_every_team

PRIVATE_TEAM_NAME = "A private team"
PRIVATE_TEAM_SLUG = "private"
PRIVATE_TEAM_COLOR = "#868e96"
PRIVATE_PURPOSE = "Booked"

Row = TypeVar("Row")


def hidden_team_ids(user) -> frozenset[int]:
    """The private teams ``user`` may not see, cached on the user for the request."""
    if sees_every_team(user):
        return frozenset()
    cached = getattr(user, "_relcal_hidden_team_ids", None)
    if cached is None:
        teams = Team.objects.filter(is_private=True)
        if getattr(user, "is_authenticated", False):
            teams = teams.exclude(pk__in=Team.objects.filter(members=user).values("pk"))
        cached = frozenset(teams.values_list("pk", flat=True))
        if getattr(user, "is_authenticated", False):
            user._relcal_hidden_team_ids = cached
    return cached


def placeholder_team() -> Team:
    """An unsaved stand-in: a row holding it cannot be saved by mistake (Django refuses a
    foreign key to an unsaved object)."""
    return Team(name=PRIVATE_TEAM_NAME, slug=PRIVATE_TEAM_SLUG, color=PRIVATE_TEAM_COLOR)


def is_concealed(row) -> bool:
    return getattr(row, "concealed", False)


def conceal(user, rows: Iterable[Row]) -> list[Row]:
    """``rows`` (bookings or waitlist entries, in memory) with what ``user`` may not see of a
    private team's replaced; each concealed row gets ``concealed = True``."""
    rows = list(rows)
    hidden = hidden_team_ids(user) if rows else frozenset()
    if not hidden:
        return rows
    stand_in = placeholder_team()
    for row in rows:
        if row.team_id not in hidden:
            continue
        row.team = stand_in
        row.purpose = PRIVATE_PURPOSE
        row.release = None
        row.release_visible = False
        if hasattr(row, "booked_by_id"):
            row.booked_by = None
        if hasattr(row, "requested_by_id"):
            row.requested_by = None
        row.concealed = True
    return rows
