"""How fast the map is, on the demo county and on a 100k-unit city (figures for BENCHMARKS.md).

Run: ``scripts/bench map`` (or ``.venv/bin/python -m bench.map_bench``). Measures:

- server time of a page run and of a filter change (AppTest, warm cache), goal ≤ 0.3 s;
- size of what the map sends the browser;
- time from navigation to the map drawn in headless Chromium, minus the same for an empty
  st_folium map measured in the same run (Streamlit alone takes seconds to attach a
  component): goal ≤ +1 s for the demo county, ≤ +2 s for a 100k-unit city; for a first visit
  (empty browser cache: Streamlit fetches each widget's JavaScript as the page first uses it)
  and for a returning visitor (that JavaScript in the browser cache);
- the naive map (one folium.Marker per unit, 10k units) the same way, for the ratio;
- the map alone: the county map's own page (its header and script, Leaflet from the app's
  static files, no Streamlit), from navigation to the first frame after its script ran. Page
  navigations on this VM vary by ±0.3 s from one minute to the next, which hides a change of
  0.1–0.2 s in the map; this figure varies by a few tens of milliseconds, so it shows whether
  a change to the map's layers made the browser's work smaller.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import statistics
import sys
import tempfile
import threading
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


_ALONE_PAGE = """<!doctype html><html><head><meta charset="utf-8">{head}</head><body style="margin:0">
<div style="width:1200px;height:640px">{html}<div id="{map_id}" style="width:100%;height:100%"></div></div>
<script>{script}
requestAnimationFrame(function () {{ setTimeout(function () {{ window.DRAWN = performance.now(); }}, 0); }});
</script></body></html>"""


def _alone_pages(folder: Path, maps: dict) -> None:
    """Write each rendered map as a page of its own under ``folder/x/y/`` (the map's asset links
    are ``../../app/static/…``, as the component's iframe sees them), the app's static files
    linked at ``folder/app/static``."""
    (folder / "app").mkdir()
    (folder / "app" / "static").symlink_to(REPO / "static", target_is_directory=True)
    (folder / "x" / "y").mkdir(parents=True)
    for name, rendered in maps.items():
        head = rendered.header + "".join(f'<link rel="stylesheet" href="{href}">' for href in rendered.css_links) \
            + "".join(f'<script src="{src}"></script>' for src in rendered.js_links)
        page = _ALONE_PAGE.format(head=head, html=rendered.html, map_id=rendered.map_id, script=rendered.script)
        (folder / "x" / "y" / f"{name}.html").write_text(page, encoding="utf-8")


def _map_alone(browser, maps: dict, repeats: int) -> dict[str, float]:
    """Median milliseconds from navigation to the first frame after each map's script, each
    page loaded ``repeats`` times in turn (after one load that fills the browser cache)."""
    with tempfile.TemporaryDirectory() as folder:
        _alone_pages(Path(folder), maps)
        handler = functools.partial(_QuietHandler, directory=folder)
        with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
            threading.Thread(target=server.serve_forever, daemon=True).start()
            context = browser.new_context(viewport={"width": 1300, "height": 800})
            times = {name: [] for name in maps}
            for index in range(repeats + 1):
                for name in maps:
                    page = context.new_page()
                    page.goto(f"http://127.0.0.1:{server.server_address[1]}/x/y/{name}.html")
                    page.wait_for_function("window.DRAWN", timeout=120_000, polling=20)
                    if index:  # the first pass fills the cache
                        times[name].append(page.evaluate("window.DRAWN"))
                    page.close()
            context.close()
            server.shutdown()
    return {name: statistics.median(values) for name, values in times.items()}


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # one line per file request would bury the figures
        pass


def _rendered_maps(demo, city: Path) -> dict:
    """The county page's map (no filter) of the ``demo`` analysis and of the county in ``city``
    (when it exists), and the bench's empty map (the floor: Leaflet itself), rendered once for
    both the map's size and the map-alone figure."""
    from bench.apps.empty_map import empty_map
    from dashboard import assets, map_component
    from dashboard.county_map import MapView, build_map
    from services.rates import coverage_rates
    from services.workspace import load_folder

    assets.use_local_assets()
    maps = {"empty": map_component.render(empty_map())}
    for name, analysis in (("demo", demo), ("city", load_folder(city) if city.exists() else None)):
        if analysis is not None:
            view = MapView(units=analysis.units, grid_rates=coverage_rates(analysis.units, by="grid_id"))
            maps[name] = map_component.render(build_map(analysis, view))
    return maps


def _time_to_draw(page, url: str, selector: str, minimum: int) -> float:
    """Seconds from navigation until ``minimum`` elements match inside the map."""
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(MAP_FRAME, state="attached", timeout=300_000)
    page.wait_for_function(
        """([frameSelector, selector, minimum]) => {
             const f = document.querySelector(frameSelector);
             const d = f && f.contentDocument;
             return d && d.querySelectorAll(selector).length >= minimum; }""",
        arg=[MAP_FRAME, selector, minimum], timeout=300_000, polling=50)
    return time.perf_counter() - started


def _navigations(browser, targets: dict, repeats: int, returning: bool) -> dict[str, float]:
    """Median navigation → map drawn for each target (name → (url, selector, minimum)), the
    targets visited in turn on every pass so that a busy moment of the machine falls on all of
    them alike. ``returning``: each target keeps one browser profile, visited once before
    measuring, so Streamlit's JavaScript comes from the browser's cache (Streamlit marks it
    immutable for a year), as for someone who opens the dashboard every week; otherwise every
    navigation starts from an empty profile (a first visit)."""
    profiles = {name: browser.new_context(viewport={"width": 1600, "height": 1000}) for name in targets}
    if returning:
        for name, (url, selector, minimum) in targets.items():
            page = profiles[name].new_page()
            _time_to_draw(page, url, selector, minimum)
            page.close()
    times = {name: [] for name in targets}
    for _ in range(repeats):
        for name, (url, selector, minimum) in targets.items():
            context = profiles[name] if returning else browser.new_context(viewport={"width": 1600, "height": 1000})
            page = context.new_page()
            times[name].append(_time_to_draw(page, url, selector, minimum))
            page.close()
            if not returning:
                context.close()
    for context in profiles.values():
        context.close()
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--city", default=str(REPO / "bench" / "out" / "county_100000_csv"))
    parser.add_argument("--naive-units", type=int, default=10_000)
    parser.add_argument("--browser-only", action="store_true", help="skip the server times")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from services.workspace import DEMO_FOLDER, load_folder

    # Streamlit serves static/ next to the script it runs: the bench apps need the repo's.
    link = REPO / "bench" / "apps" / "static"
    if not link.exists():
        link.symlink_to(REPO / "static", target_is_directory=True)
    demo = load_folder(DEMO_FOLDER)
    city = Path(args.city)
    maps = _rendered_maps(demo, city)
    if not args.browser_only:
        server = _server_times(args.repeats)
        print(f"demo county: page run {server['page_run_s']:.2f} s, filter change {server['filter_change_s']:.2f} s "
              f"(server time, AppTest, warm cache)")
        print(f"demo county map: {maps['demo'].size / 1e6:.2f} M characters sent to the browser")
    placed = int(demo.units["x"].notna().sum())
    with sync_playwright() as playwright, contextlib.ExitStack() as servers:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        targets = {"empty": (servers.enter_context(running_app(script="bench/apps/empty_map.py")), "path.unit-marker", 1),
                   "demo": (servers.enter_context(running_app()), "path.unit-marker", placed)}
        if city.exists():
            from services.county import county_files
            import geopandas as gpd

            # The city at county zoom: every grid drawn with its coverage (units appear on
            # zooming in).
            grids = len(gpd.read_file(county_files(city)["grids"]))
            url = servers.enter_context(running_app({"COUNTY_FOLDER": str(city), "COUNTY_STORE": str(city / "store.gpkg")}))
            targets["city"] = (url, "path.grid-area", grids)
        else:
            print(f"(no city at {city}: run scripts/bench report first to generate it)")
        for name, (url, selector, minimum) in targets.items():  # the server's first visit computes and caches
            page = browser.new_page()
            _time_to_draw(page, url, selector, minimum)
            page.close()
        for returning, label in ((False, "first visit (empty browser cache)"),
                                 (True, "returning visitor (Streamlit's scripts in the browser cache)")):
            times = _navigations(browser, targets, args.repeats, returning)
            print(f"browser, navigation → map drawn, {label}: empty map {times['empty']:.2f} s; "
                  f"demo county ({placed} units) {times['demo']:.2f} s → excess {times['demo'] - times['empty']:+.2f} s"
                  + (f"; 100k-unit city {times['city']:.2f} s → excess {times['city'] - times['empty']:+.2f} s"
                     if "city" in times else ""), flush=True)
            if not returning:
                demo_excess = times["demo"] - times["empty"]
                empty = times["empty"]
        with running_app({"BENCH_UNITS": str(args.naive_units)}, script="bench/apps/naive_markers.py") as url:
            page = browser.new_page()
            naive = _time_to_draw(page, url, ".leaflet-marker-icon", args.naive_units)
            page.close()
        print(f"browser, naive map ({args.naive_units:,} folium.Marker), first visit: {naive:.2f} s → excess "
              f"{naive - empty:+.2f} s; naive/dashboard excess ratio {(naive - empty) / max(demo_excess, 0.01):.0f}×")
        alone = _map_alone(browser, maps, max(args.repeats, 7))
        print("the map alone (its own page, no Streamlit), navigation → first frame after its script: "
              + "; ".join(f"{name} {value:.0f} ms" for name, value in alone.items())
              + "".join(f"; {name} excess {alone[name] - alone['empty']:+.0f} ms" for name in ("demo", "city") if name in alone),
              flush=True)
        browser.close()


if __name__ == "__main__":
    main()
