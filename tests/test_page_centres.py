"""The 党群服务中心 page, driven as a user does: read the centre figures, look at the service
radius on the map, list and download the units outside every radius. Figures are compared
with the services and the rule counts on the demo county."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

import apptest_support
from apptest_support import map_script, metric, shows, table_with
from conftest import REPO
from dashboard.county_map import LAYER_NAMES

APP = str(REPO / "streamlit_app.py")


def open_page() -> AppTest:
    return apptest_support.open_page("pages/centres.py")


def test_centre_figures_match_the_rules(demo):
    at = open_page()
    assert at.title[0].value == "党群服务中心"
    flags = demo.assessment.flag_counts()
    centres = demo.assessment.centres
    assert metric(at, "党群服务中心") == f"{len(centres)}个"
    for level, count in centres["level"].value_counts().items():
        assert metric(at, level) == f"{count}个"
    assert metric(at, "面积不达标") == f"{flags['centre_too_small']}个"
    assert metric(at, "无党群服务中心的园区") == f"{flags['park_without_centre']}/{len(demo.assessment.parks)}个"
    assert metric(at, "服务半径外单位") == f"{flags['outside_service_radius']:,}家"
    placed = int(demo.units["x"].notna().sum())
    assert metric(at, "占已定位单位") == f"{flags['outside_service_radius'] / placed * 100:.2f}%"


def test_centre_tables(demo):
    at = open_page()
    listed = table_with(at, "面积是否达标")
    assert list(listed["名称"]) == list(demo.assessment.centres["name"])
    too_small = demo.assessment.centres.loc[demo.assessment.centres["flag_centre_too_small"], "name"]
    assert set(listed.loc[listed["面积是否达标"] == "不达标", "名称"]) == set(too_small)
    assert set(table_with(at, "差额（㎡）")["名称"]) == set(too_small)
    parks = demo.assessment.parks
    assert set(table_with(at, "最近的党群服务中心")["园区"]) == set(parks.loc[parks["flag_park_without_centre"], "name"])


def test_units_outside_every_radius_are_listed_and_downloadable(demo, downloads):
    at = open_page()
    outside = demo.units[demo.units["flag_outside_service_radius"]]
    assert len(outside) == demo.assessment.flag_counts()["outside_service_radius"]
    table = table_with(at, "距最近中心（米）")
    assert len(table) == len(outside)
    assert set(table["台账行号"]) == set(outside["row"])
    assert table["距最近中心（米）"].is_monotonic_decreasing
    assert (table["距最近中心（米）"] > demo.assessment.policy.service_radius_m).all()
    farthest = outside.loc[outside["centre_distance_m"].idxmax()]
    assert table["企业名称"].iloc[0] == farthest["name"]
    assert table["最近党群服务中心"].iloc[0] == farthest["nearest_centre"]

    by_town = table_with(at, "服务半径外")
    assert by_town["服务半径外"].sum() == len(outside)

    book = openpyxl.load_workbook(io.BytesIO(downloads(at.download_button(key="centres_download"))))
    rows = list(book["服务半径外单位"].iter_rows(values_only=True))
    assert rows[0][0] == "虚构示例数据"
    header = rows[1]
    assert header[:4] == ("台账行号", "企业名称", "最近党群服务中心", "距最近中心（米）")
    assert len(rows) - 2 == len(outside)
    assert {r[0] for r in rows[2:]} == set(outside["row"])


def test_filter_the_gap_by_town(demo):
    at = open_page()
    outside = demo.units[demo.units["flag_outside_service_radius"]]
    town = outside["town_name"].value_counts().index[0]
    at.multiselect(key="centres_towns").set_value([town]).run()
    table = table_with(at, "距最近中心（米）")
    assert len(table) == int((outside["town_name"] == town).sum())
    assert set(table["乡镇街道"]) == {town}


def test_map_draws_centres_with_their_radius_and_the_gap_units(demo):
    at = open_page()
    script = map_script(at)
    assert shows(script, LAYER_NAMES["radius"]) and shows(script, LAYER_NAMES["centres"])
    outside = demo.units[demo.units["flag_outside_service_radius"]]
    inside = demo.units[~demo.units["flag_outside_service_radius"] & demo.units["x"].notna()]
    assert shows(script, outside["name"].iloc[0]) and not shows(script, inside["name"].iloc[0])
    for name in demo.county.centres["name"]:
        assert shows(script, name)

    at.radio(key="centres_units").set_value("全部单位").run()
    assert shows(map_script(at), inside["name"].iloc[0])


def test_zoom_to_one_centre(demo):
    at = open_page()
    before = map_script(at)
    at.selectbox(key="centres_focus").set_value(2).run()
    script = map_script(at)
    assert script != before
    start = script.index("fitBounds(")
    (south, west), (north, east) = json.loads(script[start + len("fitBounds("):script.index("]]", start) + 2].strip())
    centre = demo.county.centres.geometry.iloc[2]
    assert south < centre.y < north and west < centre.x < east
    assert (north - south) * 111_320 == pytest.approx(2.4 * demo.assessment.policy.service_radius_m, rel=0.01)


def test_a_wider_radius_shrinks_the_gap(demo):
    at = open_page()
    at.session_state["policy_panel"] = True  # the user opens the sidebar's 政策参数
    at.run()
    next(n for n in at.sidebar.number_input if n.label.startswith("党群服务中心服务半径")).set_value(3000).run()
    at.run()
    expected = int((demo.units["centre_distance_m"] > 3000).sum())
    assert metric(at, "服务半径外单位") == f"{expected:,}家"
    assert len(table_with(at, "距最近中心（米）")) == expected
    assert any(c.value.startswith("虚线圈为各中心3,000米服务半径") for c in at.caption)
