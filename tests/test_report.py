"""The headless report on a county small enough to work out by hand.

Ledger (row: unit — what the rules make of it):
 2 甲一科技  coordinates in G2, 120 staff, 3 members, own 党支部 elected 2020-01-01 → own, term overdue
 3 乙商贸    coordinates in G3, 60 staff, 1 member, 乙联合党支部 → joint, 1,009 m from the nearest centre
 4 丙设计    building 甲大厦 (G2), 乙联合党支部 → joint
 5 丁服务    park 甲园区 (G1), 2 members, instructor → work
 6 戊学校    grid 三网格 by name, social org, 30 staff, nothing → priority blind spot
 7 己物流    lon/lat swapped (G1), 55 staff, no members, instructor → work
 8 庚小店    coordinates far outside, 工会 → work, unplaced
 9 辛       wrong check character → rejected
10 壬       duplicate of row 2's code → rejected
11 癸       注销 → out of scope
12 子       employees -5 → rejected
13 丑制造    coordinates in G1, ledger says G2, 200 staff, 4 mobile members → priority blind spot
14 寅电子    coordinates in G3, 4 members, 乙联合党支部 → joint, should form its own
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO, credit_code, unit, write_ledger
from services.credit_code import make_code

AS_OF = "2026-11-22"


def hand_ledger(path):
    code_a = credit_code()
    bad = make_code("91530100MA0000001")
    bad = bad[:-1] + ("0" if bad[-1] != "0" else "1")
    rows = [
        unit(name="甲一科技", credit_code=code_a, lon=102.715, lat=25.002, employees=120, formal_members=3,
             org_name="甲一科技党支部", org_type="党支部", org_elected="2020-01-01", above_scale="是"),
        unit(name="乙商贸", lon=102.725, lat=25.005, employees=60, formal_members=1,
             org_name="乙联合党支部", org_type="联合党支部"),
        unit(name="丙设计", building="甲大厦", employees=8, org_name="乙联合党支部", org_type="联合党支部"),
        unit(name="丁服务", park="甲园区", employees=5, formal_members=2, instructor="王指导",
             reason_no_org="党员不足3名"),
        unit(name="戊学校", kind="社会组织", grid="三网格", employees=30, credit_code=credit_code("52")),
        unit(name="己物流", lon=25.005, lat=102.703, employees=55, instructor="王指导", reason_no_org="无党员"),
        unit(name="庚小店", lon=103.5, lat=26.0, employees=3, mass_orgs="工会"),
        unit(name="辛", credit_code=bad, employees=5),
        unit(name="壬", credit_code=code_a, employees=5),
        unit(name="癸", employees=5, business_status="注销"),
        unit(name="子", employees=-5),
        unit(name="丑制造", lon=102.702, lat=25.008, grid="G2", employees=200, mobile_members=4,
             reason_no_org="其他：正在筹备", above_scale="是"),
        unit(name="寅电子", lon=102.722, lat=25.002, employees=12, formal_members=4,
             org_name="乙联合党支部", org_type="联合党支部"),
    ]
    return write_ledger(path, rows)


def run_report(ledger, county, *extra):
    command = [sys.executable, "-m", "services", "report", "--ledger", str(ledger),
               "--grids", str(county["grids"]), "--parks", str(county["parks"]),
               "--buildings", str(county["buildings"]), "--centres", str(county["centres"]),
               "--instructors", str(county["instructors"]), "--as-of", AS_OF, *extra, "--json"]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO)


@pytest.fixture
def report(tmp_path, tiny_county):
    result = run_report(hand_ledger(tmp_path / "台账.xlsx"), tiny_county)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_totals_match_the_hand_count(report):
    assert report["totals"] == {
        "units": 9, "own": 1, "joint": 3, "work": 3, "blind": 2, "priority_blind": 2,
        "org_coverage_rate": 0.4444, "work_coverage_rate": 0.7778,
        "above_scale": 2, "above_scale_own": 1, "above_scale_formation_rate": 0.5,
    }


def test_each_flag_is_counted_once_per_flagged_thing(report):
    assert report["flags"] == {
        "should_form_own": 1, "joint_over_cap": 0, "over100_without_org": 1,
        "over50_without_member": 1, "social30_without_org": 1, "instructor_overload": 0,
        "no_instructor": 3, "branch_too_large": 0, "empty_shell": 0,
        "suggest_functional_branch": 1, "term_overdue": 1, "centre_too_small": 1,
        "park_without_centre": 1, "outside_service_radius": 2, "grid_without_branch": 1,
        "grid_without_leader": 1, "missing_reason": 2, "few_activists": 4,
    }


def test_grids_have_their_own_rates_and_flags(report):
    assert report["grids"] == {
        "G1": {"units": 3, "own": 0, "joint": 0, "work": 2, "blind": 1, "org_coverage_rate": 0.0,
               "work_coverage_rate": 0.6667, "flags": ["grid_without_branch"]},
        "G2": {"units": 2, "own": 1, "joint": 1, "work": 0, "blind": 0, "org_coverage_rate": 1.0,
               "work_coverage_rate": 1.0, "flags": []},
        "G3": {"units": 3, "own": 0, "joint": 2, "work": 0, "blind": 1, "org_coverage_rate": 0.6667,
               "work_coverage_rate": 0.6667, "flags": ["grid_without_leader"]},
    }


def test_units_carry_row_status_grid_placement_and_flags(report):
    by_name = {u["name"]: u for u in report["units"]}
    assert [u["row"] for u in report["units"]] == [2, 3, 4, 5, 6, 7, 8, 13, 14]
    expected = {
        "甲一科技": ("own", "G2", "coordinates", ["few_activists"]),
        "乙商贸": ("joint", "G3", "coordinates", ["outside_service_radius", "few_activists"]),
        "丙设计": ("joint", "G2", "building", []),
        "丁服务": ("work", "G1", "park", []),
        "戊学校": ("blind", "G3", "grid", ["social30_without_org", "no_instructor",
                                          "outside_service_radius", "missing_reason"]),
        "己物流": ("work", "G1", "coordinates", ["over50_without_member", "few_activists",
                                                 "coordinates_swapped"]),
        "庚小店": ("work", None, None, ["no_instructor", "missing_reason", "outside_county"]),
        "丑制造": ("blind", "G1", "coordinates", ["over100_without_org", "no_instructor",
                                                  "suggest_functional_branch", "few_activists",
                                                  "grid_mismatch"]),
        "寅电子": ("joint", "G3", "coordinates", ["should_form_own"]),
    }
    for name, (status, grid, placed_by, flags) in expected.items():
        got = by_name[name]
        assert (got["status"], got["grid"], got["placed_by"], got["flags"]) == (status, grid, placed_by, flags), name


def test_rejected_rows_name_row_column_and_reason(report):
    rejected = {(r["row"], r["column"]) for r in report["rejected"]}
    assert rejected == {(9, "统一社会信用代码"), (10, "统一社会信用代码"), (12, "从业人员数")}
    reasons = {r["row"]: r["reason"] for r in report["rejected"]}
    assert "校验位" in reasons[9]
    assert "第2行" in reasons[10]
    assert "负数" in reasons[12]


def test_unplaced_units_are_listed_not_dropped(report):
    assert [(u["row"], u["name"]) for u in report["unplaced"]] == [(8, "庚小店")]
    assert "坐标不在任何网格内" in report["unplaced"][0]["reason"]


def test_joint_cap_is_a_policy_setting(tmp_path, tiny_county):
    ledger = hand_ledger(tmp_path / "台账.csv")
    three = json.loads(run_report(ledger, tiny_county, "--joint-cap", "3").stdout)
    two = json.loads(run_report(ledger, tiny_county, "--joint-cap", "2").stdout)
    assert three["flags"]["joint_over_cap"] == 0  # 乙联合党支部 covers exactly 3
    assert two["flags"]["joint_over_cap"] == 1


def test_csv_and_xlsx_of_the_same_ledger_give_the_same_report(tmp_path, tiny_county, report):
    csv_report = json.loads(run_report(hand_ledger(tmp_path / "台账.csv"), tiny_county).stdout)
    assert csv_report["totals"] == report["totals"]
    assert csv_report["flags"] == report["flags"]


def test_unreadable_input_exits_2_with_one_line_on_stderr(tmp_path, tiny_county):
    missing = run_report(tmp_path / "nope.xlsx", tiny_county)
    assert missing.returncode == 2
    assert missing.stdout == ""
    assert len(missing.stderr.strip().splitlines()) == 1 and "nope.xlsx" in missing.stderr
    fake = tmp_path / "台账.xlsx"
    fake.write_text("企业名称,统一社会信用代码\n", encoding="utf-8")
    renamed = run_report(fake, tiny_county)
    assert renamed.returncode == 2 and "台账.xlsx" in renamed.stderr


def test_when_ledger_and_layers_are_both_unreadable_the_ledger_is_named_as_if_read_first(tmp_path, tiny_county):
    """The layers are read while the ledger is read elsewhere; what the user is told must not
    depend on which finished first."""
    broken = dict(tiny_county, grids=tmp_path / "网格.geojson")
    broken["grids"].write_text("{ not json", encoding="utf-8")
    both = run_report(tmp_path / "nope.xlsx", broken)
    assert both.returncode == 2 and both.stdout == ""
    assert len(both.stderr.strip().splitlines()) == 1 and "nope.xlsx" in both.stderr
    layers_only = run_report(hand_ledger(tmp_path / "台账.xlsx"), broken)
    assert layers_only.returncode == 2 and "网格.geojson" in layers_only.stderr


def test_a_missing_grids_layer_is_said_at_once_without_reading_the_ledger(tmp_path):
    result = subprocess.run([sys.executable, "-m", "services", "report", "--ledger", str(tmp_path / "nope.xlsx"),
                             "--json"], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2
    assert "缺少网格图层" in result.stderr and "nope.xlsx" not in result.stderr


def test_work_done_in_a_forked_process_comes_back_whole_or_is_done_here():
    """The report reads its ledger in a forked process; the result must be the very frame
    (values, dtypes, writable arrays), and a result that cannot travel or an error must come
    out as if the work had been done in this process. (Run in a fresh interpreter: forking
    pytest, with its servers' threads, is not what the command does.)"""
    check = """
import pandas as pd
import pytest
from services.__main__ import _InBackground

frame = pd.DataFrame({"name": pd.array(["甲", None, "丙"] * 1000, dtype="string[pyarrow]"),
                      "employees": range(3000), "lon": [102.7, float("nan"), 25.0] * 1000})
with _InBackground(lambda: frame) as job:
    back = job.result()
pd.testing.assert_frame_equal(back, frame)
back.loc[0, "employees"] = 7  # pandas writes into the received arrays
assert back.loc[0, "employees"] == 7

with _InBackground(lambda: (lambda: "done here")) as job:  # a lambda cannot be pickled
    assert job.result()() == "done here"

def fail():
    raise ValueError("台账.xlsx 第3行：坏")

with _InBackground(fail) as job, pytest.raises(ValueError, match="第3行"):
    job.result()
print("checked")
"""
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "checked"


def test_overlapping_grids_are_reported(tmp_path, tiny_county):
    import geopandas as gpd
    from shapely.geometry import box

    grids = gpd.read_file(tiny_county["grids"])
    grids.loc[len(grids)] = {"网格编号": "G4", "网格名称": "四网格", "所属乡镇街道": "乙镇", "网格长": "赵六",
                             "联系电话": "1", "geometry": box(102.725, 25.0, 102.735, 25.01)}  # half over G3
    path = tmp_path / "grids_overlap.geojson"
    grids.to_file(path, driver="GeoJSON")
    ledger = hand_ledger(tmp_path / "台账.csv")
    result = subprocess.run([sys.executable, "-m", "services", "report", "--ledger", str(ledger), "--grids", str(path)],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "网格“G3”与网格“G4”重叠" in result.stdout


@pytest.mark.parametrize("county", ["hand", "demo"])
def test_the_json_written_column_by_column_is_the_report_object_exactly(tmp_path, tiny_county, county):
    """The CLI writes the units column by column (a city's report has a million); the bytes
    must be those of the report object itself, rejected rows, unplaced units and all."""
    import datetime as dt

    import orjson

    from services.analysis import analyse, analyse_files
    from services.report import build_report, report_json
    from services.settings import DEFAULT_POLICY
    from services.workspace import DEMO_FOLDER, read_folder

    policy = DEFAULT_POLICY.with_overrides(as_of=dt.date.fromisoformat(AS_OF))
    if county == "hand":
        analysis = analyse_files(hand_ledger(tmp_path / "台账.xlsx"), tiny_county["grids"], policy,
                                 parks=tiny_county["parks"], buildings=tiny_county["buildings"],
                                 centres=tiny_county["centres"], instructors=tiny_county["instructors"])
        assert analysis.ledger.problems and analysis.unplaced.shape[0], "the case covers rejected and unplaced rows"
    else:
        analysis = analyse(*read_folder(DEMO_FOLDER), policy)
    assert report_json(analysis) == orjson.dumps(build_report(analysis))
