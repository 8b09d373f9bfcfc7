"""The 空白点 page driven as a user drives it (streamlit AppTest), on the demo county.

Its figures must be the report's (services' totals), priority blind spots first, the
download one row per blind spot, and the map the blind spots and nothing else.
"""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

import openpyxl
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from apptest_support import shows
from services.rates import totals

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


@pytest.fixture
def media(monkeypatch):
    """What each st.download_button would send, by the id on its proto: the page makes its
    files only when clicked (a deferred callable), and AppTest drops its runtime after each
    run, so the callables are caught as the page registers them."""
    files: dict[str, object] = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, *args, **kwargs):
        file_id = original(self, data_callable, *args, **kwargs)
        files[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return files


def download(at: AppTest, media: dict, key: str) -> bytes:
    button = next(b for b in at.get("download_button") if b.key == key)
    return media[button.proto.deferred_file_id]()


def open_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/blind_spots.py").run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> int:
    return int(next(m for m in at.metric if m.label == label).value.replace(",", ""))


def map_script(at: AppTest) -> str:
    maps = [e for e in at.get("component_instance") if "script" in json.loads(e.proto.json_args or "{}")]
    assert len(maps) == 1
    return json.loads(maps[0].proto.json_args)["script"]


def test_the_page_shows_the_reports_blind_spots_priority_first(demo):
    at = open_page()
    expected = totals(demo.units)
    assert at.title[0].value == "空白点"
    assert metric(at, "空白点") == int(expected["blind"])
    assert metric(at, "重点空白点") == int(expected["priority_blind"])
    table = at.dataframe[0].value
    assert len(table) == int(expected["blind"])
    priority = int(expected["priority_blind"])
    assert priority > 0
    assert (table["重点空白点"].iloc[:priority] == "是").all()
    assert (table["重点空白点"].iloc[priority:] == "").all()
    assert table["重点原因"].iloc[0] != ""
    unplaced = table[table["定位依据"] == "未定位"]
    assert metric(at, "未定位") == len(unplaced) == len(demo.unplaced[demo.unplaced["status"] == "blind"])


def test_priority_only_filter(demo):
    at = open_page()
    at.sidebar.checkbox(key="blind_priority").check().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == int(totals(demo.units)["priority_blind"])
    assert (table["重点空白点"] == "是").all()
    assert metric(at, "空白点") == len(table)


def test_the_xlsx_download_has_one_row_per_blind_spot(demo, media):
    at = open_page()
    data = download(at, media, "blind_xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "虚构示例数据"
    header, body = rows[1], rows[2:]
    assert "企业名称" in header and "建议选派指导员（未满额）" in header
    assert len(body) == int(totals(demo.units)["blind"])
    names = [r[header.index("企业名称")] for r in body]
    assert set(names) == set(demo.units.loc[demo.units["status"] == "blind", "name"])
    csv_text = download(at, media, "blind_csv").decode("utf-8-sig")
    assert len(csv_text.strip().splitlines()) == int(totals(demo.units)["blind"]) + 1


def test_the_map_shows_the_blind_spots_and_only_them(demo):
    at = open_page()
    script = map_script(at)
    blind = demo.units[demo.units["status"] == "blind"]
    placed = blind[blind["x"].notna()]
    for name in placed["name"]:
        assert shows(script, html.escape(name)), name
    assert '"k": "blind' in script
    for status in ("own", "joint", "work"):
        assert f'"k": "{status}"' not in script


def test_choosing_a_unit_flies_the_map_to_it(demo):
    at = open_page()
    first = at.dataframe[0].value.iloc[0]
    at.selectbox(key="blind_pick").select(int(first["台账行号"])).run()
    assert not at.exception
    script = map_script(at)
    assert "search-hit" in script
    unit = demo.units[demo.units["row"] == int(first["台账行号"])].iloc[0]
    assert f"{unit['y']:.4f}"[:7] in script and '"zoom": 17' in script


def test_an_unplaced_blind_spot_is_listed_and_said_to_be_off_the_map(demo):
    at = open_page()
    table = at.dataframe[0].value
    unplaced = table[table["定位依据"] == "未定位"]
    assert len(unplaced) > 0
    at.selectbox(key="blind_pick").select(int(unplaced["台账行号"].iloc[0])).run()
    assert not at.exception
    assert any("未定位" in w.value for w in at.warning)
    assert "search-hit" not in map_script(at)
