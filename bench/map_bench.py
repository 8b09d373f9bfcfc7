"""How fast the map is, on the demo county and on a 100k-unit city (figures for BENCHMARKS.md).

Run: ``scripts/bench map`` (or ``.venv/bin/python -m bench.map_bench``). Measures:

- server time of a page run and of a filter change (AppTest, warm cache), goal ≤ 0.3 s;
- size of the map's HTML;
- time from navigation to the map drawn in headless Chromium, minus the same for an empty
  st_folium map measured in the same run (Streamlit alone takes seconds to attach a
  component): goal ≤ +1 s for the demo county, ≤ +2 s for a 100k-unit city;
- the naive map (one folium.Marker per unit, 10k units) the same way, for the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from conftest import CHROMIUM, CHROMIUM_FLAGS, MAP_FRAME, running_app  # noqa: E402


def _server_times(repeats: int) -> dict:
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=300).run()  # warm the cache
    runs, filters = [], []
    for index in range(repeats):
        started = time.perf_counter()
        app.run()
        runs.append(time.perf_counter() - started)
        towns = app.sidebar.multiselect(key="filter_towns")
        started = time.perf_counter()
        towns.set_value([towns.options[index % len(towns.options)]]).run()
        filters.append(time.perf_counter() - started)
        app.sidebar.multiselect(key="filter_towns").set_value([]).run()
    return {"page_run_s": statistics.median(runs), "filter_change_s": statistics.median(filters)}


def _map_html_size() -> float:
    from dashboard.county_map import MapView, build_map
    from services.rates import coverage_rates
    from services.workspace import DEMO_FOLDER, load_folder

    analysis = load_folder(DEMO_FOLDER)
    view = MapView(units=analysis.units, grid_rates=coverage_rates(analysis.units, by="grid_id"))
    return len(build_map(analysis, view).get_root().render().encode()) / 1e6


def _time_to_draw(browser, url: str, selector: str, minimum: int, repeats: int) -> float:
    """Median seconds from navigation until ``minimum`` elements match inside the map."""
    times = []
    for _ in range(repeats):
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        started = time.perf_counter()
        page.goto(url)
        page.wait_for_selector(MAP_FRAME, state="attached", timeout=300_000)
        page.wait_for_function(
            """([frameSelector, selector, minimum]) => {
                 const f = document.querySelector(frameSelector);
                 const d = f && f.contentDocument;
                 return d && d.querySelectorAll(selector).length >= minimum; }""",
            arg=[MAP_FRAME, selector, minimum], timeout=300_000, polling=50)
        times.append(time.perf_counter() - started)
        page.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--city", default=str(REPO / "bench" / "out" / "county_100000_csv"))
    parser.add_argument("--naive-units", type=int, default=10_000)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from services.workspace import DEMO_FOLDER, load_folder

    # Streamlit serves static/ next to the script it runs: the bench apps need the repo's.
    link = REPO / "bench" / "apps" / "static"
    if not link.exists():
        link.symlink_to(REPO / "static", target_is_directory=True)
    server = _server_times(args.repeats)
    print(f"demo county: page run {server['page_run_s']:.2f} s, filter change {server['filter_change_s']:.2f} s "
          f"(server time, AppTest, warm cache)")
    print(f"demo county map HTML: {_map_html_size():.2f} MB")
    placed = int(load_folder(DEMO_FOLDER).units["x"].notna().sum())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        with running_app(script="bench/apps/empty_map.py") as url:
            empty = _time_to_draw(browser, url, "path.unit-marker", 1, args.repeats)
        with running_app() as url:
            _time_to_draw(browser, url, "path.unit-marker", placed, 1)  # warm the cache
            demo = _time_to_draw(browser, url, "path.unit-marker", placed, args.repeats)
        print(f"browser, navigation → map drawn: empty map {empty:.2f} s; demo county ({placed} units) "
              f"{demo:.2f} s → excess {demo - empty:+.2f} s")
        if Path(args.city).exists():
            from services.county import county_files
            import geopandas as gpd

            grids = len(gpd.read_file(county_files(args.city)["grids"]))
            with running_app({"COUNTY_FOLDER": args.city, "COUNTY_STORE": str(Path(args.city) / "store.gpkg")}) as url:
                # The city at county zoom: every grid drawn with its coverage (units appear on
                # zooming in). The first visit computes and caches the city.
                _time_to_draw(browser, url, "path.grid-area", grids, 1)
                city = _time_to_draw(browser, url, "path.grid-area", grids, args.repeats)
            print(f"browser, 100k-unit city: {city:.2f} s → excess {city - empty:+.2f} s")
        else:
            print(f"(no city at {args.city}: run scripts/bench report first to generate it)")
        with running_app({"BENCH_UNITS": str(args.naive_units)}, script="bench/apps/naive_markers.py") as url:
            naive = _time_to_draw(browser, url, ".leaflet-marker-icon", args.naive_units, 1)
        print(f"browser, naive map ({args.naive_units:,} folium.Marker): {naive:.2f} s → excess {naive - empty:+.2f} s; "
              f"naive/dashboard excess ratio {(naive - empty) / max(demo - empty, 0.01):.0f}×")
        browser.close()


if __name__ == "__main__":
    main()
