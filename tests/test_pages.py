"""The dashboard driven as a user does, with Streamlit's AppTest, on the demo county.

Every figure on screen must equal the headless report's (both call the same services).
"""

from __future__ import annotations

import html
import io
import json
import re

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO
from dashboard.ranking import ranking_html
from dashboard.widgets import FULL_RANKING_KEY
from services.workspace import DEMO_FOLDER, load_folder

PAGES = ["pages/county_map.py", "pages/grid.py", "pages/places.py", "pages/joint_orgs.py",
         "pages/blind_spots.py", "pages/centres.py", "pages/data.py", "pages/accounts.py"]


def open_app() -> AppTest:
    return AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=120).run()


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def map_scripts(app: AppTest) -> list[str]:
    """The Leaflet scripts of the folium maps on screen (AppTest shows the st_folium
    component as an UnknownElement whose json_args carry the script)."""
    return [json.loads(e.proto.json_args)["script"] for e in app.main
            if type(e).__name__ == "UnknownElement" and "json_args" in str(e.proto)]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_the_demo_county(page):
    app = open_app()
    app.switch_page(page).run()
    assert not app.exception, [e.message for e in app.exception]
    assert any("虚构示例数据" in info.value for info in app.info), "the demo is labelled as fictional"


@pytest.mark.parametrize("basemap", ["OpenStreetMap", "高德地图", "无底图"])
def test_every_basemap_draws_the_map(basemap):
    app = open_app()
    app.sidebar.radio(key="basemap").set_value(basemap).run()
    assert not app.exception, [e.message for e in app.exception]
    script = map_scripts(app)[0]
    assert ("autonavi" in script) is (basemap == "高德地图")
    assert ("openstreetmap" in script.lower()) is (basemap == "OpenStreetMap")


def test_on_gaode_every_overlay_is_shifted_to_gcj02(report):
    """A unit drawn on the Gaode basemap sits ~500 m from its WGS-84 point, as Gaode's
    streets do; on OpenStreetMap it sits at its WGS-84 point."""
    from services.coords import wgs84_to_gcj02
    
    unit = load_folder(DEMO_FOLDER).units.dropna(subset=["x"]).iloc[0]
    app = open_app()
    osm = map_scripts(app)[0]
    app.sidebar.radio(key="basemap").set_value("高德地图").run()
    gaode = map_scripts(app)[0]
    gx, gy = wgs84_to_gcj02(unit["x"], unit["y"])
    assert f"[{round(unit['x'], 6)}, {round(unit['y'], 6)}]" in osm
    assert f"[{round(float(gx), 6)}, {round(float(gy), 6)}]" in gaode
    assert f"[{round(unit['x'], 6)}, {round(unit['y'], 6)}]" not in gaode


def test_county_kpis_equal_the_report(report):
    app = open_app()
    totals = report["totals"]
    shown = metrics(app)
    assert shown["单位总数"] == f"{totals['units']:,}"
    for label, key in (("单独组建", "own"), ("联合组建", "joint"), ("工作覆盖", "work"), ("空白点", "blind"),
                       ("重点空白点", "priority_blind")):
        assert shown[label] == f"{totals[key]:,}", label
    assert shown["党的组织覆盖率"] == f"{totals['org_coverage_rate'] * 100:.2f}%"
    assert shown["党的工作覆盖率"] == f"{totals['work_coverage_rate'] * 100:.2f}%"
    assert shown["规上企业党组织组建率"] == f"{totals['above_scale_formation_rate'] * 100:.2f}%"


def ranking_rows(app: AppTest, caption_start: str) -> list[list[str]]:
    """The cells (as text) of the at-a-glance ranking under the caption that starts so."""
    blocks = [e for e in app.main if type(e).__name__ in ("Caption", "Html")]
    at = next(i for i, e in enumerate(blocks) if type(e).__name__ == "Caption" and e.value.startswith(caption_start))
    body = blocks[at + 1].proto.body
    return [[html.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1])]


def test_the_ranking_shows_the_lowest_coverage_first_and_the_whole_ranking_on_request(report, demo):
    app = open_app()
    grids = report["grids"]
    rows = ranking_rows(app, "网格：组织覆盖率最低的10个")
    lowest = sorted(grid["org_coverage_rate"] for grid in grids.values())[:10]
    assert [float(row[-2].rstrip("%")) for row in rows] == [round(rate * 100, 2) for rate in lowest]
    for rank, grid_id, _name, units, blind, *_ in rows:
        assert (units, blind) == (f"{grids[grid_id]['units']:,}", f"{grids[grid_id]['blind']:,}"), grid_id
    assert [row[0] for row in rows] == [str(n) for n in range(1, 11)]
    towns = ranking_rows(app, "乡镇街道（按组织覆盖率从低到高，共")
    assert len(towns) == len(demo.county.towns)
    assert not app.dataframe  # the sortable tables wait until asked for

    app.session_state[FULL_RANKING_KEY] = True  # the leader opens 全部乡镇街道和网格排名
    app.run()
    town_table, grid_table = (frame.value for frame in app.dataframe)
    assert len(town_table) == len(towns) and len(grid_table) == len(grids)
    assert set(grid_table["网格"]) == set(grids)


def test_the_ranking_shows_place_names_as_text():
    table = pd.DataFrame({"乡镇街道": ["<script>alert(1)</script>镇", "A&B街道"], "单位": [3, 0],
                          "空白点": [1, 0], "重点空白点": [0, 0], "组织覆盖率": [0.5, float("nan")],
                          "工作覆盖率": [1.0, float("nan")]})
    body = ranking_html(table, ["乡镇街道"], 10)
    assert "<script>alert" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;镇" in body
    assert "A&amp;B街道" in body and "50.00%" in body and "—" in body


def test_a_grid_filter_narrows_the_figures_to_that_grid(report):
    app = open_app()
    grid_id = "QH-03-02"
    app.sidebar.multiselect(key="filter_grids").set_value([grid_id]).run()
    assert metrics(app)["单位总数"] == str(report["grids"][grid_id]["units"])
    assert metrics(app)["空白点"] == str(report["grids"][grid_id]["blind"])


def test_the_less_used_filters_wait_in_their_panel_and_keep_applying_when_it_is_closed(demo):
    app = open_app()
    assert [box.key for box in app.sidebar.multiselect] == ["filter_towns", "filter_grids", "filter_statuses"]
    app.session_state["filter_more"] = True  # the leader opens 更多筛选条件
    app.run()
    industry = app.sidebar.multiselect(key="filter_industries")
    chosen = industry.options[0]
    industry.set_value([chosen]).run()
    app.sidebar.radio(key="filter_scale").set_value("规上企业").run()
    units = demo.units
    expected = int((units["industry"].eq(chosen) & units["above_scale"].eq(True)).sum())
    assert 0 < expected < len(units)
    assert metrics(app)["单位总数"] == f"{expected:,}"

    app.session_state["filter_more"] = False  # closed again: the choice still applies, and says so
    app.run()
    assert not any(box.key == "filter_industries" for box in app.sidebar.multiselect)
    assert metrics(app)["单位总数"] == f"{expected:,}"
    assert any(c.value == "更多筛选条件已启用：行业（1项）、规模：规上企业" for c in app.sidebar.caption)

    app.session_state["filter_more"] = True  # reopened: the widgets show what was chosen
    app.run()
    assert app.sidebar.multiselect(key="filter_industries").value == [chosen]
    assert app.sidebar.radio(key="filter_scale").value == "规上企业"

    app.session_state["filter_more"] = False
    app.run()
    app.sidebar.button(key="filter_more_clear").click().run()
    assert metrics(app)["单位总数"] == f"{len(units):,}"
    assert not any(c.value.startswith("更多筛选条件已启用") for c in app.sidebar.caption)


def test_the_filtered_view_downloads_as_a_spreadsheet(report, made_on_click):
    app = open_app()
    app.sidebar.multiselect(key="filter_statuses").set_value(["blind"]).run()
    app.sidebar.checkbox(key="filter_priority").check().run()
    shown = int(metrics(app)["单位总数"])

    sheet = openpyxl.load_workbook(io.BytesIO(made_on_click["单位清单（虚构示例数据）.xlsx"]())).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "虚构示例数据"
    header, body = rows[1], rows[2:]
    assert len(body) == shown == report["totals"]["priority_blind"]
    assert {row[header.index("重点空白点")] for row in body} == {"是"}
    csv = made_on_click["单位清单（虚构示例数据）.csv"]().decode("utf-8-sig").splitlines()
    assert len(csv) == shown + 1


def test_searching_a_unit_flies_to_it_and_opens_its_popup(report):
    unit = next(u for u in report["units"] if u["placed_by"] == "coordinates" and u["status"] == "blind")
    app = open_app()
    app.text_input(key="search").input(unit["credit_code"]).run()
    assert app.selectbox(key="search_hit").value == unit["row"]
    script = map_scripts(app)[0]
    assert '"zoom": 17' in script
    assert "openPopup" in script


def test_the_map_shows_every_placed_unit(report):
    app = open_app()
    script = map_scripts(app)[0]
    placed = sum(1 for u in report["units"] if u["placed_by"])
    assert script.count('"k": "') == placed


def test_a_shared_grid_link_opens_that_grid(report):
    app = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=120)
    app.query_params["grid"] = "QH-02-03"
    app.run()
    app.switch_page("pages/grid.py").run()
    assert app.selectbox(key="grid_choice").value == "QH-02-03"
    assert metrics(app)["单位总数"] == str(report["grids"]["QH-02-03"]["units"])


def test_the_grid_leader_sees_actions_and_downloads_the_ledger(report, downloads):
    app = open_app()
    app.switch_page("pages/grid.py").run()
    grid_id = "QH-06-02"  # a grid of the demo without any party organisation
    app.selectbox(key="grid_choice").select(grid_id).run()
    assert "grid_without_branch" in report["grids"][grid_id]["flags"]
    markdown = " ".join(m.value for m in app.markdown)
    assert "未建立网格党支部" in markdown
    todo = app.dataframe[1].value
    assert todo["事项"].str.contains("应组建网格党支部").any()
    assert todo["事项"].str.contains("未派党建工作指导员，应选派").any()
    book = openpyxl.load_workbook(io.BytesIO(downloads[f"网格台账_{grid_id}.xlsx"]))
    sheet = book.active
    assert sheet.cell(1, 1).value == "虚构示例数据"
    assert sheet.freeze_panes == "A3"
    assert sheet.max_row - 2 == report["grids"][grid_id]["units"]
    summary = downloads[f"网格汇总_{grid_id}.html"].decode("utf-8")
    assert "虚构示例数据" in summary and "应组建网格党支部" in summary


def test_tianditu_is_offered_when_a_key_is_configured():
    app = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=120)
    app.secrets["tianditu_key"] = "test-key-123"
    app.run()
    radio = app.sidebar.radio(key="basemap")
    assert "天地图" in radio.options
    radio.set_value("天地图").run()
    script = map_scripts(app)[0]
    assert "tianditu.gov.cn" in script and "tk=test-key-123" in script
    assert "天地图" not in open_app().sidebar.radio(key="basemap").options  # no key, no option


def test_approximate_placements_are_drawn_as_such(report):
    app = open_app()
    script = map_scripts(app)[0]
    approximate = sum(1 for u in report["units"] if u["placed_by"] in ("park", "grid"))
    assert approximate > 0
    import re

    assert len(re.findall(r'"k": "[a-z]+(?:-priority)?-approx"', script)) == approximate
    assert "unit-approx" in script and '"dashArray": "3 2"' in script
