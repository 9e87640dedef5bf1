"""Every write to the release domain, as one atomic function per action.

Admin, API, pages and tasks call these; they never save release rows themselves. Each service
checks permissions, validates (raising ``ValidationError`` keyed by field name, so every caller
can point at the field), writes, and rolls back entirely on any error.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, Q
from django.utils import timezone
from django.utils.formats import date_format

from relcal import audit
from relcal.db import serialize_writers

from . import permissions as perms
from . import signals
from .models import (
    DependencyKind,
    FreezeWindow,
    Milestone,
    Release,
    ReleaseDependency,
    ReleaseState,
    ReleaseTransition,
    ScopeItem,
    Team,
)

S = ReleaseState

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


def _label(state: str) -> str:
    return S(state).label


def _fmt(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        return date_format(timezone.localtime(moment), "Y-m-d H:i T")
    return moment.isoformat()


def _require_aware(**moments: datetime | None) -> None:
    """Times must carry a zone, and stay in years where adding a window cannot overflow."""
    errors = {}
    for name, value in moments.items():
        if value is None:
            continue
        if timezone.is_naive(value):
            errors[name] = "Give a timezone-aware time (with a UTC offset)."
        elif not 1900 <= value.year <= 9000:
            errors[name] = "Give a time between the years 1900 and 9000."
    if errors:
        raise ValidationError(errors)


def _snapshot(obj, fields: tuple[str, ...]) -> tuple:
    return tuple(getattr(obj, field) for field in fields)


def _stored(obj, fields: tuple[str, ...]) -> tuple:
    """The values as stored, not as on ``obj``: callers such as admin forms hand in an instance
    that already carries the new values."""
    return tuple(type(obj).objects.filter(pk=obj.pk).values_list(*fields).get())


def _full_clean(obj, exclude: list[str] | None = None) -> None:
    # Model validation covers max lengths, choices and the model's constraints on every path,
    # including SQLite, which would otherwise store an oversized string without complaint.
    obj.full_clean(exclude=exclude, validate_unique=True, validate_constraints=True)


# One audit event for an update, with only the fields that changed (none changed: no event).
# Other apps: call relcal.audit.record_change directly.
_record_change = audit.record_change


# --- Teams --------------------------------------------------------------------------------


@transaction.atomic
def team_create(
    *,
    actor,
    name: str,
    slug: str,
    contact: str = "",
    color: str = "",
    is_private: bool = False,
) -> Team:
    perms.require(perms.can_manage_teams(actor), "Only administrators can create teams.")
    team = Team(name=name, slug=slug, contact=contact, is_private=is_private)
    if color:
        team.color = color
    _full_clean(team)
    team.save()
    audit.record(actor=actor, action="team.create", obj=team, after=audit.values(team))
    return team


TEAM_FIELDS = ("name", "slug", "contact", "color", "is_private")


@transaction.atomic
def team_update(*, actor, team: Team, **changes: Any) -> Team:
    perms.require(perms.can_manage_teams(actor), "Only administrators can change teams.")
    audit_before = audit.values(Team.objects.get(pk=team.pk), TEAM_FIELDS)
    for field, value in changes.items():
        if field not in TEAM_FIELDS:
            raise TypeError(f"Unknown team field: {field}")
        setattr(team, field, value)
    _full_clean(team)
    team.save()
    _record_change(actor, "team.update", team, audit_before, TEAM_FIELDS)
    return team


@transaction.atomic
def team_set_members(*, actor, team: Team, members) -> Team:
    perms.require(perms.can_manage_teams(actor), "Only administrators can change teams.")
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
    if team.releases.exists():
        raise ValidationError(
            {"team": f"{team.name} still owns releases; move or delete them first."}
        )
    audit.record(actor=actor, action="team.delete", obj=team, before=audit.values(team))
    team.delete()


# --- Releases -----------------------------------------------------------------------------

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


def freeze_windows_hit(team: Team, start: datetime, end: datetime) -> list[FreezeWindow]:
    """Freeze windows (for everyone or for ``team``) overlapping ``[start, end)``."""
    return list(
        FreezeWindow.objects.filter(Q(team__isnull=True) | Q(team=team))
        .filter(start__lt=end, end__gt=start)
        .select_related("team")
    )


def _check_freeze(actor, release: Release) -> None:
    start, end = release.window
    hits = freeze_windows_hit(release.team, start, end)
    if not hits:
        release.freeze_override_reason = ""
        return
    freeze = hits[0]
    where = (
        f"The go-live {_fmt(release.go_live)} falls in the freeze window "
        f"“{freeze.name}” ({_fmt(freeze.start)} – {_fmt(freeze.end)}, {freeze.scope_label})."
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
        if _milestone_after_go_live(milestone, release.go_live):
            raise ValidationError(
                {
                    "go_live": f"The milestone “{milestone.label}” "
                    f"({_fmt(milestone.at or milestone.date)}) would fall after the go-live. "
                    "Move the milestone first."
                }
            )


def _validate_release(actor, release: Release, *, timing_changed: bool = True) -> None:
    _require_aware(go_live=release.go_live, window_end=release.window_end)
    if release.window_end and release.go_live and release.window_end <= release.go_live:
        raise ValidationError({"window_end": "The deployment window must end after the go-live."})
    _full_clean(release)
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
    release = Release.objects.select_for_update().get(pk=release.pk)
    perms.require(
        perms.can_edit_release(actor, release),
        "Only release managers and this release's manager can change it.",
    )
    unknown = set(changes) - set(RELEASE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown release fields: {', '.join(sorted(unknown))}")
    audit_before = audit.values(release, RELEASE_FIELDS)
    before = (release.go_live, release.window_end, release.team_id)
    stored = _snapshot(release, _RELEASE_STORED)
    seen = _snapshot(release, RELEASE_FEED_FIELDS)
    for field, value in changes.items():
        setattr(release, field, value)
    timing_changed = before != (release.go_live, release.window_end, release.team_id)
    _validate_release(actor, release, timing_changed=timing_changed)
    if _snapshot(release, _RELEASE_STORED) == stored:
        # A save that changes nothing must not look like a change to calendars (updated_at
        # feeds LAST-MODIFIED and the feed's ETag).
        return release
    if _snapshot(release, RELEASE_FEED_FIELDS) != seen:
        release.sequence += 1
    release.save()
    _record_change(actor, "release.update", release, audit_before, RELEASE_FIELDS)
    return release


@transaction.atomic
def release_delete(*, actor, release: Release) -> None:
    perms.require(
        perms.can_delete_release(actor, release), "Only release managers can delete releases."
    )
    if release.state not in (S.DRAFT, S.CANCELLED):
        raise ValidationError(
            {"state": "Only draft or cancelled releases can be deleted; cancel it first."}
        )
    audit.record(actor=actor, action="release.delete", obj=release, before=audit.values(release))
    try:
        release.delete()
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
    release = Release.objects.select_for_update().get(pk=release.pk)
    perms.require(
        perms.can_transition_release(actor, release),
        "Only release managers and this release's manager can move it through its lifecycle.",
    )
    if to_state not in S.values:
        raise ValidationError({"to_state": f"Unknown state “{to_state}”."})
    allowed = TRANSITIONS[release.state]
    if to_state not in allowed:
        names = ", ".join(_label(s) for s in allowed) or "none (it is final)"
        raise ValidationError(
            {
                "to_state": f"A release in state {_label(release.state)} cannot move to "
                f"{_label(to_state)}. Allowed next states: {names}."
            }
        )
    reason = reason.strip()
    if transition_needs_reason(release.state, to_state) and not reason:
        raise ValidationError(
            {"reason": f"Moving from {_label(release.state)} to {_label(to_state)} needs a reason."}
        )
    step = ReleaseTransition(
        release=release, from_state=release.state, to_state=to_state, actor=actor, reason=reason
    )
    _full_clean(step, exclude=["release", "actor"])
    # Other apps may refuse the step here (approvals: the sign-off gate before approved).
    signals.transition_requested.send(
        sender=Release, release=release, from_state=release.state, to_state=to_state, actor=actor
    )
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


# --- Milestones ---------------------------------------------------------------------------

MILESTONE_FIELDS = ("kind", "title", "date", "at", "done")


def _milestone_after_go_live(milestone: Milestone, go_live: datetime) -> bool:
    if milestone.at is not None:
        return milestone.at > go_live
    # An all-day milestone is a date in the planning time zone, not a UTC midnight.
    return milestone.date > timezone.localdate(go_live)


def _validate_milestone(milestone: Milestone) -> None:
    _require_aware(at=milestone.at)
    if milestone.kind == "custom" and not milestone.title.strip():
        raise ValidationError({"title": "A custom milestone needs a title."})
    if milestone.date is None and milestone.at is None:
        raise ValidationError({"date": "Give a date (all-day) or a time (field “at”)."})
    if milestone.date is not None and milestone.at is not None:
        raise ValidationError({"at": "Give either a date (all-day) or a time, not both."})
    _full_clean(milestone, exclude=["release"])
    release = milestone.release
    if _milestone_after_go_live(milestone, release.go_live):
        field = "at" if milestone.at is not None else "date"
        raise ValidationError(
            {
                field: f"The milestone would fall after the go-live of {release.name} "
                f"({_fmt(release.go_live)})."
            }
        )


def _lock_release_for(actor, release: Release, check) -> Release:
    release = Release.objects.select_for_update().get(pk=release.pk)
    check(actor, release)
    return release


def _require_planner(actor, release: Release) -> None:
    perms.require(
        perms.can_edit_release(actor, release),
        "Only release managers and this release's manager can change its plan.",
    )


@transaction.atomic
def milestone_create(*, actor, release: Release, **fields: Any) -> Milestone:
    release = _lock_release_for(actor, release, _require_planner)
    milestone = Milestone(release=release, **fields)
    _validate_milestone(milestone)
    milestone.save()
    audit.record(
        actor=actor, action="milestone.create", obj=milestone, after=audit.values(milestone)
    )
    return milestone


@transaction.atomic
def milestone_update(*, actor, milestone: Milestone, **changes: Any) -> Milestone:
    _lock_release_for(actor, milestone.release, _require_planner)
    audit_before = audit.values(Milestone.objects.get(pk=milestone.pk), MILESTONE_FIELDS)
    before = _stored(milestone, MILESTONE_FIELDS)
    for field, value in changes.items():
        if field not in MILESTONE_FIELDS:
            raise TypeError(f"Unknown milestone field: {field}")
        setattr(milestone, field, value)
    _validate_milestone(milestone)
    if _snapshot(milestone, MILESTONE_FIELDS) == before:
        return milestone  # nothing changed: keep updated_at and SEQUENCE as they are
    milestone.sequence += 1  # every milestone field shows in its calendar event
    milestone.save()
    _record_change(actor, "milestone.update", milestone, audit_before, MILESTONE_FIELDS)
    return milestone


@transaction.atomic
def milestone_delete(*, actor, milestone: Milestone) -> None:
    _lock_release_for(actor, milestone.release, _require_planner)
    audit.record(
        actor=actor, action="milestone.delete", obj=milestone, before=audit.values(milestone)
    )
    milestone.delete()


# --- Scope --------------------------------------------------------------------------------

SCOPE_FIELDS = ("title", "kind", "ticket_key", "ticket_url", "owner")


def _require_scope_open(actor, release: Release) -> None:
    perms.require(
        perms.can_edit_scope(actor, release),
        "Only release managers and the owning team can change a release's scope.",
    )
    if release.scope_locked:
        raise ValidationError(
            {
                "release": f"The scope of {release.name} is frozen (state "
                f"{_label(release.state)}). Move the release back to Planned, with a reason, "
                "to change it."
            }
        )


@transaction.atomic
def scope_item_create(*, actor, release: Release, **fields: Any) -> ScopeItem:
    release = _lock_release_for(actor, release, _require_scope_open)
    item = ScopeItem(release=release, **fields)
    _full_clean(item, exclude=["release"])
    item.save()
    audit.record(actor=actor, action="scope_item.create", obj=item, after=audit.values(item))
    return item


@transaction.atomic
def scope_item_update(*, actor, item: ScopeItem, **changes: Any) -> ScopeItem:
    _lock_release_for(actor, item.release, _require_scope_open)
    audit_before = audit.values(ScopeItem.objects.get(pk=item.pk), SCOPE_FIELDS)
    for field, value in changes.items():
        if field not in SCOPE_FIELDS:
            raise TypeError(f"Unknown scope item field: {field}")
        setattr(item, field, value)
    _full_clean(item, exclude=["release"])
    item.save()
    _record_change(actor, "scope_item.update", item, audit_before, SCOPE_FIELDS)
    return item


@transaction.atomic
def scope_item_delete(*, actor, item: ScopeItem) -> None:
    _lock_release_for(actor, item.release, _require_scope_open)
    audit.record(actor=actor, action="scope_item.delete", obj=item, before=audit.values(item))
    item.delete()


# --- Dependencies -------------------------------------------------------------------------


def find_path(edges: dict[int, set[int]], start: int, goal: int) -> list[int] | None:
    """A path ``start → … → goal`` over ``edges`` (breadth first, so the shortest), or None."""
    previous: dict[int, int | None] = {start: None}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in edges.get(node, ()):
                if nxt in previous:
                    continue
                previous[nxt] = node
                if nxt == goal:
                    path = [goal]
                    while previous[path[-1]] is not None:
                        path.append(previous[path[-1]])
                    return path[::-1]
                following.append(nxt)
        frontier = following
    return None


def _dependency_edges() -> dict[int, set[int]]:
    edges: dict[int, set[int]] = defaultdict(set)
    for release_id, depends_on_id in ReleaseDependency.objects.values_list(
        "release_id", "depends_on_id"
    ):
        edges[release_id].add(depends_on_id)
    return edges


@transaction.atomic
def dependency_create(
    *, actor, release: Release, depends_on: Release, kind: str = DependencyKind.NEEDS, note=""
) -> ReleaseDependency:
    perms.require(
        perms.can_edit_release(actor, release),
        "Only release managers and this release's manager can change its dependencies.",
    )
    if release.pk == depends_on.pk:
        raise ValidationError({"depends_on": "A release cannot depend on itself."})
    # Two concurrent inserts could each pass the cycle check and together close a cycle.
    serialize_writers("release-dependencies")
    edges = _dependency_edges()
    if depends_on.pk in edges.get(release.pk, ()):
        raise ValidationError(
            {"depends_on": f"{release.name} already depends on {depends_on.name}."}
        )
    path = find_path(edges, depends_on.pk, release.pk)
    if path is not None:
        # Read along the arrows: the existing path from depends_on back to release, then the
        # new link that would close it.
        names = dict(Release.objects.filter(pk__in=path).values_list("pk", "name"))
        cycle = " → ".join([names[pk] for pk in path] + [depends_on.name])
        raise ValidationError(
            {
                "depends_on": f"This would make the cycle {cycle}; dependencies must not loop "
                "back on themselves."
            }
        )
    dependency = ReleaseDependency(release=release, depends_on=depends_on, kind=kind, note=note)
    _full_clean(dependency)
    dependency.save()
    audit.record(
        actor=actor, action="dependency.create", obj=dependency, after=audit.values(dependency)
    )
    return dependency


@transaction.atomic
def dependency_delete(*, actor, dependency: ReleaseDependency) -> None:
    perms.require(
        perms.can_edit_release(actor, dependency.release),
        "Only release managers and this release's manager can change its dependencies.",
    )
    audit.record(
        actor=actor, action="dependency.delete", obj=dependency, before=audit.values(dependency)
    )
    dependency.delete()


# --- Freeze windows -----------------------------------------------------------------------

FREEZE_FIELDS = ("name", "reason", "start", "end", "team")
FREEZE_FEED_FIELDS = ("name", "reason", "start", "end", "team_id")  # all shown in calendars


def _validate_freeze(freeze: FreezeWindow) -> None:
    _require_aware(start=freeze.start, end=freeze.end)
    if freeze.start and freeze.end and freeze.end <= freeze.start:
        raise ValidationError({"end": "The freeze window must end after it starts."})
    _full_clean(freeze)


@transaction.atomic
def freeze_window_create(*, actor, **fields: Any) -> FreezeWindow:
    perms.require(perms.can_manage_freezes(actor), "Only release managers can set freezes.")
    freeze = FreezeWindow(**fields)
    _validate_freeze(freeze)
    freeze.save()
    audit.record(actor=actor, action="freeze_window.create", obj=freeze, after=audit.values(freeze))
    return freeze


@transaction.atomic
def freeze_window_update(*, actor, freeze: FreezeWindow, **changes: Any) -> FreezeWindow:
    perms.require(perms.can_manage_freezes(actor), "Only release managers can set freezes.")
    audit_before = audit.values(FreezeWindow.objects.get(pk=freeze.pk), FREEZE_FIELDS)
    before = _stored(freeze, FREEZE_FEED_FIELDS)
    for field, value in changes.items():
        if field not in FREEZE_FIELDS:
            raise TypeError(f"Unknown freeze window field: {field}")
        setattr(freeze, field, value)
    _validate_freeze(freeze)
    if _snapshot(freeze, FREEZE_FEED_FIELDS) == before:
        return freeze  # nothing changed: keep updated_at and SEQUENCE as they are
    freeze.sequence += 1
    freeze.save()
    _record_change(actor, "freeze_window.update", freeze, audit_before, FREEZE_FIELDS)
    return freeze


@transaction.atomic
def freeze_window_delete(*, actor, freeze: FreezeWindow) -> None:
    perms.require(perms.can_manage_freezes(actor), "Only release managers can set freezes.")
    audit.record(
        actor=actor, action="freeze_window.delete", obj=freeze, before=audit.values(freeze)
    )
    freeze.delete()
