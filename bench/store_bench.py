"""How fast the store takes a city's ledger, and how soon the county page shows it after.

Run: ``scripts/bench store`` (or ``.venv/bin/python -m bench.store_bench``). For each store (a
GeoPackage file, and PostGIS on a throwaway cluster started by ``scripts/postgis``):

- ``python -m services import`` of a 100k-unit city (ledger + layers) into an empty store,
  wall time as a user sees it, goal ≤ 30 s;
- the same ledger imported again (nothing changed: the re-import a county does every quarter);
- the county page right after: the first run (reads the store, places and assesses 100k
  units, draws the map) and then a warm run, server time in AppTest, to compare with the map
  issue's goals (≤ 0.3 s per run);
- with the dashboard running (its data watcher on), a CLI import, and the county page opened
  once the watcher has prepared the new version;
- the same through the 数据管理 page, as staff do it: a changed ledger (1% of the units with
  new member counts) uploaded and confirmed, then the county page opened; the import computes
  the new figures once, for the snapshot and for every page.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from bench.report_bench import _county  # noqa: E402


def _import(city: Path, url: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "services", "import", "--ledger", str(city / "ledger.csv"),
                    "--geodata", str(city), "--db", url, "--who", "bench"], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def _page_times(url: str, repeats: int) -> tuple[float, float]:
    """First and warm server time of the county page on the store at ``url`` (fresh process)."""
    variable = "DATABASE_URL" if url.startswith("postgres") else "COUNTY_STORE"
    code = f"""
import os, statistics, sys, time
os.environ[{variable!r}] = {url!r}
from streamlit.testing.v1 import AppTest
app = AppTest.from_file({str(REPO / 'streamlit_app.py')!r}, default_timeout=600)
started = time.perf_counter(); app.run(); first = time.perf_counter() - started
assert not app.exception, app.exception
runs = []
for _ in range({repeats}):
    started = time.perf_counter(); app.run(); runs.append(time.perf_counter() - started)
print(first, statistics.median(runs))
"""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "COUNTY_STORE")}
    output = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=env,
                            check=True)
    first, warm = output.stdout.split()[-2:]
    return float(first), float(warm)


_PAGE_IMPORT = """
import os, statistics, sys, time
os.environ[{variable!r}] = {url!r}
from streamlit.testing.v1 import AppTest
app = AppTest.from_file({app!r}, default_timeout=900)
app.run()
app.switch_page("pages/data.py").run()
uploader = next(u for u in app.file_uploader if u.label.startswith("上传台账"))
started = time.perf_counter()
uploader.upload("changed.csv", open({ledger!r}, "rb").read(), "text/csv").run()
check = time.perf_counter() - started
assert not app.exception, app.exception
started = time.perf_counter()
next(b for b in app.button if b.label == "确认导入").click().run()
confirm = time.perf_counter() - started
assert any("已导入" in s.value for s in app.success), [e.value for e in app.error]
started = time.perf_counter()
app.switch_page("pages/county_map.py").run()
first = time.perf_counter() - started
assert not app.exception, app.exception
runs = []
for _ in range({repeats}):
    started = time.perf_counter(); app.run(); runs.append(time.perf_counter() - started)
print(check, confirm, first, statistics.median(runs))
"""


_RUNNING_APP = """
import os, subprocess, sys, time
os.environ[{variable!r}] = {url!r}
os.environ["DATA_WATCH_S"] = "1"
from streamlit.testing.v1 import AppTest
from dashboard import widgets
app = AppTest.from_file({app!r}, default_timeout=900)
app.run()  # the dashboard is open on the current data
maps = len(widgets.RENDERED_MAPS.maps())
started = time.perf_counter()
subprocess.run([sys.executable, "-m", "services", "import", "--ledger", {ledger!r}, "--db", {url!r}, "--who", "bench"],
               check=True, capture_output=True)
imported = time.perf_counter() - started
# Someone opens the page a while later: wait until the watcher has rendered the new version's map.
deadline = time.monotonic() + 600
while len(widgets.RENDERED_MAPS.maps()) == maps:
    assert time.monotonic() < deadline, "the watcher did not prepare the new version"
    time.sleep(0.1)
ready = time.perf_counter() - started
started = time.perf_counter(); app.run(); first = time.perf_counter() - started
assert not app.exception, app.exception
print(imported, ready, first)
"""


def _running_app_times(url: str, ledger: Path) -> tuple[float, float, float]:
    """With the dashboard running (and its data watcher on): the CLI import's wall time, when
    the watcher had the new version ready (from the import's start), and the county page's
    first run after that (server time)."""
    variable = "DATABASE_URL" if url.startswith("postgres") else "COUNTY_STORE"
    code = _RUNNING_APP.format(variable=variable, url=url, app=str(REPO / "streamlit_app.py"), ledger=str(ledger))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "COUNTY_STORE")}
    output = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=env)
    if output.returncode:
        raise SystemExit(output.stderr[-3000:])
    return tuple(float(v) for v in output.stdout.split()[-3:])


def _changed_ledger(city: Path, scratch: Path) -> Path:
    """The city's ledger with 1% of the units given two more formal members (a quarter's
    corrections), as a county uploads it."""
    import pandas as pd

    ledger = pd.read_csv(city / "ledger.csv", dtype=str, keep_default_na=False)
    column = "正式党员数"
    changed = ledger.index[::100]
    ledger.loc[changed, column] = (pd.to_numeric(ledger.loc[changed, column], errors="coerce").fillna(0) + 2
                                   ).astype(int).astype(str)
    path = scratch / "changed.csv"
    ledger.to_csv(path, index=False)
    return path


def _page_import_times(url: str, ledger: Path, repeats: int) -> tuple[float, float, float, float]:
    """Server times of checking and confirming ``ledger`` on the 数据管理 page, then of the county
    page's first and warm runs (fresh process, store at ``url``)."""
    variable = "DATABASE_URL" if url.startswith("postgres") else "COUNTY_STORE"
    code = _PAGE_IMPORT.format(variable=variable, url=url, app=str(REPO / "streamlit_app.py"), ledger=str(ledger),
                               repeats=repeats)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "COUNTY_STORE")}
    output = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=env)
    if output.returncode:
        raise SystemExit(output.stderr[-3000:])
    return tuple(float(v) for v in output.stdout.split()[-4:])


def _started_server_times(url: str) -> tuple[float, float, float]:
    """A dashboard started after the import, in a real server and headless Chromium: as
    ``scripts/start`` starts it (``dashboard.serve``), seconds from the start until the county
    is prepared, then navigation → the city's grids drawn (first visit); and the same
    navigation on a server started with plain ``streamlit run``, visited as soon as it answers."""
    sys.path[:0] = [str(REPO / "tests")]
    from conftest import CHROMIUM, CHROMIUM_FLAGS, running_app
    from playwright.sync_api import sync_playwright

    from bench.map_bench import _time_to_draw
    from dashboard.serve import READY

    from services.store import open_store

    grids = len(open_store(url).load_county().grids)
    variable = "DATABASE_URL" if url.startswith("postgres") else "COUNTY_STORE"
    env = {variable: url, "DATA_WATCH_S": "5"}
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as scratch:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        log = Path(scratch) / "server.log"
        started = time.perf_counter()
        with running_app(env, served=True, log_path=log) as app:
            deadline = time.monotonic() + 600
            while READY not in log.read_text():
                if time.monotonic() > deadline:
                    raise SystemExit("the server never prepared the county:\n" + log.read_text()[-3000:])
                time.sleep(0.05)
            ready = time.perf_counter() - started
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            served = _time_to_draw(page, app, "path.grid-area", grids)
            page.close()
        with running_app(env) as app:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            plain = _time_to_draw(page, app, "path.grid-area", grids)
            page.close()
        browser.close()
    return ready, served, plain


def main() -> None:
    city = _county(100_000, "csv")
    repeats = 3
    with tempfile.TemporaryDirectory() as scratch:
        os.chmod(scratch, 0o755)  # the cluster runs as the postgres user, who must reach it
        cluster = Path(scratch) / "pg"
        subprocess.run([str(REPO / "scripts" / "postgis"), "install"], check=True)
        changed = _changed_ledger(city, Path(scratch))
        postgis = subprocess.run([str(REPO / "scripts" / "postgis"), "start", str(cluster)], check=True,
                                 capture_output=True, text=True).stdout.strip()
        try:
            for label, url in (("GeoPackage", str(Path(scratch) / "city.gpkg")), ("PostGIS", postgis)):
                first = _import(city, url)
                again = statistics.median(_import(city, url) for _ in range(repeats))
                print(f"{label}: import 100k units into an empty store {first:.2f} s; re-import unchanged "
                      f"{again:.2f} s", flush=True)
                page_first, page_warm = _page_times(url, repeats)
                print(f"{label}: county page right after: first run {page_first:.2f} s, warm run "
                      f"{page_warm:.2f} s (server time, AppTest)", flush=True)
                check, confirm, after_first, after_warm = _page_import_times(url, changed, repeats)
                print(f"{label}: through the 数据管理 page: check the upload {check:.2f} s, confirm the import "
                      f"{confirm:.2f} s; county page right after: first run {after_first:.2f} s, warm run "
                      f"{after_warm:.2f} s (server time, AppTest)", flush=True)
                prepared, served, plain = _started_server_times(url)
                print(f"{label}: dashboard started after the import (scripts/start): county prepared {prepared:.2f} s "
                      f"after the start; then navigation → map drawn {served:.2f} s (browser, first visit); "
                      f"plain streamlit run, visited at once: {plain:.2f} s", flush=True)
                imported, ready, first_after = _running_app_times(url, city / "ledger.csv")
                print(f"{label}: dashboard running, CLI import of the original ledger (undoing the page's changes) {imported:.2f} s; new version "
                      f"prepared by the watcher {ready:.2f} s after the import started; county page's first run "
                      f"then {first_after:.2f} s (server time, AppTest)", flush=True)
        finally:
            subprocess.run([str(REPO / "scripts" / "postgis"), "stop", str(cluster)], check=False)


if __name__ == "__main__":
    main()
