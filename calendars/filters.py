"""A feed's filters: one schema for a token's stored filters, a feed URL's query parameters and
the calendar pages' filter form, validated by ``clean_filters`` into one canonical form, and
turned into the ``FeedQuery`` the sources answer."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError

from . import sources
from .sources import FeedQuery

# One schema for a token's stored filters and for a feed URL's query parameters:
# key in ``FeedToken.filters`` -> query parameter name.
FILTER_PARAMS = {"teams": "team", "environments": "environment", "releases": "release"}
FILTER_KEYS = (*FILTER_PARAMS, "kinds", "mine", "ci_holds")
MAX_FILTER_VALUES = 50
SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,50}$")


def clean_filters(value: Any) -> dict[str, Any]:
    """Validate a feed's filters and return them in their one canonical form (sorted, no empty
    lists), raising ValidationError keyed by filter name.

    ``{"teams": [slug], "environments": [slug], "releases": [id], "kinds": [kind],
    "mine": bool, "ci_holds": bool}``; every key optional. ``ci_holds`` includes environments'
    short CI holds, which calendars leave out by default. Kinds are the event kinds the
    installed apps' calendar sources declare (``calendars.sources.kinds``).
    """
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ValidationError({"filters": 'Give an object such as {"teams": ["payments"]}.'})
    errors: dict[str, str] = {}
    unknown = sorted(set(value) - set(FILTER_KEYS))
    if unknown:
        errors["filters"] = f"Unknown filter {', '.join(unknown)}; use {', '.join(FILTER_KEYS)}."
    cleaned: dict[str, Any] = {}
    for key in ("teams", "environments", "releases", "kinds"):
        items = value.get(key)
        if items in (None, []):
            continue
        if not isinstance(items, list) or len(items) > MAX_FILTER_VALUES:
            errors[key] = f"Give a list of at most {MAX_FILTER_VALUES} values."
            continue
        if key == "releases":
            if not all(
                isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in items
            ):
                errors[key] = "Give release ids (positive whole numbers)."
                continue
        elif key == "kinds":
            bad = [k for k in items if k not in sources.kinds()]
            if bad:
                errors[key] = f"Unknown kind {bad[0]!r}; use one of {', '.join(sources.kinds())}."
                continue
        elif not all(isinstance(i, str) and SLUG.match(i) for i in items):
            errors[key] = "Give slugs (letters, digits, - and _)."
            continue
        cleaned[key] = sorted(set(items))
    for key in ("mine", "ci_holds"):
        flag = value.get(key, False)
        if not isinstance(flag, bool):
            errors[key] = "Give true or false."
        elif flag:
            cleaned[key] = True
    if errors:
        raise ValidationError(errors)
    return cleaned


def validate_filters(value: Any) -> None:
    clean_filters(value)


TRUE = {"1", "true", "yes", "on"}


def filters_from_params(params) -> dict[str, Any]:
    """A feed URL's or the calendar page's query parameters as a filters dict (unvalidated;
    ``clean_filters`` checks it). Unknown parameters are ignored: calendar
    clients sometimes add their own."""
    releases = []
    for value in params.getlist("release"):
        # ASCII digits only ("²" is a digit to str.isdigit), and short enough for a bigint.
        if not (value.isascii() and value.isdigit() and len(value) <= 18):
            raise ValidationError({"release": f"Give release ids, not {value[:20]!r}."})
        releases.append(int(value))
    return {
        "teams": [v for v in params.getlist("team") if v],
        "environments": [v for v in params.getlist("environment") if v],
        "releases": releases,
        "kinds": [v for v in params.getlist("kind") if v],
        "mine": params.get("mine", "").lower() in TRUE,
        "ci_holds": params.get("ci_holds", "").lower() in TRUE,
    }


def _narrow(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def query_for(user, *filters: dict[str, Any], **extra: Any) -> FeedQuery:
    """The query for ``user`` narrowed by every filters dict (a token's stored filters, then the
    URL's): each dimension is the intersection of those that set it."""
    dims: dict[str, frozenset | None] = dict.fromkeys(
        ("teams", "environments", "releases", "kinds")
    )
    mine = ci_holds = False
    for given in filters:
        cleaned = clean_filters(given)
        for name in dims:
            if name in cleaned:
                dims[name] = _narrow(dims[name], frozenset(cleaned[name]))
        mine = mine or cleaned.get("mine", False)
        ci_holds = ci_holds or cleaned.get("ci_holds", False)
    return FeedQuery(user=user, mine=mine, ci_holds=ci_holds, **dims, **extra)


def query_filters(query: FeedQuery) -> dict[str, Any]:
    """The query's filters in the stored form (for a token made from the calendar page)."""
    filters: dict[str, Any] = {
        name: sorted(values)
        for name in ("teams", "environments", "releases", "kinds")
        if (values := getattr(query, name)) is not None
    }
    if query.mine:
        filters["mine"] = True
    if query.ci_holds:
        filters["ci_holds"] = True
    return filters


def describe(filters: dict[str, Any], team_names: dict[str, str] | None = None) -> str:
    """A short human name for a set of filters: "Payments · Go-live, Freeze window"."""
    team_names = team_names or {}
    parts = []
    if filters.get("mine"):
        # The personal feed: releases managed or watched, sign-offs asked, the teams' bookings.
        parts.append("Mine")
    if filters.get("teams"):
        parts.append(", ".join(team_names.get(slug, slug) for slug in filters["teams"]))
    if filters.get("releases"):
        count = len(filters["releases"])
        parts.append(f"{count} release{'s' if count > 1 else ''}")
    if filters.get("environments"):
        parts.append(", ".join(filters["environments"]))
    if filters.get("kinds"):
        labels = sources.kinds()
        parts.append(", ".join(labels.get(k, k) for k in filters["kinds"]))
    if filters.get("ci_holds"):
        parts.append("with CI holds")
    return " · ".join(parts) or "Master schedule"
