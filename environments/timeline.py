"""The availability timeline's layout: environments as swimlanes over a range of days.

Positions are fractions of elapsed time over the range, computed here (not in the template) so
that a day with a DST change is an hour shorter or longer, as it really is, and so that the
page's CSS gets plain numbers whatever the locale. Three queries however many environments and
bookings there are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.formats import date_format

from releases.models import Team

from . import privacy, selectors
from .models import Booking, Environment, MaintenanceWindow

SPANS = (7, 14)
# What a lane's "+N more" opens: the same timeline over that one day.
DAY_SPAN = 1
# Blocks a lane shows per day before the rest fold into one "+N more" block, so that a pipeline
# booking an environment many times a day cannot make the page grow with it. A single day has
# seven times the width of a day in the week view, and room for more.
LANE_DAY_SHOWN = {DAY_SPAN: 24}
LANE_DAY_SHOWN_DEFAULT = 4
# A click on an empty day offers a booking from this hour (or from the next hour, today).
BOOK_FROM_HOUR = 9


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time()))


def span_label(start: datetime, end: datetime, *, with_day: bool = False) -> str:
    """ "14:00–16:00" within a day ("Tue 2 Mar, 14:00–16:00" ``with_day``), else "Tue 2 Mar
    14:00 – Wed 3 Mar 10:00", in the current time zone."""
    start, end = timezone.localtime(start), timezone.localtime(end)
    day = f"{date_format(start, 'D j M')}, " if with_day else ""
    if start.date() == end.date():
        return f"{day}{date_format(start, 'H:i')}–{date_format(end, 'H:i')}"
    if end.time() == time() and end.date() == start.date() + timedelta(days=1):
        return f"{day}{date_format(start, 'H:i')}–24:00"
    return f"{date_format(start, 'D j M H:i')} – {date_format(end, 'D j M H:i')}"


def _percent(value: float) -> str:
    return f"{max(0.0, min(100.0, value * 100)):.3f}"


@dataclass
class Day:
    day: date
    left: str
    width: str
    is_today: bool
    is_weekend: bool
    book_start: datetime | None  # None: the day is over


@dataclass
class Block:
    kind: str  # "booking" or "maintenance"
    start: datetime
    end: datetime
    left: str
    width: str
    title: str
    when: str
    # How much of the track (a percentage) the block's text may use: up to the next block.
    room: str = "0"
    team: Team | None = None
    booking: Booking | None = None
    maintenance: MaintenanceWindow | None = None
    starts_before: bool = False
    ends_after: bool = False
    # A "more" block: how many blocks it stands for, and the day it opens.
    more: int = 0
    day: date | None = None

    @property
    def when_full(self) -> str:
        return span_label(self.start, self.end, with_day=True)

    @property
    def label(self) -> str:
        if self.more:
            return f"{self.more} more on {date_format(self.day, 'D j M')}, {self.when_full}"
        who = self.team.name if self.team is not None else "Maintenance"
        return f"{who}: {self.title}, {self.when_full}"


@dataclass
class Lane:
    environment: Environment
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Timeline:
    first_day: date
    days_count: int
    start: datetime
    end: datetime
    days: list[Day]
    lanes: list[Lane]
    teams: list[Team]
    now_left: str | None
    past_width: str
    has_maintenance: bool

    @property
    def previous(self) -> date:
        return self.first_day - timedelta(days=self.days_count)

    @property
    def following(self) -> date:
        return self.first_day + timedelta(days=self.days_count)

    @property
    def last_day(self) -> date:
        return self.first_day + timedelta(days=self.days_count - 1)

    @property
    def title(self) -> str:
        first, last = self.first_day, self.last_day
        if first.year != last.year:
            return f"{date_format(first, 'j M Y')} – {date_format(last, 'j M Y')}"
        if first.month != last.month:
            return f"{date_format(first, 'j M')} – {date_format(last, 'j M Y')}"
        return f"{date_format(first, 'j')} – {date_format(last, 'j M Y')}"


def _bounded(blocks: list[Block], shown: int, start: datetime, fraction) -> list[Block]:
    """At most ``shown`` blocks per day (by the day each starts on, in the range): past that,
    the first ``shown - 1`` and one "+N more" block over the rest, which opens that day."""
    by_day: dict[date, list[Block]] = {}
    for block in blocks:
        by_day.setdefault(timezone.localdate(max(block.start, start)), []).append(block)
    kept: list[Block] = []
    for day, day_blocks in by_day.items():
        if len(day_blocks) <= shown:
            kept.extend(day_blocks)
            continue
        kept.extend(day_blocks[: shown - 1])
        rest = day_blocks[shown - 1 :]
        first, last = rest[0], max(rest, key=lambda block: block.end)
        left = float(first.left)
        right = fraction(min(last.end, local_midnight(day + timedelta(days=1))))
        kept.append(
            Block(
                kind="more",
                start=first.start,
                end=last.end,
                left=first.left,
                width=_percent(right - left / 100),
                title=f"+{len(rest)} more",
                when=span_label(first.start, last.end),
                more=len(rest),
                day=day,
                starts_before=first.starts_before,
            )
        )
    return kept


def build(first_day: date, days_count: int, *, now: datetime | None = None, user=None) -> Timeline:
    """The timeline from ``first_day``; with ``user``, private teams' bookings are shown as
    ``environments.privacy`` says (the slot is taken, by "a private team")."""
    now = now or timezone.now()
    start = local_midnight(first_day)
    end = local_midnight(first_day + timedelta(days=days_count))
    total = (end - start).total_seconds()

    def fraction(moment: datetime) -> float:
        return (moment - start).total_seconds() / total

    today = timezone.localdate(now)
    days = []
    for offset in range(days_count):
        day = first_day + timedelta(days=offset)
        day_start, day_end = local_midnight(day), local_midnight(day + timedelta(days=1))
        if day < today:
            book_start = None
        elif day == today:
            book_start = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
            book_start += timedelta(hours=1)
        else:
            book_start = timezone.make_aware(datetime.combine(day, time(BOOK_FROM_HOUR)))
        days.append(
            Day(
                day=day,
                left=_percent(fraction(day_start)),
                width=_percent(fraction(day_end) - fraction(day_start)),
                is_today=day == today,
                is_weekend=day.weekday() >= 5,
                book_start=book_start,
            )
        )

    lanes = {env.pk: Lane(env) for env in Environment.objects.select_related("owner_team")}
    teams: dict[int, Team] = {}

    def place(lane: Lane | None, block_start: datetime, block_end: datetime, **kwargs) -> None:
        if lane is None:  # an environment added since the first query
            return
        left = fraction(max(block_start, start))
        right = fraction(min(block_end, end))
        lane.blocks.append(
            Block(
                start=block_start,
                end=block_end,
                left=_percent(left),
                width=_percent(right - left),
                when="",  # labelled once bounded (_bounded): the label is the costly part
                starts_before=block_start < start,
                ends_after=block_end > end,
                **kwargs,
            )
        )

    bookings = selectors.holding_bookings_between(start, end)
    for booking in privacy.conceal(user, bookings) if user is not None else bookings:
        teams[booking.team_id] = booking.team
        place(
            lanes.get(booking.environment_id),
            booking.start,
            booking.end,
            kind="booking",
            title=booking.purpose,
            team=booking.team,
            booking=booking,
        )
    windows = list(selectors.maintenance_between(start, end))
    for window in windows:
        place(
            lanes.get(window.environment_id),
            window.start,
            window.end,
            kind="maintenance",
            title=window.reason,
            maintenance=window,
        )
    shown = LANE_DAY_SHOWN.get(days_count, LANE_DAY_SHOWN_DEFAULT)
    for lane in lanes.values():
        lane.blocks.sort(key=lambda block: (block.start, block.kind))
        lane.blocks = _bounded(lane.blocks, shown, start, fraction)
        for block in lane.blocks:
            block.when = block.when or span_label(block.start, block.end)
        for index, block in enumerate(lane.blocks):
            following = lane.blocks[index + 1] if index + 1 < len(lane.blocks) else None
            right = float(following.left) if following is not None else 100.0
            block.room = _percent((right - float(block.left)) / 100)

    return Timeline(
        first_day=first_day,
        days_count=days_count,
        start=start,
        end=end,
        days=days,
        lanes=sorted(lanes.values(), key=lambda lane: lane.environment.name),
        teams=sorted(teams.values(), key=lambda team: team.name),
        now_left=_percent(fraction(now)) if start <= now < end else None,
        past_width=_percent(fraction(now)),
        has_maintenance=bool(windows),
    )
