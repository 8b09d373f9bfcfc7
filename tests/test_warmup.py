"""The dashboard prepares new data before anyone asks: an import from the command line (another
process) is noticed, and the figures and the 全县一张图 map of the new version are ready when
someone next opens the page."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from apptest_support import APP, map_units, metric
from conftest import DEMO, HEADERS, REPO, unit


@pytest.fixture
def watched_store(tmp_path, monkeypatch):
    """A store of its own, with the data watcher on (the other tests turn it off)."""
    from dashboard import warmup

    path = str(tmp_path / "watched.gpkg")
    monkeypatch.setenv("COUNTY_STORE", path)
    monkeypatch.setenv("DATA_WATCH_S", "0.2")
    yield path
    warmup.stop(path)


def demo_ledger_with(path, row: dict):
    """The demo's ledger with one more unit, as staff would send it."""
    book = openpyxl.load_workbook(DEMO / "ledger.xlsx")
    sheet = book.worksheets[0]
    header_row = next(r for r in range(1, 6) if sheet.cell(r, 1).value in HEADERS)
    headers = [c.value for c in sheet[header_row]]
    sheet.append([row.get(h) for h in headers])
    book.save(path)
    return path


def wait_for(condition, timeout: float = 120) -> None:
    """Wait until ``condition()`` holds (polled), or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the new data was not prepared in time"
        time.sleep(0.05)


def test_a_command_line_import_is_prepared_before_the_next_visit(watched_store, tmp_path):
    from dashboard import widgets

    at = AppTest.from_file(APP, default_timeout=120).run()  # the dashboard is open
    before = int(metric(at, "单位总数").replace(",", ""))
    name = "命令行导入示例有限公司"
    ledger = demo_ledger_with(tmp_path / "五月台账.xlsx", unit(name=name, lon=102.70, lat=25.05, employees=9))
    done = subprocess.run([sys.executable, "-m", "services", "import", "--ledger", str(ledger), "--db", watched_store,
                           "--who", "数据管理员"], cwd=REPO, capture_output=True, text=True, env=os.environ)
    assert done.returncode == 0, done.stderr

    # Nobody has opened a page since: the watcher notices the new version and draws its map.
    wait_for(lambda: any(name in rendered.script for rendered in widgets.RENDERED_MAPS.maps()))

    at.run()  # the next visit shows the new unit, in the figures and on the map
    assert int(metric(at, "单位总数").replace(",", "")) == before + 1
    assert name in {u["n"] for u in map_units(at).values()}
