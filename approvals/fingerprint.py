"""What an approver approves: a canonical snapshot of a release and its SHA-256 fingerprint.

The snapshot holds what the approval is about (version, description, scope items, milestones,
deployment window, strategy, rollback plan, dependencies, and the current build once CI reported
one) and nothing that may change without asking again (the name, whether a milestone or a scope
item is done). The description is signed because it is what the release says it does, which is
what legal and product approve: changing it after a sign-off asks again. Ids order every list,
so the same release gives the same bytes whatever order the database returns rows in.

``SNAPSHOT_FORMAT`` is part of the snapshot: a change to its shape raises it. Old fingerprints
still verify against the snapshots stored with them, and a sign-off given on an older format
stays fresh while what that format covered is unchanged (``in_format``): format 1 (before the
description was signed) is the current snapshot without its description.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.utils import dateformat, timezone

from relcal.audit import canonical_json, jsonable, sha256
from releases.models import MilestoneKind, Release, ReleaseDependency, ScopeItem

from .readiness.models import ReleaseCandidate

SNAPSHOT_FORMAT = 2

# How the release page writes a time and a day (django ``date`` formats).
MOMENT = "D j M Y, H:i T"
DAY = "D j M Y"


def with_snapshot_data(queryset: QuerySet[Release]) -> QuerySet[Release]:
    """``queryset`` prefetching what ``release_snapshot`` reads: three queries for any number."""
    return queryset.select_related("team").prefetch_related(
        Prefetch("candidates", queryset=current_candidates(), to_attr="current_candidates"),
        "milestones",
        Prefetch("scope_items", queryset=ScopeItem.objects.select_related("owner")),
        Prefetch(
            "dependencies",
            queryset=ReleaseDependency.objects.select_related("depends_on__team"),
        ),
    )


def current_candidates() -> QuerySet[ReleaseCandidate]:
    """Each release's newest candidate only (one index probe per release), for prefetching."""
    newest = ReleaseCandidate.objects.filter(release=OuterRef("release")).order_by("-id")
    return ReleaseCandidate.objects.filter(pk=Subquery(newest.values("pk")[:1]))


def current_candidate(release: Release) -> ReleaseCandidate | None:
    """The release's current candidate: prefetched by ``with_snapshot_data``, else read."""
    if hasattr(release, "current_candidates"):
        return release.current_candidates[0] if release.current_candidates else None
    return release.candidates.order_by("-id").first()


def release_snapshot(release: Release) -> dict[str, Any]:
    start, end = release.window
    milestones = sorted(release.milestones.all(), key=lambda m: m.pk)
    scope = sorted(release.scope_items.all(), key=lambda s: s.pk)
    dependencies = sorted(release.dependencies.all(), key=lambda d: d.depends_on_id)
    candidate = current_candidate(release)
    # Present only once a build was reported, so that earlier fingerprints stay as they were.
    build = (
        {
            "candidate": {
                "version": candidate.version,
                "commit": candidate.commit_sha,
                "digest": candidate.artifact_digest,
            }
        }
        if candidate
        else {}
    )
    return jsonable(
        {
            **build,
            "format": SNAPSHOT_FORMAT,
            "release": release.pk,
            "team": release.team.slug,
            "version": release.version,
            "description": release.description,
            "window": {"start": start, "end": end},
            "strategy": release.strategy,
            "rollback_plan": release.rollback_plan,
            "scope_items": [
                {
                    "id": item.pk,
                    "ticket_key": item.ticket_key,
                    "title": item.title,
                    "kind": item.kind,
                    "ticket_url": item.ticket_url,
                    "owner": item.owner.get_username() if item.owner_id else None,
                }
                for item in scope
            ],
            "milestones": [
                {"id": m.pk, "kind": m.kind, "title": m.title, "date": m.date, "at": m.at}
                for m in milestones
            ],
            "dependencies": [
                {
                    "release": dep.depends_on_id,
                    "team": dep.depends_on.team.slug,
                    "version": dep.depends_on.version,
                    "kind": dep.kind,
                }
                for dep in dependencies
            ],
        }
    )


def fingerprint(snapshot: dict[str, Any]) -> str:
    return sha256(canonical_json(snapshot))


def current(release: Release) -> tuple[dict[str, Any], str]:
    """The release's snapshot and fingerprint as it is now (prefetch with
    ``with_snapshot_data`` when doing this for many releases)."""
    snapshot = release_snapshot(release)
    return snapshot, fingerprint(snapshot)


def in_format(snapshot: dict[str, Any], version: int) -> dict[str, Any]:
    """``snapshot`` (the current format) as format ``version`` had it, to tell whether a sign-off
    given on that format is still fresh: what the older format did not cover is left out."""
    if version >= SNAPSHOT_FORMAT:
        return snapshot
    older = {key: value for key, value in snapshot.items() if key != "description"}
    return {**older, "format": version}


def snapshot_format(snapshot: dict[str, Any]) -> int:
    return int(snapshot.get("format") or 1)


def load(release_id: int) -> tuple[dict[str, Any], str]:
    return current(with_snapshot_data(Release.objects.all()).get(pk=release_id))


# --- What changed between two snapshots, in words ----------------------------------------------

_LABELS = {
    "version": "Version",
    "team": "Team",
    "strategy": "Deployment strategy",
    "rollback_plan": "Rollback plan",
}


def parse_moment(value: str | None) -> datetime | date | None:
    """A snapshot's ISO value as Python: an aware datetime for a time, a date for an all-day
    date (``2026-12-10``), None for nothing."""
    if not value:
        return None
    if "T" not in value:
        return date.fromisoformat(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _moment(value: str | None) -> str:
    """An ISO value from the snapshot as the release page writes it, in the active time zone
    and naming it ("Thu 10 Dec 2026, 14:00 CET"); a date as a date ("Thu 10 Dec 2026")."""
    parsed = parse_moment(value)
    if parsed is None:
        return ""
    if not isinstance(parsed, datetime):
        return dateformat.format(parsed, DAY)
    return dateformat.format(timezone.localtime(parsed), MOMENT)


def _window(value: dict) -> str:
    return f"{_moment(value['start'])} – {_moment(value['end'])}"


def _scope_label(item: dict) -> str:
    return f"{item['ticket_key']} {item['title']}".strip()


def _milestone_label(item: dict) -> str:
    if item["title"]:
        return item["title"]
    kind = item["kind"]
    return MilestoneKind(kind).label if kind in MilestoneKind.values else kind


def _milestone_when(item: dict) -> str:
    return _moment(item["date"] or item["at"])


def dependency_name(item: dict, names: dict[int, str] | None = None) -> str:
    """A snapshot's dependency as the release page names it (the release's name, given in
    ``names`` by release id), else as the snapshot spells it (team slug and version)."""
    return (names or {}).get(item["release"]) or f"{item['team']} {item['version']}"


def _dependency_label(item: dict, names: dict[int, str] | None) -> str:
    verb = "needs" if item["kind"] == "needs" else "ships together with"
    return f"{verb} {dependency_name(item, names)}"


DESCRIPTION_SHOWN = 200


def _description(old: dict, new: dict) -> list[str]:
    # A format-1 snapshot never signed the description: nothing to compare it with.
    if "description" not in old or "description" not in new:
        return []
    if old["description"] == new["description"]:
        return []
    text = " ".join((new["description"] or "").split())
    if not text:
        return ["Description removed"]
    if len(text) > DESCRIPTION_SHOWN:
        text = text[: DESCRIPTION_SHOWN - 1] + "…"
    return [f"Description changed, now: “{text}”"]


def _by_id(rows: list[dict], key: str = "id") -> dict:
    return {row[key]: row for row in rows}


def diff(
    old: dict[str, Any], new: dict[str, Any], *, names: dict[int, str] | None = None
) -> list[str]:
    """Lines such as “Scope item added: PAY-9 Saved cards”, oldest snapshot first;
    ``names`` (release id → name) names dependencies as the release page does."""
    lines = []
    if old.get("candidate") != new.get("candidate") and new.get("candidate"):
        build = new["candidate"]
        replaces = f" replaces {old['candidate']['version']}" if old.get("candidate") else ""
        lines.append(f"New build {build['version']} ({build['digest'][:11]}…){replaces}")
    for key, label in _LABELS.items():
        if old.get(key) != new.get(key):
            lines.append(f"{label}: “{old.get(key)}” → “{new.get(key)}”")
    lines += _description(old, new)
    if old.get("window") != new.get("window"):
        lines.append(f"Deployment window: {_window(old['window'])} → {_window(new['window'])}")

    before, after = _by_id(old.get("scope_items", [])), _by_id(new.get("scope_items", []))
    for pk in sorted(after.keys() - before.keys()):
        lines.append(f"Scope item added: {_scope_label(after[pk])}")
    for pk in sorted(before.keys() - after.keys()):
        lines.append(f"Scope item removed: {_scope_label(before[pk])}")
    for pk in sorted(before.keys() & after.keys()):
        changed = [k for k in after[pk] if before[pk].get(k) != after[pk][k]]
        if changed:
            lines.append(f"Scope item changed: {_scope_label(after[pk])} ({', '.join(changed)})")

    before, after = _by_id(old.get("milestones", [])), _by_id(new.get("milestones", []))
    for pk in sorted(after.keys() - before.keys()):
        item = after[pk]
        lines.append(f"Milestone added: {_milestone_label(item)} on {_milestone_when(item)}")
    for pk in sorted(before.keys() - after.keys()):
        lines.append(f"Milestone removed: {_milestone_label(before[pk])}")
    for pk in sorted(before.keys() & after.keys()):
        was, now = before[pk], after[pk]
        if _milestone_when(was) != _milestone_when(now):
            lines.append(
                f"Milestone moved: {_milestone_label(now)} "
                f"{_milestone_when(was)} → {_milestone_when(now)}"
            )
        elif was != now:
            lines.append(f"Milestone changed: {_milestone_label(now)}")

    before = _by_id(old.get("dependencies", []), "release")
    after = _by_id(new.get("dependencies", []), "release")
    for pk in sorted(after.keys() - before.keys()):
        lines.append(f"Dependency added: {_dependency_label(after[pk], names)}")
    for pk in sorted(before.keys() - after.keys()):
        lines.append(f"Dependency removed: {_dependency_label(before[pk], names)}")
    for pk in sorted(before.keys() & after.keys()):
        if before[pk] != after[pk]:
            lines.append(f"Dependency changed: {_dependency_label(after[pk], names)}")
    return lines
