"""Teams: create, change, set members, delete."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from relcal import audit
from relcal.db import locked

from .. import permissions as perms
from ..models import (
    Team,
)
from ._common import full_clean


@transaction.atomic
def team_create(
    *,
    actor,
    name: str,
    slug: str,
    contact: str = "",
    color: str = "",
    is_private: bool = False,
    time_zone: str = "",
) -> Team:
    perms.require(perms.can_manage_teams(actor), "Only administrators can create teams.")
    team = Team(name=name, slug=slug, contact=contact, is_private=is_private, time_zone=time_zone)
    if color:
        team.color = color
    full_clean(team)
    team.save()
    audit.record(actor=actor, action="team.create", obj=team, after=audit.values(team))
    return team


TEAM_FIELDS = ("name", "slug", "contact", "color", "is_private", "time_zone")


@transaction.atomic
def team_update(*, actor, team: Team, **changes: Any) -> Team:
    perms.require(perms.can_manage_teams(actor), "Only administrators can change teams.")
    audit_before = audit.values(locked(Team, team.pk), TEAM_FIELDS)
    for field, value in changes.items():
        if field not in TEAM_FIELDS:
            raise TypeError(f"Unknown team field: {field}")
        setattr(team, field, value)
    full_clean(team)
    team.save()
    audit.record_change(actor, "team.update", team, audit_before, TEAM_FIELDS)
    return team


@transaction.atomic
def team_set_members(*, actor, team: Team, members) -> Team:
    perms.require(perms.can_manage_teams(actor), "Only administrators can change teams.")
    team = locked(Team, team.pk)
    before = sorted(team.members.values_list("username", flat=True))
    # One event for the whole set (the membership observer would write one per add/remove).
    with audit.recorded_by_caller(Team.members.through):
        team.members.set(members)
    after = sorted(team.members.values_list("username", flat=True))
    if after != before:
        audit.record(
            actor=actor,
            action="team.members.set",
            obj=team,
            before={"members": before},
            after={"members": after},
        )
    return team


@transaction.atomic
def team_delete(*, actor, team: Team) -> None:
    perms.require(perms.can_manage_teams(actor), "Only administrators can change teams.")
    team = locked(Team, team.pk)
    if team.releases.exists():
        raise ValidationError(
            {"team": f"{team.name} still owns releases; move or delete them first."}
        )
    # Its bookings, waitlist entries, webhooks, freezes and policies go with it: rows other
    # services lock, so they are deleted before the event is recorded (relcal.db).
    audit.delete_and_record(actor=actor, action="team.delete", obj=team, before=audit.values(team))
