"""The map in a real browser: Debian's chromium, driven by playwright, against `streamlit run`
on loopback, with no internet (tiles fail; everything else must draw).

Screenshots of every page land in screenshots/ (git-ignored): look at them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import openpyxl
import pytest

from conftest import DEMO, MAP_FRAME, REPO, open_map, running_app, screenshot, unit
from dashboard.serve import READY

PAGE_URLS = {"": "全县一张图", "grid": "网格", "places": "园区与楼宇", "joint_orgs": "联合党支部",
             "blind_spots": "空白点", "centres": "党群服务中心"}
HOSTILE = '<img src=x onerror="window.__owned=1"><script>window.__owned=2</script>"&\'{{ 7*7 }}{% raw %}'


def test_a_shared_grid_link_on_a_fresh_server_shows_that_grid_with_its_units(browser, report):
    """The first request to a new server is a grid leader's link; their grid's units are all
    drawn, and the page sits inside the app's navigation."""
    with running_app() as url:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        grid_id = "QH-03-02"
        frame = open_map(page, f"{url}/grid?grid={grid_id}")
        frame.locator("path.unit-marker").first.wait_for(state="attached")
        assert frame.locator("path.unit-marker").count() == report["grids"][grid_id]["units"]
        assert page.get_by_role("link", name="全县一张图").count() == 1
        assert page.get_by_text("Page not found").count() == 0
        page.close()


def test_a_shared_link_to_any_page_on_a_fresh_server_opens_that_page(browser):
    with running_app() as url:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        open_map(page, f"{url}/blind_spots")
        page.get_by_role("heading", name="空白点").first.wait_for()
        assert page.get_by_text("Page not found").count() == 0
        assert page.get_by_role("link", name="联合党支部").count() == 1
        page.close()


@pytest.mark.parametrize("path", list(PAGE_URLS))
def test_every_page_loads_without_an_error_box(page, app_url, path):
    frame = open_map(page, f"{app_url}/{path}")
    page.get_by_role("heading", name=PAGE_URLS[path]).first.wait_for()
    frame.locator(".map-legend").wait_for()  # the legend is always visible
    assert page.locator('[data-testid="stException"]').count() == 0
    assert not page.page_errors
    screenshot(page, f"page_{path or 'county'}")


def test_toggling_the_unit_layer_hides_and_shows_the_units(page, app_url, report):
    frame = open_map(page, f"{app_url}/grid?grid=QH-01-02")
    markers = frame.locator("path.unit-marker")
    markers.first.wait_for(state="attached")
    count = markers.count()
    assert count == report["grids"]["QH-01-02"]["units"]
    layer = frame.locator(".leaflet-control-layers-overlays label", has_text="单位").locator("input")
    layer.uncheck()
    assert markers.count() == 0
    layer.check()
    markers.first.wait_for(state="attached")
    assert markers.count() == count


def test_instructors_areas_are_offered_in_the_layer_control_and_drawn_when_ticked(page, app_url, demo):
    """Every layer of the map is in its control; instructors' areas start unticked (at county
    scale they would cover the grids) and appear when the leader ticks them."""
    frame = open_map(page, f"{app_url}/")
    frame.locator("path.unit-marker").first.wait_for(state="attached")
    layer = frame.locator(".leaflet-control-layers-overlays label", has_text="指导员服务范围").locator("input")
    assert not layer.is_checked()
    areas = frame.locator("path.instructor-area")
    assert areas.count() == 0
    layer.check()
    areas.first.wait_for(state="attached")
    served = demo.units[demo.units["instructor"].notna() & demo.units["x"].notna()]
    assert areas.count() == served["instructor"].astype(str).nunique()
    screenshot(page, "county_instructor_areas")


def test_switching_the_basemap(page, app_url):
    frame = open_map(page, f"{app_url}/")
    frame.locator("img.leaflet-tile").first.wait_for(state="attached")  # OSM tiles requested
    page.get_by_text("无底图", exact=True).click()
    frame = page.frame_locator(MAP_FRAME).first
    frame.locator(".leaflet-container").wait_for(state="attached")
    page.wait_for_function(
        """() => { const f = document.querySelector('iframe[title="streamlit_folium.st_folium"]');
                   const d = f && f.contentDocument;
                   return d && d.querySelector('.leaflet-container') && !d.querySelector('img.leaflet-tile')
                          && d.querySelectorAll('path.unit-marker').length > 0; }""", timeout=60_000)
    screenshot(page, "basemap_none")
    page.get_by_text("高德地图", exact=True).click()
    page.wait_for_function(
        """() => { const f = document.querySelector('iframe[title="streamlit_folium.st_folium"]');
                   const d = f && f.contentDocument;
                   return d && [...d.querySelectorAll('img.leaflet-tile')].some(i => i.src.includes('autonavi')); }""",
        timeout=60_000)


@pytest.fixture(scope="module")
def hostile_county(tmp_path_factory):
    """The demo county with one unit renamed to markup, as a careless or hostile ledger may."""
    folder = tmp_path_factory.mktemp("hostile")
    for path in DEMO.iterdir():
        shutil.copy(path, folder / path.name)
    book = openpyxl.load_workbook(folder / "ledger.xlsx")
    sheet = book.active
    sheet.cell(row=2, column=1).value = HOSTILE
    code = sheet.cell(row=2, column=2).value
    book.save(folder / "ledger.xlsx")
    return folder, code


def test_a_hostile_name_shows_as_text_in_the_popup(browser, hostile_county, tmp_path):
    folder, code = hostile_county
    with running_app({"COUNTY_FOLDER": str(folder), "COUNTY_STORE": str(tmp_path / "hostile.gpkg")}) as url:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        open_map(page, f"{url}/")
        page.get_by_label("搜索单位（名称或统一社会信用代码）").fill(code)
        page.keyboard.press("Enter")
        frame = page.frame_locator(MAP_FRAME).first
        popup = frame.locator(".leaflet-popup-content .unit-popup-name")
        popup.wait_for(timeout=60_000)
        assert popup.inner_text() == HOSTILE
        owned = page.evaluate("""() => { const f = document.querySelector('iframe[title="streamlit_folium.st_folium"]');
                                        return [window.__owned, f.contentWindow.__owned]; }""")
        assert owned == [None, None]
        screenshot(page, "hostile_popup")
        page.close()


def test_clicking_a_grid_on_the_county_map_leads_to_the_grid_page(page, app_url, report):
    frame = open_map(page, f"{app_url}/")
    frame.locator("path.grid-area").first.wait_for(state="attached")
    for layer in ("单位", "网格名称", "联合党支部连线", "服务半径", "园区", "商务楼宇", "商圈市场", "党群服务中心"):
        frame.locator(".leaflet-control-layers-overlays label", has_text=layer).locator("input").uncheck()
    # Click at the mean of a grid's vertices (grids are convex, so it lies inside the grid),
    # with the map scrolled into view as a person would (a click outside the window is lost).
    page.locator(MAP_FRAME).first.scroll_into_view_if_needed()
    inner = page.frame_locator(MAP_FRAME).first.locator("body")
    point = inner.evaluate("""() => {
        const grid = Object.values(window.map._layers).find(
            l => l.feature && l.feature.properties.kind === 'grid');
        const ring = grid.getLatLngs().flat(2);
        const mean = ring.reduce((a, p) => [a[0] + p.lat / ring.length, a[1] + p.lng / ring.length], [0, 0]);
        const xy = window.map.latLngToContainerPoint(mean);
        const box = window.map.getContainer().getBoundingClientRect();
        return [xy.x + box.left, xy.y + box.top]; }""")
    frame_box = page.locator(MAP_FRAME).first.bounding_box()
    page.mouse.click(frame_box["x"] + point[0], frame_box["y"] + point[1])
    link = page.get_by_role("link", name="打开所点网格")
    link.wait_for(timeout=60_000)
    link.click()
    page.wait_for_function("() => location.pathname.endsWith('/grid') && location.search.includes('grid=')",
                           timeout=60_000)  # Streamlit switches pages in place (history API)
    page.get_by_role("heading", name="网格").first.wait_for()
    chosen = page.url.split("grid=")[1]
    page.get_by_text(f"网格内单位（{report['grids'][chosen]['units']}个）").wait_for()  # that grid's units
    page.frame_locator(MAP_FRAME).first.locator("path.unit-marker").first.wait_for(state="attached")
    screenshot(page, "grid_from_click")


@pytest.fixture(scope="module")
def city_folder(tmp_path_factory):
    """A generated 8,000-unit city: above the count a map draws unit by unit."""
    from services.demo import generate_county, write_county

    folder = tmp_path_factory.mktemp("city")
    write_county(generate_county(8000, seed=3), folder, "csv")
    return folder


def test_a_city_draws_exactly_the_units_in_view_once_zoomed_in(browser, city_folder, tmp_path):
    """At county zoom a city is its grids' coverage, and the legend says units and place
    symbols come on zooming in; zoomed in to a street, every unit inside the view (plus its
    margin) is drawn on the canvas, and no other, and the buildings and centres appear."""
    from services.workspace import load_folder

    city = load_folder(city_folder)
    placed = city.units.dropna(subset=["x"])
    busiest = placed[placed["grid_id"].eq(placed["grid_id"].value_counts().idxmax())]
    with running_app({"COUNTY_FOLDER": str(city_folder), "COUNTY_STORE": str(tmp_path / "city.gpkg")}) as url:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        map_frame = open_map(page, f"{url}/")
        map_frame.locator("path.grid-area").first.wait_for(state="attached")
        assert "放大到街道级" in map_frame.locator(".map-legend .legend-city").inner_text()
        symbols = {kind: map_frame.locator(f".leaflet-marker-pane .{kind}-symbol") for kind in ("buildings", "centre")}
        assert [symbols[kind].count() for kind in symbols] == [0, 0], "no place symbol at county zoom"
        frame = page.locator(MAP_FRAME).first.element_handle().content_frame()
        drawn = """() => Object.values(window.map._layers).filter(
                       l => l instanceof L.CircleMarker && l.options.renderer instanceof L.Canvas).length"""
        assert frame.evaluate(drawn) == 0, "no unit drawn at county zoom"
        south, west, north, east = frame.evaluate(
            """([lat, lon]) => { window.map.setView([lat, lon], 15, {animate: false});
                                 const b = window.map.getBounds().pad(0.2);
                                 return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]; }""",
            [float(busiest["y"].mean()), float(busiest["x"].mean())])
        x, y = placed["x"].round(5), placed["y"].round(5)
        expected = int((x.between(west, east) & y.between(south, north)).sum())
        assert expected > 0
        frame.wait_for_function(f"() => ({drawn})() === {expected}", timeout=60_000)
        symbols["buildings"].nth(len(city.county.buildings) - 1).wait_for(state="attached")
        assert symbols["buildings"].count() == len(city.county.buildings)
        assert symbols["centre"].count() == len(city.county.centres)
        screenshot(page, "city_zoomed_in")
        page.close()


def test_as_deployed_the_county_is_prepared_at_start_and_a_command_line_import_is_drawn(browser, tmp_path, report):
    """As ``scripts/start`` runs it (``dashboard.serve``): the server prepares the county's
    figures and map as it starts, before anyone visits, and the data watcher prepares each new
    data version. Maps prepared in those background threads must draw in the browser like any
    other (streamlit-folium's frontend is served whoever imported it first), and a unit imported
    from the command line is on the map at the next visit."""
    from test_warmup import demo_ledger_with, wait_for

    store = str(tmp_path / "watched.gpkg")
    log = tmp_path / "server.log"
    placed = sum(1 for entry in report["units"] if entry["placed_by"])
    with running_app({"COUNTY_STORE": store, "DATA_WATCH_S": "0.5"}, served=True, log_path=log) as url:
        wait_for(lambda: READY in log.read_text())  # nobody has visited yet
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        markers = open_map(page, f"{url}/").locator("path.unit-marker")
        markers.first.wait_for(state="attached")
        assert markers.count() == placed
        ledger = demo_ledger_with(tmp_path / "五月台账.xlsx", unit(name="命令行导入示例有限公司", lon=102.70, lat=25.05))
        subprocess.run([sys.executable, "-m", "services", "import", "--ledger", str(ledger), "--db", store],
                       cwd=REPO, check=True, capture_output=True)
        markers = open_map(page, f"{url}/").locator("path.unit-marker")
        markers.nth(placed).wait_for(state="attached")  # one more unit than before
        assert markers.count() == placed + 1
        page.close()
    assert "missing ScriptRunContext" not in log.read_text()  # the log stays readable
