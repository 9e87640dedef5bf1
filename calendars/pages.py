"""The calendar pages: the month grid, three months at a glance and the agenda of the master
schedule, filtered like a feed, and "Subscribe", which makes a feed link for what the page shows.
"""

from __future__ import annotations

import calendar as pycalendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST, require_safe

from environments.selectors import environment_choices
from releases.selectors import visible_teams

from . import ical, sources, tokens
from .filters import describe, filters_from_params, query_filters, query_for
from .sources import FeedQuery

NEW_FEED_SESSION_KEY = "relcal_new_feed"


@dataclass
class DayEvent:
    event: ical.FeedEvent
    starts_here: bool
    ends_here: bool
    # A bar over several days repeats its title only where a week (a grid row) begins.
    titled: bool = True

    @property
    def last_day(self) -> date:
        return sources.local_days(self.event)[1]

    @property
    def time_label(self) -> str:
        if self.event.all_day or not self.starts_here:
            return ""
        return timezone.localtime(self.event.start).strftime("%H:%M")


@dataclass
class Day:
    day: date
    in_month: bool
    is_today: bool
    events: list[DayEvent] = field(default_factory=list)
    # Events past the cell's bound, and the link that opens the whole day.
    more: int = 0
    more_url: str = ""


@dataclass
class PageFilters:
    """The calendar page's filters: the query, the links that keep them, the form's state."""

    query: FeedQuery
    filters: dict[str, Any]
    params: dict[str, Any]
    error: str = ""

    def url(self, name: str, **extra: Any) -> str:
        params = {**self.params, **extra}
        query = urlencode({k: v for k, v in params.items() if v not in ("", None, [])}, doseq=True)
        return reverse(name) + (f"?{query}" if query else "")


def _page_filters(request: HttpRequest, **extra: Any) -> PageFilters:
    try:
        filters = filters_from_params(request.GET)
        query = query_for(request.user, filters, **extra)
    except ValidationError as error:
        message = " ".join(m for ms in error.message_dict.values() for m in ms)
        query = query_for(request.user, **extra)
        return PageFilters(query, {}, {}, error=message)
    stored = query_filters(query)
    params = {
        "team": stored.get("teams", []),
        "kind": stored.get("kinds", []),
        "release": stored.get("releases", []),
        "environment": stored.get("environments", []),
        "mine": "1" if stored.get("mine") else "",
    }
    return PageFilters(query, stored, params)


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _month(value: str | None, today: date) -> date:
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return date(year, month, 1) if 1900 <= year <= 9000 else today.replace(day=1)
    except ValueError:
        return today.replace(day=1)


def _page_context(request: HttpRequest, page: PageFilters, events, **context: Any) -> dict:
    teams = list(visible_teams(request.user))
    new_feed = request.session.pop(NEW_FEED_SESSION_KEY, None)
    return {
        "filters": page,
        "teams": teams,
        "kinds": sources.kinds(),
        "selected_teams": set(page.filters.get("teams", [])),
        "selected_kinds": set(page.filters.get("kinds", [])),
        # Environments are shown to everyone signed in (as on the environment pages).
        "environments": environment_choices(),
        "selected_environments": set(page.filters.get("environments", [])),
        "filter_label": describe(page.filters, {t.slug: t.name for t in teams}),
        "filtered": bool(page.filters),
        "legend_teams": [t for t in teams if t.slug in {e.team_slug for e in events}],
        "new_feed": new_feed,
        "today": timezone.localdate(),
        **context,
    }


def _add_months(first: date, months: int) -> date:
    """The first of the month ``months`` after (or before) the month of ``first``."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _last_of_month(first: date) -> date:
    return first.replace(day=pycalendar.monthrange(first.year, first.month)[1])


def _grid(
    request: HttpRequest, first: date, last: date, today: date
) -> tuple[PageFilters, list, list[list[Day]]]:
    """The page's filters, its events and the weeks (Monday to Sunday) covering ``first`` to
    ``last``: one query set whatever the span, each day cell bounded to ``MONTH_DAY_SHOWN``
    lines, the rest behind "+N more", which opens the day. Days outside ``[first, last]`` are
    marked as such."""
    grid_start = first - timedelta(days=first.weekday())  # weeks start on Monday
    grid_end = last + timedelta(days=6 - last.weekday())
    page = _page_filters(
        request,
        start=_local_midnight(grid_start),
        end=_local_midnight(grid_end + timedelta(days=1)),
    )
    events = sources.collect(page.query)
    days = {
        grid_start + timedelta(days=n): Day(
            grid_start + timedelta(days=n),
            in_month=first <= grid_start + timedelta(days=n) <= last,
            is_today=grid_start + timedelta(days=n) == today,
        )
        for n in range((grid_end - grid_start).days + 1)
    }
    for event in events:
        first_day, last_day = sources.local_days(event)
        day = max(first_day, grid_start)
        while day <= min(last_day, grid_end):
            titled = day == first_day or day.weekday() == 0
            days[day].events.append(DayEvent(event, day == first_day, day == last_day, titled))
            day += timedelta(days=1)
    for cell in days.values():
        _bound(cell, MONTH_DAY_SHOWN, page.url("calendar-agenda", day=cell.day.isoformat()))
    ordered = list(days.values())
    return page, events, [ordered[i : i + 7] for i in range(0, len(ordered), 7)]


@login_required
@require_safe
def month_view(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    first = _month(request.GET.get("month"), today)
    last = _last_of_month(first)
    page, events, weeks = _grid(request, first, last, today)
    previous = (first - timedelta(days=1)).replace(day=1)
    following = last + timedelta(days=1)
    context = _page_context(
        request,
        page,
        events,
        view="month",
        month=first,
        weeks=weeks,
        weekdays=["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        previous_url=page.url("calendar", month=f"{previous:%Y-%m}"),
        next_url=page.url("calendar", month=f"{following:%Y-%m}"),
        today_url=page.url("calendar"),
        agenda_url=page.url("calendar-agenda", start=first.isoformat()),
        quarter_url=page.url("calendar-quarter", month=f"{first:%Y-%m}"),
        event_count=len(events),
    )
    return render(request, "calendar/month.html", context, status=400 if page.error else 200)


# Months the "3 months" view shows at once (and moves by).
QUARTER_MONTHS = 3


@dataclass
class Week:
    days: list[Day]
    # The month that begins in this week (a heading before it), if any but the first.
    begins: date | None = None


@login_required
@require_safe
def quarter_view(request: HttpRequest) -> HttpResponse:
    """Three months from ``month`` (this month by default) in one grid of weeks, a heading
    where each month begins: "the next three months" in one page, at the month's cost."""
    today = timezone.localdate()
    first = _month(request.GET.get("month"), today)
    last = _last_of_month(_add_months(first, QUARTER_MONTHS - 1))
    page, events, grid = _grid(request, first, last, today)
    weeks = []
    for days in grid:
        begins = next((d.day for d in days if d.day.day == 1 and first <= d.day <= last), None)
        weeks.append(Week(days, begins))
    if weeks and weeks[0].begins == first:
        weeks[0].begins = None  # the caption names the first month
    context = _page_context(
        request,
        page,
        events,
        view="quarter",
        month=first,
        last_month=last,
        weeks=weeks,
        weekdays=["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        previous_url=page.url(
            "calendar-quarter", month=f"{_add_months(first, -QUARTER_MONTHS):%Y-%m}"
        ),
        next_url=page.url("calendar-quarter", month=f"{_add_months(first, QUARTER_MONTHS):%Y-%m}"),
        today_url=page.url("calendar-quarter"),
        month_url=page.url("calendar", month=f"{first:%Y-%m}"),
        agenda_url=page.url("calendar-agenda", start=first.isoformat()),
        event_count=len(events),
    )
    return render(request, "calendar/quarter.html", context, status=400 if page.error else 200)


AGENDA_DAYS = 42
# Bounds that keep a page's size the same however dense the schedule: events per month cell and
# per agenda day (the rest behind "+N more", which opens the day), agenda items per page (the
# page then ends early and "Later" continues from the first day left out), and items per page
# of a single day.
MONTH_DAY_SHOWN = 4
AGENDA_DAY_SHOWN = 10
AGENDA_PAGE_SHOWN = 150
DAY_PAGE_SHOWN = 100


def _bound(cell: Day, shown: int, url: str) -> None:
    """Keep at most ``shown`` lines in ``cell``: past that, ``shown - 1`` events and "+N more"."""
    if len(cell.events) > shown:
        cell.more = len(cell.events) - (shown - 1)
        cell.events = cell.events[: shown - 1]
        cell.more_url = url


def _day_param(value: str | None) -> date | None:
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return None
    return day if 1900 <= day.year <= 9000 else None


@login_required
@require_safe
def agenda_view(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    day = _day_param(request.GET.get("day"))
    if day is not None:
        return _day_view(request, day, today)
    start = _day_param(request.GET.get("start")) or today
    end = start + timedelta(days=AGENDA_DAYS)
    page = _page_filters(request, start=_local_midnight(start), end=_local_midnight(end))
    events = sources.collect(page.query)
    by_day: dict[date, Day] = {}
    for event in events:
        first_day, last_day = sources.local_days(event)
        # Listed once, on its first day, or on the first day shown when it began earlier.
        shown_on = max(first_day, start)
        cell = by_day.setdefault(shown_on, Day(shown_on, True, shown_on == today))
        cell.events.append(DayEvent(event, shown_on == first_day, shown_on == last_day))
    if start <= today < end:
        by_day.setdefault(today, Day(today, True, True))  # marked even when nothing happens
    groups, items, following = [], 0, end
    for shown_on, cell in sorted(by_day.items()):
        _bound(cell, AGENDA_DAY_SHOWN, page.url("calendar-agenda", day=shown_on.isoformat()))
        if groups and items + len(cell.events) > AGENDA_PAGE_SHOWN:
            following = shown_on  # the page is full: "Later" continues from here
            break
        items += len(cell.events)
        groups.append((shown_on, cell))
    context = _page_context(
        request,
        page,
        events,
        view="agenda",
        start=start,
        end=following - timedelta(days=1),
        groups=groups,
        previous_url=page.url(
            "calendar-agenda", start=(start - timedelta(days=AGENDA_DAYS)).isoformat()
        ),
        next_url=page.url("calendar-agenda", start=following.isoformat()),
        today_url=page.url("calendar-agenda"),
        month_url=page.url("calendar", month=f"{start:%Y-%m}"),
        quarter_url=page.url("calendar-quarter", month=f"{start:%Y-%m}"),
        event_count=len(events),
    )
    return render(request, "calendar/agenda.html", context, status=400 if page.error else 200)


def _day_view(request: HttpRequest, day: date, today: date) -> HttpResponse:
    """One day of the agenda (what "+N more" opens), a page of ``DAY_PAGE_SHOWN`` at a time."""
    following = day + timedelta(days=1)
    page = _page_filters(request, start=_local_midnight(day), end=_local_midnight(following))
    events = sources.collect(page.query)
    listed = Paginator(events, DAY_PAGE_SHOWN).get_page(request.GET.get("page"))
    cell = Day(day, True, day == today)
    for event in listed.object_list:
        first_day, last_day = sources.local_days(event)
        cell.events.append(DayEvent(event, day == first_day, day == last_day))
    context = _page_context(
        request,
        page,
        events,
        view="agenda",
        start=day,
        end=day,
        groups=[(day, cell)] if cell.events or day == today else [],
        day_page=listed,
        previous_url=page.url("calendar-agenda", day=(day - timedelta(days=1)).isoformat()),
        next_url=page.url("calendar-agenda", day=following.isoformat()),
        today_url=page.url("calendar-agenda"),
        month_url=page.url("calendar", month=f"{day:%Y-%m}"),
        quarter_url=page.url("calendar-quarter", month=f"{day:%Y-%m}"),
        event_count=len(events),
    )
    return render(request, "calendar/agenda.html", context, status=400 if page.error else 200)


@login_required
@require_POST
def subscribe(request: HttpRequest) -> HttpResponse:
    """Create a feed link for the page's current filters and show it once, on the page."""
    back = request.POST.get("next", "")
    if not back.startswith("/") or back.startswith("//"):
        back = reverse("calendar")
    try:
        filters = filters_from_params(request.POST)
        query = query_for(request.user, filters)
        stored = query_filters(query)
        teams = {t.slug: t.name for t in visible_teams(request.user)}
        name = (request.POST.get("name") or "").strip() or describe(stored, teams)
        token, raw = tokens.feed_token_create(actor=request.user, name=name[:100], filters=stored)
    except (ValidationError, PermissionDenied) as error:
        message = " ".join(getattr(error, "messages", [str(error)]))
        messages.error(request, f"No feed link was created: {message}")
        return redirect(back)
    request.session[NEW_FEED_SESSION_KEY] = tokens.feed_links(token.name, raw)
    return redirect(f"{back}#subscribe")
