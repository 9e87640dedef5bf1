"""The burn-down chart's SVG: the freeze threshold at the right height, the zero line, the
budget line through every point (at most 300), a marker per deployment with its tooltip, and
what a reader of the markup (or a screen reader) needs: title, description, axis labels."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
from django.utils import timezone

from reliability import chart

WIDE = chart.WIDE

SVG = "{http://www.w3.org/2000/svg}"
END = datetime(2027, 3, 2, 12, 0, tzinfo=UTC)
START = END - timedelta(days=28)


def draw(points=(), markers=(), threshold=0.25, **options) -> ElementTree.Element:
    svg = chart.burndown_svg(
        points=points,
        start=options.pop("start", START),
        end=options.pop("end", END),
        threshold=threshold,
        markers=markers,
        title=options.pop("title", "Error budget left of Payments API availability"),
        chart_id="burndown-1",
    )
    return ElementTree.fromstring(str(svg))


def falling(count: int, *, to: float = 0.2) -> list[chart.Point]:
    """``count`` points over the window, the budget falling from 100 % to ``to``."""
    step = (END - START) / (count - 1)
    return [
        chart.Point(
            at=END - (count - 1 - i) * step,
            remaining=1 - (1 - to) * i / (count - 1),
            label="Healthy",
        )
        for i in range(count)
    ]


def find(root, css_class: str) -> list[ElementTree.Element]:
    return [e for e in root.iter() if css_class in (e.get("class") or "").split()]


def line_y(root, css_class: str) -> float:
    [group] = find(root, css_class)
    line = group if group.tag == f"{SVG}line" else group.find(f"{SVG}line")
    assert line.get("y1") == line.get("y2")
    return float(line.get("y1"))


def test_the_threshold_line_sits_at_its_share_of_the_axis_from_zero_to_100():
    root = draw(falling(50))
    # 0 % at the bottom of the plot, 100 % at its top: 25 % is a quarter of the way up.
    expected = WIDE.plot_bottom - 0.25 * (WIDE.plot_bottom - WIDE.plot_top)
    assert line_y(root, "burndown__threshold") == pytest.approx(expected, abs=0.06)
    assert line_y(root, "burndown__zero") == pytest.approx(WIDE.plot_bottom)
    [group] = find(root, "burndown__threshold")
    assert group.find(f"{SVG}text").text == "freeze threshold (25%)"
    assert group.find(f"{SVG}line").get("stroke-dasharray")


def test_the_threshold_follows_the_teams_policy():
    root = draw(falling(50), threshold=0.5)
    expected = (WIDE.plot_top + WIDE.plot_bottom) / 2
    assert line_y(root, "burndown__threshold") == pytest.approx(expected, abs=0.06)
    assert "freeze threshold (50%)" in ElementTree.tostring(root, encoding="unicode")


def test_an_overspent_budget_takes_the_axis_below_zero():
    root = draw(falling(50, to=-0.4))
    labels = [t.text for t in find(root, "burndown__y-axis")[0].iter(f"{SVG}text")]
    assert labels[:6] == ["100%", "75%", "50%", "25%", "0%", "−25%"]
    assert labels[-2] == "−50%"
    # Zero is now 100/150 of the way down.
    expected = WIDE.plot_top + (100 / 150) * (WIDE.plot_bottom - WIDE.plot_top)
    assert line_y(root, "burndown__zero") == pytest.approx(expected, abs=0.06)
    assert find(root, "burndown__band--exhausted")


def test_each_point_has_a_tooltip_and_the_line_passes_through_it():
    root = draw(falling(11))
    points = find(root, "burndown__point")
    assert len(points) == 11
    last = points[-1]
    assert re.fullmatch(
        r"2 Mar 12:00: 20\.0% of the budget left · Healthy", last.find(f"{SVG}title").text
    )
    [line] = find(root, "burndown__line")
    assert line.get("d").endswith(f"{last.get('cx')},{last.get('cy')}")
    assert float(last.get("cx")) == pytest.approx(WIDE.plot_right)


def test_at_most_300_points_are_drawn_keeping_the_first_and_the_latest():
    points = falling(5000)
    root = draw(points)
    drawn = find(root, "burndown__point")
    assert len(drawn) == 300
    assert drawn[0].get("cx") == f"{WIDE.plot_left:.1f}"
    assert drawn[-1].find(f"{SVG}title").text.startswith("2 Mar 12:00")


def test_a_gap_without_figures_breaks_the_line():
    points = falling(10)
    points[5] = chart.Point(at=points[5].at, remaining=None, label="No data")
    root = draw(points)
    [line] = find(root, "burndown__line")
    assert line.get("d").count("M") == 2
    assert len(find(root, "burndown__point")) == 9


def test_each_deployment_in_the_window_is_a_marker_with_its_tooltip():
    at = END - timedelta(days=3)
    title = chart.deployment_title(version="4.2.0", environment="prod", outcome="succeeded", at=at)
    markers = [
        chart.Marker(at=at, title=title, outcome="succeeded"),
        chart.Marker(at=END - timedelta(days=1), title="4.2.1 to prod, failed", outcome="failed"),
        chart.Marker(at=START - timedelta(days=1), title="too old", outcome="succeeded"),
    ]
    root = draw(falling(20), markers)
    drawn = find(root, "burndown__deployment")
    assert [m.find(f"{SVG}title").text for m in drawn] == [
        "4.2.0 to prod, succeeded, 27 Feb 12:00",
        "4.2.1 to prod, failed",
    ]
    x = float(drawn[0].find(f"{SVG}line").get("x1"))
    share = 25 / 28  # three days before the end of a 28-day window
    assert x == pytest.approx(WIDE.plot_left + share * (WIDE.plot_right - WIDE.plot_left), 0.1)
    assert drawn[1].find(f"{SVG}line").get("stroke") == chart.COLORS["failed"]


def test_the_chart_names_itself_for_screen_readers_and_labels_its_axes():
    root = draw(falling(20), [chart.Marker(at=END, title="x", outcome="succeeded")])
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "burndown-1-title burndown-1-desc"
    assert root.find(f"{SVG}title").text == "Error budget left of Payments API availability"
    assert root.find(f"{SVG}desc").text == (
        "Budget left went from 100.0% on 2 Feb 12:00 to 20.0% on 2 Mar 12:00. Freeze "
        "threshold at 25%; 1 production deployment marked."
    )
    labels = [t.text for t in find(root, "burndown__axis-label")]
    assert labels == ["budget left", "time (UTC)"]
    ticks = [t.find(f"{SVG}text").text for t in find(root, "burndown__tick")]
    assert ticks == ["3 Feb", "10 Feb", "17 Feb", "24 Feb"]


def test_hour_ticks_for_a_short_window():
    root = draw(falling(20), start=END - timedelta(hours=6))
    ticks = [t.find(f"{SVG}text").text for t in find(root, "burndown__tick")]
    assert ticks == ["07:00", "08:00", "09:00", "10:00", "11:00", "12:00"]


def test_text_is_escaped():
    root = draw(
        falling(3),
        [chart.Marker(at=END, title="<script>alert(1)</script> & co", outcome="succeeded")],
        title="A <b>bold</b> name",
    )
    assert root.find(f"{SVG}title").text == "A <b>bold</b> name"
    assert find(root, "burndown__deployment")[0].find(f"{SVG}title").text.startswith("<script>")
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))


def test_an_empty_window_says_there_are_no_figures_yet():
    root = draw([])
    assert find(root, "burndown__empty")[0].text == "No figures in this window yet"
    assert not find(root, "burndown__line")
    assert line_y(root, "burndown__threshold") > WIDE.plot_top


def test_the_table_shows_a_few_points_ending_with_the_latest():
    rows = chart.table_rows(falling(500))
    assert len(rows) == 30
    assert rows[-1].at == END


def test_day_ticks_stay_on_local_midnights_across_a_dst_change():
    # Berlin leaves summer time on Sunday 25 October 2026: that day lasts 25 hours.
    end = datetime(2026, 10, 28, 12, 0, tzinfo=UTC)
    with timezone.override("Europe/Berlin"):
        root = draw(falling(20), start=end - timedelta(days=7), end=end)
    ticks = find(root, "burndown__tick")
    labels = [t.find(f"{SVG}text").text for t in ticks]
    assert labels == ["22 Oct", "23 Oct", "24 Oct", "25 Oct", "26 Oct", "27 Oct", "28 Oct"]
    xs = [float(t.find(f"{SVG}line").get("x1")) for t in ticks]
    day = xs[1] - xs[0]
    assert xs[4] - xs[3] == pytest.approx(day * 25 / 24, abs=0.2)
    assert xs[5] - xs[4] == pytest.approx(day, abs=0.2)
