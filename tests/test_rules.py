"""Each rule of DOMAIN.md at its boundaries, with the seed text that sets it.

Every case runs the whole pipeline (ledger file → placement → assessment) on the tiny county,
so what is tested is what a county would see.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from pyproj import Geod

from conftest import unit, write_ledger
from services.analysis import analyse_files
from services.settings import Policy

IN_G1 = {"lon": 102.706, "lat": 25.004}  # 150 m from 甲镇党群服务中心
IN_G3 = {"lon": 102.728, "lat": 25.008}  # far from every centre


@pytest.fixture
def run(tmp_path, tiny_county):
    def run(rows, **policy):
        path = write_ledger(tmp_path / "台账.csv", rows)
        layers = {k: v for k, v in tiny_county.items() if k != "grids"}
        return analyse_files(path, tiny_county["grids"], Policy(as_of=dt.date(2026, 11, 22), **policy), **layers)
    return run


def flags_of(analysis, name):
    units = analysis.units.set_index("name")
    return {c[5:] for c in units.columns if c.startswith("flag_") and units.loc[name, c]}


def status_of(analysis, name):
    return analysis.units.set_index("name").loc[name, "status"]


# R1 (001 §6 "凡有正式党员3人以上的……都应当成立党组织"; 001 §8 "具备单独组建条件的，应及时单独建立")
@pytest.mark.parametrize("members, expected", [(2, False), (3, True)])
def test_three_formal_members_should_form_their_own_org(run, members, expected):
    analysis = run([unit(name="甲", formal_members=members, org_name="某联合党支部", org_type="联合党支部", **IN_G1),
                    unit(name="乙", org_name="某联合党支部", org_type="联合党支部", **IN_G1)])
    assert status_of(analysis, "甲") == "joint"
    assert ("should_form_own" in flags_of(analysis, "甲")) is expected


def test_a_unit_with_its_own_branch_needs_nothing_more(run):
    analysis = run([unit(name="甲", formal_members=5, org_name="甲党支部", org_type="党支部", **IN_G1)])
    assert status_of(analysis, "甲") == "own"
    assert "should_form_own" not in flags_of(analysis, "甲")


# R2 (002 (二)二: 联合党支部覆盖单位一般不超过3个; 001 §8: 原则上不超过5家)
@pytest.mark.parametrize("cap, units, over", [(3, 3, False), (3, 4, True), (5, 5, False), (5, 6, True)])
def test_joint_cap_at_n_and_n_plus_one(run, cap, units, over):
    rows = [unit(org_name="某联合党支部", org_type="联合党支部", formal_members=1, **IN_G1) for _ in range(units)]
    analysis = run(rows, joint_cap=cap)
    assert analysis.assessment.flag_counts()["joint_over_cap"] == int(over)


def test_grid_branches_and_regional_orgs_are_exempt_from_the_cap(run):
    rows = [unit(org_name="一网格党支部", org_type="网格党支部", **IN_G1) for _ in range(6)]
    rows += [unit(org_name="甲园区综合党委", org_type="区域性党组织", **IN_G1) for _ in range(6)]
    assert run(rows).assessment.flag_counts()["joint_over_cap"] == 0


def test_a_branch_named_by_two_units_is_shared_and_capped(run):
    rows = [unit(name=f"单位{i}", org_name="同名党支部", org_type="党支部", **IN_G1) for i in range(4)]
    analysis = run(rows)
    assert set(analysis.units["status"]) == {"joint"}
    assert analysis.assessment.flag_counts()["joint_over_cap"] == 1


# R3 (001 §6; 002 (二)二 for every social org)
@pytest.mark.parametrize("employees, over100, over50", [(49, False, False), (50, False, True),
                                                         (99, False, True), (100, True, True)])
def test_enterprise_size_duties(run, employees, over100, over50):
    flags = flags_of(run([unit(name="甲", employees=employees, **IN_G1)]), "甲")
    assert ("over100_without_org" in flags) is over100
    assert ("over50_without_member" in flags) is over50


def test_any_party_member_satisfies_the_fifty_rule(run):
    analysis = run([unit(name="甲", employees=60, mobile_members=1, **IN_G1)])
    assert "over50_without_member" not in flags_of(analysis, "甲")


@pytest.mark.parametrize("staff, flagged", [(29, False), (30, True)])
def test_social_orgs_with_thirty_staff_need_an_org(run, staff, flagged):
    analysis = run([unit(name="学校", kind="社会组织", employees=staff, **IN_G1)])
    assert ("social30_without_org" in flags_of(analysis, "学校")) is flagged
    assert bool(analysis.units["priority_blind"].item()) is flagged


def test_joint_coverage_meets_the_hundred_rule(run):
    analysis = run([unit(name="甲", employees=150, org_name="X联合党支部", org_type="联合党支部", **IN_G1)])
    assert "over100_without_org" not in flags_of(analysis, "甲")


def test_a_large_unit_with_only_an_instructor_is_not_a_priority_blind_spot(run):
    analysis = run([unit(name="甲", employees=150, instructor="王指导", **IN_G1)])
    assert status_of(analysis, "甲") == "work"
    assert "over100_without_org" in flags_of(analysis, "甲")
    assert not analysis.units["priority_blind"].item()


# R4 (001 §7, 001 §10: 每名党建工作指导员联系服务企业不超过5家; 000 二 mass orgs)
@pytest.mark.parametrize("served, overloaded", [(5, 0), (6, 1)])
def test_an_instructor_serves_at_most_five(run, served, overloaded):
    analysis = run([unit(instructor="王指导", **IN_G1) for _ in range(served)])
    assert analysis.assessment.flag_counts()["instructor_overload"] == overloaded


def test_a_mass_org_gives_work_coverage_but_an_instructor_is_still_owed(run):
    analysis = run([unit(name="甲", mass_orgs="工会", **IN_G1)])
    assert status_of(analysis, "甲") == "work"
    assert "no_instructor" in flags_of(analysis, "甲")


def test_blind_spots_owe_an_instructor_too(run):
    assert "no_instructor" in flags_of(run([unit(name="甲", **IN_G1)]), "甲")


# R5 / R6 (002 (二)二: 超过50人的设党总支; 100人以上可设党委; 004 三(三)二 空壳)
@pytest.mark.parametrize("members, too_large", [(50, False), (51, True)])
def test_a_branch_above_fifty_members_is_too_large(run, members, too_large):
    analysis = run([unit(employees=200, formal_members=members, org_name="甲党支部", org_type="党支部", **IN_G1)])
    assert analysis.assessment.flag_counts()["branch_too_large"] == int(too_large)


def test_members_of_a_joint_branch_are_summed_across_its_units(run):
    rows = [unit(employees=10, formal_members=1, org_name="X联合党支部", org_type="联合党支部", **IN_G1),
            unit(employees=10, formal_members=1, org_name="X联合党支部", org_type="联合党支部", **IN_G1)]
    assert run(rows).assessment.flag_counts()["empty_shell"] == 1  # 2 < 3
    rows.append(unit(employees=10, formal_members=1, org_name="X联合党支部", org_type="联合党支部", **IN_G1))
    assert run(rows).assessment.flag_counts()["empty_shell"] == 0  # 3 is enough


def test_a_functional_branch_gives_no_coverage_and_is_never_an_empty_shell(run):
    analysis = run([unit(name="甲", mobile_members=1, org_name="流动党员功能型党支部", org_type="功能型党支部", **IN_G1)])
    assert status_of(analysis, "甲") == "blind"
    assert analysis.assessment.flag_counts()["empty_shell"] == 0


def test_an_unknown_org_type_gives_no_coverage(run):
    analysis = run([unit(name="甲", formal_members=3, org_name="甲党小组", org_type="党小组", **IN_G1)])
    assert status_of(analysis, "甲") == "blind"
    assert "unknown_org_type" in flags_of(analysis, "甲")


def test_a_blank_org_type_is_read_from_the_org_name(run):
    analysis = run([unit(name="甲", org_name="青禾XX联合党支部", **IN_G1), unit(name="乙", org_name="乙公司党委", **IN_G1)])
    assert (status_of(analysis, "甲"), status_of(analysis, "乙")) == ("joint", "own")


# R7 (002 (二)一: 流动党员超过3名的……建立功能型党支部; "超过" excludes 3)
@pytest.mark.parametrize("mobile, flagged", [(3, False), (4, True)])
def test_more_than_three_mobile_members(run, mobile, flagged):
    assert ("suggest_functional_branch" in flags_of(run([unit(name="甲", mobile_members=mobile, **IN_G1)]), "甲")) is flagged


# R8 (001 §14: 党委每届5年，党总支、党支部每届3年)
@pytest.mark.parametrize("org_type, name, elected, overdue", [
    ("党支部", "甲党支部", "2023-11-22", False),   # exactly three years: not yet overdue
    ("党支部", "甲党支部", "2023-11-21", True),
    ("党委", "甲党委", "2021-11-22", False),       # exactly five years
    ("党委", "甲党委", "2021-11-21", True),
    ("区域性党组织", "甲园区综合党委", "2021-11-22", False),  # a regional 党委 serves five years
    ("区域性党组织", "甲楼宇党支部", "2023-11-21", True),
])
def test_terms_of_office(run, org_type, name, elected, overdue):
    rows = [unit(formal_members=3, org_name=name, org_type=org_type, org_elected=elected, **IN_G1)]
    assert run(rows).assessment.flag_counts()["term_overdue"] == int(overdue)


def test_no_election_date_no_term_flag(run):
    assert run([unit(formal_members=3, org_name="甲党支部", org_type="党支部", **IN_G1)]).assessment.flag_counts()["term_overdue"] == 0


# R9 (001 §20: 县级不低于200平方米，地级市不低于400平方米; 自治区级以上园区全部建成)
def test_centres_parks_and_service_radius(run):
    analysis = run([unit(name="近", **IN_G1), unit(name="远", **IN_G3)])
    counts = analysis.assessment.flag_counts()
    assert counts["centre_too_small"] == 1  # the 150 m² 县级 centre; 楼宇 centres have no minimum
    assert counts["park_without_centre"] == 1
    assert "outside_service_radius" not in flags_of(analysis, "近")
    assert "outside_service_radius" in flags_of(analysis, "远")
    wider = run([unit(name="远", **IN_G3)], service_radius_m=2000)
    assert "outside_service_radius" not in flags_of(wider, "远")



def test_each_unit_is_told_its_nearest_centre_and_how_far_it_is(run):
    analysis = run([unit(name="近", **IN_G1), unit(name="远", **IN_G3), unit(name="注销的", business_status="注销", **IN_G1)])
    units = analysis.units.set_index("name")
    assert "注销的" not in units.index  # out of scope: no distance either
    _, _, near_metres = Geod(ellps="WGS84").inv(IN_G1["lon"], IN_G1["lat"], 102.7075, 25.005)
    _, _, far_metres = Geod(ellps="WGS84").inv(IN_G3["lon"], IN_G3["lat"], 102.715, 25.005)
    assert units.loc["近", "nearest_centre"] == "甲镇党群服务中心"
    assert units.loc["近", "centre_distance_m"] == pytest.approx(near_metres)
    assert units.loc["远", "nearest_centre"] == "甲大厦党群服务站"
    assert units.loc["远", "centre_distance_m"] == pytest.approx(far_metres)


def test_without_a_centres_layer_the_reach_is_not_judged(tmp_path, tiny_county):
    path = write_ledger(tmp_path / "台账.csv", [unit(name="远", **IN_G3)])
    layers = {k: v for k, v in tiny_county.items() if k not in ("grids", "centres")}
    analysis = analyse_files(path, tiny_county["grids"], Policy(as_of=dt.date(2026, 11, 22)), **layers)
    far = analysis.units.set_index("name").loc["远"]
    assert "outside_service_radius" not in flags_of(analysis, "远")
    assert pd.isna(far["centre_distance_m"]) and far["nearest_centre"] is None

# R10 (004 三(三)二: 有固定经营场所、职工人数6人以上的实体企业……以网格为单位组建党支部)
@pytest.mark.parametrize("employees, premises, flagged", [(5, "是", 0), (6, "是", 1), (6, "否", 0)])
def test_grid_without_branch(run, employees, premises, flagged):
    analysis = run([unit(employees=employees, fixed_premises=premises, **IN_G1)])
    grids = analysis.assessment.grids.set_index("id")
    assert int(grids.loc["G1", "flag_grid_without_branch"]) == flagged


def test_one_covered_unit_gives_the_grid_a_branch(run):
    analysis = run([unit(employees=20, **IN_G1), unit(org_name="一网格党支部", org_type="网格党支部", **IN_G1)])
    assert not analysis.assessment.grids.set_index("id").loc["G1", "flag_grid_without_branch"]


# R11 (002 (一): 五个清), R13 (001 §11: 50人以上每年至少培养1名入党积极分子，100人以上至少2名)
def test_missing_reason_only_for_units_without_an_org(run):
    analysis = run([unit(name="甲", **IN_G1), unit(name="乙", reason_no_org="无党员", **IN_G1),
                    unit(name="丙", org_name="丙党支部", org_type="党支部", formal_members=3, **IN_G1)])
    assert [("missing_reason" in flags_of(analysis, n)) for n in "甲乙丙"] == [True, False, False]


@pytest.mark.parametrize("employees, activists, flagged", [
    (49, 0, False), (50, 0, True), (50, 1, False), (99, 1, False), (100, 1, True), (100, 2, False)])
def test_activists(run, employees, activists, flagged):
    analysis = run([unit(name="甲", employees=employees, activists=activists, **IN_G1)])
    assert ("few_activists" in flags_of(analysis, "甲")) is flagged


# Scope: 注销 units are outside everything; 停产 are in scope and flagged.
def test_deregistered_units_are_outside_every_count(run):
    rows = [unit(name="注销单位", business_status="注销", instructor="王指导", **IN_G1)]
    rows += [unit(instructor="王指导", **IN_G1) for _ in range(5)]
    rows.append(unit(name="停产单位", business_status="停产", **IN_G1))
    analysis = run(rows)
    assert "注销单位" not in set(analysis.units["name"])
    assert analysis.assessment.flag_counts()["instructor_overload"] == 0  # 5, not 6
    assert "production_halted" in flags_of(analysis, "停产单位")


# Placement: GCJ-02 and BD-09 are converted before the grid is decided.
def test_gaode_and_baidu_coordinates_land_where_they_belong(run):
    from services.coords import wgs84_to_bd09, wgs84_to_gcj02
    true_lon, true_lat = 102.7095, 25.005  # 50 m inside G1, whose east edge is 102.71
    gcj = wgs84_to_gcj02(true_lon, true_lat)  # ~500 m east: into G2 if taken as WGS-84
    bd = wgs84_to_bd09(true_lon, true_lat)
    analysis = run([unit(name="高德", lon=float(gcj[0]), lat=float(gcj[1]), crs="GCJ-02"),
                    unit(name="百度", lon=float(bd[0]), lat=float(bd[1]), crs="BD-09"),
                    unit(name="误作WGS", lon=float(gcj[0]), lat=float(gcj[1]))])
    units = analysis.units.set_index("name")
    assert units.loc["高德", "grid_id"] == "G1" and units.loc["百度", "grid_id"] == "G1"
    assert units.loc["误作WGS", "grid_id"] == "G2"
    assert abs(units.loc["高德", "x"] - true_lon) < 1e-6
