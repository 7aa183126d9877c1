"""The KPI page's SVG bar charts (services/api/charts.py): well-formed, titled, scaled, and
an unmeasured week is not drawn as zero."""

import xml.etree.ElementTree as ET

from services.api.charts import HEIGHT, Point, _nice_max, bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output


def test_a_chart_is_an_image_named_by_its_title() -> None:
    root = _parse(
        bar_chart("c1", "Terugbellen op tijd <per week>", [Point("wk 1", 50.0)], percent=True)
    )
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title"
    title = root.find(f"{SVG}title")
    assert title is not None and title.get("id") == "c1-title"
    assert title.text == "Terugbellen op tijd <per week>"  # escaped in the SVG, intact in the tree


def test_bars_are_scaled_to_the_axis() -> None:
    root = _parse(
        bar_chart("c", "t", [Point("a", 100.0), Point("b", 50.0), Point("c", 0.0)], percent=True)
    )
    heights = [float(r.get("height", "0")) for r in root.iter(f"{SVG}rect")]
    assert len(heights) == 3
    assert heights[0] > 0 and abs(heights[1] - heights[0] / 2) < 0.2 and heights[2] == 0
    assert all(
        float(r.get("y", "0")) + float(r.get("height", "0")) <= HEIGHT
        for r in root.iter(f"{SVG}rect")
    )


def test_a_week_without_measurements_has_no_bar_and_says_so() -> None:
    root = _parse(bar_chart("c", "t", [Point("wk 1", None), Point("wk 2", 20.0)], percent=True))
    assert len(list(root.iter(f"{SVG}rect"))) == 1
    assert "geen" in [t.text for t in root.iter(f"{SVG}text")]


def test_count_axes_end_at_a_round_number_above_the_highest_bar() -> None:
    assert _nice_max([], percent=False) == 1.0
    assert _nice_max([3.0], percent=False) == 5.0
    assert _nice_max([7.0], percent=False) == 10.0
    assert _nice_max([10.0], percent=False) == 10.0
    assert _nice_max([11.0], percent=False) == 20.0
    assert _nice_max([430.0], percent=False) == 500.0
    assert _nice_max([12.0], percent=True) == 100.0


def test_many_weeks_label_only_some_of_them() -> None:
    points = [Point(f"wk {i}", float(i)) for i in range(26)]
    root = _parse(bar_chart("c", "t", points, percent=False))
    labels = [t.text for t in root.iter(f"{SVG}text") if (t.text or "").startswith("wk")]
    assert len(root.findall(f"{SVG}rect")) == 26
    assert 0 < len(labels) <= 13 and labels[0] == "wk 0"
