"""How fast the 汇报演示 page steps to the next view (figures for BENCHMARKS.md).

Run: ``scripts/bench briefing`` (or ``.venv/bin/python -m bench.briefing_bench``). For each
county, in a fresh process with a throwaway store, AppTest opens the page, walks the whole
sequence once (the first pass: each step's map is new, rendered in the background while the
presenter talks over the step before, and kept), then clicks 下一步 through it ``--repeats`` times (going back with 上一步 between passes)
and reports the server time of each 下一步 click: median, slowest, and per kind of step.
Goal: ≤ 0.5 s. First it makes the demo county's take-away files and prints their time and size.

Counties: the demo county as shipped (fictional: names shown), the same county as real data
(its README removed: the page anonymises it by default), and with ``--city`` a 100k-unit city
made by ``scripts/bench report`` (bench/out/county_100000_csv), also anonymised.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOAL_S = 0.5

_CHILD = r"""
import json, statistics, sys, time
from streamlit.testing.v1 import AppTest
repeats = int(sys.argv[1])
at = AppTest.from_file("streamlit_app.py", default_timeout=900)
started = time.perf_counter(); at.run(); at.switch_page("pages/briefing.py").run()
first = time.perf_counter() - started
assert not at.exception, at.exception

def title(): return next(m.value for m in at.markdown if m.value.startswith("## "))

import threading

def presenter_talks():
    # The presenter speaks to the view before clicking: the next step's map, rendered in the
    # background meanwhile, is ready (waits for that condition, as a presenter would for a while).
    while any(t.name in ("briefing-next-step", "render-map-ahead") for t in threading.enumerate()):
        time.sleep(0.05)

def walk(button, record=None, talk=False):
    while not at.button(key=button).disabled:
        kind = title()
        if talk:
            presenter_talks()
        started = time.perf_counter()
        at.button(key=button).click().run()
        elapsed = time.perf_counter() - started
        assert not at.exception, at.exception
        if record is not None:
            record.append((kind, title(), elapsed))

first_pass = []
walk("briefing_next", first_pass, talk=True); walk("briefing_previous")  # the first pass: each map new
clicks = []
for _ in range(repeats):
    walk("briefing_next", clicks)
    walk("briefing_previous")
print(json.dumps({"first": first, "first_pass": first_pass, "clicks": clicks, "steps": len(clicks) // repeats + 1}))
"""


def _measure(folder: Path | None, repeats: int, real: bool) -> dict:
    """Step times on ``folder`` (None: the shipped demo) in a fresh process and store."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "COUNTY_FOLDER")}
        env["COUNTY_STORE"] = str(Path(scratch) / "store.gpkg")
        source = folder or REPO / "geodata" / "demo"
        if real:  # the same county without its README: not marked 虚构示例数据
            copy = Path(scratch) / "county"
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("README.txt", "store.gpkg*"))
            source = copy
        env["COUNTY_FOLDER"] = str(source)
        output = subprocess.run([sys.executable, "-c", _CHILD, str(repeats)], cwd=REPO, env=env, check=True,
                                capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def _print(label: str, result: dict) -> None:
    import statistics

    times = [t for _, _, t in result["clicks"]]
    slowest = max(result["clicks"], key=lambda c: c[2])
    print(f"{label}: {result['steps']} steps; first open {result['first']:.2f} s; 下一步 server time "
          f"median {statistics.median(times):.3f} s, slowest {slowest[2]:.3f} s (to {slowest[1][3:]}), "
          f"{sum(t > GOAL_S for t in times)} of {len(times)} clicks over {GOAL_S} s", flush=True)
    by_step: dict[str, list[float]] = {}
    for _, to, elapsed in result["clicks"]:
        by_step.setdefault(to[3:].split("：")[0].split("（")[0], []).append(elapsed)
    print("  to " + "; ".join(f"{name} {statistics.median(values):.3f} s" for name, values in by_step.items()))
    first_pass = [t for _, _, t in result["first_pass"]]
    slowest = max(result["first_pass"], key=lambda c: c[2])
    print(f"  first pass (each step's map new; the next one rendered while the presenter talks): median "
          f"{statistics.median(first_pass):.3f} s, slowest {slowest[2]:.3f} s (to {slowest[1][3:]}), "
          f"{sum(t > GOAL_S for t in first_pass)} of {len(first_pass)} over {GOAL_S} s")


def _takeaways() -> None:
    """The take-away files of the demo county: the PDF brief (county + every town; goal ≤ 30 s),
    the standalone offline map's size (goal ≤ 10 MB) and the 1920×1080 slide picture."""
    from dashboard import county_map, widgets
    from dashboard.takeaway import standalone_html
    from services.brief_pdf import brief_pdf
    from services.rates import coverage_rates
    from services.static_map import map_png
    from services.workspace import load_folder

    demo = load_folder(REPO / "geodata" / "demo")
    rates = coverage_rates(demo.units, by="grid_id", groups=demo.county.grids["id"])
    view = widgets.county_page_view(demo.units, rates, county_map.NO_BASEMAP)  # the county page's map
    pdf, pdf_s = _timed(brief_pdf, demo, fictional=True, county_name="青禾县")
    page, html_s = _timed(standalone_html, demo, view, fictional=True, title="青禾县 网格党建覆盖一张图")
    png, png_s = _timed(map_png, demo, title="青禾县", fictional=True)
    towns = demo.county.grids["town"].nunique()  # the brief has a page for each town with grids
    print(f"take-away files, demo county: PDF brief (county + {towns} towns) {pdf_s:.1f} s, {len(pdf) / 1e6:.2f} MB "
          f"(goal ≤ 30 s); standalone offline map {len(page) / 1e6:.2f} MB in {html_s:.1f} s (goal ≤ 10 MB); "
          f"slide picture 1920×1080 {len(png) / 1e6:.2f} MB in {png_s:.1f} s", flush=True)


def _timed(function, *args, **kwargs):
    """``function(...)``'s result and the seconds it took."""
    import time

    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--city", action="store_true", help="also a 100k-unit city (bench/out/county_100000_csv)")
    args = parser.parse_args()
    _takeaways()
    _print("demo county (fictional, names shown)", _measure(None, args.repeats, real=False))
    _print("demo county as real data (anonymised by default)", _measure(None, args.repeats, real=True))
    if args.city:
        city = REPO / "bench" / "out" / "county_100000_csv"
        if not city.exists():
            print(f"(no city at {city}: run scripts/bench report first to generate it)")
            return
        _print("100k-unit city as real data (anonymised)", _measure(city, max(1, args.repeats // 2), real=True))


if __name__ == "__main__":
    main()
