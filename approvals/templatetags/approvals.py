"""``{% load approvals %}``: ``user|can_see_evidence`` for the site navigation; ``as_json``,
``label``, ``moment`` and ``dependency_name`` for evidence and snapshots."""

from __future__ import annotations

import json

from django import template

from approvals import fingerprint, selectors
from releases.models import DeploymentStrategy, MilestoneKind, ScopeKind

register = template.Library()


@register.filter
def can_see_evidence(user) -> bool:
    return selectors.can_see_evidence(user)


@register.filter
def as_json(value) -> str:
    """Audit values as compact JSON, keys sorted (empty for None)."""
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


_LABELS = {
    "milestone": dict(MilestoneKind.choices),
    "strategy": dict(DeploymentStrategy.choices),
    "scope": dict(ScopeKind.choices),
}


@register.filter
def label(value: str, kind: str) -> str:
    """A snapshot's stored choice (``go_no_go``) as people read it (``Go/no-go``)."""
    return _LABELS.get(kind, {}).get(value, value)


@register.filter
def moment(value: str | None):
    """A snapshot's ISO time or date as Python, for ``date``: ``{{ at|moment|date:"…" }}``
    writes it in the active time zone."""
    return fingerprint.parse_moment(value)


@register.filter
def dependency_name(dependency: dict, names: dict | None) -> str:
    """A snapshot's dependency named as the release page names it (``names``: release id →
    name, from ``fingerprint.dependency_names``)."""
    return fingerprint.dependency_name(dependency, names)
