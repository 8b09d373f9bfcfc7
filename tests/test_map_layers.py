"""The map's HTML as the services' frames become folium layers: escaping, layers, shift."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from conftest import unit, write_ledger
from services.analysis import analyse_files
from services.rates import coverage_rates
from services.settings import Policy

from dashboard import palette
from dashboard.county_map import GAODE, MapView, build_map, clicked_grid, unpack_city_units

HOSTILE_NAMES = ["{{ 7*7 }}", "{% raw %}", "{{ cycler.__init__.__globals__ }}", "<script>alert(1)</script>",
                 "甲&乙\"丙'丁"]


@pytest.fixture
def hostile_analysis(tmp_path, tiny_county):
    rows = [unit(name=name, lon=102.705 + i * 0.001, lat=25.005, org_name=name + "联合党支部",
                 org_type="联合党支部", instructor=name)
            for i, name in enumerate(HOSTILE_NAMES)]
    layers = {k: v for k, v in tiny_county.items() if k != "grids"}
    return analyse_files(write_ledger(tmp_path / "台账.xlsx", rows), tiny_county["grids"],
                         Policy(as_of=dt.date(2026, 11, 22)), **layers)


def render(analysis, **view) -> str:
    units = analysis.units
    view = MapView(units=units, grid_rates=coverage_rates(units, by="grid_id"), **view)
    return build_map(analysis, view).get_root().render()


@pytest.mark.parametrize("layers", [None, frozenset({"units", "links", "instructors", "grids"})])
def test_names_never_reach_jinja_or_the_page_as_markup(hostile_analysis, layers):
    html = render(hostile_analysis, **({"layers": layers} if layers else {}))
    # Jinja never saw the braces: the name survives, as character references.
    assert "7*7" in html and not re.search(r"\{\{\s*7\*7", html)
    assert not re.search(r"\{\{\s*cycler", html) and "__globals__" in html
    assert "\\u0026#123;\\u0026#123; 7*7" in html or "&#123;&#123; 7*7" in html
    # No markup from data: the script tag arrives as text.
    assert "alert(1)" in html and "<script>alert(1)" not in html


def test_the_gaode_basemap_draws_hostile_names_too(hostile_analysis):
    html = render(hostile_analysis, basemap=GAODE)
    assert "raw %" in html and "{% raw %}" not in html


def test_a_click_on_the_map_finds_the_grid_under_it(hostile_analysis):
    from services.coords import wgs84_to_gcj02

    grids = hostile_analysis.county.grids
    assert clicked_grid(grids, {"last_clicked": {"lat": 25.005, "lng": 102.725}}, "OpenStreetMap") == "G3"
    assert clicked_grid(grids, {"last_clicked": {"lat": 26.0, "lng": 103.5}}, "OpenStreetMap") is None
    assert clicked_grid(grids, {"last_clicked": None}, "OpenStreetMap") is None
    assert clicked_grid(grids, None, "OpenStreetMap") is None
    # On Gaode the click is in GCJ-02: 102.7095 (WGS-84) is in G1 but its GCJ-02 point is in G2.
    lng, lat = (float(v) for v in wgs84_to_gcj02(102.7095, 25.005))
    assert clicked_grid(grids, {"last_clicked": {"lat": lat, "lng": lng}}, GAODE) == "G1"
    assert clicked_grid(grids, {"last_clicked": {"lat": lat, "lng": lng}}, "OpenStreetMap") == "G2"


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """A generated 8,000-unit city: more units than a county map draws one by one."""
    from services.demo import generate_county, write_county
    from services.workspace import load_folder

    folder = tmp_path_factory.mktemp("city")
    write_county(generate_county(8000, seed=3), folder, "csv")
    return load_folder(folder)


def test_a_city_draws_units_from_compact_rows_not_one_feature_each(city):
    from dashboard.county_map import DETAIL_LIMIT

    placed = int(city.units["x"].notna().sum())
    assert placed > DETAIL_LIMIT
    html = render(city)
    match = re.search(r'var packed = "([A-Za-z0-9+/=]+)", count = (\d+);', html)
    assert match, "the city layer carries its units packed"
    units = unpack_city_units(match.group(1), int(match.group(2)))
    drawn = city.units[city.units["x"].notna()]
    assert units["row"].tolist() == drawn["row"].tolist()
    assert units["lat"] == pytest.approx(drawn["y"].to_numpy(), abs=6e-6)  # a metre
    assert units["lon"] == pytest.approx(drawn["x"].to_numpy(), abs=6e-6)
    blind = list(palette.STATUS_COLOURS).index("blind")
    assert int((units["status"] == blind).sum()) == int(drawn["status"].eq("blind").sum())
    assert int(units["priority"].sum()) == int(drawn["priority_blind"].sum())
    assert '"k": "' not in html  # no per-unit GeoJSON features
    assert "joint-link" not in html  # a city's links would bury the map
    assert len(html) < 1500 * placed  # well under the county map's size per unit
