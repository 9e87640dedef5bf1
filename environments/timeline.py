"""The availability timeline's layout: environments as swimlanes over a range of days.

Positions are fractions of elapsed time over the range, computed here (not in the template) so
that a day with a DST change is an hour shorter or longer, as it really is, and so that the
page's CSS gets plain numbers whatever the locale. Four queries however many environments,
bookings and waitlist entries there are.

Every block stays readable however dense a lane is: blocks that touch or overlap (adjacent
bookings, a waitlist entry over the booking it waits behind, maintenance) are stacked in rows of
the lane (``_stack``) instead of drawn over each other, and each block's text stays inside its
own bar (cut with an ellipsis), its full text in a tooltip and in its accessible name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.formats import date_format

from releases.models import Team

from . import privacy, selectors
from .models import Booking, Environment, MaintenanceWindow, WaitlistEntry

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
# The narrowest a track gets (CSS: ``.lanes`` min-width, from ``--track-min``): a day's share
# of it, and a floor so that the one-day view is still wide enough for short blocks.
DAY_MIN_PX = 68
TRACK_MIN_PX = 480
# A block is drawn at least this wide (CSS: ``.slot`` min-width), and blocks in one row of a
# lane keep at least this gap: stacking reserves both, as fractions of the narrowest track, so
# that two bars never overlap or touch however wide the screen is.
BAR_MIN_PX = 10
BAR_GAP_PX = 3


def track_min_px(days_count: int) -> int:
    return max(days_count * DAY_MIN_PX, TRACK_MIN_PX)


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time()))


def within_a_day(start: datetime, end: datetime) -> bool:
    """Whether ``span_label`` writes the span as times of one day (without its date)."""
    start, end = timezone.localtime(start), timezone.localtime(end)
    return start.date() == end.date() or (
        end.time() == time() and end.date() == start.date() + timedelta(days=1)
    )


def span_label(start: datetime, end: datetime, *, with_day: bool = False) -> str:
    """ "14:00–16:00" within a day ("Tue 2 Mar, 14:00–16:00" ``with_day``), else "Tue 2 Mar
    14:00 – Wed 3 Mar 10:00", in the current time zone."""
    start, end = timezone.localtime(start), timezone.localtime(end)
    day = f"{date_format(start, 'D j M')}, " if with_day else ""
    if start.date() == end.date():
        return f"{day}{date_format(start, 'H:i')}–{date_format(end, 'H:i')}"
    if within_a_day(start, end):
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
    kind: str  # "booking", "maintenance", "waitlist" or "more"
    start: datetime
    end: datetime
    left: str
    width: str
    title: str
    when: str
    team: Team | None = None
    booking: Booking | None = None
    maintenance: MaintenanceWindow | None = None
    waitlist: WaitlistEntry | None = None
    starts_before: bool = False
    ends_after: bool = False
    # A "more" block: how many blocks it stands for, and the day it opens.
    more: int = 0
    day: date | None = None
    # The row of its lane it is drawn in (``_stack``): 0 is the top one.
    row: int = 0

    @property
    def when_full(self) -> str:
        return span_label(self.start, self.end, with_day=True)

    @property
    def who(self) -> str:
        if self.team is None:
            return "Maintenance"
        return f"{self.team.name} waiting" if self.kind == "waitlist" else self.team.name

    @property
    def label(self) -> str:
        """The tooltip: the whole text, however little of it the bar has room for."""
        if self.more:
            return f"{self.more} more on {date_format(self.day, 'D j M')}, {self.when_full}"
        return f"{self.who}: {self.title}, {self.when_full}"

    @property
    def spoken(self) -> str:
        """The accessible name (the page adds the environment): the bar's visible text in the
        order it is shown, then the day, so the visible label is part of the name."""
        if not within_a_day(self.start, self.end):
            return f"{self.who}: {self.title}, {self.when}"
        day = date_format(timezone.localtime(self.start), "D j M")
        return f"{self.who}: {self.title}, {self.when}, {day}"


@dataclass
class Lane:
    environment: Environment
    blocks: list[Block] = field(default_factory=list)
    # How many rows its blocks are stacked in (``_stack``).
    rows: int = 1


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
    has_waitlist: bool = False

    @property
    def track_min_px(self) -> int:
        return track_min_px(self.days_count)

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
        if first == last:
            return date_format(first, "D j M Y")
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


def _stack(blocks: list[Block], days_count: int) -> int:
    """Give each block (sorted by start) the first row of the lane where it neither overlaps
    nor touches the block before it, its bar's least width and a gap included; return the
    number of rows. First fit by start uses as few rows as the deepest overlap of the bars as
    drawn (least width and gap included): no stacking can use fewer."""
    track = track_min_px(days_count)
    least, gap = 100 * BAR_MIN_PX / track, 100 * BAR_GAP_PX / track
    row_ends: list[float] = []
    for block in blocks:
        left = float(block.left)
        right = left + max(float(block.width), least)
        row = next((n for n, end in enumerate(row_ends) if end + gap <= left), len(row_ends))
        if row == len(row_ends):
            row_ends.append(0.0)
        block.row = row
        row_ends[row] = right
    return max(len(row_ends), 1)


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
    entries = selectors.waiting_between(start, end, now=now)
    entries = privacy.conceal(user, entries) if user is not None else list(entries)
    for entry in entries:
        teams[entry.team_id] = entry.team
        place(
            lanes.get(entry.environment_id),
            entry.start,
            entry.end,
            kind="waitlist",
            title=entry.purpose,
            team=entry.team,
            waitlist=entry,
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
        lane.blocks.sort(key=lambda block: (float(block.left), block.kind))
        lane.rows = _stack(lane.blocks, days_count)

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
        has_waitlist=bool(entries),
    )
