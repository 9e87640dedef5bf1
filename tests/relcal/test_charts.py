"""The shared trend chart (``relcal.charts.trend_svg``): a bar or a dot per bucket at the right
height, a gap (never a 0) where there is nothing to measure, a tooltip over every bucket's
column, round ticks, and what a screen reader needs; every text escaped."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from relcal import charts

SVG = "{http://www.w3.org/2000/svg}"
LAYOUT = charts.TREND_WIDE


def draw(values, *, bars=False, highest=None, title="Deployments per week") -> ElementTree.Element:
    buckets = [
        charts.Bucket(f"W{i}", value, f"Week {i}: {'no data' if value is None else value}")
        for i, value in enumerate(values)
    ]
    svg = charts.trend_svg(
        buckets=buckets,
        title=title,
        chart_id="trend-x",
        tick_text=lambda value: f"{value:g}",
        axis_label="deployments",
        bars=bars,
        highest=highest,
    )
    return ElementTree.fromstring(str(svg))


def marks(root, name: str) -> list[ElementTree.Element]:
    return root.findall(f".//{SVG}{name}[@class='trend__{'bar' if name == 'rect' else 'point'}']")


def test_each_bucket_has_its_tooltip_over_its_whole_column():
    root = draw([1, None, 3])
    columns = root.findall(f".//{SVG}g[@class='trend__bucket']")
    assert [c.find(f"{SVG}title").text for c in columns] == [
        "Week 0: 1",
        "Week 1: no data",
        "Week 2: 3",
    ]
    hits = [c.find(f"{SVG}rect") for c in columns]
    assert {h.get("height") for h in hits} == {str(LAYOUT.plot_bottom - LAYOUT.plot_top)}


def test_bars_stand_on_the_axis_at_their_height():
    root = draw([2, 4], bars=True)
    first, second = marks(root, "rect")
    bottom = LAYOUT.plot_bottom
    assert float(first.get("y")) + float(first.get("height")) == pytest.approx(bottom)
    # 4 is the top tick: the bar reaches the top of the plot; 2 half way.
    assert float(second.get("y")) == pytest.approx(LAYOUT.plot_top)
    assert float(first.get("height")) == pytest.approx(float(second.get("height")) / 2)


def test_a_bucket_without_data_is_a_gap_not_a_zero():
    root = draw([1, None, 3])
    points = marks(root, "circle")
    assert len(points) == 2
    line = root.find(f".//{SVG}path[@class='trend__line']").get("d")
    assert line.count("M") == 2  # the line breaks at the gap
    assert root.find(f".//{SVG}text[@class='trend__none']").text == "–"


def test_without_any_figure_it_says_so():
    root = draw([None, None])
    empty = root.find(f".//{SVG}text[@class='trend__empty']")
    assert empty.text == "No data in this period"
    assert "none with data" in root.find(f"{SVG}desc").text


@pytest.mark.parametrize(
    ("highest", "ticks"),
    [
        (0, [0.0, 1.0]),
        (0.43, [0.0, 0.2, 0.4, 0.6]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (25, [0, 10, 20, 30]),
        (110, [0, 50, 100, 150]),
    ],
)
def test_ticks_are_round_numbers_from_zero(highest, ticks):
    assert charts.nice_ticks(highest) == pytest.approx(ticks)


def test_a_floor_for_the_axis_keeps_small_rates_small():
    root = draw([2], highest=10)
    axis = root.find(f"{SVG}g[@class='trend__y-axis']")
    ticks = [t.text for t in axis.iter(f"{SVG}text") if t.get("class") is None]
    assert ticks == ["0", "2.5", "5", "7.5", "10"]


def test_it_has_a_title_and_a_description_for_screen_readers():
    root = draw([1, 2])
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "trend-x-title trend-x-desc"
    assert root.find(f"{SVG}title").text == "Deployments per week"
    assert root.find(f"{SVG}desc").text.startswith("2 periods, 2 with data")


def test_every_text_is_escaped():
    svg = charts.trend_svg(
        buckets=[charts.Bucket("<b>", 1, "<script>alert(1)</script> & co")],
        title="<i>x</i>",
        chart_id='"x',
        tick_text=str,
        axis_label="<u>",
    )
    assert "<script>" not in svg
    root = ElementTree.fromstring(str(svg))
    assert root.find(f".//{SVG}title").text == "<i>x</i>"
    assert root.find(f".//{SVG}g[@class='trend__bucket']/{SVG}title").text == (
        "<script>alert(1)</script> & co"
    )


def test_the_narrow_drawing_labels_fewer_buckets_in_a_steady_rhythm():
    values = list(range(14))
    wide = draw(values)
    buckets = [charts.Bucket(f"W{i}", v, "") for i, v in enumerate(values)]
    narrow = ElementTree.fromstring(
        str(
            charts.trend_svg(
                buckets=buckets,
                title="t",
                chart_id="n",
                tick_text=str,
                axis_label="a",
                layout=charts.TREND_NARROW,
            )
        )
    )

    def labels(root):
        axis = root.find(f"{SVG}g[@class='trend__x-axis']")
        return [t.text for t in axis.iter(f"{SVG}text")]

    assert labels(wide) == [f"W{i}" for i in range(0, 14, 2)]
    assert labels(narrow) == ["W0", "W4", "W8", "W12"]
    assert "chart--narrow" in narrow.get("class")
