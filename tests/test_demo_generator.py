"""The demo county generator (services/demo.py): reproducible, geometrically sound, valid codes,
and every deliberate case present, so the engine's report on the demo shows every status,
rule flag, data-quality flag and placement kind of DOMAIN.md.

Small counties (400 units) keep these tests fast; one test reads the shipped files in
geodata/demo.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from services import demo
from services.demo import generate_county, write_county

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "geodata" / "demo"

CANONICAL_HEADERS = [
    "企业名称", "统一社会信用代码", "单位类型", "行业", "地址", "经度", "纬度", "坐标系",
    "所属乡镇街道", "所属网格", "所属园区", "所属楼宇", "经营状态", "是否规上", "有固定经营场所",
    "从业人员数", "正式党员数", "预备党员数", "流动党员数", "入党积极分子数", "出资人是否党员",
    "党组织名称", "党组织类型", "党组织换届时间", "党建指导员", "群团组织", "未建党组织原因",
]
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
OWN_TYPES = {"党委", "党总支", "党支部"}
SHARED_TYPES = {"联合党支部", "网格党支部", "区域性党组织"}
KNOWN_TYPES = OWN_TYPES | SHARED_TYPES | {"功能型党支部"}
RULE_FLAGS = (
    "should_form_own", "joint_over_cap", "over100_without_org", "over50_without_member",
    "social30_without_org", "instructor_overload", "no_instructor", "branch_too_large", "empty_shell",
    "suggest_functional_branch", "term_overdue", "centre_too_small", "park_without_centre",
    "outside_service_radius", "grid_without_branch", "grid_without_leader", "missing_reason", "few_activists",
)
QUALITY_FLAGS = ("grid_mismatch", "coordinates_swapped", "outside_county", "members_exceed_employees",
                 "unknown_org_type", "production_halted")


@pytest.fixture(scope="module")
def small():
    return generate_county(400, seed=11)


def _check_char(code17: str) -> str:
    """GB 32100-2015 check character, written out independently of services.demo."""
    total = sum(ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(code17))
    return ALPHABET[(31 - total % 31) % 31]


# --------------------------------------------------------------------------- reproducibility

def test_same_seed_gives_the_same_county():
    a = generate_county(400, seed=5)
    b = generate_county(400, seed=5)
    pd.testing.assert_frame_equal(a.ledger, b.ledger)
    pd.testing.assert_frame_equal(a.instructors, b.instructors)
    assert a.grids.geometry.equals(b.grids.geometry)
    assert (a.grids.drop(columns="geometry") == b.grids.drop(columns="geometry")).all().all()
    c = generate_county(400, seed=6)
    assert not a.ledger["企业名称"].equals(c.ledger["企业名称"])


def test_written_files_are_byte_identical_for_the_same_seed(tmp_path, small):
    first = write_county(small, tmp_path / "a", "xlsx")
    second = write_county(generate_county(400, seed=11), tmp_path / "b", "xlsx")
    for key, path in first.items():
        assert path.read_bytes() == second[key].read_bytes(), path.name


# --------------------------------------------------------------------------- geometry

def test_towns_and_grids_tile_the_county(small):
    county = small.county.geometry.iloc[0]
    grids = small.grids.geometry.values
    towns = small.towns.geometry.values
    assert shapely.is_valid(grids).all() and shapely.is_valid(towns).all() and county.is_valid
    area = county.area
    # No overlaps: the pieces' areas add up to the area of their union; no holes: the union
    # is the county.
    for pieces in (grids, towns):
        union = shapely.union_all(pieces)
        assert abs(shapely.area(pieces).sum() - union.area) < 1e-6 * area
        assert shapely.symmetric_difference(union, county).area < 1e-6 * area
    # Each grid lies in the town it names.
    town_of = dict(zip(small.towns["name"], towns))
    for grid, town in zip(grids, small.grids["town"]):
        assert shapely.difference(grid, town_of[town]).area < 1e-6 * grid.area
    assert len(small.grids) == 60 and len(small.towns) == 8
    assert small.grids["id"].is_unique and small.grids["name"].is_unique


def test_county_is_placed_where_the_brief_says(small):
    minx, miny, maxx, maxy = small.county.total_bounds
    assert 102.5 <= minx < maxx <= 102.9 and 24.9 <= miny < maxy <= 25.2
    assert 0.2 < maxx - minx < 0.4  # about 30 km across
    assert small.county["note"].iloc[0] == demo.NOTE and small.county["name"].iloc[0] == "青禾县"


def test_layers_have_the_domain_properties(small):
    assert small.towns["code"].str.fullmatch(r"\d{9}").all()
    assert set(small.parks["level"]) <= {"国家级", "省级", "市级", "县级"} and len(small.parks) == 3
    assert {"市级", "县级", "乡镇街道", "园区", "楼宇"} == set(small.centres["level"])
    assert (small.centres.geom_type == "Point").all()
    assert list(small.instructors.columns) == ["姓名", "派出单位", "联系电话"]
    assert small.instructors["姓名"].is_unique
    assert (small.grids["leader"] == "").sum() >= 2
    for frame in small.layers().values():
        assert frame.crs.to_epsg() == 4326 and (frame["note"] == demo.NOTE).all()
    # Parks, buildings and markets lie inside the county and do not overlap one another.
    county = small.county.geometry.iloc[0]
    places = np.concatenate([small.parks.geometry.values, small.buildings.geometry.values,
                             small.markets.geometry.values])
    assert shapely.within(places, county.buffer(1e-6)).all()
    assert abs(shapely.area(places).sum() - shapely.union_all(places).area) < 1e-12


def test_default_grid_count_scales_with_units():
    county = generate_county(8000, seed=2)
    assert len(county.grids) == 80 and len(county.ledger) == 8000
    assert len(generate_county(400, seed=2, grids=25).grids) == 25


# --------------------------------------------------------------------------- ledger content

def test_ledger_has_the_canonical_headers(small):
    assert list(small.ledger.columns) == CANONICAL_HEADERS
    assert len(small.ledger) == 400


def test_credit_codes_are_valid_and_unique(small):
    codes = small.ledger["统一社会信用代码"]
    assert codes.is_unique
    assert codes.str.fullmatch(f"[{ALPHABET}]{{18}}").all()
    assert all(code[17] == _check_char(code[:17]) for code in codes)
    assert codes[small.ledger["单位类型"] == "非公企业"].str.startswith("91").all()
    assert codes[small.ledger["单位类型"] == "社会组织"].str[:2].isin(["51", "52"]).all()


def test_credit_codes_agree_with_services_credit_code(small):
    credit_code = pytest.importorskip("services.credit_code")
    for code in small.ledger["统一社会信用代码"]:
        assert credit_code.make_code(code[:17]) == code


def test_names_are_unique_and_fictional(small):
    names = small.ledger["企业名称"]
    assert names.is_unique
    assert names.str.contains("有限公司|有限责任公司|学校|幼儿园|事务所|医院|诊所|门诊部|中心").mean() > 0.95


def test_every_building_has_10_to_40_tenants(small):
    tenants = small.ledger.loc[small.ledger["所属楼宇"] != "", "所属楼宇"].value_counts()
    assert set(tenants.index) == set(small.buildings["name"])
    assert tenants.between(10, 40).all()


def test_bulk_mix_resembles_seed_004():
    county = generate_county(2000, seed=7)
    ledger = county.ledger
    in_scope = ledger["经营状态"] != "注销"
    assert 0.70 < (ledger["单位类型"] == "非公企业").mean() < 0.80
    status = _statuses(ledger)
    above = in_scope & (ledger["是否规上"] == "是")
    enterprises = in_scope & (ledger["单位类型"] == "非公企业")
    assert 0.15 < above.sum() / enterprises.sum() < 0.25
    assert 0.07 < (status[above] == "own").mean() < 0.11  # seed 004: 44/496 = 8.87 %
    counts = status[in_scope].value_counts(normalize=True)
    assert counts["blind"] > 0.1 and counts["joint"] > counts["own"] * 5
    assert (ledger["正式党员数"] <= 2).mean() > 0.9


# --------------------------------------------------------------------------- deliberate cases

def test_deliberate_rows_are_present(small):
    ledger = small.ledger
    crs = ledger["坐标系"].str.upper().str.replace("-", "")
    assert (crs == "GCJ02").any() and (crs == "BD09").any()
    assert (ledger["坐标系"] != ledger["坐标系"].str.upper()).any()  # a lower-case spelling
    assert ((ledger["经度"] < 90) & (ledger["纬度"] > 90)).any()  # swapped
    assert (ledger["经营状态"] == "注销").any()
    assert ledger["经营状态"].isin(["停产", "半停产"]).sum() >= 2
    assert (~ledger["党组织类型"].isin(KNOWN_TYPES | {""})).any()  # unknown org type
    assert (ledger["正式党员数"] > ledger["从业人员数"]).any()
    joint = ledger[(ledger["党组织类型"] == "联合党支部") & (ledger["经营状态"] != "注销")]
    assert (joint.groupby("党组织名称").size() > 3).any()
    assert ledger["党组织名称"].str.fullmatch(r"青禾县.+联合党支部").any()
    assert ((ledger["党组织类型"] == "网格党支部") & ledger["党组织名称"].str.endswith("网格党支部")).any()
    assert ledger["党组织名称"].str.endswith("综合党委").any()
    assert (ledger["党组织类型"] == "功能型党支部").any() and (ledger["流动党员数"] > 3).any()
    # A 党支部 named by two units (a shared org).
    own_named = ledger[ledger["党组织类型"] == "党支部"].groupby("党组织名称").size()
    assert (own_named >= 2).any()
    cases = small.cases
    assert cases.loc[cases["row"].notna(), "name"].isin(ledger["企业名称"]).all()
    for _, case in cases[cases["row"].notna()].iterrows():
        assert ledger.loc[int(case["row"]) - 2, "企业名称"] == case["name"]


def test_every_placement_kind_is_present(small):
    kinds = _placed_by(small)
    assert set(kinds.unique()) == {"coordinates", "building", "park", "grid", "unplaced"}
    assert 2 <= (kinds == "unplaced").sum() <= 10
    outside = _outside_county(small)
    assert outside.sum() >= 2 and (outside & (kinds == "grid")).any() and (outside & (kinds == "unplaced")).any()


def test_converted_coordinates_fall_in_their_grid(small):
    from services.coords import to_wgs84

    ledger = small.ledger
    crs = ledger["坐标系"].str.upper().str.replace("-", "")
    converted = crs.isin(["GCJ02", "BD09"]) & (ledger["所属网格"].isin(small.grids["id"]))
    lon, lat = to_wgs84(ledger.loc[converted, "经度"].to_numpy(), ledger.loc[converted, "纬度"].to_numpy(),
                        crs[converted].to_numpy(dtype=object))
    grid_of = dict(zip(small.grids["id"], small.grids.geometry.values))
    polygons = np.array([grid_of[g] for g in ledger.loc[converted, "所属网格"]], dtype=object)
    assert converted.sum() >= 10
    assert shapely.contains_xy(polygons, lon, lat).all()


@pytest.mark.parametrize("units,seed", [(400, 11), (2000, 7)])
def test_every_status_and_flag_is_exercised(units, seed, small):
    county = small if units == 400 else generate_county(units, seed)
    found = _oracle(county)
    statuses = _statuses(county.ledger)
    assert {"own", "joint", "work", "blind", "out_of_scope"} <= set(statuses)
    missing = [flag for flag in (*RULE_FLAGS, *QUALITY_FLAGS, "priority_blind") if not found.get(flag)]
    assert not missing, missing


def test_structural_cases_are_listed(small):
    cases = small.cases
    for flag in ("instructor_overload", "grid_without_branch", "grid_without_leader", "park_without_centre",
                 "centre_too_small", "outside_service_radius", "joint_over_cap", "unplaced"):
        assert cases["flags"].str.contains(flag).any(), flag
    leaderless = small.grids.loc[small.grids["leader"] == "", "id"]
    assert set(cases.loc[cases["case"] == "grid_without_leader", "name"]) == set(leaderless)


# --------------------------------------------------------------------------- writing and CLI

def test_write_county_files(tmp_path, small):
    paths = write_county(small, tmp_path, "auto")
    assert paths["ledger"].name == "ledger.xlsx"
    sheet = openpyxl.load_workbook(paths["ledger"], read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == CANONICAL_HEADERS and len(rows) == 401
    assert demo.NOTE in (tmp_path / "README.txt").read_text(encoding="utf-8")
    grids = gpd.read_file(paths["grids"])
    assert len(grids) == 60 and grids.crs.to_epsg() == 4326
    county = json.loads(paths["county"].read_text(encoding="utf-8"))
    assert county["features"][0]["properties"]["note"] == demo.NOTE
    instructors = pd.read_csv(paths["instructors"], encoding="utf-8-sig")
    assert list(instructors.columns) == ["姓名", "派出单位", "联系电话"]
    # csv: UTF-8 with BOM, the same headers, and the stale xlsx is removed.
    paths = write_county(small, tmp_path, "csv")
    raw = paths["ledger"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and not (tmp_path / "ledger.xlsx").exists()
    again = pd.read_csv(paths["ledger"], encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(again.columns) == CANONICAL_HEADERS and len(again) == 400
    assert again["统一社会信用代码"].tolist() == small.ledger["统一社会信用代码"].tolist()


def test_cli(tmp_path, capsys):
    argv = ["--units", "300", "--seed", "3", "--out", str(tmp_path), "--grids", "20", "--format", "csv"]
    assert demo.main(argv) == 0
    assert (tmp_path / "ledger.csv").exists() and "300 units" in capsys.readouterr().out
    assert demo.main(["--units", "10", "--seed", "3", "--out", str(tmp_path)]) == 2


def test_shipped_demo_matches_the_generator():
    assert (SHIPPED / "ledger.xlsx").exists(), "the shipped demo county is missing from geodata/demo"
    for stem in ("county", "towns", "grids", "parks", "buildings", "markets", "centres"):
        assert (SHIPPED / f"{stem}.geojson").exists(), stem
    assert demo.NOTE in (SHIPPED / "README.txt").read_text(encoding="utf-8")
    sheet = openpyxl.load_workbook(SHIPPED / "ledger.xlsx", read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == CANONICAL_HEADERS and len(rows) == 2001
    county = generate_county(2000, seed=7)
    assert [r[0] for r in rows[1:]] == county.ledger["企业名称"].tolist()
    assert [r[1] for r in rows[1:]] == county.ledger["统一社会信用代码"].tolist()
    grids = gpd.read_file(SHIPPED / "grids.geojson")
    assert grids["id"].tolist() == county.grids["id"].tolist()
    boundary = json.loads((SHIPPED / "county.geojson").read_text(encoding="utf-8"))
    assert boundary["features"][0]["properties"]["note"] == demo.NOTE


def test_engine_report_on_the_demo_shows_everything():
    """End to end: the engine's own report on a generated county shows every status, every
    rule and data-quality flag and every placement kind (skipped until the engine exists)."""
    analysis = pytest.importorskip("services.analysis")
    report_module = pytest.importorskip("services.report")
    county_module = pytest.importorskip("services.county")
    ledger_module = pytest.importorskip("services.ledger")
    settings = pytest.importorskip("services.settings")
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        write_county(generate_county(2000, seed=7), folder, "xlsx")
        files = county_module.county_files(folder)
        layers = {k: v for k, v in files.items() if k not in ("ledger", "boundary")}
        county = county_module.load_county(layers.pop("grids"), **layers)
        policy = settings.DEFAULT_POLICY.with_overrides(as_of=demo.AS_OF)
        ledger = ledger_module.read_ledger(files["ledger"])
        report = report_module.build_report(analysis.analyse(ledger, county, policy))
    totals = report["totals"]
    for status in ("own", "joint", "work", "blind", "priority_blind"):
        assert totals[status] > 0, status
    unit_flags = {flag for unit in report["units"] for flag in unit["flags"]}
    missing = [f for f in RULE_FLAGS if not report["flags"].get(f)]
    missing += [f for f in QUALITY_FLAGS if f not in unit_flags and not report["flags"].get(f)]
    assert not missing, missing
    assert {u["placed_by"] for u in report["units"]} >= {"coordinates", "building", "park", "grid"}
    assert report["unplaced"]
    assert 0.07 < totals["above_scale_formation_rate"] < 0.11


# --------------------------------------------------------------------------- a small oracle

def _statuses(ledger: pd.DataFrame) -> pd.Series:
    """Coverage status per row as DOMAIN.md defines it (out_of_scope for 注销)."""
    in_scope = ledger["经营状态"] != "注销"
    org, kind = ledger["党组织名称"], ledger["党组织类型"]
    units_per_org = org[in_scope & (org != "")].value_counts()
    named = org.map(units_per_org).fillna(0)
    own = kind.isin(OWN_TYPES) & (named == 1)
    joint = kind.isin(SHARED_TYPES) | (kind.isin(OWN_TYPES) & (named >= 2))
    work = (ledger["党建指导员"] != "") | (ledger["群团组织"] != "")
    status = np.select([~in_scope, own, joint, work], ["out_of_scope", "own", "joint", "work"], "blind")
    return pd.Series(status, index=ledger.index)


def _wgs84_points(county) -> tuple[np.ndarray, np.ndarray]:
    """Each row's own coordinates in WGS-84 (swapped pairs swapped back), NaN when none."""
    from services.coords import to_wgs84

    ledger = county.ledger
    lon, lat = ledger["经度"].to_numpy(float), ledger["纬度"].to_numpy(float)
    swapped = (lon < 90) & (lat > 90)
    lon, lat = np.where(swapped, lat, lon), np.where(swapped, lon, lat)
    crs = ledger["坐标系"].replace("", "WGS84").to_numpy(dtype=object)
    return to_wgs84(lon, lat, crs)


def _outside_county(county) -> pd.Series:
    lon, lat = _wgs84_points(county)
    inside = shapely.contains_xy(county.county.geometry.iloc[0], lon, lat)
    return pd.Series(np.isfinite(lon) & ~inside, index=county.ledger.index)


def _placed_by(county) -> pd.Series:
    ledger = county.ledger
    outside = _outside_county(county)
    has_point = np.isfinite(ledger["经度"].to_numpy(float)) & ~outside
    grid_ref = ledger["所属网格"].isin(set(county.grids["id"]) | set(county.grids["name"]))
    kinds = np.select(
        [has_point, ledger["所属楼宇"].isin(county.buildings["name"]),
         ledger["所属园区"].isin(county.parks["name"]), grid_ref],
        ["coordinates", "building", "park", "grid"], "unplaced")
    return pd.Series(kinds, index=ledger.index)


def _placement(county) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lon, lat, grid index) of each row as DOMAIN.md "Placement" puts it (NaN/-1 unplaced)."""
    ledger = county.ledger
    kinds = _placed_by(county)
    lon, lat = _wgs84_points(county)
    lon, lat = lon.copy(), lat.copy()
    for kind, layer, column, key in (("building", county.buildings, "所属楼宇", "name"),
                                     ("park", county.parks, "所属园区", "name")):
        points = dict(zip(layer[key], layer.geometry.representative_point()))
        rows = np.flatnonzero(kinds == kind)
        lon[rows] = [points[v].x for v in ledger[column].iloc[rows]]
        lat[rows] = [points[v].y for v in ledger[column].iloc[rows]]
    by_ref = {**dict(zip(county.grids["id"], county.grids.geometry.representative_point())),
              **dict(zip(county.grids["name"], county.grids.geometry.representative_point()))}
    rows = np.flatnonzero(kinds == "grid")
    lon[rows] = [by_ref[v].x for v in ledger["所属网格"].iloc[rows]]
    lat[rows] = [by_ref[v].y for v in ledger["所属网格"].iloc[rows]]
    lon[kinds.to_numpy() == "unplaced"] = np.nan
    lat[kinds.to_numpy() == "unplaced"] = np.nan
    grid = np.full(len(ledger), -1)
    ok = np.isfinite(lon)
    tree = shapely.STRtree(county.grids.geometry.values)
    hit_row, hit_grid = tree.query(shapely.points(lon[ok], lat[ok]), predicate="intersects")
    grid[np.flatnonzero(ok)[hit_row]] = hit_grid
    return lon, lat, grid


def _oracle(county) -> dict[str, int]:
    """How many things each flag of DOMAIN.md would mark, computed straight from the frames
    (an independent, simplified reading of the rules and settled points)."""
    ledger, as_of = county.ledger, county.as_of
    in_scope = ledger["经营状态"] != "注销"
    status = _statuses(ledger)
    covered = status.isin(["own", "joint"])
    enterprise = ledger["单位类型"] == "非公企业"
    emp = ledger["从业人员数"].astype(int)
    formal = ledger["正式党员数"].fillna(0).astype(int)
    members = formal + ledger["预备党员数"].fillna(0).astype(int) + ledger["流动党员数"].fillna(0).astype(int)
    activists = ledger["入党积极分子数"].fillna(0).astype(int)
    instructor = ledger["党建指导员"] != ""
    kind = ledger["党组织类型"]
    found: dict[str, int] = {}

    unit_flags = {
        "should_form_own": (formal >= 3) & (status != "own"),
        "over100_without_org": enterprise & (emp >= 100) & ~covered,
        "over50_without_member": enterprise & (emp >= 50) & (members == 0),
        "social30_without_org": ~enterprise & (emp >= 30) & ~covered,
        "no_instructor": ~covered & ~instructor,
        "suggest_functional_branch": ledger["流动党员数"].fillna(0) > 3,
        "missing_reason": ~covered & (ledger["未建党组织原因"] == ""),
        "few_activists": ((emp >= 100) & (activists < 2)) | ((emp >= 50) & (activists < 1)),
        "members_exceed_employees": formal > emp,
        "unknown_org_type": ~kind.isin(KNOWN_TYPES | {""}),
        "production_halted": ledger["经营状态"].isin(["停产", "半停产"]),
        "coordinates_swapped": (ledger["经度"] < 90) & (ledger["纬度"] > 90),
        "outside_county": _outside_county(county),
    }
    for flag, mask in unit_flags.items():
        found[flag] = int((mask & in_scope).sum())
    duty = unit_flags["over100_without_org"] | unit_flags["over50_without_member"] | unit_flags["social30_without_org"]
    priority = (status == "blind") & in_scope & duty
    found["priority_blind"] = int(priority.sum())

    # Org flags over the in-scope units of each org.
    orgs = ledger[in_scope & (ledger["党组织名称"] != "") & kind.isin(KNOWN_TYPES)].copy()
    orgs["formal"] = formal[orgs.index]
    summary = orgs.groupby("党组织名称").agg(type=("党组织类型", "first"), units=("企业名称", "size"),
                                            formal=("formal", "sum"), elected=("党组织换届时间", "first"))
    shared_branch = (summary["type"] == "党支部") & (summary["units"] >= 2)
    found["joint_over_cap"] = int((((summary["type"] == "联合党支部") | shared_branch) & (summary["units"] > 3)).sum())
    branch = summary["type"].isin(["党支部", "联合党支部", "网格党支部"])
    found["branch_too_large"] = int((branch & (summary["formal"] > 50)).sum())
    found["empty_shell"] = int(((summary["type"] != "功能型党支部") & (summary["formal"] < 3)).sum())
    committee = (summary["type"] == "党委") | summary.index.str.endswith("党委")
    elected = pd.to_datetime(summary["elected"].replace("", None))
    due = elected + pd.to_timedelta(np.where(committee, 5 * 365.25, 3 * 365.25), unit="D")
    found["term_overdue"] = int((pd.Timestamp(as_of) > due).sum())

    loads = ledger.loc[in_scope & instructor, "党建指导员"].value_counts()
    found["instructor_overload"] = int((loads > 5).sum())

    centres = county.centres
    minimum = centres["level"].map({"县级": 200.0, "市级": 400.0})
    found["centre_too_small"] = int((centres["area_m2"] < minimum).sum())
    parks = np.array(county.parks.geometry.tolist(), dtype=object)
    points = np.array(centres.geometry.tolist(), dtype=object)
    has_centre = shapely.contains(parks[:, None], points[None, :]).any(axis=1)
    found["park_without_centre"] = int((~has_centre).sum())

    lon, lat, grid = _placement(county)
    placed = np.isfinite(lon)
    cx, cy = centres.geometry.x.to_numpy(), centres.geometry.y.to_numpy()
    metres = np.hypot((lon[:, None] - cx[None, :]) * 101_000, (lat[:, None] - cy[None, :]) * 110_600).min(axis=1)
    found["outside_service_radius"] = int((placed & in_scope.to_numpy() & (metres > 1000)).sum())

    grid_ids = county.grids["id"].to_numpy()
    by_id_or_name = {**dict(zip(county.grids["id"], grid_ids)), **dict(zip(county.grids["name"], grid_ids))}
    ref = ledger["所属网格"].map(by_id_or_name)
    by_point = _placed_by(county) == "coordinates"
    located_grid = pd.Series(np.where(grid >= 0, grid_ids[np.maximum(grid, 0)], None), index=ledger.index)
    found["grid_mismatch"] = int((in_scope & by_point & ref.notna() & (ref != located_grid)).sum())
    eligible = in_scope & (ledger["有固定经营场所"] == "是") & (emp >= 6) & (grid >= 0)
    per_grid = pd.DataFrame({"grid": grid, "eligible": eligible, "covered": covered & in_scope})[grid >= 0]
    per_grid = per_grid.groupby("grid").agg(eligible=("eligible", "any"), covered=("covered", "any"))
    found["grid_without_branch"] = int((per_grid["eligible"] & ~per_grid["covered"]).sum())
    found["grid_without_leader"] = int((county.grids["leader"] == "").sum())
    return found


def test_oracle_counts_the_deliberate_cases(small):
    """The oracle itself sees the deliberate rows the cases table names."""
    found = _oracle(small)
    assert found["grid_without_leader"] == (small.cases["case"] == "grid_without_leader").sum()
    assert found["grid_without_branch"] >= (small.cases["case"] == "grid_without_branch").sum()
    assert found["coordinates_swapped"] == 1
    assert found["park_without_centre"] >= 1 and found["centre_too_small"] == 2
    assert found["grid_mismatch"] == 2  # exactly the two deliberate rows: the bulk agrees with its location
