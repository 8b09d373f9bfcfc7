"""Shared fixtures: a tiny hand-drawn county and a ledger writer.

The tiny county is three 1 km-wide grids in a row (G1, G2 in 甲镇; G3 in 乙镇), a park over the
west half of G1, a business building in G2 and two service centres, small enough that every
expected figure in the tests can be worked out by hand.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import Point, box

from services.credit_code import make_code
from services.ledger import LEDGER_COLUMNS

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "geodata" / "demo"
HEADERS = list(LEDGER_COLUMNS)

# The dashboard keeps its county in a store (data/county.gpkg by default). Tests never touch
# the developer's store: the whole session shares one throwaway store filled from the demo,
# and a test that writes opens a store of its own (the ``fresh_store`` fixture).
_SESSION_STORE = Path(tempfile.mkdtemp(prefix="county-store-")) / "county.gpkg"
os.environ["COUNTY_STORE"] = str(_SESSION_STORE)
os.environ.pop("DATABASE_URL", None)
os.environ.pop("COUNTY_FOLDER", None)
# The dashboard's data watcher (dashboard.warmup) would assess every test's store in the
# background, competing with the tests for the machine; the test that needs it turns it on.
os.environ["DATA_WATCH_S"] = "0"

_serial = itertools.count(1)


@pytest.fixture(scope="session", autouse=True)
def session_store():
    """The session's shared store, filled from the demo before any test looks at it (as the
    dashboard's first start would), so no test depends on another having opened a page first."""
    from services.workspace import workspace_store

    yield workspace_store(str(_SESSION_STORE))
    shutil.rmtree(_SESSION_STORE.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def demo():
    """The demo county as the headless report assesses it (default policy, today): shared,
    read-only."""
    from services.workspace import load_folder

    return load_folder(DEMO)


@pytest.fixture(scope="session")
def report():
    """The headless report of the demo county as of today (the dashboard's default as-of date),
    the figures every page must show. (test_report has its own, for a hand-counted county.)"""
    result = subprocess.run([sys.executable, "-m", "services", "report", "--ledger", str(DEMO / "ledger.xlsx"),
                             "--folder", str(DEMO), "--json"], capture_output=True, text=True, cwd=REPO, check=True)
    return json.loads(result.stdout)


def close_blind_spot(store, label: str):
    """A placed blind spot forms its own party branch (three members), then a snapshot labelled
    ``label`` is taken: progress to show. Returns the unit as it was before."""
    from services.snapshots import take_snapshot
    from services.workspace import load_store

    units = load_store(store).units
    unit = units[units["status"].eq("blind") & units["x"].notna()].iloc[0]
    store.edit_unit(unit["credit_code"], {"formal_members": 3, "org_name": f"{unit['name']}党支部",
                                          "org_type": "党支部"},
                    expected_version=store.unit(unit["credit_code"])["version"], who="测试")
    take_snapshot(store, label=label, who="测试")
    return unit


def credit_code(prefix: str = "91") -> str:
    """A fresh valid unified social credit code."""
    return make_code(f"{prefix}530100{next(_serial):09d}")


def unit(**values) -> dict:
    """A ledger row (Chinese headers) with sensible defaults; keyword names are the English
    aliases, e.g. ``unit(name="甲公司", employees=10, formal_members=3)``."""
    english_to_chinese = {v: k for k, v in LEDGER_COLUMNS.items()}
    row = {"企业名称": values.pop("name", f"测试单位{next(_serial)}"),
           "统一社会信用代码": values.pop("credit_code", None) or credit_code(),
           "单位类型": "非公企业", "从业人员数": 10, "经营状态": "正常", "坐标系": "WGS84"}
    for key, value in values.items():
        row[english_to_chinese[key]] = value
    return row


def write_ledger(path: Path, rows: list[dict], title: str | None = None, encoding="utf-8-sig") -> Path:
    """Write rows to .xlsx or .csv (by suffix) with the canonical headers, optionally under a
    title row, as county staff's ledgers look."""
    frame = pd.DataFrame(rows, columns=HEADERS)
    if path.suffix == ".xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        if title:
            sheet.append([title])
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
        sheet.append(HEADERS)
        for record in frame.itertuples(index=False):
            sheet.append([None if pd.isna(v) else v for v in record])
        book.save(path)
    else:
        text = frame.to_csv(index=False)
        if title:
            text = title + "\n" + text
        path.write_bytes(text.encode(encoding))
    return path


GRID_BOXES = {"G1": (102.70, 25.00, 102.71, 25.01), "G2": (102.71, 25.00, 102.72, 25.01),
              "G3": (102.72, 25.00, 102.73, 25.01)}


@pytest.fixture
def tiny_county(tmp_path) -> dict[str, Path]:
    """Layer files of the tiny county, by kind."""
    folder = tmp_path / "county"
    folder.mkdir()
    grids = gpd.GeoDataFrame(
        {"网格编号": list(GRID_BOXES), "网格名称": ["一网格", "二网格", "三网格"],
         "所属乡镇街道": ["甲镇", "甲镇", "乙镇"], "网格长": ["张三", "李四", None],
         "联系电话": ["13800000001", "13800000002", None]},
        geometry=[box(*b) for b in GRID_BOXES.values()], crs="EPSG:4326")
    parks = gpd.GeoDataFrame({"名称": ["甲园区"], "级别": ["县级"]},
                             geometry=[box(102.70, 25.00, 102.705, 25.01)], crs="EPSG:4326")
    buildings = gpd.GeoDataFrame({"名称": ["甲大厦"], "楼层数": [20]},
                                 geometry=[Point(102.715, 25.005)], crs="EPSG:4326")
    centres = gpd.GeoDataFrame(
        {"名称": ["甲镇党群服务中心", "甲大厦党群服务站"], "级别": ["县级", "楼宇"],
         "面积": [150, 80], "开放时间": ["9:00-17:00", "9:00-17:00"]},
        geometry=[Point(102.7075, 25.005), Point(102.715, 25.005)], crs="EPSG:4326")
    paths = {}
    for kind, frame in (("grids", grids), ("parks", parks), ("buildings", buildings), ("centres", centres)):
        paths[kind] = folder / f"{kind}.geojson"
        frame.to_file(paths[kind], driver="GeoJSON")
    paths["instructors"] = folder / "instructors.csv"
    paths["instructors"].write_text("姓名,派出单位,联系电话\n王指导,县委组织部,13900000001\n", encoding="utf-8")
    return paths


# --- the running app and a real browser (Debian's chromium driven by playwright) ---------

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request

SCREENSHOTS = REPO / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_app(env: dict | None = None, script: str = "streamlit_app.py", served: bool = False,
                log_path: Path | None = None):
    """``streamlit run`` on a free loopback port; yields its base URL once /_stcore/health
    answers (waiting on that condition, not on a fixed delay), stops it afterwards.
    ``served``: started as ``scripts/start`` does (``python -m dashboard.serve``, which also
    prepares the county at start); ``log_path``: the server's output there, not in the shared
    .pytest-streamlit.log."""
    port = _free_port()
    log = open(log_path or REPO / ".pytest-streamlit.log", "ab")
    command = ["-m", "dashboard.serve"] if served else ["-m", "streamlit", "run", script]
    process = subprocess.Popen(
        [sys.executable, *command, "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"],
        cwd=REPO, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("streamlit did not start; see .pytest-streamlit.log")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def app_url():
    """The dashboard on the demo county."""
    with running_app() as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "Debian's chromium is missing: run scripts/test (it installs it)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh tab, 1600×1000, that records failed requests and page errors."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="zh-CN")
    tab = context.new_page()
    tab.page_errors = []
    tab.on("pageerror", lambda error: tab.page_errors.append(str(error)))
    yield tab
    context.close()


def screenshot(page, name: str) -> None:
    """Save a screenshot of the whole page to screenshots/ (git-ignored) to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight || 1000")
    page.set_viewport_size({"width": 1600, "height": min(max(1000, height + 100), 6000)})
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1600, "height": 1000})


def open_map(page, url: str):
    """Go to ``url`` and wait until the map iframe has drawn its Leaflet container; returns
    the frame locator."""
    page.goto(url)
    page.wait_for_selector(MAP_FRAME, state="attached", timeout=60_000)
    frame = page.frame_locator(MAP_FRAME).first
    frame.locator(".leaflet-container").wait_for(state="attached", timeout=60_000)
    return frame


class Downloads(dict):
    """Files offered by download buttons during an AppTest run (AppTest keeps them only while
    it runs): by file name, ``downloads["网格台账_G1.xlsx"]``, or by button, ``downloads(button)``.

    A file made only when its button is clicked (a deferred download, which also records the
    export in the audit log) is made on lookup, as the server does on the click."""

    def __init__(self):
        super().__init__()
        self.by_id: dict[str, bytes] = {}
        self.makers: dict[str, object] = {}  # file name or placeholder id → the deferred callable

    def __missing__(self, file_name: str) -> bytes:
        return self.makers[file_name]()

    def __call__(self, button) -> bytes:
        if button.proto.deferred_file_id:
            return self.makers[button.proto.deferred_file_id]()
        return self.by_id[os.path.splitext(button.proto.url.rsplit("/", 1)[1])[0]]


@pytest.fixture
def made_on_click(monkeypatch) -> dict:
    """Files the page makes only when their download button is clicked, by file name: calling
    one is what the server does on the click."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    makers = {}
    original = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        makers[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return makers


@pytest.fixture
def downloads(monkeypatch) -> Downloads:
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    files = Downloads()
    original = MemoryMediaFileStorage.load_and_get_id
    original_deferred = MediaFileManager.add_deferred

    def record(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        files.by_id[file_id] = path_or_data
        if filename:
            files[filename] = path_or_data
        return file_id

    def record_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        file_id = original_deferred(self, data_callable, mimetype, coordinates, file_name, **kwargs)
        files.makers[file_id] = data_callable
        if file_name:
            files.pop(file_name, None)  # the latest run's button wins
            files.makers[file_name] = data_callable
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    monkeypatch.setattr(MediaFileManager, "add_deferred", record_deferred)
    return files


from postgis_support import demo_store, postgis_db, postgis_url, store_url  # noqa: E402,F401
