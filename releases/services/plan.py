"""What a release plans: milestones before its go-live, the scope it ships (frozen with the
scope; its progress, done and blocker, is not, until the release is released or cancelled), and
the releases it depends on (kept a DAG: a dependency that would close a cycle is refused, naming
it)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from relcal import audit
from relcal.db import locked, serialize_writers
from relcal.times import fmt, require_aware

from .. import permissions as perms
from .. import selectors
from ..models import (
    DependencyKind,
    Milestone,
    Release,
    ReleaseDependency,
    ReleaseState,
    ScopeItem,
)
from ._common import (
    full_clean,
    lock_release_for,
    milestone_after_go_live,
    require_planner,
    snapshot,
    state_label,
)

MILESTONE_FIELDS = ("kind", "title", "date", "at", "done")


def _validate_milestone(milestone: Milestone) -> None:
    require_aware(at=milestone.at)
    if milestone.kind == "custom" and not milestone.title.strip():
        raise ValidationError({"title": "A custom milestone needs a title."})
    if milestone.date is None and milestone.at is None:
        raise ValidationError({"date": "Give a date (all-day) or a time (field “at”)."})
    if milestone.date is not None and milestone.at is not None:
        raise ValidationError({"at": "Give either a date (all-day) or a time, not both."})
    full_clean(milestone, exclude=["release"])
    release = milestone.release
    if milestone_after_go_live(milestone, release.go_live):
        field = "at" if milestone.at is not None else "date"
        raise ValidationError(
            {
                field: f"The milestone would fall after the go-live of {release.name} "
                f"({fmt(release.go_live)})."
            }
        )


@transaction.atomic
def milestone_create(*, actor, release: Release, **fields: Any) -> Milestone:
    release = lock_release_for(actor, release, require_planner)
    milestone = Milestone(release=release, **fields)
    _validate_milestone(milestone)
    milestone.save()
    audit.record(
        actor=actor, action="milestone.create", obj=milestone, after=audit.values(milestone)
    )
    return milestone


@transaction.atomic
def milestone_update(*, actor, milestone: Milestone, **changes: Any) -> Milestone:
    lock_release_for(actor, milestone.release, require_planner)
    current = locked(Milestone, milestone.pk)
    audit_before = audit.values(current, MILESTONE_FIELDS)
    before = snapshot(current, MILESTONE_FIELDS)
    for field, value in changes.items():
        if field not in MILESTONE_FIELDS:
            raise TypeError(f"Unknown milestone field: {field}")
        setattr(milestone, field, value)
    _validate_milestone(milestone)
    if snapshot(milestone, MILESTONE_FIELDS) == before:
        return milestone  # nothing changed: keep updated_at and SEQUENCE as they are
    milestone.sequence = current.sequence + 1  # every milestone field shows in its calendar event
    milestone.save()
    audit.record_change(actor, "milestone.update", milestone, audit_before, MILESTONE_FIELDS)
    return milestone


@transaction.atomic
def milestone_delete(*, actor, milestone: Milestone) -> None:
    lock_release_for(actor, milestone.release, require_planner)
    milestone = locked(Milestone, milestone.pk)
    audit.record(
        actor=actor, action="milestone.delete", obj=milestone, before=audit.values(milestone)
    )
    milestone.delete()


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
                f"{state_label(release.state)}). Move the release back to Planned, with a "
                "reason, to change it."
            }
        )


def _require_new_ticket_key(item: ScopeItem) -> None:
    """Refuse a ticket key already in the release's scope (compared ignoring case).

    Progress reported by key would set both items, and the scope would list the ticket twice.
    Checked here rather than by a constraint, which existing duplicates would stop migrating;
    the caller holds the release's lock, so two writers cannot both pass this check.
    """
    key = item.ticket_key.strip()
    if not key:
        return
    taken = ScopeItem.objects.filter(release_id=item.release_id, ticket_key__iexact=key)
    if taken.exclude(pk=item.pk).exists():
        raise ValidationError(
            {
                "ticket_key": f"{item.release.name} already has a scope item with the ticket "
                f"key “{key}”."
            },
            code="unique",
        )


@transaction.atomic
def scope_item_create(*, actor, release: Release, **fields: Any) -> ScopeItem:
    release = lock_release_for(actor, release, _require_scope_open)
    item = ScopeItem(release=release, **fields)
    full_clean(item, exclude=["release"])
    _require_new_ticket_key(item)
    item.save()
    audit.record(actor=actor, action="scope_item.create", obj=item, after=audit.values(item))
    return item


@transaction.atomic
def scope_item_update(*, actor, item: ScopeItem, **changes: Any) -> ScopeItem:
    lock_release_for(actor, item.release, _require_scope_open)
    audit_before = audit.values(locked(ScopeItem, item.pk), SCOPE_FIELDS)
    for field, value in changes.items():
        if field not in SCOPE_FIELDS:
            raise TypeError(f"Unknown scope item field: {field}")
        setattr(item, field, value)
    full_clean(item, exclude=["release"])
    _require_new_ticket_key(item)
    item.save()
    audit.record_change(actor, "scope_item.update", item, audit_before, SCOPE_FIELDS)
    return item


@transaction.atomic
def scope_item_delete(*, actor, item: ScopeItem) -> None:
    lock_release_for(actor, item.release, _require_scope_open)
    item = locked(ScopeItem, item.pk)
    audit.record(actor=actor, action="scope_item.delete", obj=item, before=audit.values(item))
    item.delete()


# Progress, kept apart from SCOPE_FIELDS: set from the tracker or CI at any time, also once the
# scope is frozen, because approvers sign what ships, not how far along it is.
SCOPE_PROGRESS_FIELDS = ("done", "blocker")
PROGRESS_CLOSED = (ReleaseState.RELEASED, ReleaseState.CANCELLED)


def _require_progress_open(actor, release: Release) -> None:
    perms.require(
        perms.can_edit_scope(actor, release),
        "Only release managers and the owning team can report a release's scope progress.",
    )
    if release.state in PROGRESS_CLOSED:
        raise ValidationError(
            {
                "release": f"{release.name} is {state_label(release.state)}: the progress of "
                "its scope is final and can no longer be changed."
            }
        )


def _set_progress(
    actor, items: list[ScopeItem], done: bool | None, blocker: bool | None
) -> list[ScopeItem]:
    changes = {
        field: value for field, value in (("done", done), ("blocker", blocker)) if value is not None
    }
    if not changes:
        raise ValidationError({"done": "Give done, blocker or both: there is nothing to set."})
    for item in items:
        before = audit.values(item, SCOPE_PROGRESS_FIELDS)
        for field, value in changes.items():
            setattr(item, field, value)
        if audit.values(item, SCOPE_PROGRESS_FIELDS) == before:
            continue  # already so: no write, no event
        item.save(update_fields=[*SCOPE_PROGRESS_FIELDS, "updated_at"])
        audit.record_change(actor, "scope_item.progress", item, before, SCOPE_PROGRESS_FIELDS)
    return items


@transaction.atomic
def scope_item_set_progress(
    *,
    actor,
    release: Release,
    ticket_key: str,
    done: bool | None = None,
    blocker: bool | None = None,
) -> list[ScopeItem]:
    """Set ``done`` and/or ``blocker`` (None: leave as is) on every scope item of ``release``
    with ``ticket_key``, as a tracker or CI reports it; returns those items."""
    release = lock_release_for(actor, release, _require_progress_open)
    if not ticket_key.strip():
        raise ValidationError({"ticket_key": "Give the ticket key of a scope item, e.g. PAY-12."})
    items = list(
        ScopeItem.objects.select_for_update()
        .filter(release=release, ticket_key=ticket_key)
        .order_by("pk")
    )
    if not items:
        raise ValidationError(
            {"ticket_key": f"No scope item of {release.name} has the ticket key “{ticket_key}”."}
        )
    return _set_progress(actor, items, done, blocker)


@transaction.atomic
def scope_item_update_progress(
    *, actor, item: ScopeItem, done: bool | None = None, blocker: bool | None = None
) -> ScopeItem:
    """The same as ``scope_item_set_progress`` for one item, which may have no ticket key
    (the admin's scope item page)."""
    lock_release_for(actor, item.release, _require_progress_open)
    stored_item = locked(ScopeItem, item.pk)
    _set_progress(actor, [stored_item], done, blocker)
    for field in SCOPE_PROGRESS_FIELDS:
        setattr(item, field, getattr(stored_item, field))
    return item


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


HIDDEN_RELEASE = "a release you cannot see"


def _visible(actor, pks: list[int]) -> set[int]:
    """Those of ``pks`` that ``actor`` may see: refusals name only these (invariant 7)."""
    return set(
        Release.objects.filter(selectors.visible_release_q(actor), pk__in=pks).values_list(
            "pk", flat=True
        )
    )


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
    if not _visible(actor, [depends_on.pk]):
        # Worded as for an id that does not exist: a private release's existence is private.
        raise ValidationError({"depends_on": "Choose a release that exists and you can see."})
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
        seen = _visible(actor, path)
        cycle = " → ".join(
            [names[pk] if pk in seen else HIDDEN_RELEASE for pk in path] + [depends_on.name]
        )
        raise ValidationError(
            {
                "depends_on": f"This would make the cycle {cycle}; dependencies must not loop "
                "back on themselves."
            }
        )
    dependency = ReleaseDependency(release=release, depends_on=depends_on, kind=kind, note=note)
    full_clean(dependency)
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
