"""services.places and services.orgs: places with their tenants, regional org and centre;
centres and the service gap; shared orgs and what stands out.

The tiny county (tests/conftest.py) has the park 甲园区 over the west half of G1, the building
甲大厦 in G2 with a 楼宇 service station at its point, and the county-level 甲镇党群服务中心
(150 m², below the 200 m² standard) in G1 just east of the park, so every figure below can be
worked out by hand. The demo county checks that the same functions agree with the rule
counts of the headless report.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pyproj import Geod

from conftest import unit, write_ledger
from services import orgs, places
from services.analysis import analyse_files
from services.settings import Policy

PARK_ORG = {"org_name": "甲园区综合党委", "org_type": "区域性党组织"}
JOINT = {"org_name": "某联合党支部", "org_type": "联合党支部"}
BUILDING_ORG = {"org_name": "甲大厦党支部", "org_type": "党支部"}  # written as a plain branch


def tiny_rows():
    """7 park tenants, 1 unit of the park's joint branch outside it, 4 building tenants
    (placed at the building) and 1 unit far east in G3."""
    return [
        unit(name="园甲", lon=102.701, lat=25.002, org_name="园甲党支部", org_type="党支部", formal_members=4),
        unit(name="园乙", lon=102.702, lat=25.003, **PARK_ORG),
        unit(name="园丙", lon=102.703, lat=25.004, **PARK_ORG),
        unit(name="园丁", lon=102.701, lat=25.005, **JOINT),
        unit(name="园戊", lon=102.702, lat=25.006, **JOINT, formal_members=3),
        unit(name="园己", lon=102.703, lat=25.007, **JOINT),
        unit(name="园庚", lon=102.704, lat=25.008),  # blind
        unit(name="外甲", lon=102.712, lat=25.004, **JOINT),  # the joint branch's 4th unit, in G2
        unit(name="楼甲", building="甲大厦", **BUILDING_ORG),
        unit(name="楼乙", building="甲大厦", **BUILDING_ORG),
        unit(name="楼丙", building="甲大厦", **BUILDING_ORG),
        unit(name="楼丁", building="甲大厦", instructor="王指导"),  # work coverage
        unit(name="远甲", lon=102.728, lat=25.008),  # 1.3 km from the building station
    ]


@pytest.fixture
def tiny(tmp_path, tiny_county):
    path = write_ledger(tmp_path / "台账.csv", tiny_rows())
    layers = {k: v for k, v in tiny_county.items() if k != "grids"}
    return analyse_files(path, tiny_county["grids"], Policy(as_of=dt.date(2026, 11, 22)), **layers)


# --- places -------------------------------------------------------------------------------


def test_park_row_counts_its_tenants_and_finds_its_regional_org(tiny):
    park = places.place_table(tiny, "parks").set_index("name").loc["甲园区"]
    assert park["level"] == "县级"
    assert (park["units"], park["own"], park["joint"], park["work"], park["blind"]) == (7, 1, 5, 0, 1)
    assert park["org_coverage_rate"] == pytest.approx(6 / 7)
    # the joint branch covers 3 tenants, the regional org 2: the typed regional org wins
    assert park["regional_org"] == "甲园区综合党委"
    assert park["regional_org_typed"] and park["regional_org_tenants"] == 2


def test_park_without_a_centre_inside_has_none_and_names_the_nearest(tiny):
    park = places.place_table(tiny, "parks").set_index("name").loc["甲园区"]
    assert not park["has_centre"] and park["flag_park_without_centre"]
    assert tiny.assessment.flag_counts()["park_without_centre"] == 1
    assert park["nearest_centre"] == "甲镇党群服务中心"
    # from the park's east edge (102.705) to the centre (102.7075) along 25.005° N
    _, _, expected = Geod(ellps="WGS84").inv(102.705, 25.005, 102.7075, 25.005)
    assert park["nearest_centre_m"] == pytest.approx(expected, abs=2)
    assert places.centre_text(park) == f"无（最近：甲镇党群服务中心，{places.distance_text(expected)}）"


def test_building_with_a_station_at_its_point_has_a_centre(tiny):
    building = places.place_table(tiny, "buildings").set_index("name").loc["甲大厦"]
    assert building["floors"] == 20
    assert (building["units"], building["joint"], building["work"]) == (4, 3, 1)
    assert building["has_centre"] and building["centre"] == "甲大厦党群服务站"
    assert building["centre_level"] == "楼宇" and building["nearest_centre_m"] == 0
    assert places.centre_text(building) == "有：甲大厦党群服务站（楼宇）"
    assert places.centre_text(building, short=True) == "有（楼宇）"


def test_a_shared_branch_covering_most_tenants_stands_in_for_a_regional_org(tiny):
    building = places.place_table(tiny, "buildings").set_index("name").loc["甲大厦"]
    assert building["regional_org"] == "甲大厦党支部"
    assert not building["regional_org_typed"] and building["regional_org_type"] == "党支部"
    assert places.regional_org_text(building) == "甲大厦党支部（党支部）"


def test_a_branch_with_one_tenant_is_not_a_place_org(tmp_path, tiny_county):
    rows = [unit(name="楼甲", building="甲大厦", **JOINT), unit(name="外甲", lon=102.712, lat=25.004, **JOINT)]
    path = write_ledger(tmp_path / "台账.csv", rows)
    layers = {k: v for k, v in tiny_county.items() if k != "grids"}
    analysis = analyse_files(path, tiny_county["grids"], **layers)
    building = places.place_table(analysis, "buildings").iloc[0]
    assert building["regional_org"] is None or building["regional_org"] != building["regional_org"]
    assert places.regional_org_text(building) == "未建"


def test_display_table_has_chinese_headers_and_worst_coverage_first(tiny):
    table = places.place_display_table(places.place_table(tiny, "buildings"), "buildings")
    assert list(table.columns[:3]) == ["商务楼宇名称", "楼层数", "入驻单位"]
    assert {"组织覆盖率", "工作覆盖率", "区域性党组织", "党群服务中心"} <= set(table.columns)
    parks = places.place_display_table(places.place_table(tiny, "parks"), "parks")
    assert parks.loc[0, "园区名称"] == "甲园区" and parks.loc[0, "级别"] == "县级"


def test_a_county_without_markets_has_an_empty_market_table(tiny):
    assert places.place_table(tiny, "markets").empty


def test_place_orgs_lists_the_orgs_of_the_tenants_most_tenants_first(tiny):
    found = places.place_orgs(tiny.units, tiny.assessment.orgs, "parks", "甲园区")
    assert list(found["name"]) == ["某联合党支部", "甲园区综合党委", "园甲党支部"]
    assert list(found["tenants"]) == [3, 2, 1] and list(found["units"]) == [4, 2, 1]


def test_stacked_tenants_are_spread_around_their_building_for_the_map(tiny):
    tenants = places.place_tenants(tiny.units, "buildings", "甲大厦")
    assert tenants[["x", "y"]].drop_duplicates().shape[0] == 1  # all drawn at the building
    drawn = places.spread_stacked(tenants)
    assert drawn["spread"].all() and drawn[["x", "y"]].drop_duplicates().shape[0] == 4
    _, _, distance = Geod(ellps="WGS84").inv(drawn["x"], drawn["y"], np.full(4, tenants["x"].iloc[0]),
                                             np.full(4, tenants["y"].iloc[0]))
    assert (distance > 5).all() and (distance < 40).all()
    park = places.spread_stacked(places.place_tenants(tiny.units, "parks", "甲园区"))
    assert not park["spread"].any()  # units at their own coordinates stay where they are


def test_place_bounds_hold_the_outline_and_tenants_and_are_never_tiny(tiny):
    minx, miny, maxx, maxy = places.place_bounds(tiny, "parks", "甲园区")
    assert minx <= 102.70 and maxx >= 102.705 and miny <= 25.00 and maxy >= 25.01
    minx, miny, maxx, maxy = places.place_bounds(tiny, "buildings", "甲大厦")
    assert minx < 102.715 < maxx and miny < 25.005 < maxy
    assert (maxy - miny) * 111_320 == pytest.approx(places.MIN_VIEW_M, rel=0.01)
    assert places.place_bounds(tiny, "buildings", "不存在的大厦") is None


def test_demo_place_tables_count_every_tenant(demo):
    for kind, column in places.PLACE_COLUMNS.items():
        table = places.place_table(demo, kind)
        assert len(table) == len(demo.county.layer(kind))
        counts = demo.units.groupby(column).size()
        assert dict(zip(table["name"], table["units"])) == {n: int(counts.get(n, 0)) for n in table["name"]}
    parks = places.place_table(demo, "parks")
    assert int(parks["flag_park_without_centre"].sum()) == demo.assessment.flag_counts()["park_without_centre"]


# --- service centres ------------------------------------------------------------------------


def test_centre_table_reads_area_standard_and_what_each_centre_serves(tiny):
    centres = places.centre_table(tiny).set_index("name")
    town = centres.loc["甲镇党群服务中心"]
    assert town["flag_centre_too_small"] and town["minimum_area_m2"] == 200 and town["area_gap_m2"] == 50
    assert town["served_units"] == 7 and town["park"] is None
    station = centres.loc["甲大厦党群服务站"]
    assert not station["flag_centre_too_small"] and station["area_gap_m2"] == 0
    assert station["served_units"] == 5 and station["nearest_units"] == 6  # 远甲 is nearest but too far


def test_service_gap_is_the_outside_radius_flag_farthest_first(tiny):
    gap = places.service_gap(tiny.units)
    assert list(gap["name"]) == ["远甲"]
    summary = places.service_gap_summary(tiny.units)
    assert summary == {"placed": 13, "outside": 1, "share": pytest.approx(1 / 13)}
    table = places.service_gap_table(tiny.units)
    assert table.loc[table.index[0], "最近党群服务中心"] == "甲大厦党群服务站"
    assert 1200 < table["距最近中心（米）"].iloc[0] < 1400
    by_town = places.service_gap_by(tiny.units)
    assert by_town.loc["乙镇", "outside"] == 1 and by_town.loc["甲镇", "outside"] == 0


def test_centres_by_level_in_the_order_of_the_levels(tiny, demo):
    assert places.centres_by_level(places.centre_table(tiny)).to_dict() == {"县级": 1, "楼宇": 1}
    levels = places.centres_by_level(places.centre_table(demo))
    assert list(levels.index) == ["市级", "县级", "乡镇街道", "园区", "楼宇"]
    assert levels.sum() == len(demo.county.centres)


def test_demo_every_placed_unit_is_served_or_in_the_gap(demo):
    centres = places.centre_table(demo)
    summary = places.service_gap_summary(demo.units)
    assert summary["outside"] == demo.assessment.flag_counts()["outside_service_radius"]
    assert centres["served_units"].sum() + summary["outside"] == summary["placed"]
    assert int(centres["flag_centre_too_small"].sum()) == demo.assessment.flag_counts()["centre_too_small"]


def test_distance_text():
    assert places.distance_text(850.4) == "约850米"
    assert places.distance_text(3840) == "约3.8公里"
    assert places.distance_text(float("nan")) == "—"


# --- shared orgs ----------------------------------------------------------------------------


def test_shared_orgs_are_joint_grid_regional_and_branches_named_by_several_units(tiny):
    shared = orgs.shared_orgs(tiny.assessment.orgs, tiny.units, tiny.assessment.policy)
    assert set(shared["name"]) == {"某联合党支部", "甲园区综合党委", "甲大厦党支部"}  # not the own 园甲党支部
    kinds = dict(zip(shared["name"], shared["kind"]))
    assert kinds == {"某联合党支部": "联合党支部", "甲园区综合党委": "区域性党组织", "甲大厦党支部": orgs.OTHER_SHARED}


def test_over_cap_and_should_form_own_stand_out_first(tiny):
    shared = orgs.shared_orgs(tiny.assessment.orgs, tiny.units, tiny.assessment.policy)
    first = shared.iloc[0]
    assert first["name"] == "某联合党支部" and first["flag_joint_over_cap"] and first["should_form_own"] == 1
    assert first["status"].startswith("超限、应单独组建1家")
    assert "覆盖4个单位，超过3个" in first["actions"] and "应单独组建党组织" in first["actions"]
    assert list(orgs.filter_orgs(shared, stands_out_only=True)["name"]) == ["某联合党支部"]
    assert list(orgs.filter_orgs(shared, kinds=[orgs.OTHER_SHARED])["name"]) == ["甲大厦党支部"]
    assert list(orgs.filter_orgs(shared, query="园区")["name"]) == ["甲园区综合党委"]
    counts = orgs.org_counts(shared)
    assert counts["joint_over_cap"] == tiny.assessment.flag_counts()["joint_over_cap"] == 1
    assert counts["with_should_form_own"] == 1 and counts["stands_out"] == 1


def test_org_members_and_their_table(tiny):
    shared = orgs.shared_orgs(tiny.assessment.orgs, tiny.units, tiny.assessment.policy)
    key = shared.loc[shared["name"] == "某联合党支部", "org_key"].iloc[0]
    members = orgs.org_members(tiny.units, key)
    assert list(members["name"]) == ["园丁", "园戊", "园己", "外甲"]
    table = orgs.member_table(members)
    assert list(table.columns[:3]) == ["台账行号", "企业名称", "应单独组建"]
    assert list(table["应单独组建"]) == ["", "是", "", ""]
    display = orgs.org_display_table(shared)
    assert list(display.columns[:4]) == ["党组织名称", "类型", "状态", "覆盖单位"]


def test_demo_over_cap_orgs_are_all_listed(demo):
    shared = orgs.shared_orgs(demo.assessment.orgs, demo.units, demo.assessment.policy)
    assert int(shared["flag_joint_over_cap"].sum()) == demo.assessment.flag_counts()["joint_over_cap"]
    joint_units = demo.units[demo.units["status"] == "joint"]
    assert shared["units"].sum() == len(joint_units)


def test_places_summary(tiny, demo):
    tables = {kind: places.place_table(tiny, kind) for kind in places.PLACE_KINDS}
    assert places.places_summary(tables, tiny.units) == {
        "parks": 1, "parks_without_centre": 1, "buildings": 1, "buildings_with_centre": 1, "markets": 0,
        "tenants": 11, "places": 2, "with_regional_org": 1}
    tables = {kind: places.place_table(demo, kind) for kind in places.PLACE_KINDS}
    summary = places.places_summary(tables, demo.units)
    assert summary["parks_without_centre"] == demo.assessment.flag_counts()["park_without_centre"]
    assert summary["tenants"] == int(demo.units[["park_name", "building_name", "market_name"]].notna().any(axis=1).sum())
