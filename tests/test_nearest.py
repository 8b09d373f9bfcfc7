"""The nearest instructor to a blind spot, and the nearest one with room (R4, 001 §7 §10).

Small hand-made frames, so each answer can be checked by eye; distances against pyproj's
geodesic on the WGS-84 ellipsoid, to the metre.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pyproj import Geod

from conftest import unit, write_ledger
from services.analysis import analyse_files
from services.blind_spots import blind_spot_counts, blind_spot_table, blind_spots, filter_blind_spots, reason_category
from services.nearest import instructor_loads, nearest_instructors
from services.settings import Policy

GEOD = Geod(ellps="WGS84")
NAN = float("nan")


def geodesic(a, b) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def units_frame(rows) -> pd.DataFrame:
    """rows of (instructor, x, y)."""
    return pd.DataFrame(rows, columns=["instructor", "x", "y"])


# A target at T; 甲 serves 5 units (one 100 m east of T, the rest far away or unplaced), 乙
# serves 2 units (one 300 m north of T), 丙 only an unplaced unit.
T = (102.700, 25.000)
NEAR_EAST = (102.701, 25.000)
NORTH = (102.700, 25.0027)
UNITS = units_frame([
    ("甲", *NEAR_EAST), ("甲", 102.75, 25.05), ("甲", 102.76, 25.05), ("甲", NAN, NAN), ("甲 ", NAN, NAN),
    ("乙", *NORTH), ("乙", 102.80, 25.10),
    ("丙", NAN, NAN),
    (None, 102.7001, 25.0001),  # a unit with no instructor, right next to T: never an answer
    ("", 102.7002, 25.0),       # a blank name is no instructor either
])


def test_the_nearest_instructor_is_the_one_serving_the_closest_unit():
    result = nearest_instructors(units_frame([(None, *T)]), UNITS)
    row = result.iloc[0]
    assert row["nearest_instructor"] == "甲"
    assert row["instructor_distance_m"] == pytest.approx(geodesic(T, NEAR_EAST), abs=1)
    assert 95 < row["instructor_distance_m"] < 105


def test_load_counts_every_unit_served_placed_or_not_and_names_are_trimmed():
    loads = instructor_loads(UNITS)
    assert loads.to_dict() == {"丙": 1, "乙": 2, "甲": 5}
    result = nearest_instructors(units_frame([(None, *T)]), UNITS).iloc[0]
    assert result["instructor_load"] == 5


def test_an_instructor_at_the_cap_is_skipped_for_the_available_one():
    """001 §10: at most 5 units; 甲 already has 5, so one more would overload them."""
    row = nearest_instructors(units_frame([(None, *T)]), UNITS, Policy(instructor_max_units=5)).iloc[0]
    assert bool(row["instructor_at_cap"]) is True
    assert row["nearest_available_instructor"] == "乙"
    assert row["available_distance_m"] == pytest.approx(geodesic(T, NORTH), abs=1)
    assert 290 < row["available_distance_m"] < 310
    assert row["available_load"] == 2


def test_an_instructor_below_the_cap_is_both_answers():
    row = nearest_instructors(units_frame([(None, *T)]), UNITS, Policy(instructor_max_units=6)).iloc[0]
    assert bool(row["instructor_at_cap"]) is False
    assert row["nearest_available_instructor"] == row["nearest_instructor"] == "甲"
    assert row["available_distance_m"] == row["instructor_distance_m"]


def test_over_the_cap_counts_as_at_the_cap():
    row = nearest_instructors(units_frame([(None, *T)]), UNITS, Policy(instructor_max_units=4)).iloc[0]
    assert bool(row["instructor_at_cap"]) is True
    assert row["nearest_available_instructor"] == "乙"


def test_an_unplaced_target_has_no_answer_and_keeps_its_index():
    targets = units_frame([(None, *T), (None, NAN, NAN)]).set_axis([10, 20])
    result = nearest_instructors(targets, UNITS)
    assert list(result.index) == [10, 20]
    assert result.loc[20, "nearest_instructor"] is None or pd.isna(result.loc[20, "nearest_instructor"])
    assert np.isnan(result.loc[20, "instructor_distance_m"])
    assert pd.isna(result.loc[20, "instructor_load"])
    assert bool(result.loc[20, "instructor_at_cap"]) is False
    assert result.loc[10, "nearest_instructor"] == "甲"


def test_nobody_below_the_cap_means_no_available_instructor():
    units = units_frame([("甲", *NEAR_EAST)] * 5)
    row = nearest_instructors(units_frame([(None, *T)]), units).iloc[0]
    assert row["nearest_instructor"] == "甲"
    assert pd.isna(row["nearest_available_instructor"]) and np.isnan(row["available_distance_m"])


def test_no_instructor_at_all():
    result = nearest_instructors(units_frame([(None, *T)]), units_frame([(None, *NEAR_EAST)]))
    assert result["nearest_instructor"].isna().all() and result["instructor_distance_m"].isna().all()


def test_empty_targets():
    result = nearest_instructors(units_frame([]), UNITS)
    assert len(result) == 0 and "nearest_available_instructor" in result


def test_the_index_finds_the_geodesic_nearest_on_a_county_sized_cloud():
    """The scaled-frame index agrees with a brute-force geodesic search (metre tolerance for
    near-ties)."""
    rng = np.random.default_rng(3)
    points = units_frame([(f"指导员{i % 60}", 102.6 + rng.random() * 0.3, 24.9 + rng.random() * 0.3)
                          for i in range(400)])
    targets = units_frame([(None, 102.6 + rng.random() * 0.3, 24.9 + rng.random() * 0.3) for _ in range(150)])
    result = nearest_instructors(targets, points, Policy(instructor_max_units=100))
    for (_, target), found in zip(targets.iterrows(), result["instructor_distance_m"]):
        n = len(points)
        _, _, distances = GEOD.inv(np.full(n, target["x"]), np.full(n, target["y"]),
                                   points["x"].to_numpy(), points["y"].to_numpy())
        assert found == pytest.approx(distances.min(), abs=1)


# --- the blind-spot list on the tiny county (conftest) ------------------------------------

IN_G1 = {"lon": 102.706, "lat": 25.004}
IN_G3 = {"lon": 102.728, "lat": 25.008}


@pytest.fixture
def analysis(tmp_path, tiny_county):
    rows = [
        unit(name="小店", employees=8, reason_no_org="无党员", **IN_G1),
        unit(name="大厂", employees=150, formal_members=1, reason_no_org="其他：正在筹建", **IN_G3),
        unit(name="中厂", employees=60, **IN_G1),
        unit(name="学校", kind="社会组织", employees=40, reason_no_org="党员不足3名", formal_members=2, **IN_G1),
        unit(name="无处", employees=20, reason_no_org="规模小或人员流动大"),
        unit(name="有指导员", employees=12, instructor="王指导", **{"lon": 102.7065, "lat": 25.004}),
        unit(name="有支部", employees=30, formal_members=5, org_name="有支部党支部", org_type="党支部", **IN_G1),
    ]
    path = write_ledger(tmp_path / "台账.csv", rows)
    layers = {k: v for k, v in tiny_county.items() if k != "grids"}
    return analyse_files(path, tiny_county["grids"], Policy(as_of=dt.date(2026, 11, 22)), **layers)


def test_blind_spots_are_listed_priority_first_then_by_employees(analysis):
    spots = blind_spots(analysis)
    assert spots["name"].tolist() == ["大厂", "中厂", "学校", "无处", "小店"]
    assert spots["priority"].tolist() == [True, True, True, False, False]
    assert spots["priority_reason"].tolist() == ["百人以上未建", "五十人以上无党员", "社会组织三十人以上未建", "", ""]


def test_reasons_placement_and_distances_of_the_blind_spot_list(analysis):
    spots = blind_spots(analysis).set_index("name")
    assert spots.loc["中厂", "reason"] == "未填写" and spots.loc["中厂", "reason_category"] == "未填写"
    assert spots.loc["大厂", "reason"] == "其他：正在筹建" and spots.loc["大厂", "reason_category"] == "其他"
    assert spots.loc["无处", "placed_label"] == "未定位"
    assert np.isnan(spots.loc["无处", "instructor_distance_m"]) and np.isnan(spots.loc["无处", "centre_distance_m"])
    # 王指导 serves 有指导员, ~50 m east of 小店
    assert spots.loc["小店", "nearest_instructor"] == "王指导"
    expected = geodesic((102.706, 25.004), (102.7065, 25.004))
    assert spots.loc["小店", "instructor_distance_m"] == pytest.approx(expected, abs=1)
    assert spots.loc["小店", "available_phone"] == "13900000001"
    assert spots.loc["小店", "nearest_centre"] == "甲镇党群服务中心"
    assert "未派党建工作指导员，应选派" in spots.loc["小店", "actions"]
    assert blind_spot_counts(blind_spots(analysis)) == {"blind": 5, "priority": 3, "missing_reason": 1, "unplaced": 1}


def test_filters_and_the_chinese_table(analysis):
    spots = blind_spots(analysis)
    assert filter_blind_spots(spots, priority_only=True)["name"].tolist() == ["大厂", "中厂", "学校"]
    assert filter_blind_spots(spots, grids=["G3"])["name"].tolist() == ["大厂"]
    assert filter_blind_spots(spots, towns=["甲镇"], reasons=["无党员", "未填写"])["name"].tolist() == ["中厂", "小店"]
    table = blind_spot_table(analysis)
    assert len(table) == 5 and table.columns[:4].tolist() == ["台账行号", "重点空白点", "重点原因", "企业名称"]
    assert table.loc[table["企业名称"] == "无处", "定位依据"].item() == "未定位"


@pytest.mark.parametrize("recorded, category", [
    ("", "未填写"), (None, "未填写"), ("无党员", "无党员"), ("其他：说明", "其他"), ("其他:说明", "其他"),
    ("党员不足三名", "党员不足3名"),
])
def test_reason_category(recorded, category):
    assert reason_category(recorded) == category


# --- nearest_points: the fast nearest-centre search gives exactly the brute-force answer ---------

from hypothesis import given, settings, strategies as st  # noqa: E402

from services.nearest import _tree_nearest, nearest_points  # noqa: E402

_coordinate = st.floats(min_value=-5.0, max_value=5.0, allow_nan=False).map(lambda v: round(v, 3))
_points = st.lists(st.tuples(_coordinate, _coordinate), min_size=0, max_size=60)


@settings(max_examples=200, deadline=None)
@given(queries=_points, centres=_points, clustered=st.booleans())
def test_nearest_points_finds_a_nearest_and_answers_ties_as_the_spatial_index(queries, centres, clustered):
    """Rounded coordinates make ties and repeated points common; clustering the queries far from
    most centres exercises the per-cell candidate lists. The answer is a nearest point, and the
    one shapely's spatial index gives (what named a unit's centre before this search)."""
    q = np.array(queries, dtype=float).reshape(-1, 2)
    p = np.array(centres, dtype=float).reshape(-1, 2)
    if clustered and len(q):
        q = q / 50 + 3.0
    found = nearest_points(q[:, 0], q[:, 1], p[:, 0], p[:, 1])
    if len(p) == 0:
        assert (found == -1).all()
        return
    assert _is_nearest(q, p, found)
    assert found.tolist() == _tree_nearest(q[:, 0], q[:, 1], p[:, 0], p[:, 1]).tolist()


def _is_nearest(q: np.ndarray, p: np.ndarray, found: np.ndarray) -> bool:
    """Whether each found point is as near as any (within rounding: two ways of computing one
    distance may differ in the last bit)."""
    distance = np.hypot(q[:, None, 0] - p[None, :, 0], q[:, None, 1] - p[None, :, 1])
    return bool((distance[np.arange(len(q)), found] <= distance.min(axis=1) + 1e-12).all())


def test_nearest_points_over_a_city_sized_layout_equals_brute_force():
    """Thousands of units around a few hundred centres, as the per-cell lists meet them."""
    rng = np.random.default_rng(7)
    p = rng.normal(0, 1, size=(300, 2))
    q = np.concatenate([rng.normal(0, 1.5, size=(4000, 2)), p[:50] + 1e-9, p[:20]])  # near and on centres
    found = nearest_points(q[:, 0], q[:, 1], p[:, 0], p[:, 1])
    assert _is_nearest(q, p, found)
    assert found.tolist() == _tree_nearest(q[:, 0], q[:, 1], p[:, 0], p[:, 1]).tolist()
