"""Datum transforms (services/coords.py) against published values and their own properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services import coords
from services.coords import (
    CHINA_BBOX,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    normalise_crs_name,
    normalise_crs_names,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

PUBLISHED = 1e-12  # the references print 14-17 significant digits

# --------------------------------------------------------------------------- published values

# wandergis/coordtransform, README.md ("示例用法", commit 5087468cbee7), for (116.404, 39.915):
#   //bd09togcj02:   [ 116.39762729119315, 39.90865673957631 ]
#   //gcj02tobd09:   [ 116.41036949371029, 39.92133699351021 ]
#   //wgs84togcj02:  [ 116.41024449916938, 39.91640428150164 ]
#   //gcj02towgs84:  [ 116.39775550083061, 39.91359571849836 ]
BEIJING = (116.404, 39.915)
JS_README = {
    "bd09_to_gcj02": (116.39762729119315, 39.90865673957631),
    "gcj02_to_bd09": (116.41036949371029, 39.92133699351021),
    "wgs84_to_gcj02": (116.41024449916938, 39.91640428150164),
    "gcj02_to_wgs84": (116.39775550083061, 39.91359571849836),
}

# wandergis/coordTransform_py, README.md ("测试(转换坐标 128.543,37.065 )", commit f7fe294094a5),
# printed by its __main__ in the order gcj02_to_bd09, bd09_to_gcj02, wgs84_to_gcj02,
# gcj02_to_wgs84, bd09_to_wgs84, wgs84_to_bd09:
#   [128.54944656269413, 37.07113427883019] [128.5365893261212, 37.058754503281534]
#   [128.54820547949757, 37.065651049489816] [128.53779452050244, 37.06434895051018]
#   [128.53136876750008, 37.0580926428705] [128.55468192918485, 37.07168344938498]
KOREA_BOX = (128.543, 37.065)  # inside the crude out_of_china box, as in the reference
PY_README = {
    "gcj02_to_bd09": (128.54944656269413, 37.07113427883019),
    "bd09_to_gcj02": (128.5365893261212, 37.058754503281534),
    "wgs84_to_gcj02": (128.54820547949757, 37.065651049489816),
    "gcj02_to_wgs84": (128.53779452050244, 37.06434895051018),
    "bd09_to_wgs84": (128.53136876750008, 37.0580926428705),
    "wgs84_to_bd09": (128.55468192918485, 37.07168344938498),
}

# prcoords 1.0.2 (PyPI, public domain), gcj_wgs_bored / bd_wgs_bored — the Caijun 2014
# iterative inverses — run with prcoords.PRC_EPS = 1e-13; printed (lon, lat).
PRCOORDS_GCJ_TO_WGS = {
    (116.404, 39.915): (116.39775575457485, 39.913596235609404),
    (121.4737, 31.2304): (121.4691622633295, 31.232329239037504),
    (113.2644, 23.1291): (113.25907324077701, 23.131777979746097),
    (87.6168, 43.8256): (87.61395281940622, 43.82439603947834),
}
PRCOORDS_BD_TO_WGS = {
    (116.404, 39.915): (116.39138589273855, 39.90725503299667),
    (121.4737, 31.2304): (121.46263818317848, 31.2262574154348),
    (126.6424, 45.7569): (126.62989784633263, 45.74907225336969),
}


def _close(actual, expected, tol):
    assert abs(float(actual[0]) - expected[0]) <= tol, (actual, expected)
    assert abs(float(actual[1]) - expected[1]) <= tol, (actual, expected)


@pytest.mark.parametrize("point, table", [(BEIJING, JS_README), (KOREA_BOX, PY_README)])
def test_forward_transforms_reproduce_the_published_values(point, table):
    _close(wgs84_to_gcj02(*point), table["wgs84_to_gcj02"], PUBLISHED)
    _close(gcj02_to_bd09(*point), table["gcj02_to_bd09"], PUBLISHED)
    if "wgs84_to_bd09" in table:
        _close(wgs84_to_bd09(*point), table["wgs84_to_bd09"], PUBLISHED)


@pytest.mark.parametrize("point, table", [(BEIJING, JS_README), (KOREA_BOX, PY_README)])
def test_published_one_step_inverses_follow_from_the_same_formulas(point, table):
    # The references invert GCJ-02 in one step, 2·g − f(g), and BD-09 by its closed form;
    # both follow from our formulas to the last digit, so the formulas are the same.
    g = np.array(point)
    f = np.array(wgs84_to_gcj02(*point))
    _close(2 * g - f, table["gcj02_to_wgs84"], PUBLISHED)
    closed = coords._bd_to_gcj_closed_form(g[:1], g[1:])
    _close((closed[0][0], closed[1][0]), table["bd09_to_gcj02"], PUBLISHED)
    if "bd09_to_wgs84" in table:
        b = np.array([closed[0][0], closed[1][0]])
        _close(2 * b - np.array(wgs84_to_gcj02(*b)), table["bd09_to_wgs84"], PUBLISHED)


@pytest.mark.parametrize("point, table", [(BEIJING, JS_README), (KOREA_BOX, PY_README)])
def test_our_inverses_are_exact_where_the_published_ones_are_approximate(point, table):
    w = gcj02_to_wgs84(*point)
    _close(wgs84_to_gcj02(*w), point, 1e-9)
    _close(w, table["gcj02_to_wgs84"], 2e-5)  # the one-step inverse is ~1-2 m off
    assert abs(float(w[0]) - table["gcj02_to_wgs84"][0]) > 1e-7  # ...and really differs
    g = bd09_to_gcj02(*point)
    _close(gcj02_to_bd09(*g), point, 1e-9)
    _close(g, table["bd09_to_gcj02"], 2e-6)  # the closed form is up to ~0.2 m off
    b = bd09_to_wgs84(*point)
    _close(wgs84_to_bd09(*b), point, 1e-9)


@pytest.mark.parametrize("gcj, wgs", list(PRCOORDS_GCJ_TO_WGS.items()))
def test_gcj_inverse_matches_prcoords(gcj, wgs):
    _close(gcj02_to_wgs84(*gcj), wgs, 1e-10)


@pytest.mark.parametrize("bd, wgs", list(PRCOORDS_BD_TO_WGS.items()))
def test_bd_inverse_matches_prcoords(bd, wgs):
    _close(bd09_to_wgs84(*bd), wgs, 1e-10)


# --------------------------------------------------------------------------- outside China, NaN

OUTSIDE = [(-0.1276, 51.5072), (139.6917, 35.6895), (151.2093, -33.8688), (-74.006, 40.7128),
           (72.0, 30.0), (137.9, 40.0), (100.0, 0.8), (100.0, 55.9)]


@pytest.mark.parametrize("lon, lat", OUTSIDE)
def test_gcj_transforms_are_the_identity_outside_china(lon, lat):
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)
    assert not coords.in_china(lon, lat)


def test_box_bounds_are_inside():
    lon_min, lat_min, lon_max, lat_max = CHINA_BBOX
    for lon, lat in [(lon_min, 30.0), (lon_max, 30.0), (100.0, lat_min), (100.0, lat_max)]:
        assert coords.in_china(lon, lat)
        assert wgs84_to_gcj02(lon, lat) != (lon, lat)


ALL = [wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84]


@pytest.mark.parametrize("transform", ALL, ids=lambda f: f.__name__)
def test_nan_passes_through_and_does_not_spread(transform):
    lon = np.array([np.nan, 116.404, 116.404, np.nan])
    lat = np.array([39.915, np.nan, 39.915, np.nan])
    out_lon, out_lat = transform(lon, lat)
    assert np.isnan(out_lon[0]) and np.isnan(out_lat[1]) and np.isnan(out_lon[3])
    assert np.isnan(out_lat[3])
    single = transform(116.404, 39.915)
    assert (out_lon[2], out_lat[2]) == (single[0], single[1])
    scalar = transform(np.nan, np.nan)
    assert math.isnan(scalar[0]) and math.isnan(scalar[1])


@pytest.mark.parametrize("transform", ALL, ids=lambda f: f.__name__)
def test_shapes_and_types(transform):
    lon, lat = transform(116.404, 39.915)
    assert isinstance(lon, np.float64) and isinstance(lat, np.float64)
    grid_lon, grid_lat = np.meshgrid(np.linspace(110, 120, 4), np.linspace(25, 35, 3))
    out_lon, out_lat = transform(grid_lon, grid_lat)
    assert out_lon.shape == out_lat.shape == (3, 4)
    assert out_lon[1, 2] == transform(grid_lon[1, 2], grid_lat[1, 2])[0]
    broadcast = transform([116.0, 117.0], 39.9)
    assert broadcast[0].shape == (2,)
    empty = transform(np.array([]), np.array([]))
    assert empty[0].shape == (0,)


def test_absurd_inputs_do_not_warn_or_raise():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for transform in ALL:
            transform(np.array([1e300, -np.inf, np.inf, 0.0]), np.array([1e300, 0.0, np.inf, 0.0]))


# --------------------------------------------------------------------------- properties

# The GCJ-02 offset is below 0.01°, so a WGS-84 point at least 0.02° inside the box has its
# GCJ-02 point inside the box too; nearer the edge the round trip is undefined by design
# (the GCJ-02 point may fall outside, where the inverse is the identity).
MARGIN = 0.02
china_lon = st.floats(CHINA_BBOX[0] + MARGIN, CHINA_BBOX[2] - MARGIN)
china_lat = st.floats(CHINA_BBOX[1] + MARGIN, CHINA_BBOX[3] - MARGIN)
ROUND_TRIP = 1e-6  # the contract: ≈0.1 m


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_round_trip_wgs_gcj_wgs(lon, lat):
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    _close(back, (lon, lat), ROUND_TRIP)
    _close(back, (lon, lat), 1e-9)  # what the iteration actually achieves


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_round_trip_wgs_bd_wgs(lon, lat):
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    _close(back, (lon, lat), ROUND_TRIP)
    _close(back, (lon, lat), 1e-9)


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_round_trip_gcj_bd_gcj(lon, lat):
    _close(bd09_to_gcj02(*gcj02_to_bd09(lon, lat)), (lon, lat), 1e-9)


def _metres(lon1, lat1, lon2, lat2):
    """Haversine distance on the mean Earth radius (enough for a few hundred metres)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


@settings(max_examples=300, deadline=None)
@given(st.floats(CHINA_BBOX[0], CHINA_BBOX[2]), st.floats(CHINA_BBOX[1], CHINA_BBOX[3]))
def test_forward_offset_is_a_few_hundred_metres_at_most(lon, lat):
    # The offset reaches ~730 m at the far corners of the box, ~100-600 m over China.
    distance = _metres(lon, lat, *wgs84_to_gcj02(lon, lat))
    assert 0 < distance < 750


def test_offset_over_the_county_region_is_as_expected():
    # Yunnan, where the demo county is set: a few hundred metres, never zero.
    lon, lat = np.meshgrid(np.linspace(97.5, 106.2, 40), np.linspace(21.1, 29.3, 40))
    glon, glat = wgs84_to_gcj02(lon.ravel(), lat.ravel())
    d = [_metres(*p) for p in zip(lon.ravel(), lat.ravel(), glon, glat)]
    assert 100 < min(d) and max(d) < 700


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(70, 140), st.floats(0, 57)), min_size=1, max_size=40))
def test_vectorised_call_equals_per_element_calls(points):
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    for transform in ALL:
        out_lon, out_lat = transform(lon, lat)
        for i, (x, y) in enumerate(points):
            one = transform(x, y)
            # equal up to the last bit or two (numpy may vectorise sin/cos differently for
            # one element and for many)
            assert abs(out_lon[i] - one[0]) <= 1e-12 and abs(out_lat[i] - one[1]) <= 1e-12


def test_large_calls_go_block_by_block_with_the_same_result():
    rng = np.random.default_rng(3)
    n = 3 * coords._BLOCK + 17
    lon = rng.uniform(72, 138, n)
    lat = rng.uniform(0.8, 56, n)
    lon[::97] = np.nan
    sample = rng.choice(n, 60, replace=False)
    for transform in ALL:
        out_lon, out_lat = transform(lon, lat)
        one = transform(lon[sample], lat[sample])
        np.testing.assert_allclose(out_lon[sample], one[0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(out_lat[sample], one[1], rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- to_wgs84

def test_to_wgs84_converts_each_point_from_its_own_datum():
    lon = np.array([116.404, 116.404, 116.404, np.nan, 116.404, 116.404, 116.404])
    lat = np.array([39.915, 39.915, 39.915, 39.915, 39.915, 39.915, 39.915])
    crs = np.array(["WGS84", "GCJ02", "BD09", "GCJ02", None, "UNKNOWN", "gcj-02"], dtype=object)
    out_lon, out_lat = to_wgs84(lon, lat, crs)
    assert (out_lon[0], out_lat[0]) == BEIJING
    assert (out_lon[1], out_lat[1]) == gcj02_to_wgs84(*BEIJING)
    assert (out_lon[2], out_lat[2]) == bd09_to_wgs84(*BEIJING)
    assert np.isnan(out_lon[3])  # NaN coordinates stay NaN
    assert np.isnan(out_lon[4]) and np.isnan(out_lat[4])  # blank datum: nothing is guessed
    assert np.isnan(out_lon[5]) and np.isnan(out_lat[5])  # unknown datum
    assert (out_lon[6], out_lat[6]) == gcj02_to_wgs84(*BEIJING)  # raw spellings are fine


def test_to_wgs84_accepts_a_series_or_one_string():
    lon = np.array([116.404, 121.4737])
    lat = np.array([39.915, 31.2304])
    by_series = to_wgs84(lon, lat, pd.Series(["BD09", "BD09"], index=[7, 3]))
    by_string = to_wgs84(lon, lat, "BD09")
    np.testing.assert_array_equal(by_series[0], by_string[0])
    np.testing.assert_array_equal(by_string[0], bd09_to_wgs84(lon, lat)[0])
    assert to_wgs84(116.404, 39.915, "WGS84") == BEIJING
    with pytest.raises(ValueError):
        to_wgs84(lon, lat, ["WGS84"])


# --------------------------------------------------------------------------- datum names

@pytest.mark.parametrize("text, code", [
    ("WGS84", "WGS84"), ("wgs-84", "WGS84"), ("WGS 84", "WGS84"), ("wgs_84", "WGS84"),
    ("GPS", "WGS84"), ("WGS84坐标系", "WGS84"), ("ＷＧＳ８４", "WGS84"), ("EPSG:4326", "WGS84"),
    ("CGCS2000", "WGS84"), ("天地图", "WGS84"),
    ("GCJ-02", "GCJ02"), ("gcj02", "GCJ02"), ("GCJ 02", "GCJ02"), ("火星坐标", "GCJ02"),
    ("火星坐标系", "GCJ02"), ("高德", "GCJ02"), ("高德地图", "GCJ02"), ("国测局", "GCJ02"),
    ("国测局坐标", "GCJ02"), ("腾讯地图", "GCJ02"), ("GCJ-02（高德）", "GCJ02"),
    ("BD-09", "BD09"), ("bd09", "BD09"), ("百度", "BD09"), ("bd09ll", "BD09"),
    ("百度坐标系", "BD09"), ("百度地图", "BD09"), (" BD09 ", "BD09"),
])
def test_normalise_crs_name_spellings(text, code):
    assert normalise_crs_name(text) == code


@pytest.mark.parametrize("text", [None, "", "   ", float("nan"), pd.NA])
def test_normalise_crs_name_blank_is_none(text):
    assert normalise_crs_name(text) is None


@pytest.mark.parametrize("text", ["BD09MC", "北京54", "西安80", "UTM", "WGS84/百度", "x"])
def test_normalise_crs_name_unknown_never_raises(text):
    assert normalise_crs_name(text) == "UNKNOWN"


def test_normalise_crs_names_keeps_index_and_name():
    series = pd.Series(["高德", None, "wgs-84", "高德", "?", np.nan], index=list("abcdef"), name="坐标系")
    out = normalise_crs_names(series)
    assert out.index.tolist() == list("abcdef") and out.name == "坐标系"
    assert out.tolist() == ["GCJ02", None, "WGS84", "GCJ02", "UNKNOWN", None]
    assert normalise_crs_names(pd.Series([], dtype=object)).empty
