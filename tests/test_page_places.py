"""The 园区与楼宇 page, driven as a user does: open it, read the tables, open a building, look
at its map, download its tenants. Every figure is compared with the services on the demo
county (the dashboard's default data)."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

import apptest_support
from apptest_support import map_script, metric, shows, table_with
from conftest import REPO
from services import places

APP = str(REPO / "streamlit_app.py")


def open_page(query: dict | None = None) -> AppTest:
    return apptest_support.open_page("pages/places.py", query)


def test_the_page_lists_every_park_building_and_market_with_its_tenants(demo):
    at = open_page()
    assert at.title[0].value == "园区与楼宇"
    assert any("虚构示例数据" in i.value for i in at.info)
    for kind, label in places.PLACE_LABELS.items():
        table = table_with(at, f"{label}名称")
        layer = demo.county.layer(kind)
        assert sorted(table[f"{label}名称"]) == sorted(layer["name"])
        counts = demo.units.groupby(places.PLACE_COLUMNS[kind]).size()
        assert dict(zip(table[f"{label}名称"], table["入驻单位"])) == {n: int(counts.get(n, 0)) for n in layer["name"]}
    assert metric(at, "园区") == f"{len(demo.county.parks)}个"
    assert metric(at, "商务楼宇") == f"{len(demo.county.buildings)}栋"


def test_park_table_says_which_park_lacks_a_centre(demo):
    at = open_page()
    parks = table_with(at, "园区名称").set_index("园区名称")
    without = demo.assessment.parks.loc[demo.assessment.parks["flag_park_without_centre"], "name"]
    assert len(without) == demo.assessment.flag_counts()["park_without_centre"] >= 1
    for name in demo.assessment.parks["name"]:
        assert parks.loc[name, "党群服务中心"].startswith("无" if name in set(without) else "有")
    rates = places.place_table(demo, "parks").set_index("name")["org_coverage_rate"]
    assert parks["组织覆盖率"].to_dict() == pytest.approx(rates.to_dict())


def test_opening_a_building_shows_its_tenants_map_and_download(demo, downloads):
    at = open_page()
    at.radio(key="places_kind").set_value("buildings").run()
    buildings = demo.units.groupby("building_name").size()
    name = buildings.idxmax()
    at.selectbox(key="places_buildings").set_value(name).run()
    assert not at.exception
    assert any(m.value == f"#### 商务楼宇：{name}" for m in at.markdown)
    assert metric(at, "单位总数") == str(buildings[name])
    tenants = table_with(at, "统一社会信用代码")
    expected = demo.units[demo.units["building_name"] == name]
    assert len(tenants) == len(expected) and set(tenants["企业名称"]) == set(expected["name"])

    script = map_script(at)
    assert shows(script, expected["name"].iloc[0]) and shows(script, name)
    assert not shows(script, demo.units[demo.units["building_name"] != name]["name"].iloc[0])

    button = at.download_button(key="places_download")
    book = openpyxl.load_workbook(io.BytesIO(downloads(button)))
    sheet = book["入驻单位"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "虚构示例数据"
    assert rows[1][:2] == ("台账行号", "企业名称")
    assert len(rows) - 2 == len(expected)
    assert {r[1] for r in rows[2:]} == set(expected["name"])


def test_choosing_another_place_changes_what_is_shown(demo):
    at = open_page()
    first = metric(at, "单位总数")
    first_script = map_script(at)
    parks = places.place_table(demo, "parks")
    other = parks["name"].iloc[1]
    at.selectbox(key="places_parks").set_value(other).run()
    assert metric(at, "单位总数") == str(int(parks["units"].iloc[1]))
    assert map_script(at) != first_script
    assert first == str(int(parks["units"].iloc[0]))


def test_the_map_is_zoomed_to_the_place(demo):
    at = open_page()
    at.radio(key="places_kind").set_value("markets").run()
    name = demo.county.markets["name"].iloc[0]
    at.selectbox(key="places_markets").set_value(name).run()
    script = map_script(at)
    start = script.index("fitBounds(")
    bounds = json.loads(script[start + len("fitBounds("):script.index("]]", start) + 2].strip())
    (south, west), (north, east) = bounds
    minx, miny, maxx, maxy = demo.county.markets.geometry.iloc[0].bounds
    assert west <= minx and east >= maxx and south <= miny and north >= maxy
    assert north - south < 0.02  # a few hundred metres, not the county


def test_a_link_to_a_place_opens_it(demo):
    name = demo.county.buildings["name"].iloc[3]
    at = open_page({"kind": "buildings", "place": name})
    assert at.radio(key="places_kind").value == "buildings"
    assert at.selectbox(key="places_buildings").value == name


def test_a_park_without_centre_is_called_out(demo):
    at = open_page()
    park = demo.assessment.parks.loc[demo.assessment.parks["flag_park_without_centre"], "name"].iloc[0]
    at.selectbox(key="places_parks").set_value(park).run()
    assert any("园区内没有党群服务中心" in e.value for e in at.error)
